/**
 * Catalog tables declared once: columns with Hive types, partition keys, a storage format preset
 * and optional Athena partition projection. From one declaration come both the Glue table (SerDe,
 * input/output formats, parameters) and the Athena `CREATE EXTERNAL TABLE` DDL, so the two cannot
 * drift. Pure: no Pulumi calls, so every rule here is tested directly.
 */
import { show } from "./config";

export interface ColumnDeclaration {
  /** Lower-case letters, digits and underscores: Athena and Hive lower-case every name. */
  readonly name: string;
  /** A Hive type as Glue stores it: `string`, `bigint`, `decimal(12,2)`, `array<string>`, `struct<a:int>`. */
  readonly type: string;
  /** At most 255 characters. Default none. */
  readonly comment?: string;
}

export type TextCompression = "none" | "gzip" | "bzip2";

export interface CsvFormat {
  readonly kind: "csv";
  /**
   * Default `"quoted"`: OpenCSVSerde, which strips the quotes and keeps separators inside quoted
   * fields as data. LazySimpleSerDe (`"none"`) splits on every separator, so `"Smith, J"` becomes
   * two fields and shifts every later column; it is only right for data that is never quoted.
   */
  readonly quoting?: "quoted" | "none";
  /** Field separator, one character. Default `,`. */
  readonly separator?: string;
  /** Quote character for `quoted`, one character. Default `"`. */
  readonly quoteChar?: string;
  /** Escape character, one character. Default `\` for `quoted`, none for `none`. */
  readonly escapeChar?: string;
  /** Header lines skipped at the top of every file. Default 1. */
  readonly headerLines?: number;
  /** Default `none`. Athena and Glue pick the codec from the file extension; this labels the table. */
  readonly compression?: TextCompression;
}

export interface JsonFormat {
  /** Newline-delimited JSON, one object per line, read by the OpenX JSON SerDe. */
  readonly kind: "json";
  /** Read malformed lines as NULL rows instead of failing the query. Default false. */
  readonly ignoreMalformed?: boolean;
  /** Default `none`. */
  readonly compression?: TextCompression;
}

export interface ParquetFormat {
  readonly kind: "parquet";
  /** Codec for files Athena writes (INSERT INTO, CTAS). Default `snappy`. */
  readonly compression?: "snappy" | "gzip" | "zstd" | "uncompressed";
}

export type TableFormat = CsvFormat | JsonFormat | ParquetFormat;

export interface EnumProjection {
  readonly type: "enum";
  /** Every value the key takes; no commas (Athena joins them with commas). */
  readonly values: readonly string[];
}

export interface IntegerProjection {
  readonly type: "integer";
  /** Inclusive `[min, max]`. */
  readonly range: readonly [number, number];
  /** Step between values. Default 1. */
  readonly interval?: number;
  /** Zero-padded width of each value, e.g. 2 for `01`. Default: no padding. */
  readonly digits?: number;
}

export const DATE_UNITS = [
  "YEARS",
  "MONTHS",
  "WEEKS",
  "DAYS",
  "HOURS",
  "MINUTES",
  "SECONDS",
  "MILLIS",
] as const;
export type DateUnit = (typeof DATE_UNITS)[number];

export interface DateProjection {
  readonly type: "date";
  /** Java date pattern of the partition values, e.g. `yyyy-MM-dd`; letters y M d H m s S. */
  readonly format: string;
  /** Inclusive `[first, last]`: dates in `format`, or `NOW`, `NOW-3YEARS`, `NOW+1DAYS`. */
  readonly range: readonly [string, string];
  /** Step between values. Default 1. */
  readonly interval?: number;
  /** Unit of the step. Default: the finest field of `format` (days or coarser); required below a day. */
  readonly intervalUnit?: DateUnit;
}

/** Values come from the query's WHERE clause, which must then filter on the key. */
export interface InjectedProjection {
  readonly type: "injected";
}

export type ProjectionSpec =
  EnumProjection | IntegerProjection | DateProjection | InjectedProjection;

export interface PartitionProjection {
  /** One entry for every partition key. */
  readonly keys: Readonly<Record<string, ProjectionSpec>>;
  /**
   * Path below the table location naming every key as `${key}`, e.g. `merged-parquet-${day}/`.
   * Default: the Hive layout `k1=${k1}/k2=${k2}/`.
   */
  readonly locationTemplate?: string;
}

