/**
 * Tagging: tags Parquet rows by regular expressions from a rules table. It runs after sales in
 * the nightly workflow and tags the sales output; without sales it reads Parquet dropped under
 * input/ and starts on demand or on its own schedule. A crawler catalogs its output after each run.
 */
import { definePipeline } from "../lib/declaration";

export default definePipeline({
  name: "tagging",
  order: 5,
  job: {
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
      "--TAGS_COLUMN": {
        required: false,
        description: "Column that receives the matched tags",
        default: "tags",
      },
      "--REJECTED_PATH": {
        required: false,
        description: "Accepted like every job's; Parquet input is typed, so no row is rejected",
      },
    },
  },
  inputPrefix: "input/",
  defaultArguments: {
    "--INPUT_PATH": "{raw}/input/",
    "--OUTPUT_PATH": "{processed}/tagged/",
    "--RULES_PATH": "{scripts}/config/tagging_rules.csv",
  },
  assets: ["rules/tagging_rules.csv"],
  reads: [{ pipeline: "sales", prefix: "sales/", argument: "--INPUT_PATH" }],
  jdbc: { replacesArguments: ["--OUTPUT_PATH"] },
  crawlers: [{ name: "tagged", bucket: "processed", prefixes: ["tagged/"], afterJob: true }],
  start: { kind: "after", pipeline: "sales" },
});
