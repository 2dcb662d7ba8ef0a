/**
 * Starts one Glue job run per S3 object that lands under a prefix (and suffix), passing the
 * object's `s3://` path as a job argument (e.g. `--MANIFEST_PATH`).
 *
 * Accepts S3 event notifications and EventBridge "Object Created" events. Bundled by
 * components/events.ts; the pure functions below are separate from the Glue calls so that both
 * are tested.
 *
 * Idempotency: S3 and EventBridge deliver at least once, and Lambda retries failed async
 * invocations. Before starting a run the handler asks Glue (GetJobRuns) for a run of this job
 * whose path argument equals the object's path and that started at or after the object was
 * written. Such a run reads this object (or a newer write of the same key), so a second one would
 * only duplicate output; a later upload of the same key is newer than every earlier run and
 * starts a new one. Glue's own run history is the record, so no marker table or object has to be
 * kept in step with it and the role needs nothing beyond glue:GetJobRuns. Two copies of one event
 * handled at the same instant can still both start; the job's max concurrent runs (1 in dev)
 * closes that window, and a ConcurrentRunsExceeded answer is re-checked against the history.
 */
import {
  ConcurrentRunsExceededException,
  GetJobRunsCommand,
  GlueClient,
  JobRun,
  StartJobRunCommand,
} from "@aws-sdk/client-glue";

export interface StarterConfig {
  /** Glue job to start. */
  readonly jobName: string;
  /** Job argument that receives the object's path, with its leading `--`. */
  readonly argumentName: string;
  /** Only objects in this bucket. Default: any bucket that sends events here. */
  readonly bucket?: string;
  /** Only keys starting with this. Default "" (all). */
  readonly prefix: string;
  /** Only keys ending with this, e.g. `manifest.json`. Default "" (all). */
  readonly suffix: string;
  /** Further fixed run arguments. Default none. */
  readonly extraArguments: Readonly<Record<string, string>>;
}

/** One object as either event shape describes it. */
export interface S3ObjectEvent {
  readonly bucket: string;
  readonly key: string;
  readonly size: number | undefined;
  /** When S3 finished writing the object. */
  readonly eventTime: Date;
  readonly created: boolean;
}

export interface RunOutcome {
  readonly path: string;
  readonly status: "started" | "duplicate" | "rejected";
  readonly jobRunId?: string;
  readonly reason?: string;
}

export interface HandlerResult {
  readonly outcomes: RunOutcome[];
}

/** Reads the handler's settings from its environment; names every bad variable. */
export function configFromEnv(env: Record<string, string | undefined>): StarterConfig {
  const problems: string[] = [];
  const jobName = env.JOB_NAME ?? "";
  if (!/^[\w.-]{1,255}$/.test(jobName))
    problems.push(`JOB_NAME: got ${JSON.stringify(env.JOB_NAME)}; allowed: a Glue job name`);
  const argumentName = env.ARGUMENT_NAME ?? "";
  if (!/^--[A-Za-z0-9_-]+$/.test(argumentName)) {
    problems.push(
      `ARGUMENT_NAME: got ${JSON.stringify(env.ARGUMENT_NAME)}; allowed: a job argument such as --MANIFEST_PATH`,
    );
  }
  let extraArguments: Record<string, string> = {};
  if (env.EXTRA_ARGUMENTS) {
    try {
      const parsed: unknown = JSON.parse(env.EXTRA_ARGUMENTS);
      if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed))
        throw new Error("not an object");
      if (!Object.values(parsed).every((v) => typeof v === "string"))
        throw new Error("values must be strings");
      extraArguments = parsed as Record<string, string>;
    } catch (e) {
      problems.push(
        `EXTRA_ARGUMENTS: ${(e as Error).message}; allowed: a JSON object of argument names to strings`,
      );
    }
  }
  if (problems.length)
    throw new Error(`start-job-run is misconfigured:\n  - ${problems.join("\n  - ")}`);
  return {
    jobName,
    argumentName,
    bucket: env.BUCKET_NAME || undefined,
    prefix: env.KEY_PREFIX ?? "",
    suffix: env.KEY_SUFFIX ?? "",
    extraArguments,
  };
}

