/**
 * Glue job arguments: which ones Glue reserves, which ones the component manages, and the
 * `{raw}`-style placeholders that pipelines use to point at their own buckets. Pure.
 */
import { METRIC_ARGUMENTS } from "./observability";

/** Glue sets or forbids these itself; a job that sets them misbehaves or is rejected. */
export const RESERVED_ARGUMENTS = [
  "--JOB_NAME",
  "--JOB_ID",
  "--JOB_RUN_ID",
  "--debug",
  "--mode",
] as const;

/**
 * Glue options the job component sets from its own settings (`components/job.ts` builds its
 * default arguments as a record of exactly these keys, so the two cannot drift).
 */
export const JOB_OPTION_ARGUMENTS = [
  "--job-language",
  "--job-bookmark-option",
  "--TempDir",
  "--enable-metrics",
  "--enable-observability-metrics",
  "--enable-spark-ui",
  "--spark-event-logs-path",
  "--enable-auto-scaling",
  "--enable-glue-datacatalog",
  "--enable-job-insights",
  "--extra-py-files",
] as const;
export type JobOptionArgument = (typeof JOB_OPTION_ARGUMENTS)[number];

/** Set by the job component; a pipeline changes them through its settings. */
export const MANAGED_ARGUMENTS = [...JOB_OPTION_ARGUMENTS, ...METRIC_ARGUMENTS] as const;

/**
 * Glue 4.0 and earlier only: Glue 5.0 logs every job to CloudWatch in real time and ignores these,
 * so a job that sets them looks configured while nothing changes. Glue 5.0 names its log groups
 * and streams with `--custom-logGroup-prefix` and `--custom-logStream-prefix`.
 */
export const PRE_GLUE5_ARGUMENTS = [
  "--enable-continuous-cloudwatch-log",
  "--enable-continuous-log-filter",
  "--continuous-log-logGroup",
  "--continuous-log-logStreamPrefix",
  "--continuous-log-conversionPattern",
] as const;

/**
 * Placeholders a pipeline's arguments may use: `{raw}`, `{processed}`, `{scripts}` and `{temp}`
 * become `s3://<that bucket>`, `{database}` the pipeline's Glue database name.
 */
export const PLACEHOLDERS = ["raw", "processed", "scripts", "temp", "database"] as const;
export type Placeholder = (typeof PLACEHOLDERS)[number];

const KEY_RE = /^--[A-Za-z][A-Za-z0-9_.-]*$/;
// Braces holding anything but a name are left alone: Hadoop globs use them (`*.{csv,csv.gz}`).
const PLACEHOLDER_RE = /\{([A-Za-z_]*)\}/g;

export class JobArgumentsError extends Error {
  constructor(
    readonly pipeline: string,
    readonly problems: readonly string[],
  ) {
    super(
      `Invalid job arguments for pipeline "${pipeline}":\n${problems.map((p) => `  - ${p}`).join("\n")}`,
    );
    this.name = "JobArgumentsError";
  }
}

/** Throws one JobArgumentsError naming every bad argument; returns the arguments unchanged. */
export function validateJobArguments(
  pipeline: string,
  args: Readonly<Record<string, string>>,
): Readonly<Record<string, string>> {
  const problems: string[] = [];
  for (const [key, value] of Object.entries(args)) {
    if ((RESERVED_ARGUMENTS as readonly string[]).includes(key)) {
      problems.push(
        `${key}: reserved by Glue and must not be set; drop it (Glue passes ${key} itself where it applies)`,
      );
    } else if ((MANAGED_ARGUMENTS as readonly string[]).includes(key)) {
      problems.push(
        `${key}: set by the job component; change it through the pipeline's settings instead of its arguments`,
      );
    } else if ((PRE_GLUE5_ARGUMENTS as readonly string[]).includes(key)) {
      problems.push(
        `${key}: a Glue 4.0 logging argument that Glue 5.0 ignores (every Glue 5.0 job logs to CloudWatch in real time); drop it, or name log groups and streams with --custom-logGroup-prefix / --custom-logStream-prefix`,
      );
    } else if (!KEY_RE.test(key)) {
      problems.push(
        `${JSON.stringify(key)}: an argument name must start with "--" then a letter, e.g. --INPUT_PATH`,
      );
    }
    if (typeof value !== "string") {
      problems.push(`${key}: got ${JSON.stringify(value)}; allowed: a string`);
      continue;
    }
    for (const m of value.matchAll(PLACEHOLDER_RE)) {
      if (!(PLACEHOLDERS as readonly string[]).includes(m[1] ?? "")) {
        problems.push(
          `${key}: unknown placeholder {${m[1]}} in ${JSON.stringify(value)}; allowed: ${PLACEHOLDERS.map((p) => `{${p}}`).join(", ")}`,
        );
      }
    }
  }
  if (problems.length > 0) throw new JobArgumentsError(pipeline, problems);
  return args;
}

/** Replaces each placeholder with its value (`s3://…` for buckets, a name for `{database}`). */
export function expandPlaceholders(
  value: string,
  values: Readonly<Record<Placeholder, string>>,
): string {
  return value.replace(PLACEHOLDER_RE, (_, p: Placeholder) => values[p]);
}