export interface TableDeclaration {
  /** Lower-case letters, digits and underscores, at most 255 characters. */
  readonly name: string;
  /** Shown in the Glue console and as the DDL's COMMENT. At most 2048 characters. */
  readonly description: string;
  readonly columns: readonly ColumnDeclaration[];
  /** Primitive-typed keys, in the order of the folder levels. Default none. */
  readonly partitionKeys?: readonly ColumnDeclaration[];
  readonly format: TableFormat;
  /** Key prefix of the data in its bucket, ending in `/`, e.g. `processed/sales/`. */
  readonly prefix: string;
  /** Athena partition projection. Default none (partitions come from the catalog). */
  readonly projection?: PartitionProjection;
}

/** The table as Glue stores it and Athena's DDL states it; derived from a declaration. */
export interface PhysicalTable {
  readonly name: string;
  readonly description: string;
  /** Types in Glue's canonical spelling (lower case, no spaces). */
  readonly columns: readonly ColumnDeclaration[];
  readonly partitionKeys: readonly ColumnDeclaration[];
  /** `s3://bucket/prefix/` */
  readonly location: string;
  readonly serde: {
    readonly library: string;
    readonly parameters: Readonly<Record<string, string>>;
  };
  readonly inputFormat: string;
  readonly outputFormat: string;
  readonly compressed: boolean;
  /** Table properties: classification, header skip, projection, ... (TBLPROPERTIES). */
  readonly parameters: Readonly<Record<string, string>>;
}

export interface SchemaProblem {
  /** Path of the field in the declaration, e.g. `columns[3].type`. */
  readonly field: string;
  readonly value: unknown;
  readonly allowed: string;
}

export class SchemaValidationError extends Error {
  constructor(
    readonly table: string,
    readonly problems: readonly SchemaProblem[],
  ) {
    const n = problems.length;
    super(
      `Table ${show(table)} is invalid (${n} problem${n === 1 ? "" : "s"}):\n` +
        problems
          .map((p) => `  - ${p.field}: got ${show(p.value)}; allowed: ${p.allowed}`)
          .join("\n"),
    );
    this.name = "SchemaValidationError";
  }
}

export const SERDE = {
  openCsv: "org.apache.hadoop.hive.serde2.OpenCSVSerde",
  lazySimple: "org.apache.hadoop.hive.serde2.lazy.LazySimpleSerDe",
  json: "org.openx.data.jsonserde.JsonSerDe",
  parquet: "org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe",
} as const;

export const IO_FORMAT = {
  textInput: "org.apache.hadoop.mapred.TextInputFormat",
  textOutput: "org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat",
  parquetInput: "org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat",
  parquetOutput: "org.apache.hadoop.hive.ql.io.parquet.MapredParquetOutputFormat",
} as const;

// ---------------------------------------------------------------------------------------------
// Names

const NAME_RE = /^[a-z0-9_]+$/;
const MAX_NAME = 255;
const NAME_RULE =
  "lower-case letters, digits and underscores, at most 255 characters " +
  "(Athena and Hive lower-case every name, so any other spelling cannot be queried as declared)";

/** Problem text for a Glue database or table name, or undefined when it is valid. */
export function catalogNameProblem(name: unknown): string | undefined {
  if (typeof name !== "string" || !NAME_RE.test(name) || name.length > MAX_NAME) return NAME_RULE;
  return undefined;
}

/** Throws a clear error unless `name` is a valid Glue database or table name. */
export function validateCatalogName(kind: string, name: string): string {
  if (catalogNameProblem(name))
    throw new Error(`${kind}: got ${show(name)}; allowed: ${NAME_RULE}`);
  return name;
}

