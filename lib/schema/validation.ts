/** Checks a table declaration as a whole: one error names every bad field. */
import {
  ColumnDeclaration,
  Problems,
  SchemaValidationError,
  TableDeclaration,
  TableFormat,
} from "./declaration";
import { TYPE_RULE, parseHiveType, renderType } from "./hive-types";
import { NAME_RULE, catalogNameProblem } from "./names";
import { checkProjection } from "./projection";

const PREFIX_RE = /^([A-Za-z0-9!_.*'()=-]+\/)+$/;
const OPEN_CSV_TYPES = new Set(["string", "boolean", "int", "bigint", "double"]);
const SINGLE_CHAR = "exactly one character";

function checkColumns(
  p: Problems,
  field: string,
  columns: readonly ColumnDeclaration[],
  seen: Map<string, string>,
  mustBePrimitive: boolean,
): ColumnDeclaration[] {
  const out: ColumnDeclaration[] = [];
  columns.forEach((c, i) => {
    const at = `${field}[${i}]`;
    if (typeof c.name !== "string" || c.name.trim() === "") {
      p.add(`${at}.name`, c.name, "a non-empty column name");
    } else if (catalogNameProblem(c.name)) {
      p.add(`${at}.name`, c.name, NAME_RULE);
    } else if (seen.has(c.name)) {
      p.add(`${at}.name`, c.name, `a name not already used (it is also ${seen.get(c.name)})`);
    } else {
      seen.set(c.name, at);
    }
    if (c.comment !== undefined && c.comment.length > 255) {
      p.add(`${at}.comment`, `${c.comment.slice(0, 40)}…`, "at most 255 characters");
    }
    // An empty type marks a bad one, so later checks skip it rather than repeat the problem.
    let type = "";
    try {
      const parsed = parseHiveType(typeof c.type === "string" ? c.type : "");
      if (mustBePrimitive && parsed.kind !== "primitive") {
        p.add(`${at}.type`, c.type, "a primitive type: Glue partitions only by primitive types");
      } else {
        type = renderType(parsed, (n) => n);
      }
    } catch (e) {
      p.add(`${at}.type`, c.type, `${TYPE_RULE} (${(e as Error).message})`);
    }
    out.push({ name: c.name, type, ...(c.comment !== undefined ? { comment: c.comment } : {}) });
  });
  return out;
}

function checkFormat(
  p: Problems,
  format: TableFormat,
  columns: readonly ColumnDeclaration[],
  declared: readonly ColumnDeclaration[],
): void {
  if (format.kind !== "csv") return;
  const quoted = (format.quoting ?? "quoted") === "quoted";
  const chars: [string, string | undefined][] = [
    ["separator", format.separator],
    ["quoteChar", format.quoteChar],
    ["escapeChar", format.escapeChar],
  ];
  for (const [key, value] of chars) {
    if (value !== undefined && value.length !== 1) p.add(`format.${key}`, value, SINGLE_CHAR);
  }
  if (!quoted && format.quoteChar !== undefined) {
    p.add(
      "format.quoteChar",
      format.quoteChar,
      'nothing with quoting "none" (LazySimpleSerDe has no quote character)',
    );
  }
  const h = format.headerLines;
  if (h !== undefined && (!Number.isInteger(h) || h < 0 || h > 100)) {
    p.add("format.headerLines", h, "an integer from 0 to 100");
  }
  if (quoted) {
    // Athena's OpenCSVSerde parses only these; dates and timestamps only as UNIX numbers.
    columns.forEach((c, i) => {
      if (c.type && !OPEN_CSV_TYPES.has(c.type)) {
        p.add(
          `columns[${i}].type`,
          declared[i].type,
          `with quoted CSV (OpenCSVSerde) one of ${[...OPEN_CSV_TYPES].join(", ")}; ` +
            'declare it string and CAST in queries, or use quoting "none" for unquoted data',
        );
      }
    });
  }
}

/**
 * Checks a declaration and throws one SchemaValidationError naming every bad field, the value
 * given and what is allowed. Returns the columns and partition keys with canonical types.
 */
export function validateTable(decl: TableDeclaration): {
  columns: ColumnDeclaration[];
  partitionKeys: ColumnDeclaration[];
} {
  const p = new Problems();
  if (catalogNameProblem(decl.name)) p.add("name", decl.name, NAME_RULE);
  if (typeof decl.description !== "string" || decl.description.length > 2048) {
    p.add("description", decl.description, "a string of at most 2048 characters");
  }
  if (!PREFIX_RE.test(decl.prefix ?? "")) {
    p.add(
      "prefix",
      decl.prefix,
      'an S3 key prefix ending in "/" without a leading "/", e.g. "processed/sales/"',
    );
  }
  if (!decl.columns || decl.columns.length === 0)
    p.add("columns", decl.columns, "at least one column");
  const seen = new Map<string, string>();
  const columns = checkColumns(p, "columns", decl.columns ?? [], seen, false);
  const partitionKeys = checkColumns(p, "partitionKeys", decl.partitionKeys ?? [], seen, true);
  checkFormat(p, decl.format, columns, decl.columns ?? []);
  if (decl.projection) checkProjection(p, decl.projection, partitionKeys);
  if (p.list.length > 0) throw new SchemaValidationError(String(decl.name), p.list);
  return { columns, partitionKeys };
}
