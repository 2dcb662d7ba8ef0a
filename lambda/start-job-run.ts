/**
 * Starts one Glue job run per S3 object that lands under a prefix (and suffix), passing the
 * object's `s3://` path as a job argument (e.g. `--MANIFEST_PATH`).
 *
 * Accepts S3 event notifications and EventBridge "Object Created" events. Bundled by
 * components/events/s3-event-job-starter.ts; the pure functions below are separate from the AWS
 * calls so that both are tested.
 *
 * Idempotency: S3 and EventBridge deliver at least once, Lambda retries failed async invocations,
 * and two copies of one event may be handled at the same instant. Before starting a run the
 * handler claims the object in a DynamoDB table with a conditional PutItem keyed on bucket, key
 * and the object's version id (else its ETag): only one claim for an object version succeeds, so
 * only one run starts; a new upload of the key is a new version and starts a new run. A claim is
 * released (DeleteItem) when StartJobRun fails, so Lambda's retry can start the run; a claim left
 * by an invocation that died between claiming and starting is taken over once it is older than
 * `STALE_CLAIM_SECONDS`. Records expire through the table's TTL after `RECORD_DAYS`, long after
 * S3, EventBridge and Lambda stop redelivering an event.
 */
import { randomUUID } from "node:crypto";
import {
  ConditionalCheckFailedException,
  DeleteItemCommand,
  DynamoDBClient,
  PutItemCommand,
} from "@aws-sdk/client-dynamodb";
import { GlueClient, StartJobRunCommand } from "@aws-sdk/client-glue";

/** Days an idempotency record is kept (the table's TTL deletes it after that). */
export const RECORD_DAYS = 7;
/** A claim older than this without a started run belongs to an invocation that died; the function times out after 60 s. */
export const STALE_CLAIM_SECONDS = 300;

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
  /** DynamoDB table of idempotency records (partition key `objectId`, TTL on `expiresAt`). */
  readonly idempotencyTable: string;
}