/** Athena's reserved words in DDL; as identifiers they need backticks. */
export const DDL_RESERVED_WORDS: ReadonlySet<string> = new Set(
  (
    "all alter and array as authorization between bigint binary boolean both by case cashe cast char " +
    "column conf constraint commit create cross cube current current_date current_timestamp cursor " +
    "database date dayofweek decimal delete describe distinct div double drop else end exchange exists " +
    "extended external extract false fetch float floor following for foreign from full function grant " +
    "group grouping having if import in inner insert int integer intersect interval into is join lateral " +
    "left less like local macro map more none not null numeric of on only or order out outer over " +
    "partialscan partition percent preceding precision preserve primary procedure range reads reduce " +
    "regexp references revoke right rlike rollback rollup row rows select set smallint start table " +
    "tablesample then time timestamp to transform trigger true truncate unbounded union uniquejoin " +
    "update user using utc_timestamp values varchar views when where window with"
  ).split(" "),
);

/** An identifier as Athena DDL needs it: backticks for reserved words and names not starting with a letter. */
export function quoteIdentifier(name: string): string {
  return DDL_RESERVED_WORDS.has(name.toLowerCase()) || !/^[a-z][a-z0-9_]*$/.test(name)
    ? `\`${name}\``
    : name;
}

// ---------------------------------------------------------------------------------------------
// Hive types

type HiveType =
  | { readonly kind: "primitive"; readonly name: string }
  | { readonly kind: "array"; readonly element: HiveType }
  | { readonly kind: "map"; readonly key: HiveType; readonly value: HiveType }
  | {
      readonly kind: "struct";
      readonly fields: readonly { readonly name: string; readonly type: HiveType }[];
    };

const SIMPLE_TYPES = [
  "boolean",
  "tinyint",
  "smallint",
  "int",
  "bigint",
  "float",
  "double",
  "string",
  "date",
  "timestamp",
  "binary",
] as const;
const TYPE_RULE =
  `a Hive type: ${SIMPLE_TYPES.join(", ")}, decimal(p,s), char(n), varchar(n), ` +
  "array<T>, map<K,V>, struct<name:T,...>";
const INTEGER_TYPES = new Set(["tinyint", "smallint", "int", "bigint"]);
const STRING_TYPE_RE = /^(string|varchar\(\d+\)|char\(\d+\))$/;

class TypeParser {
  private pos = 0;
  constructor(private readonly src: string) {}

  parseAll(): HiveType {
    const t = this.parse();
    if (this.pos !== this.src.length) this.fail(`unexpected "${this.src.slice(this.pos)}"`);
    return t;
  }

  private fail(why: string): never {
    throw new TypeError(why);
  }

  private word(): string {
    const m = /^[a-z_][a-z0-9_]*/.exec(this.src.slice(this.pos));
    if (!m) this.fail(`expected a type name at "${this.src.slice(this.pos) || "the end"}"`);
    this.pos += m[0].length;
    return m[0];
  }

  private eat(ch: string): boolean {
    if (this.src[this.pos] !== ch) return false;
    this.pos++;
    return true;
  }

  private expect(ch: string): void {
    if (!this.eat(ch)) this.fail(`expected "${ch}" at "${this.src.slice(this.pos) || "the end"}"`);
  }

  private int(what: string, min: number, max: number): number {
    const m = /^\d+/.exec(this.src.slice(this.pos));
    const n = m ? Number(m[0]) : NaN;
    if (!m || n < min || n > max) this.fail(`${what} must be an integer from ${min} to ${max}`);
    this.pos += m[0].length;
    return n;
  }

  private parse(): HiveType {
    const name = this.word();
    if ((SIMPLE_TYPES as readonly string[]).includes(name)) return { kind: "primitive", name };
    switch (name) {
      case "integer":
        return this.fail('write "int": Hive DDL and Glue spell the 32-bit integer type "int"');
      case "decimal": {
        if (!this.eat("(")) return { kind: "primitive", name: "decimal(10,0)" };
        const p = this.int("decimal precision", 1, 38);
        const s = this.eat(",") ? this.int("decimal scale", 0, p) : 0;
        this.expect(")");
        return { kind: "primitive", name: `decimal(${p},${s})` };
      }
      case "char":
      case "varchar": {
        this.expect("(");
        const n = this.int(`${name} length`, 1, name === "char" ? 255 : 65535);
        this.expect(")");
        return { kind: "primitive", name: `${name}(${n})` };
      }
      case "array": {
        this.expect("<");
        const element = this.parse();
        this.expect(">");
        return { kind: "array", element };
      }
      case "map": {
        this.expect("<");
        const key = this.parse();
        if (key.kind !== "primitive") this.fail("map keys must be a primitive type");
        this.expect(",");
        const value = this.parse();
        this.expect(">");
        return { kind: "map", key, value };
      }
      case "struct": {
        this.expect("<");
        const fields: { name: string; type: HiveType }[] = [];
        do {
          const field = this.word();
          if (fields.some((f) => f.name === field))
            this.fail(`struct field "${field}" appears twice`);
          this.expect(":");
          fields.push({ name: field, type: this.parse() });
        } while (this.eat(","));
        this.expect(">");
        return { kind: "struct", fields };
      }
      default:
        return this.fail(`"${name}" is not a Hive type`);
    }
  }
}

