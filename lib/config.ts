/**
 * Stack configuration: every value of the stack (as Pulumi hands them to the program) in, typed
 * settings out. Pure: no Pulumi calls, so it is tested directly and runs before any resource is
 * registered. Every key of the `glue-etl` namespace is checked, not only the keys the program
 * reads, so a misspelt key fails instead of being dropped in silence.
 */
import { distance } from "fastest-levenshtein";
import { z } from "zod";
import { CRON_EXAMPLE, validateGlueCron } from "./cron";
import { PIPELINES, PIPELINE_NAMES, PipelineName } from "../pipelines";
import { eventStartReason, workflowHeadOf, workflowName } from "./declaration";
import {
  EXECUTION_CLASSES,
  ExecutionClass,
  FLEX_WORKER_TYPES,
  JOB_LIMITS,
  WORKER_DPUS,
  WORKER_TYPES,
  WorkerType,
} from "./glue";
import { PROJECT } from "./names";

export { WORKER_DPUS, WORKER_TYPES, EXECUTION_CLASSES, FLEX_WORKER_TYPES };
export type { WorkerType, ExecutionClass };

/** What the stack config accepts: Glue's job limits, and this program's own. */
export const LIMITS = {
  ...JOB_LIMITS,
  tempExpirationDays: { min: 1, max: 365 },
  // A typical run fits in the longest run Glue allows.
  typicalRunMinutes: JOB_LIMITS.timeoutMinutes,
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
  /** Write to a database through a Glue JDBC connection instead of Parquet (pipelines whose declaration allows it). */
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

/** Pipelines whose scripts can write through a JDBC connection (their declarations say so). */
export const JDBC_PIPELINES: readonly PipelineName[] = PIPELINES.filter((p) => p.jdbc).map(
  (p) => p.name,
);
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

/**
 * A stack's configuration as Pulumi hands it to a program (`pulumi.runtime.allConfig()`): fully
 * qualified keys (`glue-etl:sizing`, `aws:region`) to strings, lists and maps as JSON text.
 */
export type StackConfigValues = Readonly<Record<string, string>>;

export interface ConfigProblem {
  /** Config key as written in the stack file, e.g. `glue-etl:sizing.workerType`. */
  readonly key: string;
  readonly value: unknown;
  readonly allowed: string;
}

export class ConfigValidationError extends Error {
  /**
   * Pulumi prints an error carrying this flag (its RunError) as the message alone, without a
   * stack trace; the flag is set here so that this pure module needs no Pulumi import.
   */
  readonly __pulumiRunError = true;

  constructor(
    /** The stack file the problems are in, e.g. `Pulumi.dev.yaml`. */
    readonly file: string,
    readonly problems: readonly ConfigProblem[],
  ) {
    super(
      `${file}: Invalid stack configuration (${problems.length} problem${problems.length === 1 ? "" : "s"}):\n` +
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

/** The program's config namespace: the project name. */
export const NS = PROJECT;
const ENV_RE = /^[a-z][a-z0-9-]{0,15}$/;
const REGION_RE = /^[a-z]{2}(-gov|-iso[a-z]?)?-[a-z]+-\d$/;
const EMAIL_RE = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;
const TAG_KEY_RE = /^[\p{L}\p{Z}\p{N}_.:/=+\-@]{1,128}$/u;
/** Typical run of a pipeline whose stack file gives none, for cost estimates. */
export const DEFAULT_TYPICAL_RUN_MINUTES = 10;
export const DEFAULT_TEMP_EXPIRATION_DAYS = 7;
/** Keys whose values are taken as written: Pulumi's `config.get`, not JSON. */
const TEXT_KEYS = new Set(["environment", "owner", "costCenter", "jdbcPassword"]);

/**
 * Pipelines that S3 events start, with what starts them: a `schedule` would be ignored there, so
 * it is refused. A pipeline that runs in another's workflow refuses one while that is enabled.
 */
export const EVENT_STARTED_PIPELINES: Readonly<Partial<Record<PipelineName, string>>> =
  Object.fromEntries(
    PIPELINES.flatMap((p) => {
      const reason = eventStartReason(p.start);
      return reason ? [[p.name, reason]] : [];
    }),
  );

// --- The schema: one zod type per key; `error` is what users read after "allowed:". ---

const MAP = "a map of keys to values";
const intIn = ({ min, max }: { min: number; max: number }) => {
  const allowed = `an integer from ${min} to ${max}`;
  return z
    .number({ error: allowed })
    .int({ error: allowed })
    .min(min, { error: allowed })
    .max(max, { error: allowed });
};
const text = (re: RegExp, allowed: string) =>
  z.string({ error: allowed }).regex(re, { error: allowed });
const oneOf = <T extends string>(options: readonly T[]) =>
  z.enum(options as [T, ...T[]], { error: `one of ${options.join(", ")}` });

const sizingFields = {
  workerType: oneOf(WORKER_TYPES),
  numberOfWorkers: intIn(LIMITS.numberOfWorkers),
  maxConcurrentRuns: intIn(LIMITS.maxConcurrentRuns),
  timeoutMinutes: intIn(LIMITS.timeoutMinutes),
  maxRetries: intIn(LIMITS.maxRetries),
  executionClass: oneOf(EXECUTION_CLASSES),
};
const Sizing = z.strictObject(sizingFields, { error: MAP });

const Jdbc = z.strictObject(
  {
    url: text(
      JDBC_URL_RE,
      "a JDBC URL such as jdbc:postgresql://db.example.com:5432/analytics (postgresql, mysql, sqlserver, oracle:thin, redshift)",
    ),
    table: text(
      SQL_TABLE_RE,
      "a table name, optionally schema-qualified, e.g. public.tagged_sales",
    ),
    username: text(/^\S{1,128}$/, "a database user name without spaces"),
  },
  { error: MAP },
);

const Schedule = z
  .string({ error: `a Glue cron expression such as ${CRON_EXAMPLE}` })
  .transform((s, ctx) => {
    try {
      return validateGlueCron(s);
    } catch (e) {
      // The cron error repeats the value; keep what it says about the field and the form.
      ctx.addIssue({
        code: "custom",
        message: (e as Error).message.replace(/^Invalid Glue schedule "[^"]*": /, ""),
      });
      return z.NEVER;
    }
  });

const Pipeline = z.strictObject(
  {
    enabled: z.boolean({ error: "true or false" }).optional(),
    typicalRunMinutes: intIn(LIMITS.typicalRunMinutes).optional(),
    schedule: Schedule.optional(),
    jdbc: Jdbc.optional(),
    ...Sizing.partial().shape,
  },
  { error: MAP },
);
type RawPipeline = z.infer<typeof Pipeline>;

/** A key this pipeline refuses, whatever its value, with why. */
const refused = (allowed: string) => z.custom<never>(() => false, { error: allowed }).optional();

/** Each pipeline's keys: `jdbc` only where the script can write JDBC, `schedule` unless events start it. */
function pipelineSchema(name: PipelineName) {
  const event = EVENT_STARTED_PIPELINES[name];
  return Pipeline.extend({
    ...(JDBC_PIPELINES.includes(name)
      ? {}
      : {
          jdbc: refused(`only for pipelines that write through JDBC: ${JDBC_PIPELINES.join(", ")}`),
        }),
    ...(event ? { schedule: refused(`no schedule: ${event} (remove the key)`) } : {}),
  });
}

const Pipelines = z.strictObject(
  // Refused keys only narrow what parses, so every pipeline's output has the shape of `Pipeline`.
  Object.fromEntries(
    PIPELINE_NAMES.map((n) => [n, pipelineSchema(n).optional()]),
  ) as unknown as Record<PipelineName, z.ZodOptional<typeof Pipeline>>,
  { error: MAP },
);

const Tags = z.record(z.string(), z.unknown(), { error: MAP });

/** Every key of the `glue-etl` namespace, in the order problems are reported. */
const NAMESPACE = {
  environment: text(
    ENV_RE,
    "lower-case letters, digits and '-', starting with a letter, at most 16 characters (e.g. dev, prod)",
  ),
  owner: text(/^\S.{0,255}$/, "a non-empty team or person, at most 256 characters"),
  costCenter: text(/^\S.{0,255}$/, "a non-empty cost centre code, at most 256 characters"),
  tags: Tags.optional(),
  alertEmails: z
    .array(text(EMAIL_RE, "an e-mail address such as team@example.com"), {
      error: "a list of e-mail addresses",
    })
    .optional(),
  tempExpirationDays: intIn(LIMITS.tempExpirationDays).optional(),
  sizing: Sizing,
  pipelines: Pipelines.optional(),
  /** Alarm thresholds; their keys are checked by validateAlarmConfig in lib/observability.ts. */
  alarms: z.unknown().optional(),
  /** Only whether it is set is checked; its value never appears in a message. */
  jdbcPassword: z
    .string({ error: "a secret: pulumi config set --secret glue-etl:jdbcPassword <password>" })
    .min(1, { error: "a non-empty secret" })
    .optional(),
};
const Namespace = z.strictObject(NAMESPACE);
/** Every key of the `glue-etl` namespace; Pulumi.yaml declares the simple ones with types. */
export const NAMESPACE_KEYS = Object.keys(NAMESPACE) as readonly string[];
type NamespaceKey = keyof typeof NAMESPACE;
const Region = text(REGION_RE, "an AWS region code such as eu-west-1");

// --- Unknown keys and "did you mean". ---

type Path = readonly PropertyKey[];

function keyOf(prefix: string, path: Path): string {
  return path.reduce<string>(
    (k, p) => (typeof p === "number" ? `${k}[${p}]` : `${k}.${String(p)}`),
    prefix,
  );
}

function valueAt(value: unknown, path: Path): unknown {
  let v = value;
  for (const p of path) v = (v as Record<PropertyKey, unknown> | undefined)?.[p];
  return v;
}

function unwrap(t: z.ZodType): z.ZodType {
  return t instanceof z.ZodOptional ? unwrap(t.unwrap() as z.ZodType) : t;
}

/** Keys of the object schema at `path` below `root`. */
function knownKeysAt(root: z.ZodType, path: Path): string[] {
  let t = unwrap(root);
  for (const p of path) {
    if (!(t instanceof z.ZodObject)) return [];
    t = unwrap((t.shape as Record<string, z.ZodType>)[String(p)]!);
  }
  return t instanceof z.ZodObject ? Object.keys(t.shape) : [];
}

/** Every key a stack file may hold, dotted, with pipeline names generalised to `<pipeline>`. */
function allKeys(t: z.ZodType, prefix: string): string[] {
  const u = unwrap(t);
  if (!(u instanceof z.ZodObject)) return [];
  const out: string[] = [];
  for (const [k, child] of Object.entries(u.shape as Record<string, z.ZodType>)) {
    const name = u === Pipelines ? "<pipeline>" : k;
    const key = `${prefix}${name}`;
    out.push(key, ...allKeys(child, `${key}.`));
  }
  return [...new Set(out)];
}
const KNOWN_KEYS = allKeys(Namespace, `${NS}:`);

const lastSegment = (key: string) => key.split(/[.:]/).pop()!;

/** The nearest candidate within a couple of edits (case ignored), if any. */
function nearest(word: string, candidates: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Infinity;
  const w = word.toLowerCase();
  for (const c of candidates) {
    const l = c.toLowerCase();
    // A shortened key (`user` for `username`) is as close as a typo.
    const d =
      Math.min(w.length, l.length) >= 4 && (l.startsWith(w) || w.startsWith(l))
        ? 1
        : distance(w, l);
    if (d < bestDistance) [best, bestDistance] = [c, d];
  }
  return best !== undefined && bestDistance <= Math.max(2, Math.floor(best.length / 5))
    ? best
    : undefined;
}

/**
 * What to say about an unknown key: a close sibling, else the same key in another place (a
 * sizing key written at the top level, a pipeline key under `sizing`).
 */
export function didYouMean(key: string, siblings: readonly string[]): string | undefined {
  const dot = Math.max(key.lastIndexOf("."), key.indexOf(":"));
  const parent = key.slice(0, dot + 1);
  const word = key.slice(dot + 1);
  const sibling = nearest(word, siblings);
  if (sibling !== undefined) return `${parent}${sibling}`;
  const elsewhere = KNOWN_KEYS.filter((k) => nearest(word, [lastSegment(k)]) !== undefined);
  return elsewhere.length > 0 ? elsewhere.join(" or ") : undefined;
}

// --- Collecting every problem before giving up. ---

/** What a problem shows instead of a secret's value. */
export const MASKED = "[secret]";

class Collector {
  readonly problems: ConfigProblem[] = [];
  private readonly seen = new Set<string>();

  constructor(private readonly secretKeys: readonly string[]) {}

  add(key: string, value: unknown, allowed: string): void {
    // One problem per key: a value that breaks two checks is reported once.
    if (this.seen.has(key)) return;
    this.seen.add(key);
    // A secret under a misspelt key is still a secret: its value never reaches a message.
    const secret = this.secretKeys.some(
      (s) => key === s || key.startsWith(`${s}.`) || key.startsWith(`${s}[`),
    );
    this.problems.push({ key, value: secret && value !== undefined ? MASKED : value, allowed });
  }

  unknownKey(key: string, value: unknown, siblings: readonly string[], pipeline = false) {
    const hint = didYouMean(key, siblings);
    this.add(
      key,
      value,
      `${pipeline ? "no such pipeline" : "no such key"}; ${hint ? `did you mean ${hint}? ` : ""}` +
        `${pipeline ? "pipelines of this program" : "known keys"}: ${siblings.join(", ")}`,
    );
  }

  /** Parses `value` with `schema`, reporting each issue under `key`; undefined when invalid. */
  parse<T extends z.ZodType>(key: string, schema: T, value: unknown): z.output<T> | undefined {
    const r = schema.safeParse(value);
    if (r.success) return r.data;
    for (const issue of r.error.issues) {
      if (issue.code === "unrecognized_keys") {
        const siblings = knownKeysAt(schema, issue.path);
        for (const k of issue.keys) {
          this.unknownKey(
            keyOf(key, [...issue.path, k]),
            valueAt(value, [...issue.path, k]),
            siblings,
            unwrap(schema) === Pipelines && issue.path.length === 0,
          );
        }
      } else {
        this.add(keyOf(key, issue.path), valueAt(value, issue.path), issue.message);
      }
    }
    return undefined;
  }
}

/** A stack file value as the program reads it: lists and maps are JSON, other values text. */
function parseValue(name: string, value: string): unknown {
  if (TEXT_KEYS.has(name)) return value;
  try {
    return JSON.parse(value) as unknown;
  } catch {
    return value;
  }
}

function flexProblem(
  c: Collector,
  prefix: string,
  written: Partial<JobSizing>,
  s: JobSizing,
): boolean {
  if (s.executionClass !== "FLEX" || FLEX_WORKER_TYPES.includes(s.workerType)) return false;
  if (written.executionClass === undefined && written.workerType !== undefined) {
    c.add(
      `${prefix}.workerType`,
      s.workerType,
      `${FLEX_WORKER_TYPES.join(" or ")} while executionClass is FLEX (from ${NS}:sizing); or set executionClass: STANDARD here too`,
    );
  } else {
    c.add(
      `${prefix}.executionClass`,
      `FLEX with ${s.workerType}`,
      `FLEX only with worker types ${FLEX_WORKER_TYPES.join(", ")}; use STANDARD for ${s.workerType}`,
    );
  }
  return true;
}

/**
 * A job with bookmarks runs one at a time: two overlapping runs start from the same bookmark and
 * would process the same new files twice. Names the key that set the value (the pipeline's own,
 * or the stack-wide one it inherited).
 */
const bookmarked = (name: PipelineName) =>
  PIPELINES.some((p) => p.name === name && p.job.bookmarks);

function bookmarkConcurrency(
  c: Collector,
  pipeline: PipelineName,
  s: JobSizing,
  ownValue: boolean,
): void {
  if (!bookmarked(pipeline) || s.maxConcurrentRuns <= 1) return;
  const key = ownValue
    ? `${NS}:pipelines.${pipeline}.maxConcurrentRuns`
    : `${NS}:sizing.maxConcurrentRuns (inherited by pipelines.${pipeline})`;
  const unbookmarked = PIPELINE_NAMES.filter((p) => !bookmarked(p));
  c.add(
    key,
    s.maxConcurrentRuns,
    `1 for ${pipeline}, whose job uses bookmarks (overlapping runs would read the same new files twice); ` +
      `set ${NS}:pipelines.${pipeline}.maxConcurrentRuns to 1, and raise it only for pipelines without ` +
      `bookmarks (${unbookmarked.join(", ")})`,
  );
}

/** Environments whose jobs must retry a failed run: the policy pack's glue-prod-job-retries. */
export const PRODUCTION_ENVIRONMENTS: readonly string[] = ["prod", "production"];

/**
 * A production job retries at least once, as the policy pack requires; refused here so that a
 * valid stack file never fails a mandatory policy. Names the key that set the value.
 */
function productionRetries(
  c: Collector,
  environment: unknown,
  pipeline: PipelineName,
  s: JobSizing,
  ownValue: boolean,
): void {
  if (typeof environment !== "string" || s.maxRetries >= 1) return;
  if (!PRODUCTION_ENVIRONMENTS.includes(environment.toLowerCase())) return;
  const key = ownValue
    ? `${NS}:pipelines.${pipeline}.maxRetries`
    : `${NS}:sizing.maxRetries (inherited by pipelines.${pipeline})`;
  c.add(
    key,
    s.maxRetries,
    `at least 1 in environment "${environment}": a production job retries a failed run (policy glue-prod-job-retries)`,
  );
}

/**
 * Turns the stack's configuration into settings, or throws one ConfigValidationError naming every
 * bad key of `file`, the value given (`[secret]` for the `secretKeys`) and what is allowed. Keys
 * of other namespaces (`aws:`, `pulumi:`) belong to their providers; only `aws:region` is read.
 */
export function validateStackConfig(
  values: StackConfigValues,
  file: string,
  secretKeys: readonly string[] = [],
): StackSettings {
  const c = new Collector(secretKeys);
  const raw: Record<string, unknown> = {};
  const known = Object.keys(NAMESPACE);
  for (const [fullKey, value] of Object.entries(values)) {
    const colon = fullKey.indexOf(":");
    const namespace = fullKey.slice(0, colon);
    const name = fullKey.slice(colon + 1);
    if (namespace !== NS) {
      // A misspelt namespace would hide the key from the program as surely as a misspelt key.
      if (namespace !== "aws" && namespace !== "pulumi" && distance(namespace, NS) <= 2)
        c.add(fullKey, parseValue(name, value), `no such namespace; did you mean ${NS}:${name}?`);
      continue;
    }
    if (known.includes(name)) {
      raw[name] = parseValue(name, value);
    } else if (name.includes(".") && known.includes(name.split(".")[0]!)) {
      c.add(
        fullKey,
        parseValue(name, value),
        `a key in the stack file, not a path: nest it under ${NS}:${name.split(".")[0]!} (or run pulumi config set --path '${fullKey}' <value>)`,
      );
    } else {
      c.unknownKey(fullKey, parseValue(name, value), known);
    }
  }

  const region = c.parse("aws:region", Region, values["aws:region"]);
  const v: { [K in NamespaceKey]?: z.output<(typeof NAMESPACE)[K]> } = {};
  for (const name of Object.keys(NAMESPACE) as NamespaceKey[]) {
    (v as Record<string, unknown>)[name] = c.parse(`${NS}:${name}`, NAMESPACE[name], raw[name]);
  }

  const extraTags: Record<string, string> = {};
  for (const [k, val] of Object.entries(v.tags ?? {})) {
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

  // FLEX with a worker type it cannot run is reported even when other sizing keys are bad.
  const rawSizing = (raw.sizing ?? {}) as Partial<Record<keyof JobSizing, unknown>>;
  const flexClash =
    rawSizing.executionClass === "FLEX" &&
    WORKER_TYPES.includes(rawSizing.workerType as WorkerType) &&
    flexProblem(c, `${NS}:sizing`, {}, { ...(rawSizing as JobSizing) });
  const base = v.sizing && !flexClash ? v.sizing : undefined;
  const rawPipelines = (raw.pipelines ?? {}) as Record<string, unknown>;
  const written = (v.pipelines ?? {}) as Partial<Record<PipelineName, RawPipeline>>;
  const enabledInFile = (name: string) => written[name]?.enabled !== false;
  const pipelines: Partial<Record<PipelineName, PipelineSettings>> = {};
  /** Pipelines whose default typical run is longer than the stack-wide timeout. */
  const outrunByDefault: PipelineName[] = [];
  for (const name of PIPELINE_NAMES) {
    const prefix = `${NS}:pipelines.${name}`;
    // A pipeline that failed to parse has its problems reported already.
    if (rawPipelines[name] !== undefined && written[name] === undefined) continue;
    const p: RawPipeline = written[name] ?? {};
    let ok = true;
    const head = workflowHeadOf(PIPELINES, name, enabledInFile);
    if (p.schedule !== undefined && head && head.name !== name) {
      c.add(
        `${prefix}.schedule`,
        p.schedule,
        `no schedule while the ${head.name} pipeline is enabled: ${name} runs after it in the ${workflowName(head)} workflow, which ${NS}:pipelines.${head.name}.schedule schedules`,
      );
      ok = false;
    }
    if (p.jdbc !== undefined && v.jdbcPassword === undefined && raw.jdbcPassword === undefined) {
      c.add(
        `${NS}:jdbcPassword`,
        undefined,
        "a secret, required with a jdbc target: pulumi config set --secret glue-etl:jdbcPassword <password>",
      );
      ok = false;
    }
    if (!base) continue;
    const overrides = Object.fromEntries(
      SIZING_KEYS.filter((k) => p[k] !== undefined).map((k) => [k, p[k]]),
    ) as Partial<JobSizing>;
    const sizing: JobSizing = { ...base, ...overrides };
    if (flexProblem(c, prefix, overrides, sizing)) continue;
    if (p.enabled !== false) {
      bookmarkConcurrency(c, name, sizing, p.maxConcurrentRuns !== undefined);
      productionRetries(c, v.environment, name, sizing, p.maxRetries !== undefined);
    }
    const typicalRunMinutes = p.typicalRunMinutes ?? DEFAULT_TYPICAL_RUN_MINUTES;
    if (sizing.timeoutMinutes < typicalRunMinutes) {
      // Blame the key the user wrote, never a default they did not.
      if (p.typicalRunMinutes !== undefined) {
        c.add(
          `${prefix}.typicalRunMinutes`,
          typicalRunMinutes,
          `at most the job timeout (${sizing.timeoutMinutes} minutes)`,
        );
      } else if (p.timeoutMinutes !== undefined) {
        c.add(
          `${prefix}.timeoutMinutes`,
          p.timeoutMinutes,
          `at least the pipeline's typical run (${typicalRunMinutes} minutes, the default); or set ${prefix}.typicalRunMinutes to ${p.timeoutMinutes} or less`,
        );
      } else {
        outrunByDefault.push(name);
      }
      continue;
    }
    if (!ok) continue;
    pipelines[name] = {
      enabled: p.enabled ?? true,
      sizing,
      typicalRunMinutes,
      ...(p.schedule ? { schedule: p.schedule } : {}),
      ...(p.jdbc ? { jdbc: p.jdbc } : {}),
    };
  }
  if (outrunByDefault.length > 0 && base) {
    c.add(
      `${NS}:sizing.timeoutMinutes`,
      base.timeoutMinutes,
      `at least ${DEFAULT_TYPICAL_RUN_MINUTES}, the default typicalRunMinutes of ${outrunByDefault.join(", ")}; or set their typicalRunMinutes to ${base.timeoutMinutes} or less`,
    );
  }

  if (c.problems.length > 0) throw new ConfigValidationError(file, c.problems);
  const environment = v.environment!;
  return {
    environment,
    region: region!,
    tags: { ...extraTags, environment, owner: v.owner!, "cost-center": v.costCenter! },
    alertEmails: v.alertEmails ?? [],
    tempExpirationDays: v.tempExpirationDays ?? DEFAULT_TEMP_EXPIRATION_DAYS,
    sizing: base!,
    pipelines: pipelines as Record<PipelineName, PipelineSettings>,
  };
}

/** Total DPUs a job holds while it runs. */
export function jobDpus(s: JobSizing): number {
  return WORKER_DPUS[s.workerType] * s.numberOfWorkers;
}