function record(v: unknown): Record<string, unknown> | undefined {
  return typeof v === "object" && v !== null && !Array.isArray(v)
    ? (v as Record<string, unknown>)
    : undefined;
}

function date(v: unknown, what: string): Date {
  const d = typeof v === "string" ? new Date(v) : undefined;
  if (!d || Number.isNaN(d.getTime()))
    throw new Error(`${what} is not a timestamp: ${JSON.stringify(v)}`);
  return d;
}

function size(v: unknown): number | undefined {
  return typeof v === "number" && Number.isFinite(v) ? v : undefined;
}

/**
 * The objects an event is about. S3 notifications URL-encode keys (spaces as "+"); EventBridge
 * events carry them as written.
 */
export function objectsFromEvent(event: unknown): S3ObjectEvent[] {
  const e = record(event);
  if (e && Array.isArray(e.Records)) {
    return e.Records.map((raw, i) => {
      const r = record(raw);
      const s3 = record(r?.s3);
      const bucket = record(s3?.bucket)?.name;
      const object = record(s3?.object);
      if (
        r?.eventSource !== "aws:s3" ||
        typeof bucket !== "string" ||
        typeof object?.key !== "string"
      ) {
        throw new Error(`Records[${i}] is not an S3 event notification record`);
      }
      return {
        bucket,
        key: decodeURIComponent(object.key.replace(/\+/g, " ")),
        size: size(object.size),
        eventTime: date(r.eventTime, `Records[${i}].eventTime`),
        created: typeof r.eventName === "string" && r.eventName.startsWith("ObjectCreated:"),
      };
    });
  }
  if (e && e.source === "aws.s3") {
    const detail = record(e.detail);
    const bucket = record(detail?.bucket)?.name;
    const object = record(detail?.object);
    if (typeof bucket !== "string" || typeof object?.key !== "string") {
      throw new Error(
        "EventBridge event from aws.s3 has no detail.bucket.name or detail.object.key",
      );
    }
    return [
      {
        bucket,
        key: object.key,
        size: size(object.size),
        eventTime: date(e.time, "time"),
        created: e["detail-type"] === "Object Created",
      },
    ];
  }
  throw new Error(
    "Not an S3 event: expected S3 notification Records or an EventBridge event from aws.s3",
  );
}

export function s3Path(o: Pick<S3ObjectEvent, "bucket" | "key">): string {
  return `s3://${o.bucket}/${o.key}`;
}

/** Why an object must not start a run, or undefined when it should. */
export function rejectionReason(o: S3ObjectEvent, cfg: StarterConfig): string | undefined {
  if (!o.created) return "not an object-created event";
  if (cfg.bucket !== undefined && o.bucket !== cfg.bucket) return `bucket is not ${cfg.bucket}`;
  if (!o.key.startsWith(cfg.prefix)) return `key does not start with ${JSON.stringify(cfg.prefix)}`;
  if (!o.key.endsWith(cfg.suffix)) return `key does not end with ${JSON.stringify(cfg.suffix)}`;
  if (o.key.endsWith("/")) return "key is a folder marker";
  if (o.size === undefined) return "event does not give the object size";
  if (o.size <= 0) return "object is empty (0 bytes)";
  return undefined;
}

/** A run of the job for this path that started at or after the object was written. */
export function existingRun(
  runs: readonly JobRun[],
  argumentName: string,
  path: string,
  eventTime: Date,
): JobRun | undefined {
  return runs.find(
    (r) =>
      r.Arguments?.[argumentName] === path &&
      r.StartedOn !== undefined &&
      r.StartedOn.getTime() >= eventTime.getTime(),
  );
}

// Glue answers newest runs first; a page wholly older than the object ends the search.
const MAX_PAGES = 10;