function parseHiveType(type: string): HiveType {
  return new TypeParser(type.toLowerCase().replace(/\s+/g, "")).parseAll();
}

function renderType(t: HiveType, quote: (name: string) => string): string {
  switch (t.kind) {
    case "primitive":
      return t.name;
    case "array":
      return `array<${renderType(t.element, quote)}>`;
    case "map":
      return `map<${renderType(t.key, quote)},${renderType(t.value, quote)}>`;
    case "struct":
      return `struct<${t.fields.map((f) => `${quote(f.name)}:${renderType(f.type, quote)}`).join(",")}>`;
  }
}

/** The type in Glue's canonical spelling, or throws a TypeError saying what is wrong. */
export function canonicalType(type: string): string {
  return renderType(parseHiveType(type), (n) => n);
}

// ---------------------------------------------------------------------------------------------
// Validation

class Problems {
  readonly list: SchemaProblem[] = [];
  add(field: string, value: unknown, allowed: string): void {
    this.list.push({ field, value, allowed });
  }
}

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

// ---------------------------------------------------------------------------------------------
// Partition projection

const NOW_RE = /^NOW(?:([+-])(\d+)(YEARS|MONTHS|WEEKS|DAYS|HOURS|MINUTES|SECONDS))?$/;
const DATE_FIELDS = ["y", "M", "d", "H", "m", "s", "S"] as const;
type DateField = (typeof DATE_FIELDS)[number];
/** Finest unit each format letter shows, as the interval unit Athena would step by. */
const FIELD_UNIT: Record<DateField, DateUnit> = {
  y: "YEARS",
  M: "MONTHS",
  d: "DAYS",
  H: "HOURS",
  m: "MINUTES",
  s: "SECONDS",
  S: "MILLIS",
};
const UNIT_ORDER: readonly DateUnit[] = [
  "MILLIS",
  "SECONDS",
  "MINUTES",
  "HOURS",
  "DAYS",
  "WEEKS",
  "MONTHS",
  "YEARS",
];
const FIELD_RANGE: Record<DateField, [number, number]> = {
  y: [0, 9999],
  M: [1, 12],
  d: [1, 31],
  H: [0, 23],
  m: [0, 59],
  s: [0, 59],
  S: [0, 999],
};

interface DatePattern {
  readonly regex: RegExp;
  readonly fields: DateField[];
  readonly finest: DateUnit;
}

/** Compiles the supported subset of Java date patterns; throws a TypeError naming the bad part. */
function compileDatePattern(format: string): DatePattern {
  let re = "";
  const fields: DateField[] = [];
  for (let i = 0; i < format.length;) {
    const ch = format[i];
    if (ch === "'") {
      const end = format.indexOf("'", i + 1);
      if (end < 0) throw new TypeError("an opening ' has no closing '");
      re += (format.slice(i + 1, end) || "'").replace(/[.*+?^${}()|[\]\\/]/g, "\\$&");
      i = end + 1;
      continue;
    }
    if (/[A-Za-z]/.test(ch)) {
      let n = 1;
      while (format[i + n] === ch) n++;
      if (!(DATE_FIELDS as readonly string[]).includes(ch)) {
        throw new TypeError(
          `letter "${ch}" is not supported; use y, M, d, H, m, s, S and 'quoted' text`,
        );
      }
      const f = ch as DateField;
      if (fields.includes(f)) throw new TypeError(`letter "${ch}" appears twice`);
      if (f === "M" && n > 2) throw new TypeError("month names (MMM) are not supported; use MM");
      fields.push(f);
      re += f === "y" && n !== 2 ? "(\\d{4})" : n === 1 ? "(\\d{1,2})" : `(\\d{${n}})`;
      i += n;
      continue;
    }
    re += ch.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&");
    i++;
  }
  if (fields.length === 0) throw new TypeError("it names no date field (y, M, d, ...)");
  const finest = UNIT_ORDER.find((u) => fields.some((f) => FIELD_UNIT[f] === u)) as DateUnit;
  return { regex: new RegExp(`^${re}$`), fields, finest };
}

