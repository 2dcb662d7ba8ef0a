/**
 * Genomics: CSV files (plain or gzip) landing under csv/ start a run through EventBridge and a
 * workflow, in batches of two files or after five minutes. A run converts every file under csv/
 * and overwrites the chromosome partitions it writes, so overlapping batches never duplicate rows.
 */
import { definePipeline } from "../lib/declaration";
import { TableDeclaration } from "../lib/schema";

/**
 * The job's input under its prefix: plain and gzip-compressed CSV (a Hadoop glob, which the
 * script reads as is), and the object key suffixes whose arrival starts a run.
 */
export const GENOMICS_INPUT_GLOB = "*.{csv,csv.gz}";
export const GENOMICS_INPUT_SUFFIXES = [".csv", ".csv.gz"] as const;

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

export default definePipeline({
  name: "genomics",
  order: 1,
  job: {
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
      "--REJECTED_PATH": {
        required: false,
        description: "Where rows that cannot be parsed go, with a _reject_reason column",
        example: "s3://bucket/output/_rejected/",
      },
      "--ENGINE": {
        required: false,
        description:
          "auto (default: Arrow in the driver for inputs up to 2 GiB, else Spark), arrow or spark",
        example: "auto",
      },
    },
  },
  inputPrefix: "csv/",
  defaultArguments: {
    "--INPUT_PATH": `{raw}/csv/${GENOMICS_INPUT_GLOB}`,
    "--OUTPUT_PATH": "{processed}/genomics/",
    "--REJECTED_PATH": "{processed}/genomics/_rejected/",
  },
  tables: [{ table: GENOMIC_VARIANTS, bucket: "processed" }],
  start: {
    kind: "s3Workflow",
    prefix: "csv/",
    suffix: GENOMICS_INPUT_SUFFIXES,
    batchSize: 2,
    batchWindowSeconds: 300,
  },
});
