/**
 * Stack configuration: the raw values of Pulumi.<stack>.yaml in, typed settings out. Pure: no
 * Pulumi calls, so it is tested directly and runs before any resource is registered.
 */
import { CRON_EXAMPLE, validateGlueCron } from "./cron";
import { JOBS, PIPELINE_NAMES, PipelineName } from "./jobs";

/** DPUs per worker (R types count memory-optimised M-DPUs). */
export const WORKER_DPUS = {
  "G.1X": 1,
  "G.2X": 2,
  "G.4X": 4,
  "G.8X": 8,
  "G.12X": 12,
  "G.16X": 16,
  "R.1X": 1,
  "R.2X": 2,
  "R.4X": 4,
  "R.8X": 8,
} as const;
export type WorkerType = keyof typeof WORKER_DPUS;
export const WORKER_TYPES = Object.keys(WORKER_DPUS) as WorkerType[];

export const EXECUTION_CLASSES = ["STANDARD", "FLEX"] as const;
export type ExecutionClass = (typeof EXECUTION_CLASSES)[number];
/** Glue runs FLEX only on these worker types. */
export const FLEX_WORKER_TYPES: readonly WorkerType[] = ["G.1X", "G.2X"];

export const LIMITS = {
  numberOfWorkers: { min: 2, max: 1000 },
  maxConcurrentRuns: { min: 1, max: 1000 },
  // Glue rejects batch job timeouts above 7 days.
  timeoutMinutes: { min: 1, max: 10080 },
  maxRetries: { min: 0, max: 10 },
  tempExpirationDays: { min: 1, max: 365 },
  typicalRunMinutes: { min: 1, max: 10080 },
} as const;

export interface JobSizing {
  readonly workerType: WorkerType;
  readonly numberOfWorkers: number;
  readonly maxConcurrentRuns: number;
  readonly timeoutMinutes: number;
  readonly maxRetries: number;
  readonly executionClass: ExecutionClass;
}
export const SIZING_KEYS = [
  "workerType",
  "numberOfWorkers",
  "maxConcurrentRuns",
  "timeoutMinutes",
  "maxRetries",
  "executionClass",
] as const satisfies readonly (keyof JobSizing)[];

export interface PipelineSettings {
  readonly enabled: boolean;
  readonly sizing: JobSizing;
  /** Typical duration of one run, for cost estimates. Default 10. */
  readonly typicalRunMinutes: number;
  /** Glue cron expression for a scheduled run, when the pipeline has one. */
  readonly schedule?: string;
  /** Write to a database through a Glue JDBC connection instead of Parquet (tagging only). */
  readonly jdbc?: JdbcSettings;
}

/** A JDBC target; the password is the stack secret `glue-etl:jdbcPassword`. */
export interface JdbcSettings {
  /** e.g. `jdbc:postgresql://db.example.com:5432/analytics` */
  readonly url: string;
  /** Target table, e.g. `public.tagged_sales`. */
  readonly table: string;
  readonly username: string;
}

/** Pipelines whose scripts can write through a JDBC connection. */
export const JDBC_PIPELINES: readonly PipelineName[] = ["tagging"];
const JDBC_URL_RE = /^jdbc:(postgresql|mysql|sqlserver|oracle:thin|redshift):\/\/?[^\s]+$/;
const SQL_TABLE_RE = /^[A-Za-z_][A-Za-z0-9_$]*(\.[A-Za-z_][A-Za-z0-9_$]*)?$/;

export interface StackTags {
  readonly environment: string;
  readonly owner: string;
  readonly "cost-center": string;
  readonly [key: string]: string;
}

export interface StackSettings {
  readonly environment: string;
  readonly region: string;
  readonly tags: StackTags;
  readonly alertEmails: readonly string[];
  /** Days before objects under the temp bucket expire. Default 7. */
  readonly tempExpirationDays: number;
  readonly sizing: JobSizing;
  readonly pipelines: Readonly<Record<PipelineName, PipelineSettings>>;
}

/** The stack file's values, as read by index.ts; every field is untrusted. */
export interface RawStackConfig {
  readonly region?: unknown;
  readonly environment?: unknown;
  readonly owner?: unknown;
  readonly costCenter?: unknown;
  readonly tags?: unknown;
  readonly alertEmails?: unknown;
  readonly tempExpirationDays?: unknown;
  readonly sizing?: unknown;
  readonly pipelines?: unknown;
  /** Whether the secret `glue-etl:jdbcPassword` is set (its value is never read here). */
  readonly jdbcPasswordSet?: boolean;
}

export interface ConfigProblem {
  /** Config key as written in the stack file, e.g. `glue-etl:sizing.workerType`. */
  readonly key: string;
  readonly value: unknown;
  readonly allowed: string;
}

