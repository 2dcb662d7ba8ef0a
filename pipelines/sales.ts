/**
 * Sales: raw CSV or JSON sales and clickstream events to Parquet by date, at the head of the
 * nightly workflow (tagging follows it). A crawler of its own catalogs the raw landing zone.
 */
import { TableDeclaration } from "../lib/schema";
import { definePipeline } from "../lib/declaration";

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

export default definePipeline({
  name: "sales",
  order: 4,
  job: {
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
      "--REJECTED_PATH": {
        required: false,
        description: "Where rows that cannot be parsed go, with a _reject_reason column",
        example: "s3://bucket/output/_rejected/",
      },
      "--ENGINE": {
        required: false,
        description:
          "auto (default: Arrow on the driver for CSV and JSON lines up to 2 GiB, else Spark), arrow or spark",
        example: "auto",
      },
    },
  },
  inputPrefix: "sales/",
  defaultArguments: { "--INPUT_PATH": "{raw}/sales/", "--OUTPUT_PATH": "{processed}/sales/" },
  tables: [{ table: SALES_PROCESSED, bucket: "processed" }],
  crawlers: [
    {
      name: "raw",
      bucket: "raw",
      prefixes: ["sales/"],
      schedule: "cron(30 1 * * ? *)",
      tablePrefix: "raw_",
    },
  ],
  start: {
    kind: "workflow",
    name: "daily",
    // 02:00 UTC daily, unless the stack file gives glue-etl:pipelines.sales.schedule.
    schedule: "cron(0 2 * * ? *)",
    description: "Nightly: clean sales and clickstream events, tag them, catalog the tagged output",
  },
});