/** Sortable key of an absolute date in `pattern`, or undefined when it does not match. */
function dateKey(pattern: DatePattern, value: string): number[] | undefined {
  const m = pattern.regex.exec(value);
  if (!m) return undefined;
  const byField: Partial<Record<DateField, number>> = {};
  pattern.fields.forEach((f, i) => (byField[f] = Number(m[i + 1])));
  for (const f of pattern.fields) {
    const [lo, hi] = FIELD_RANGE[f];
    if ((byField[f] as number) < lo || (byField[f] as number) > hi) return undefined;
  }
  return DATE_FIELDS.map((f) => byField[f] ?? 0);
}

// Average lengths: enough to order two relative bounds.
const UNIT_MS: Record<string, number> = {
  SECONDS: 1e3,
  MINUTES: 6e4,
  HOURS: 3.6e6,
  DAYS: 8.64e7,
  WEEKS: 6.048e8,
  MONTHS: 2.6298e9,
  YEARS: 3.15576e10,
};

function relativeOffset(m: RegExpExecArray): number {
  if (!m[1]) return 0;
  return (m[1] === "-" ? -1 : 1) * Number(m[2]) * UNIT_MS[m[3]];
}

function keyKind(type: string): "string" | "integer" | "date" | "other" {
  if (STRING_TYPE_RE.test(type)) return "string";
  if (INTEGER_TYPES.has(type)) return "integer";
  return type === "date" ? "date" : "other";
}

function checkEnum(p: Problems, at: string, spec: EnumProjection, kind: string): void {
  if (!Array.isArray(spec.values) || spec.values.length === 0) {
    p.add(`${at}.values`, spec.values, "a non-empty list of the values the key takes");
    return;
  }
  const seen = new Set<string>();
  spec.values.forEach((v, i) => {
    if (typeof v !== "string" || v === "" || v.includes(",")) {
      p.add(
        `${at}.values[${i}]`,
        v,
        "a non-empty value without commas (Athena joins the values with commas)",
      );
    } else if (seen.has(v)) {
      p.add(`${at}.values[${i}]`, v, "each value once");
    } else if (kind === "integer" && !/^-?\d+$/.test(v)) {
      p.add(`${at}.values[${i}]`, v, "an integer, because the partition key has an integer type");
    }
    seen.add(v);
  });
}

function checkInteger(p: Problems, at: string, spec: IntegerProjection): void {
  const r = spec.range;
  if (!Array.isArray(r) || r.length !== 2 || !r.every((x) => Number.isSafeInteger(x))) {
    p.add(`${at}.range`, r, "[min, max], two integers");
  } else if (r[0] > r[1]) {
    p.add(`${at}.range`, r, "[min, max] with min <= max");
  }
  if (spec.interval !== undefined && !(Number.isInteger(spec.interval) && spec.interval > 0)) {
    p.add(`${at}.interval`, spec.interval, "a positive integer");
  }
  if (
    spec.digits !== undefined &&
    !(Number.isInteger(spec.digits) && spec.digits >= 1 && spec.digits <= 19)
  ) {
    p.add(`${at}.digits`, spec.digits, "an integer from 1 to 19");
  }
}