export class ConfigValidationError extends Error {
  constructor(readonly problems: readonly ConfigProblem[]) {
    super(
      `Invalid stack configuration (${problems.length} problem${problems.length === 1 ? "" : "s"}):\n` +
        problems.map((p) => `  - ${p.key}: got ${show(p.value)}; allowed: ${p.allowed}`).join("\n"),
    );
    this.name = "ConfigValidationError";
  }
}

export function show(value: unknown): string {
  if (value === undefined) return "nothing (missing)";
  if (typeof value === "string") return JSON.stringify(value);
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}

const NS = "glue-etl";
const ENV_RE = /^[a-z][a-z0-9-]{0,15}$/;
const REGION_RE = /^[a-z]{2}(-gov|-iso[a-z]?)?-[a-z]+-\d$/;
const EMAIL_RE = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;
const TAG_KEY_RE = /^[\p{L}\p{Z}\p{N}_.:/=+\-@]{1,128}$/u;
const PIPELINE_KEYS = ["enabled", "typicalRunMinutes", "schedule", "jdbc", ...SIZING_KEYS] as const;

class Collector {
  readonly problems: ConfigProblem[] = [];
  add(key: string, value: unknown, allowed: string): void {
    this.problems.push({ key, value, allowed });
  }

  string(key: string, value: unknown, re: RegExp, allowed: string): string | undefined {
    if (typeof value !== "string" || !re.test(value)) {
      this.add(key, value, allowed);
      return undefined;
    }
    return value;
  }

  int(key: string, value: unknown, range: { min: number; max: number }): number | undefined {
    if (
      typeof value !== "number" ||
      !Number.isInteger(value) ||
      value < range.min ||
      value > range.max
    ) {
      this.add(key, value, `an integer from ${range.min} to ${range.max}`);
      return undefined;
    }
    return value;
  }

  oneOf<T extends string>(key: string, value: unknown, options: readonly T[]): T | undefined {
    if (typeof value !== "string" || !(options as readonly string[]).includes(value)) {
      this.add(key, value, `one of ${options.join(", ")}`);
      return undefined;
    }
    return value as T;
  }

  record(key: string, value: unknown): Record<string, unknown> | undefined {
    if (typeof value !== "object" || value === null || Array.isArray(value)) {
      this.add(key, value, "a map of keys to values");
      return undefined;
    }
    return value as Record<string, unknown>;
  }

  unknownKeys(prefix: string, obj: Record<string, unknown>, known: readonly string[]): void {
    for (const k of Object.keys(obj)) {
      if (!known.includes(k))
        this.add(`${prefix}.${k}`, obj[k], `no such key; known keys: ${known.join(", ")}`);
    }
  }
}

/**
 * Validates sizing keys present in `raw` (all required when `base` is absent; otherwise each
 * overrides `base`) and the rules that span keys, such as FLEX needing G.1X or G.2X.
 */
function sizing(
  c: Collector,
  prefix: string,
  raw: Record<string, unknown>,
  base?: JobSizing,
): JobSizing | undefined {
  const v = <K extends keyof JobSizing>(
    k: K,
    check: (key: string, value: unknown) => JobSizing[K] | undefined,
  ) => {
    if (raw[k] === undefined && base) return base[k];
    return check(`${prefix}.${k}`, raw[k]);
  };
  const s = {
    workerType: v("workerType", (k, x) => c.oneOf(k, x, WORKER_TYPES)),
    numberOfWorkers: v("numberOfWorkers", (k, x) => c.int(k, x, LIMITS.numberOfWorkers)),
    maxConcurrentRuns: v("maxConcurrentRuns", (k, x) => c.int(k, x, LIMITS.maxConcurrentRuns)),
    timeoutMinutes: v("timeoutMinutes", (k, x) => c.int(k, x, LIMITS.timeoutMinutes)),
    maxRetries: v("maxRetries", (k, x) => c.int(k, x, LIMITS.maxRetries)),
    executionClass: v("executionClass", (k, x) => c.oneOf(k, x, EXECUTION_CLASSES)),
  };
  if (
    s.executionClass === "FLEX" &&
    s.workerType !== undefined &&
    !FLEX_WORKER_TYPES.includes(s.workerType)
  ) {
    const where =
      raw.executionClass !== undefined || raw.workerType !== undefined
        ? prefix
        : `${prefix} (inherited)`;
    c.add(
      `${where}.executionClass`,
      `FLEX with ${s.workerType}`,
      `FLEX only with worker types ${FLEX_WORKER_TYPES.join(", ")}; use STANDARD for ${s.workerType}`,
    );
    return undefined;
  }
  if (Object.values(s).some((x) => x === undefined)) return undefined;
  return s as JobSizing;
}

/**
 * A job with bookmarks runs one at a time: two overlapping runs start from the same bookmark and
 * would process the same new files twice. Names the key that set the value (the pipeline's own,
 * or the stack-wide one it inherited).
 */
