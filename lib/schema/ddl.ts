/** The table as Glue stores it (SerDe, formats, parameters) and Athena's CREATE EXTERNAL TABLE for it. */
import { show } from "../config";
import {
  ColumnDeclaration,
  IO_FORMAT,
  PhysicalTable,
  SERDE,
  TableDeclaration,
  TableFormat,
  TextCompression,
} from "./declaration";
import { validateTable } from "./validation";
import { parseHiveType, renderType } from "./hive-types";
import { quoteIdentifier } from "./names";
import { locationTemplate, projectionParameters } from "./projection";

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
