/**
 * The argument contract of every PySpark job script in `scripts/`. One place that the Pulumi
 * program (default arguments), the job-run CLI (validation before StartJobRun) and the docs share,
 * so a script's arguments cannot drift between them.
 */

export interface JobArgumentSpec {
  /** A run fails without it, unless the job definition gives it a default. */
  readonly required: boolean;
  readonly description: string;
  /** Shown in help texts. */
  readonly example?: string;
}

export interface JobSpec {
  /** Script file name under `scripts/`. */
  readonly script: string;
  /** Glue job name before the environment suffix, as users type it in `start-job-run`. */
  readonly jobBaseName: string;
  readonly description: string;
  /**
   * Glue job bookmarks: each run reads only input that earlier runs did not. Such a job runs one
   * at a time (config validation refuses maxConcurrentRuns above 1), because two overlapping runs
   * start from the same bookmark and would process the same new files twice.
   */
  readonly bookmarks: boolean;
  /** Keys are Glue argument names with their leading `--`. */
  readonly arguments: Readonly<Record<string, JobArgumentSpec>>;
}

const rejectedPath: JobArgumentSpec = {
  required: false,
  description: "Where rows that cannot be parsed go, with a _reject_reason column",
  example: "s3://bucket/output/_rejected/",
};

export const JOBS = {
  genomics: {
    script: "genomics_csv_to_parquet.py",
    jobBaseName: "csv_to_parquet_genomic_data",
    description: "Genomics CSV files to Parquet partitioned by normalised chromosome",
    bookmarks: true,
    arguments: {
      "--INPUT_PATH": {
        required: true,
        description: "CSV files (plain or gzip) to read: a prefix or a glob",
        example: "s3://bucket/csv/*.{csv,csv.gz}",
      },
      "--OUTPUT_PATH": {
        required: true,
        description: "Parquet output root (chromosome=<name>/ below it)",
        example: "s3://bucket/output/",
      },
      "--REJECTED_PATH": rejectedPath,
    },
  },
  splitter: {
    script: "table_splitter.py",
    jobBaseName: "split_table_rows",
    description: "One S3 object per row of a catalog table",
    // Every run rewrites all rows under deterministic keys; bookmarks would skip unchanged files.
    bookmarks: false,
    arguments: {
      "--DATABASE_NAME": { required: false, description: "Glue database of the source table" },
      "--TABLE_NAME": { required: false, description: "Glue table to split" },
      "--INPUT_PATH": {
        required: false,
        description: "CSV source when running outside Glue (instead of the catalog table)",
      },
      "--OUTPUT_PATH": {
        required: true,
        description: "Root for the per-row objects",
        example: "s3://bucket/processed/",
      },
      "--ID_COLUMN": {
        required: false,
        description: "Column the object key derives from (default: the first column)",
      },
      "--MAX_IN_FLIGHT": {
        required: false,
        description: "Concurrent uploads per partition",
        example: "64",
      },
      "--S3_ENDPOINT_URL": {
        required: false,
        description: "S3-compatible endpoint for local runs",
      },
      "--REJECTED_PATH": {
        required: false,
        description:
          "S3 prefix for rows not written (empty or repeated id, failed upload), with a _reject_reason",
        example: "s3://bucket/processed/_rejected/",
      },
    },
  },
  manifest: {
    script: "ndjson_manifest_to_parquet.py",
    jobBaseName: "ndjson_manifest_to_parquet",
    description: "The NDJSON files listed in a manifest to one Snappy Parquet batch",
    // Each run reads exactly the files its manifest lists, so runs for different manifests overlap.
    bookmarks: false,
    arguments: {
      "--MANIFEST_PATH": {
        required: true,
        description: 'Manifest JSON: {"fileLocations":[{"URIPrefixes":[...]}]}',
        example: "s3://bucket/manifests/2026-11-21/manifest.json",
      },
      "--OUTPUT_PATH": {
        required: true,
        description: "Root under which merged-parquet-{date}/ is written",
        example: "s3://bucket/processed/",
      },
      "--REJECTED_PATH": rejectedPath,
      "--TARGET_FILE_MB": {
        required: false,
        description: "Target Parquet file size in MB (default 128)",
      },
      "--COLUMNS": {
        required: false,
        description:
          "Comma-separated top-level field names (default: sampled from the files); other keys go to _extra_fields",
        example: "id,user,amount",
      },
    },
  },
  sales: {
    script: "sales_raw_to_processed.py",
    jobBaseName: "sales_raw_to_processed",
    description: "Sales / clickstream raw CSV or JSON to Parquet partitioned by date",
    bookmarks: true,
    arguments: {
      "--INPUT_PATH": { required: true, description: "Raw CSV or JSON prefix" },
      "--OUTPUT_PATH": { required: true, description: "Parquet root (date=YYYY-MM-DD/ below it)" },
      "--INPUT_FORMAT": { required: false, description: "csv or json (default: by extension)" },
      "--TIMESTAMP_COLUMN": {
        required: false,
        description:
          "Event time column (default: event_time, timestamp, ts, order_date, … by name)",
      },
      "--AMOUNT_COLUMN": {
        required: false,
        description: "Amount column to validate (default: amount if present)",
      },
      "--REJECTED_PATH": rejectedPath,
    },
  },
  tagging: {
    script: "regex_tagging.py",
    jobBaseName: "regex_tagging",
    description: "Tag Parquet rows by regular expressions from a rules table",
    bookmarks: true,
    arguments: {
      "--INPUT_PATH": { required: true, description: "Parquet input" },
      "--OUTPUT_PATH": { required: false, description: "Tagged Parquet output" },
      "--RULES_PATH": { required: true, description: "Rules table (CSV: tag,column,pattern)" },
      "--JDBC_CONNECTION_NAME": {
        required: false,
        description: "Glue JDBC connection to write to instead of Parquet",
      },
      "--JDBC_URL": {
        required: false,
        description: "JDBC URL instead of a Glue connection, for local runs",
        example: "jdbc:postgresql://localhost:5432/analytics",
      },
      "--JDBC_TABLE": { required: false, description: "Target table for the JDBC output" },
      "--REJECTED_PATH": {
        required: false,
        description: "Accepted like every job's; Parquet input is typed, so no row is rejected",
      },
    },
  },
} as const satisfies Record<string, JobSpec>;

export type PipelineName = keyof typeof JOBS;
export const PIPELINE_NAMES = Object.keys(JOBS) as PipelineName[];

/**
 * The genomics job's input under its prefix: plain and gzip-compressed CSV (a Hadoop glob, which
 * the script reads as is), and the object key suffixes whose arrival starts a run.
 */
export const GENOMICS_INPUT_GLOB = "*.{csv,csv.gz}";
export const GENOMICS_INPUT_SUFFIXES = [".csv", ".csv.gz"] as const;

/** The Glue job's name in an environment: `csv_to_parquet_genomic_data-dev`. */
export function glueJobName(pipeline: PipelineName, environment: string): string {
  return `${JOBS[pipeline].jobBaseName}-${environment}`;
}