/** One object as either event shape describes it. */
export interface S3ObjectEvent {
  readonly bucket: string;
  readonly key: string;
  readonly size: number | undefined;
  /** When S3 finished writing the object. */
  readonly eventTime: Date;
  readonly created: boolean;
  /** The object version (versioned buckets). */
  readonly versionId?: string;
  /** The object's ETag, which identifies its content in an unversioned bucket. */
  readonly eTag?: string;
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
  const idempotencyTable = env.IDEMPOTENCY_TABLE ?? "";
  if (!/^[A-Za-z0-9_.-]{3,255}$/.test(idempotencyTable)) {
    problems.push(
      `IDEMPOTENCY_TABLE: got ${env.IDEMPOTENCY_TABLE === undefined ? "nothing" : JSON.stringify(env.IDEMPOTENCY_TABLE)}; allowed: a DynamoDB table name`,
    );
  }
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
    idempotencyTable,
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

function text(v: unknown): string | undefined {
  return typeof v === "string" && v !== "" ? v : undefined;
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
        versionId: text(object.versionId),
        eTag: text(object.eTag),
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
        versionId: text(object["version-id"]),
        eTag: text(object.etag),
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

/**
 * What identifies one upload of an object: bucket, key and version id, else the ETag (an
 * unversioned bucket); undefined when the event gives neither.
 */
export function objectId(o: S3ObjectEvent): string | undefined {
  const version = o.versionId ? `version:${o.versionId}` : o.eTag ? `etag:${o.eTag}` : undefined;
  return version && `${s3Path(o)}#${version}`;
}

export type Logger = (
  level: "INFO" | "WARN" | "ERROR",
  message: string,
  fields: Record<string, unknown>,
) => void;

/** One JSON line per event, which CloudWatch Logs Insights can query field by field. */
const jsonLog: Logger = (level, message, fields) =>
  console.log(JSON.stringify({ level, message, ...fields }));

export interface Clients {
  readonly glue: GlueClient;
  readonly dynamodb: DynamoDBClient;
}

type Claim =
  | { readonly won: true; readonly token: string }
  | { readonly won: false; readonly jobRunId?: string };

/** Claims the object version: true for the one caller that may start its run. */
async function claim(
  db: DynamoDBClient,
  cfg: StarterConfig,
  id: string,
  path: string,
): Promise<Claim> {
  const now = Date.now();
  const token = randomUUID();
  try {
    await db.send(
      new PutItemCommand({
        TableName: cfg.idempotencyTable,
        Item: {
          objectId: { S: id },
          path: { S: path },
          state: { S: "starting" },
          token: { S: token },
          claimedAt: { N: String(now) },
          expiresAt: { N: String(Math.floor(now / 1000) + RECORD_DAYS * 86400) },
        },
        // Free, or a claim whose invocation died before starting the run.
        ConditionExpression:
          "attribute_not_exists(objectId) OR (#state = :starting AND claimedAt < :stale)",
        ExpressionAttributeNames: { "#state": "state" },
        ExpressionAttributeValues: {
          ":starting": { S: "starting" },
          ":stale": { N: String(now - STALE_CLAIM_SECONDS * 1000) },
        },
        ReturnValuesOnConditionCheckFailure: "ALL_OLD",
      }),
    );
    return { won: true, token };
  } catch (e) {
    if (e instanceof ConditionalCheckFailedException) {
      return { won: false, jobRunId: e.Item?.jobRunId?.S };
    }
    throw e;
  }
}

/** Releases a claim this caller holds, so a retry can start the run. */
async function release(db: DynamoDBClient, cfg: StarterConfig, id: string, token: string) {
  try {
    await db.send(
      new DeleteItemCommand({
        TableName: cfg.idempotencyTable,
        Key: { objectId: { S: id } },
        ConditionExpression: "#token = :token",
        ExpressionAttributeNames: { "#token": "token" },
        ExpressionAttributeValues: { ":token": { S: token } },
      }),
    );
  } catch (e) {
    // Taken over meanwhile: the new holder decides.
    if (!(e instanceof ConditionalCheckFailedException)) throw e;
  }
}

/** Starts the job for one accepted object unless a copy of its event already did. */
export async function startOnce(
  clients: Clients,
  cfg: StarterConfig,
  o: S3ObjectEvent,
  log: Logger = jsonLog,
): Promise<RunOutcome> {
  const path = s3Path(o);
  const id = objectId(o);
  if (id === undefined) {
    throw new Error(
      "the event gives neither the object's version id nor its ETag, so a duplicate cannot be told apart",
    );
  }
  const held = await claim(clients.dynamodb, cfg, id, path);
  if (!held.won) return { path, status: "duplicate", jobRunId: held.jobRunId };
  let jobRunId: string | undefined;
  try {
    const res = await clients.glue.send(
      new StartJobRunCommand({
        JobName: cfg.jobName,
        Arguments: { ...cfg.extraArguments, [cfg.argumentName]: path },
      }),
    );
    jobRunId = res.JobRunId;
  } catch (e) {
    await release(clients.dynamodb, cfg, id, held.token);
    throw e;
  }
  try {
    // Marks the claim done (never stale) and records the run for later duplicates.
    await clients.dynamodb.send(
      new PutItemCommand({
        TableName: cfg.idempotencyTable,
        Item: {
          objectId: { S: id },
          path: { S: path },
          state: { S: "started" },
          token: { S: held.token },
          claimedAt: { N: String(Date.now()) },
          expiresAt: { N: String(Math.floor(Date.now() / 1000) + RECORD_DAYS * 86400) },
          ...(jobRunId ? { jobRunId: { S: jobRunId } } : {}),
        },
      }),
    );
  } catch (e) {
    // The run started; a copy of the event arriving after STALE_CLAIM_SECONDS could start another.
    log("WARN", "job run started but its idempotency record was not updated", {
      path,
      jobRunId,
      error: String(e),
    });
  }
  return { path, status: "started", jobRunId };
}

export type Handler = (event: unknown) => Promise<HandlerResult>;

/**
 * Handles every object of an event. Rejected objects are logged, not retried; a failed start
 * fails the invocation after the other objects were handled, so Lambda retries it (the
 * idempotency check skips what already started) and finally sends it to the dead-letter queue.
 */
export function makeHandler(deps: {
  glue: () => GlueClient;
  dynamodb: () => DynamoDBClient;
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
        const outcome = await startOnce(
          { glue: deps.glue(), dynamodb: deps.dynamodb() },
          cfg,
          o,
          log,
        );
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

let glue: GlueClient | undefined;
let dynamodb: DynamoDBClient | undefined;
let config: StarterConfig | undefined;

/** The Lambda entry point: settings from the environment, one client of each per container. */
export const handler: Handler = makeHandler({
  glue: () => (glue ??= new GlueClient({})),
  dynamodb: () => (dynamodb ??= new DynamoDBClient({})),
  config: () => (config ??= configFromEnv(process.env)),
});
