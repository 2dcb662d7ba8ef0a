/** Manifest: a manifest.json landing under manifests/ starts one batch run with its path. */
import { TableDeclaration } from "../lib/schema";
import { definePipeline } from "../lib/declaration";

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

export default definePipeline({
  name: "manifest",
  order: 3,
  job: {
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
      "--REJECTED_PATH": {
        required: false,
        description: "Where rows that cannot be parsed go, with a _reject_reason column",
        example: "s3://bucket/output/_rejected/",
      },
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
      "--ENGINE": {
        required: false,
        description:
          "auto (default: the Python engine, Spark tasks splitting lines with Arrow, NumPy and Python's JSON scanner; Spark for what it cannot read alike), python or spark",
        example: "auto",
      },
    },
  },
  defaultArguments: { "--OUTPUT_PATH": "{processed}/batches/" },
  tables: [{ table: NDJSON_BATCHES, bucket: "processed" }],
  start: {
    kind: "s3Lambda",
    prefix: "manifests/",
    suffix: "manifest.json",
    argumentName: "--MANIFEST_PATH",
  },
});