async function findRun(
  glue: GlueClient,
  cfg: StarterConfig,
  path: string,
  since: Date,
): Promise<JobRun | undefined> {
  let token: string | undefined;
  for (let page = 0; page < MAX_PAGES; page++) {
    const res = await glue.send(
      new GetJobRunsCommand({ JobName: cfg.jobName, MaxResults: 200, NextToken: token }),
    );
    const runs = res.JobRuns ?? [];
    const hit = existingRun(runs, cfg.argumentName, path, since);
    if (hit) return hit;
    token = res.NextToken;
    if (!token || runs.every((r) => (r.StartedOn?.getTime() ?? 0) < since.getTime()))
      return undefined;
  }
  return undefined;
}

export type Logger = (
  level: "INFO" | "WARN" | "ERROR",
  message: string,
  fields: Record<string, unknown>,
) => void;

/** One JSON line per event, which CloudWatch Logs Insights can query field by field. */
const jsonLog: Logger = (level, message, fields) =>
  console.log(JSON.stringify({ level, message, ...fields }));

/** Starts the job for one accepted object unless a run for it exists. */
export async function startOnce(
  glue: GlueClient,
  cfg: StarterConfig,
  o: S3ObjectEvent,
): Promise<RunOutcome> {
  const path = s3Path(o);
  const before = await findRun(glue, cfg, path, o.eventTime);
  if (before) return { path, status: "duplicate", jobRunId: before.Id };
  try {
    const res = await glue.send(
      new StartJobRunCommand({
        JobName: cfg.jobName,
        Arguments: { ...cfg.extraArguments, [cfg.argumentName]: path },
      }),
    );
    return { path, status: "started", jobRunId: res.JobRunId };
  } catch (e) {
    // A copy of this event may have started the run a moment ago.
    if (e instanceof ConcurrentRunsExceededException) {
      const now = await findRun(glue, cfg, path, o.eventTime);
      if (now) return { path, status: "duplicate", jobRunId: now.Id };
    }
    throw e;
  }
}

export type Handler = (event: unknown) => Promise<HandlerResult>;

/**
 * Handles every object of an event. Rejected objects are logged, not retried; a failed start
 * fails the invocation after the other objects were handled, so Lambda retries it (the
 * idempotency check skips what already started) and finally sends it to the dead-letter queue.
 */
export function makeHandler(deps: {
  glue: () => GlueClient;
  config: () => StarterConfig;
  log?: Logger;
}): Handler {
  const log = deps.log ?? jsonLog;
  return async (event) => {
    const cfg = deps.config();
    const outcomes: RunOutcome[] = [];
    const failures: string[] = [];
    for (const o of objectsFromEvent(event)) {
      const path = s3Path(o);
      const reason = rejectionReason(o, cfg);
      if (reason) {
        outcomes.push({ path, status: "rejected", reason });
        log("WARN", "object ignored", { path, reason, jobName: cfg.jobName });
        continue;
      }
      try {
        const outcome = await startOnce(deps.glue(), cfg, o);
        outcomes.push(outcome);
        log(
          "INFO",
          outcome.status === "started" ? "job run started" : "duplicate event, run exists",
          {
            path,
            jobName: cfg.jobName,
            jobRunId: outcome.jobRunId,
          },
        );
      } catch (e) {
        failures.push(`${path}: ${(e as Error).name}: ${(e as Error).message}`);
        log("ERROR", "could not start job run", { path, jobName: cfg.jobName, error: String(e) });
      }
    }
    if (failures.length)
      throw new Error(
        `Could not start ${cfg.jobName} for ${failures.length} object(s):\n${failures.join("\n")}`,
      );
    return { outcomes };
  };
}

let client: GlueClient | undefined;
let config: StarterConfig | undefined;

/** The Lambda entry point: settings from the environment, one Glue client per container. */
export const handler: Handler = makeHandler({
  glue: () => (client ??= new GlueClient({})),
  config: () => (config ??= configFromEnv(process.env)),
});