function checkDate(p: Problems, at: string, spec: DateProjection, keyType: string): void {
  let pattern: DatePattern | undefined;
  try {
    pattern = compileDatePattern(typeof spec.format === "string" ? spec.format : "");
  } catch (e) {
    p.add(
      `${at}.format`,
      spec.format,
      `a Java date pattern such as yyyy-MM-dd (${(e as Error).message})`,
    );
  }
  if (keyType === "date" && spec.format !== "yyyy-MM-dd") {
    p.add(
      `${at}.format`,
      spec.format,
      "yyyy-MM-dd for a key of type date, or declare the key as string",
    );
  }
  const r = spec.range;
  if (!Array.isArray(r) || r.length !== 2) {
    p.add(`${at}.range`, r, '[first, last], e.g. ["2024-01-01", "NOW"]');
  } else if (pattern) {
    const bounds = r.map((v) => {
      const rel = typeof v === "string" ? NOW_RE.exec(v) : null;
      if (rel) return { rel: relativeOffset(rel) };
      const key = typeof v === "string" ? dateKey(pattern, v) : undefined;
      if (!key) {
        p.add(
          `${at}.range`,
          v,
          `a date in the format ${spec.format}, or NOW with an optional offset such as NOW-3YEARS`,
        );
      }
      return { abs: key };
    });
    const [lo, hi] = bounds;
    const absBackwards = lo.abs && hi.abs && compareKeys(lo.abs, hi.abs) > 0;
    const relBackwards = lo.rel !== undefined && hi.rel !== undefined && lo.rel > hi.rel;
    if (absBackwards || relBackwards)
      p.add(`${at}.range`, r, "[first, last] with first not after last");
  }
  if (spec.interval !== undefined && !(Number.isInteger(spec.interval) && spec.interval > 0)) {
    p.add(`${at}.interval`, spec.interval, "a positive integer");
  }
  const unit = spec.intervalUnit;
  if (unit !== undefined && !DATE_UNITS.includes(unit)) {
    p.add(`${at}.intervalUnit`, unit, `one of ${DATE_UNITS.join(", ")}`);
  } else if (pattern) {
    const subDay = UNIT_ORDER.indexOf(pattern.finest) < UNIT_ORDER.indexOf("DAYS");
    if (unit === undefined && subDay) {
      p.add(
        `${at}.intervalUnit`,
        unit,
        `a unit (e.g. ${pattern.finest}): Athena needs one when the format shows time of day`,
      );
    } else if (
      unit !== undefined &&
      UNIT_ORDER.indexOf(unit) < UNIT_ORDER.indexOf(pattern.finest)
    ) {
      p.add(
        `${at}.intervalUnit`,
        unit,
        `${pattern.finest} or coarser: the format ${spec.format} cannot tell ${unit.toLowerCase()} apart`,
      );
    }
  }
}

function compareKeys(a: number[], b: number[]): number {
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return a[i] - b[i];
  return 0;
}

const PROJECTION_TYPES = ["enum", "integer", "date", "injected"];
/** Partition key types each projection type can fill. */
const KEY_KINDS: Record<ProjectionSpec["type"], readonly string[]> = {
  enum: ["string", "integer"],
  integer: ["string", "integer"],
  date: ["string", "date"],
  injected: ["string", "integer"],
};
const KIND_TEXT: Record<string, string> = {
  string: "string, varchar(n) or char(n)",
  integer: "tinyint, smallint, int or bigint",
  date: "date",
};

function checkProjection(
  p: Problems,
  proj: PartitionProjection,
  partitionKeys: readonly ColumnDeclaration[],
): void {
  const keyNames = partitionKeys.map((k) => k.name);
  if (keyNames.length === 0) {
    p.add(
      "projection",
      "projection without partition keys",
      "projection only on a table with partition keys",
    );
    return;
  }
  const specs = proj.keys ?? {};
  for (const name of Object.keys(specs)) {
    if (!keyNames.includes(name)) {
      p.add(
        `projection.keys.${name}`,
        name,
        `a partition key of this table: ${keyNames.join(", ")}`,
      );
    }
  }
  for (const key of partitionKeys) {
    const at = `projection.keys.${key.name}`;
    const spec = specs[key.name];
    if (spec === undefined) {
      p.add(
        at,
        undefined,
        "a projection for every partition key: with projection on, Athena ignores catalog partitions",
      );
      continue;
    }
    if (!PROJECTION_TYPES.includes(spec.type)) {
      p.add(`${at}.type`, spec.type, `one of ${PROJECTION_TYPES.join(", ")}`);
      continue;
    }
    const kind = keyKind(key.type);
    if (key.type !== "" && !KEY_KINDS[spec.type].includes(kind)) {
      p.add(
        `partitionKeys.${key.name}.type`,
        key.type,
        `for ${spec.type} projection a key of type ${KEY_KINDS[spec.type].map((k) => KIND_TEXT[k]).join(", or ")}`,
      );
    }
    if (spec.type === "enum") checkEnum(p, at, spec, kind);
    if (spec.type === "integer") checkInteger(p, at, spec);
    if (spec.type === "date") checkDate(p, at, spec, key.type);
  }
  checkTemplate(p, proj.locationTemplate, keyNames);
}