function bookmarkConcurrency(
  c: Collector,
  pipeline: PipelineName,
  s: JobSizing,
  ownValue: boolean,
): void {
  if (!JOBS[pipeline].bookmarks || s.maxConcurrentRuns <= 1) return;
  const key = ownValue
    ? `${NS}:pipelines.${pipeline}.maxConcurrentRuns`
    : `${NS}:sizing.maxConcurrentRuns (inherited by pipelines.${pipeline})`;
  const unbookmarked = PIPELINE_NAMES.filter((p) => !JOBS[p].bookmarks);
  c.add(
    key,
    s.maxConcurrentRuns,
    `1 for ${pipeline}, whose job uses bookmarks (overlapping runs would read the same new files twice); ` +
      `set ${NS}:pipelines.${pipeline}.maxConcurrentRuns to 1, and raise it only for pipelines without ` +
      `bookmarks (${unbookmarked.join(", ")})`,
  );
}

/**
 * The raw config from a lookup of fully qualified keys (`glue-etl:sizing`, `aws:region`) to the
 * strings a stack file holds; structured values are parsed as JSON, anything else stays a string
 * so that validation can name it.
 */
export function rawStackConfig(lookup: (key: string) => string | undefined): RawStackConfig {
  const get = (key: string): unknown => {
    const value = lookup(key);
    if (value === undefined) return undefined;
    try {
      return JSON.parse(value) as unknown;
    } catch {
      return value;
    }
  };
  return {
    region: lookup("aws:region"),
    environment: lookup(`${NS}:environment`),
    owner: lookup(`${NS}:owner`),
    costCenter: lookup(`${NS}:costCenter`),
    tags: get(`${NS}:tags`),
    alertEmails: get(`${NS}:alertEmails`),
    tempExpirationDays: get(`${NS}:tempExpirationDays`),
    sizing: get(`${NS}:sizing`),
    pipelines: get(`${NS}:pipelines`),
  };
}

function jdbcSettings(
  c: Collector,
  pipeline: PipelineName,
  raw: unknown,
  passwordSet: boolean,
): JdbcSettings | undefined {
  const prefix = `${NS}:pipelines.${pipeline}.jdbc`;
  if (!JDBC_PIPELINES.includes(pipeline)) {
    c.add(prefix, raw, `only for pipelines that write through JDBC: ${JDBC_PIPELINES.join(", ")}`);
    return undefined;
  }
  const j = c.record(prefix, raw);
  if (!j) return undefined;
  c.unknownKeys(prefix, j, ["url", "table", "username"]);
  const url = c.string(
    `${prefix}.url`,
    j.url,
    JDBC_URL_RE,
    "a JDBC URL such as jdbc:postgresql://db.example.com:5432/analytics (postgresql, mysql, sqlserver, oracle:thin, redshift)",
  );
  const table = c.string(
    `${prefix}.table`,
    j.table,
    SQL_TABLE_RE,
    "a table name, optionally schema-qualified, e.g. public.tagged_sales",
  );
  const username = c.string(
    `${prefix}.username`,
    j.username,
    /^\S{1,128}$/,
    "a database user name without spaces",
  );
  if (!passwordSet) {
    c.add(
      `${NS}:jdbcPassword`,
      undefined,
      "a secret, required with a jdbc target: pulumi config set --secret glue-etl:jdbcPassword <password>",
    );
  }
  return url && table && username ? { url, table, username } : undefined;
}

/**
 * Turns the raw stack config into settings, or throws one ConfigValidationError naming every bad
 * key, the value given and what is allowed.
 */
