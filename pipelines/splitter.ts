/** Splitter: one object per row of the user_info_large catalog table, on demand or on a schedule. */
import { ColumnDeclaration, TableDeclaration } from "../lib/schema";
import { definePipeline } from "../lib/declaration";

const strings = (names: readonly string[]): ColumnDeclaration[] =>
  names.map((name) => ({ name, type: "string" }));

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

export default definePipeline({
  name: "splitter",
  order: 2,
  job: {
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
  inputPrefix: "user_info_large/",
  defaultArguments: {
    "--DATABASE_NAME": "{database}",
    "--TABLE_NAME": "user_info_large",
    "--OUTPUT_PATH": "{processed}/rows/",
    "--REJECTED_PATH": "{processed}/_rejected/",
  },
  tables: [{ table: USER_INFO_LARGE, bucket: "raw" }],
  start: { kind: "onDemand" },
});