function checkTemplate(
  p: Problems,
  template: string | undefined,
  keyNames: readonly string[],
): void {
  if (template === undefined) return;
  const at = "projection.locationTemplate";
  if (
    typeof template !== "string" ||
    template === "" ||
    /^[a-z0-9]+:\/\//i.test(template) ||
    template.startsWith("/")
  ) {
    p.add(
      at,
      template,
      'a path relative to the table location, e.g. "day=${day}/" (the bucket differs per stack)',
    );
    return;
  }
  const named = [...template.matchAll(/\$\{([^}]*)\}/g)].map((m) => m[1]);
  for (const name of named) {
    if (!keyNames.includes(name)) {
      p.add(
        at,
        template,
        `placeholders naming partition keys only (${keyNames.join(", ")}); "\${${name}}" names none`,
      );
    }
  }
  for (const name of keyNames) {
    if (!named.includes(name))
      p.add(at, template, `a "\${${name}}" placeholder: every partition key must appear`);
  }
}

function projectionParameters(
  proj: PartitionProjection,
  keys: readonly ColumnDeclaration[],
): Record<string, string> {
  const out: Record<string, string> = { "projection.enabled": "true" };
  for (const key of keys) {
    const spec = proj.keys[key.name];
    const k = `projection.${key.name}`;
    out[`${k}.type`] = spec.type;
    switch (spec.type) {
      case "enum":
        out[`${k}.values`] = spec.values.join(",");
        break;
      case "integer":
        out[`${k}.range`] = spec.range.join(",");
        if (spec.interval !== undefined) out[`${k}.interval`] = String(spec.interval);
        if (spec.digits !== undefined) out[`${k}.digits`] = String(spec.digits);
        break;
      case "date":
        out[`${k}.format`] = spec.format;
        out[`${k}.range`] = spec.range.join(",");
        if (spec.interval !== undefined) out[`${k}.interval`] = String(spec.interval);
        if (spec.intervalUnit !== undefined) out[`${k}.interval.unit`] = spec.intervalUnit;
        break;
      case "injected":
        break;
    }
  }
  return out;
}

/** The projection's location template, relative to the table location. */
export function locationTemplate(
  proj: PartitionProjection,
  keys: readonly ColumnDeclaration[],
): string {
  return proj.locationTemplate ?? keys.map((k) => `${k.name}=\${${k.name}}/`).join("");
}

// ---------------------------------------------------------------------------------------------
// Physical table and DDL

/** `s3://<bucket>/<prefix>`: where a declaration's data lives in a bucket. */
export function tableLocation(bucket: string, decl: Pick<TableDeclaration, "prefix">): string {
  return `s3://${bucket}/${decl.prefix}`;
}

type Storage = Pick<PhysicalTable, "serde" | "inputFormat" | "outputFormat" | "compressed"> & {
  parameters: Record<string, string>;
};

function compressionOf(c: TextCompression | undefined): {
  compressed: boolean;
  parameters: Record<string, string>;
} {
  return c && c !== "none"
    ? { compressed: true, parameters: { compressionType: c } }
    : { compressed: false, parameters: {} };
}