export function validateStackConfig(raw: RawStackConfig): StackSettings {
  const c = new Collector();
  const region = c.string(
    "aws:region",
    raw.region,
    REGION_RE,
    "an AWS region code such as eu-west-1",
  );
  const environment = c.string(
    `${NS}:environment`,
    raw.environment,
    ENV_RE,
    "lower-case letters, digits and '-', starting with a letter, at most 16 characters (e.g. dev, prod)",
  );
  const owner = c.string(
    `${NS}:owner`,
    raw.owner,
    /^\S.{0,255}$/,
    "a non-empty team or person, at most 256 characters",
  );
  const costCenter = c.string(
    `${NS}:costCenter`,
    raw.costCenter,
    /^\S.{0,255}$/,
    "a non-empty cost centre code, at most 256 characters",
  );

  const extraTags: Record<string, string> = {};
  if (raw.tags !== undefined) {
    const t = c.record(`${NS}:tags`, raw.tags);
    for (const [k, val] of Object.entries(t ?? {})) {
      if (!TAG_KEY_RE.test(k) || k.startsWith("aws:")) {
        c.add(
          `${NS}:tags.${k}`,
          k,
          "a tag key of 1-128 letters, digits, spaces or _.:/=+-@, not starting with aws:",
        );
      } else if (typeof val !== "string" || val.length > 256) {
        c.add(`${NS}:tags.${k}`, val, "a string of at most 256 characters");
      } else {
        extraTags[k] = val;
      }
    }
  }

  let alertEmails: string[] = [];
  if (raw.alertEmails !== undefined) {
    if (!Array.isArray(raw.alertEmails)) {
      c.add(`${NS}:alertEmails`, raw.alertEmails, "a list of e-mail addresses");
    } else {
      alertEmails = raw.alertEmails.filter((e, i) => {
        const ok = typeof e === "string" && EMAIL_RE.test(e);
        if (!ok) c.add(`${NS}:alertEmails[${i}]`, e, "an e-mail address such as team@example.com");
        return ok;
      }) as string[];
    }
  }

  const tempExpirationDays =
    raw.tempExpirationDays === undefined
      ? 7
      : c.int(`${NS}:tempExpirationDays`, raw.tempExpirationDays, LIMITS.tempExpirationDays);

  const rawSizing = c.record(`${NS}:sizing`, raw.sizing);
  let base: JobSizing | undefined;
  if (rawSizing) {
    c.unknownKeys(`${NS}:sizing`, rawSizing, SIZING_KEYS);
    base = sizing(c, `${NS}:sizing`, rawSizing);
  }

  const pipelines: Partial<Record<PipelineName, PipelineSettings>> = {};
  const rawPipelines =
    raw.pipelines === undefined ? {} : (c.record(`${NS}:pipelines`, raw.pipelines) ?? {});
  for (const name of Object.keys(rawPipelines)) {
    if (!(PIPELINE_NAMES as string[]).includes(name)) {
      c.add(
        `${NS}:pipelines.${name}`,
        name,
        `a pipeline of this program: ${PIPELINE_NAMES.join(", ")}`,
      );
    }
  }
  for (const name of PIPELINE_NAMES) {
    const prefix = `${NS}:pipelines.${name}`;
    const p = rawPipelines[name] === undefined ? {} : c.record(prefix, rawPipelines[name]);
    if (!p) continue;
    c.unknownKeys(prefix, p, PIPELINE_KEYS);
    const enabled = p.enabled ?? true;
    if (typeof enabled !== "boolean") c.add(`${prefix}.enabled`, p.enabled, "true or false");
    const typicalRunMinutes =
      p.typicalRunMinutes === undefined
        ? 10
        : c.int(`${prefix}.typicalRunMinutes`, p.typicalRunMinutes, LIMITS.typicalRunMinutes);
    let schedule: string | undefined;
    if (p.schedule !== undefined) {
      if (typeof p.schedule !== "string") {
        c.add(`${prefix}.schedule`, p.schedule, `a Glue cron expression such as ${CRON_EXAMPLE}`);
      } else {
        try {
          schedule = validateGlueCron(p.schedule);
        } catch (e) {
          // The cron error repeats the value; keep what it says about the field and the form.
          c.add(
            `${prefix}.schedule`,
            p.schedule,
            (e as Error).message.replace(/^Invalid Glue schedule "[^"]*": /, ""),
          );
        }
      }
    }
    const s = base ? sizing(c, prefix, p, base) : undefined;
    if (s && enabled === true) bookmarkConcurrency(c, name, s, p.maxConcurrentRuns !== undefined);
    if (s && typicalRunMinutes !== undefined && s.timeoutMinutes < typicalRunMinutes) {
      c.add(
        `${prefix}.typicalRunMinutes`,
        typicalRunMinutes,
        `at most the job timeout (${s.timeoutMinutes} minutes)`,
      );
    }
    const jdbc =
      p.jdbc === undefined
        ? undefined
        : jdbcSettings(c, name, p.jdbc, raw.jdbcPasswordSet === true);
    if (s && typeof enabled === "boolean" && typicalRunMinutes !== undefined) {
      pipelines[name] = {
        enabled,
        sizing: s,
        typicalRunMinutes,
        ...(schedule ? { schedule } : {}),
        ...(jdbc ? { jdbc } : {}),
      };
    }
  }

  if (c.problems.length > 0) throw new ConfigValidationError(c.problems);
  return {
    environment: environment!,
    region: region!,
    tags: { ...extraTags, environment: environment!, owner: owner!, "cost-center": costCenter! },
    alertEmails,
    tempExpirationDays: tempExpirationDays!,
    sizing: base!,
    pipelines: pipelines as Record<PipelineName, PipelineSettings>,
  };
}

/** Total DPUs a job holds while it runs. */
export function jobDpus(s: JobSizing): number {
  return WORKER_DPUS[s.workerType] * s.numberOfWorkers;
}
