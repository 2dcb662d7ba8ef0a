/** A table declaration (columns, partition keys, format, partition projection) and its errors. */
import { show } from "../config";

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

/** Collects the problems of one declaration, so that one error can name them all. */
export class Problems {
  readonly list: SchemaProblem[] = [];
  add(field: string, value: unknown, allowed: string): void {
    this.list.push({ field, value, allowed });
  }
}
