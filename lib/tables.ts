/**
 * The catalog tables this program ships, declared once. Each is the contract between a job script
 * (what it writes, where) and Athena (what it reads); the Catalog component turns them into Glue
 * tables and Athena DDL. Prefixes are relative to the owning pipeline's bucket.
 */
import { PipelineName } from "./jobs";
import { ColumnDeclaration, TableDeclaration } from "./schema";

const strings = (names: readonly string[]): ColumnDeclaration[] =>
  names.map((name) => ({ name, type: "string" }));

/**
 * Partition values of the genomics output after the job normalises chromosome names (`chr1`,
 * `01` → `1`; `chrX` → `X`; `M`, `chrM` → `MT`). Unplaced and alternate contigs keep their own
 * names as partitions; Athena sees only the partitions listed here, so add a source's contigs to
 * query them.
 */
export const CHROMOSOMES: readonly string[] = [
  ...Array.from({ length: 22 }, (_, i) => String(i + 1)),
  "X",
  "Y",
  "MT",
];

/** The 50 columns of user_info_large, in file order; the first is the row id the splitter keys on. */
export const USER_INFO_COLUMNS: readonly string[] = [
  "user_id",
  "username",
  "first_name",
  "last_name",
  "email",
  "phone",
  "date_of_birth",
  "gender",
  "street_address",
  "city",
  "state",
  "postal_code",
  "country",
  "latitude",
  "longitude",
  "timezone",
  "locale",
  "company",
  "job_title",
  "department",
  "employee_id",
  "manager_id",
  "hire_date",
  "salary_band",
  "account_status",
  "account_type",
  "signup_date",
  "last_login_at",
  "login_count",
  "preferred_language",
  "marketing_opt_in",
  "newsletter_opt_in",
  "referral_source",
  "referral_code",
  "loyalty_tier",
  "loyalty_points",
  "credit_score_band",
  "payment_method",
  "card_last4",
  "billing_address",
  "shipping_address",
  "device_type",
  "operating_system",
  "browser",
  "ip_address",
  "user_agent",
  "notes",
  "tags",
  "created_at",
  "updated_at",
];

/** The splitter's source: 1M rows, 50 string columns, about 2 GB of quoted CSV with a header row. */
export const USER_INFO_LARGE: TableDeclaration = {
  name: "user_info_large",
  description:
    "User profiles, one row per user; source of the table splitter (one S3 object per row)",
  columns: strings(USER_INFO_COLUMNS),
  // Free-text fields (addresses, notes, user agents) contain commas inside quotes.
  format: { kind: "csv", quoting: "quoted", headerLines: 1 },
  prefix: "user_info_large/",
};

/** The genomics output: Parquet under `--OUTPUT_PATH`, partitioned as `chromosome=<name>/`. */
export const GENOMIC_VARIANTS: TableDeclaration = {
  name: "genomic_variants",
  description:
    "Genomics CSV converted to Parquet, partitioned by normalised chromosome. Parquet is read by " +
    "column name: add the source's carried-through columns here to query them",
  columns: [{ name: "position", type: "bigint", comment: "1-based position on the chromosome" }],
  partitionKeys: [{ name: "chromosome", type: "string", comment: "1-22, X, Y or MT" }],
  format: { kind: "parquet", compression: "snappy" },
  prefix: "genomics/",
  projection: { keys: { chromosome: { type: "enum", values: CHROMOSOMES } } },
};

/**
 * Every source value as its JSON text. One `merged-parquet-{yyyy-MM-dd}/` folder per day (the
 * partition) holds one `batch=<id>/` folder per manifest; Athena reads the folders below a
 * partition's location, so a day's partition shows every manifest of that day.
 */
export const NDJSON_BATCHES: TableDeclaration = {
  name: "ndjson_batches",
  description:
    "NDJSON files listed by a manifest, merged to Snappy Parquet, one folder per batch date. " +
    "Source columns are all strings: add them here to query them",
  columns: [
    {
      name: "_source_file",
      type: "string",
      comment: "S3 URI of the NDJSON file the row came from",
    },
    {
      name: "_processing_timestamp",
      type: "timestamp",
      comment: "When the batch run processed the row",
    },
  ],
  partitionKeys: [{ name: "batch_date", type: "string", comment: "Date of the batch, yyyy-MM-dd" }],
  format: { kind: "parquet", compression: "snappy" },
  prefix: "batches/",
  projection: {
    keys: { batch_date: { type: "date", format: "yyyy-MM-dd", range: ["2024-01-01", "NOW"] } },
    locationTemplate: "merged-parquet-${batch_date}/",
  },
};

/** The sales output: cleaned sales / clickstream events, Parquet partitioned as `date=YYYY-MM-DD/`. */
export const SALES_PROCESSED: TableDeclaration = {
  name: "sales_processed",
  description:
    "Cleaned sales and clickstream events: valid amounts only, parsed timestamps, flat columns",
  columns: [
    { name: "event_id", type: "string" },
    { name: "event_type", type: "string", comment: "order, refund, click, view, ..." },
    { name: "customer_id", type: "string" },
    { name: "product_id", type: "string" },
    { name: "quantity", type: "int" },
    { name: "amount", type: "decimal(12,2)", comment: "Order amount in the currency below" },
    { name: "currency", type: "string", comment: "ISO 4217 code" },
    { name: "event_time", type: "timestamp", comment: "UTC" },
  ],
  partitionKeys: [{ name: "date", type: "string", comment: "Event date (UTC), yyyy-MM-dd" }],
  format: { kind: "parquet", compression: "snappy" },
  prefix: "sales/",
  projection: {
    keys: {
      date: {
        type: "date",
        format: "yyyy-MM-dd",
        range: ["2020-01-01", "NOW"],
        interval: 1,
        intervalUnit: "DAYS",
      },
    },
  },
};

export type TableBucket = "raw" | "processed";

export interface PipelineTable {
  readonly table: TableDeclaration;
  /** Which of the pipeline's buckets holds the data. */
  readonly bucket: TableBucket;
}

/** The tables in each pipeline's catalog database. */
export const PIPELINE_TABLES: Readonly<Partial<Record<PipelineName, readonly PipelineTable[]>>> = {
  genomics: [{ table: GENOMIC_VARIANTS, bucket: "processed" }],
  splitter: [{ table: USER_INFO_LARGE, bucket: "raw" }],
  manifest: [{ table: NDJSON_BATCHES, bucket: "processed" }],
  sales: [{ table: SALES_PROCESSED, bucket: "processed" }],
};