function storage(format: TableFormat): Storage {
  const text = { inputFormat: IO_FORMAT.textInput, outputFormat: IO_FORMAT.textOutput };
  switch (format.kind) {
    case "csv": {
      const separator = format.separator ?? ",";
      const headerLines = format.headerLines ?? 1;
      const c = compressionOf(format.compression);
      const serde: Storage["serde"] =
        (format.quoting ?? "quoted") === "quoted"
          ? {
              library: SERDE.openCsv,
              parameters: {
                separatorChar: separator,
                quoteChar: format.quoteChar ?? '"',
                escapeChar: format.escapeChar ?? "\\",
              },
            }
          : {
              library: SERDE.lazySimple,
              parameters: {
                "field.delim": separator,
                "serialization.format": separator,
                ...(format.escapeChar !== undefined ? { "escape.delim": format.escapeChar } : {}),
              },
            };
      return {
        ...text,
        serde,
        compressed: c.compressed,
        parameters: {
          classification: "csv",
          ...c.parameters,
          ...(headerLines > 0 ? { "skip.header.line.count": String(headerLines) } : {}),
        },
      };
    }
    case "json": {
      const c = compressionOf(format.compression);
      return {
        ...text,
        serde: {
          library: SERDE.json,
          parameters: format.ignoreMalformed ? { "ignore.malformed.json": "true" } : {},
        },
        compressed: c.compressed,
        parameters: { classification: "json", ...c.parameters },
      };
    }
    case "parquet":
      return {
        inputFormat: IO_FORMAT.parquetInput,
        outputFormat: IO_FORMAT.parquetOutput,
        serde: { library: SERDE.parquet, parameters: { "serialization.format": "1" } },
        compressed: false,
        parameters: {
          classification: "parquet",
          "parquet.compression": (format.compression ?? "snappy").toUpperCase(),
        },
      };
  }
}

/** Validates the declaration and derives the table as Glue stores it, at `location`. */
export function physicalTable(decl: TableDeclaration, location: string): PhysicalTable {
  const { columns, partitionKeys } = validateTable(decl);
  if (!/^s3:\/\/[^/]+\/(.+\/)?$/.test(location)) {
    throw new Error(
      `Table "${decl.name}": location got ${show(location)}; allowed: s3://<bucket>/<prefix>/ ending in "/"`,
    );
  }
  const s = storage(decl.format);
  const parameters: Record<string, string> = { ...s.parameters };
  if (decl.projection) {
    Object.assign(parameters, projectionParameters(decl.projection, partitionKeys));
    parameters["storage.location.template"] =
      location + locationTemplate(decl.projection, partitionKeys);
  }
  return {
    name: decl.name,
    description: decl.description,
    columns,
    partitionKeys,
    location,
    serde: s.serde,
    inputFormat: s.inputFormat,
    outputFormat: s.outputFormat,
    compressed: s.compressed,
    parameters,
  };
}

/** A Hive string literal: single quotes, with backslash and quote escaped. */
function literal(s: string): string {
  return `'${s.replace(/\\/g, "\\\\").replace(/'/g, "\\'")}'`;
}

function columnList(columns: readonly ColumnDeclaration[]): string {
  return columns
    .map((c) => {
      const type = renderType(parseHiveType(c.type), quoteIdentifier);
      return `  ${quoteIdentifier(c.name)} ${type}${c.comment ? ` COMMENT ${literal(c.comment)}` : ""}`;
    })
    .join(",\n");
}

function propertyList(props: Readonly<Record<string, string>>): string {
  return Object.entries(props)
    .map(([k, v]) => `  ${literal(k)}=${literal(v)}`)
    .join(",\n");
}

/** Athena's `CREATE EXTERNAL TABLE` statement for the table in `database`. */
export function createTableDdl(table: PhysicalTable, database: string): string {
  const lines = [
    `CREATE EXTERNAL TABLE ${quoteIdentifier(database)}.${quoteIdentifier(table.name)} (`,
  ];
  lines.push(columnList(table.columns), ")");
  if (table.description) lines.push(`COMMENT ${literal(table.description)}`);
  if (table.partitionKeys.length > 0)
    lines.push("PARTITIONED BY (", columnList(table.partitionKeys), ")");
  lines.push(`ROW FORMAT SERDE ${literal(table.serde.library)}`);
  if (Object.keys(table.serde.parameters).length > 0) {
    lines.push("WITH SERDEPROPERTIES (", propertyList(table.serde.parameters), ")");
  }
  lines.push(`STORED AS INPUTFORMAT ${literal(table.inputFormat)}`);
  lines.push(`OUTPUTFORMAT ${literal(table.outputFormat)}`);
  lines.push(`LOCATION ${literal(table.location)}`);
  if (Object.keys(table.parameters).length > 0)
    lines.push("TBLPROPERTIES (", propertyList(table.parameters), ")");
  return lines.join("\n");
}
