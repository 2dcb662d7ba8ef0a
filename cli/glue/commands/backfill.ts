/**
 * `backfill <pipeline> --from … --to …`: one run per manifest dated in the range, never more in
 * flight than the job's MaxConcurrentRuns, each outcome reported as it happens.
 */
import { paginateListObjectsV2 } from "@aws-sdk/client-s3";
import type { Job } from "@aws-sdk/client-glue";
import { JOBS } from "../../../pipelines";
import { explainAwsError } from "../aws";
import type { Context } from "../context";
import { CliError, EXIT, UsageError } from "../errors";
import { duration, money, plural } from "../format";
import { table } from "../../../lib/table";
import {
  ConcurrentRunsError,
  getJob,
  maxConcurrentRuns,
  pollRun,
  startRun,
  stopCommand,
} from "../glue-api";
import { checkArgumentKeys, checkRequired, parseArgPairs } from "../jobargs";
import { JobTarget, ResolveOptions, resolveJob } from "../resolve";
import { isTerminal, runUsage } from "../runs";

const MANIFEST_ARG = "--MANIFEST_PATH";
const DATE_RE = /(\d{4})-(\d{2})-(\d{2})/;

export interface BackfillOptions extends ResolveOptions {
  readonly from?: string;
  readonly to?: string;
  readonly manifestPrefix?: string;
  readonly args: readonly string[];
  /** Lower than the job's MaxConcurrentRuns to leave room for other runs. */
  readonly maxConcurrent?: number;
  readonly intervalSeconds: number;
  readonly dryRun: boolean;
}

export interface Manifest {
  readonly date: string;
  readonly uri: string;
}

interface Outcome {
  readonly manifest: Manifest;
  readonly runId?: string;
  readonly state: string;
  readonly seconds?: number;
  readonly cost?: number;
  readonly error?: string;
}

function isDate(s: string): boolean {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(s);
  if (!m) return false;
  const d = new Date(`${s}T00:00:00Z`);
  return !Number.isNaN(d.getTime()) && d.toISOString().startsWith(s);
}

export function checkRange(from: string | undefined, to: string | undefined): [string, string] {
  for (const [flag, v] of [
    ["--from", from],
    ["--to", to],
  ] as const) {
    if (v === undefined) throw new UsageError(`${flag} is required: a date such as 2026-11-01`);
    if (!isDate(v)) {
      throw new UsageError(`${flag} ${JSON.stringify(v)} is not a date; expected YYYY-MM-DD`);
    }
  }
  if (from! > to!) throw new UsageError(`--from ${from} is after --to ${to}`);
  return [from!, to!];
}

export function parseS3Prefix(uri: string, flag: string): { bucket: string; prefix: string } {
  const m = /^s3:\/\/([a-z0-9][a-z0-9.-]{1,61}[a-z0-9])\/?(.*)$/.exec(uri);
  if (!m) {
    throw new UsageError(`${flag} ${JSON.stringify(uri)} is not an S3 location`, [
      "expected s3://bucket/prefix/, e.g. s3://my-raw-bucket/manifests/",
    ]);
  }
  const prefix = m[2] === "" || m[2].endsWith("/") ? m[2] : `${m[2]}/`;
  return { bucket: m[1], prefix };
}

/** The first valid YYYY-MM-DD in the key, e.g. manifests/2026-11-01/manifest.json. */
export function manifestDate(key: string): string | undefined {
  const m = DATE_RE.exec(key);
  return m && isDate(m[0]) ? m[0] : undefined;
}

async function listManifests(
  ctx: Context,
  bucket: string,
  prefix: string,
  from: string,
  to: string,
): Promise<{ inRange: Manifest[]; total: number }> {
  const all: Manifest[] = [];
  try {
    const pages = paginateListObjectsV2(
      { client: ctx.aws.s3() },
      { Bucket: bucket, Prefix: prefix },
      { abortSignal: ctx.signal },
    );
    for await (const page of pages) {
      for (const o of page.Contents ?? []) {
        const date = o.Key?.endsWith("manifest.json") ? manifestDate(o.Key) : undefined;
        if (o.Key && date) all.push({ date, uri: `s3://${bucket}/${o.Key}` });
      }
    }
  } catch (e) {
    throw await explainAwsError(e, `listing manifests under s3://${bucket}/${prefix}`, ctx.aws);
  }
  const inRange = all
    .filter((m) => m.date >= from && m.date <= to)
    .sort((a, b) => a.date.localeCompare(b.date) || a.uri.localeCompare(b.uri));
  return { inRange, total: all.length };
}

function manifestLocation(target: JobTarget, o: BackfillOptions) {
  if (o.manifestPrefix) return parseS3Prefix(o.manifestPrefix, "--manifest-prefix");
  const raw = target.outputs?.buckets?.raw;
  if (raw) return { bucket: raw, prefix: "manifests/" };
  throw new UsageError("cannot tell where the manifests are", [
    "pass --manifest-prefix s3://<raw bucket>/manifests/, or --outputs <file> / --stack with the",
    "pulumi CLI installed so the raw bucket comes from the stack outputs",
  ]);
}

function concurrencyLimit(job: Job, requested: number | undefined): number {
  const jobLimit = maxConcurrentRuns(job);
  if (requested === undefined) return jobLimit;
  if (requested > jobLimit) {
    throw new UsageError(
      `--max-concurrent ${requested} is above the job's MaxConcurrentRuns (${jobLimit})`,
      ["Glue would refuse the extra runs; raise maxConcurrentRuns in the stack config first"],
    );
  }
  return requested;
}

export async function backfillCommand(
  ctx: Context,
  name: string,
  o: BackfillOptions,
): Promise<number> {
  const [from, to] = checkRange(o.from, o.to);
  const args = parseArgPairs(o.args);
  const target = await resolveJob(name, o, ctx.io.err);
  if (!target.pipeline || !(MANIFEST_ARG in JOBS[target.pipeline].arguments)) {
    const takers = Object.entries(JOBS)
      .filter(([, j]) => MANIFEST_ARG in j.arguments)
      .map(([p]) => p);
    throw new UsageError(
      `backfill is for pipelines whose job takes ${MANIFEST_ARG} (${takers.join(", ")}); ${name} does not`,
    );
  }
  if (MANIFEST_ARG in args) {
    throw new UsageError(`--arg ${MANIFEST_ARG} is set by backfill, one manifest per run`);
  }
  checkArgumentKeys(target.pipeline, args, target.jobName);
  const where = manifestLocation(target, o);
  const job = await getJob(ctx, target);
  checkRequired(
    target.pipeline,
    { ...args, [MANIFEST_ARG]: "set per run" },
    job.DefaultArguments ?? {},
    target.jobName,
  );
  const limit = concurrencyLimit(job, o.maxConcurrent);
  const { inRange, total } = await listManifests(ctx, where.bucket, where.prefix, from, to);
  const location = `s3://${where.bucket}/${where.prefix}`;
  if (inRange.length === 0) {
    throw new UsageError(`no manifests dated ${from} to ${to} under ${location}`, [
      `${plural(total, "dated manifest")} there in all (keys ending in manifest.json with a YYYY-MM-DD in them)`,
    ]);
  }
  const { io } = ctx;
  io.out(
    `Backfill of job ${target.jobName}: ${plural(inRange.length, "manifest")} dated ${from} to ${to} under ${location}, at most ${limit} run${limit === 1 ? "" : "s"} at a time`,
  );
  if (o.dryRun) {
    io.out(
      table(
        [{ header: "DATE" }, { header: "MANIFEST" }],
        inRange.map((m) => [m.date, m.uri]),
      ),
    );
    io.err("Dry run: nothing started.");
    return EXIT.OK;
  }

  const queue = [...inRange];
  const inFlight: { manifest: Manifest; runId: string }[] = [];
  const outcomes: Outcome[] = [];
  let startError: CliError | undefined;
  let waiting = false;
  while ((queue.length > 0 && !startError) || inFlight.length > 0) {
    while (!startError && queue.length > 0 && inFlight.length < limit && !ctx.signal.aborted) {
      const manifest = queue[0];
      let runId: string;
      try {
        runId = await startRun(ctx, job, target, { ...args, [MANIFEST_ARG]: manifest.uri });
      } catch (e) {
        if (ctx.signal.aborted) break;
        if (!(e instanceof ConcurrentRunsError)) {
          startError = e instanceof CliError ? e : new CliError(String(e), EXIT.AWS);
          break;
        }
        // Runs outside this backfill hold slots: wait for them like for our own.
        if (!waiting) {
          io.err(
            `waiting: job ${target.jobName} is at its limit of ${maxConcurrentRuns(job)} concurrent runs, some started elsewhere`,
          );
        }
        waiting = true;
        break;
      }
      waiting = false;
      queue.shift();
      inFlight.push({ manifest, runId });
      io.out(
        `started    ${manifest.date}  ${runId}  ${manifest.uri}  (${inFlight.length} of ${limit} slots in use)`,
      );
    }
    if (ctx.signal.aborted) break;
    await ctx.sleep(o.intervalSeconds * 1000);
    if (ctx.signal.aborted) break;
    for (const slot of [...inFlight]) {
      const run = await pollRun(ctx, target.jobName, slot.runId);
      if (!isTerminal(run.JobRunState)) continue;
      inFlight.splice(inFlight.indexOf(slot), 1);
      const usage = runUsage(run, job, ctx.now());
      const outcome: Outcome = {
        manifest: slot.manifest,
        runId: slot.runId,
        state: run.JobRunState ?? "UNKNOWN",
        seconds: usage.seconds,
        ...(usage.cost !== undefined ? { cost: usage.cost } : {}),
        ...(run.ErrorMessage ? { error: run.ErrorMessage } : {}),
      };
      outcomes.push(outcome);
      io.out(
        `${outcome.state.padEnd(9)}  ${slot.manifest.date}  ${slot.runId}  ${duration(usage.seconds)}  ${usage.cost === undefined ? "" : money(usage.cost)}${outcome.error ? `  ${outcome.error}` : ""}`,
      );
    }
  }

  if (ctx.signal.aborted) {
    io.err(
      `Stopped backfill: ${plural(queue.length, "manifest")} not started; ${plural(inFlight.length, "run")} still in progress, left alone:`,
    );
    for (const s of inFlight)
      io.err(`  ${s.manifest.date}  ${stopCommand(target.jobName, s.runId)}`);
    return EXIT.INTERRUPTED;
  }
  for (const m of queue) outcomes.push({ manifest: m, state: "NOT STARTED" });
  report(ctx, outcomes);
  if (startError) throw startError;
  return outcomes.every((x) => x.state === "SUCCEEDED") ? EXIT.OK : EXIT.RUN_FAILED;
}

function report(ctx: Context, outcomes: readonly Outcome[]): void {
  const sorted = [...outcomes].sort((a, b) => a.manifest.date.localeCompare(b.manifest.date));
  ctx.io.out("");
  ctx.io.out(
    table(
      [
        { header: "DATE" },
        { header: "MANIFEST" },
        { header: "RUN ID" },
        { header: "STATE" },
        { header: "DURATION", align: "right" },
        { header: "COST", align: "right" },
        { header: "ERROR", maxWidth: 60 },
      ],
      sorted.map((x) => [
        x.manifest.date,
        x.manifest.uri,
        x.runId ?? "-",
        x.state,
        x.seconds === undefined ? "-" : duration(x.seconds),
        x.cost === undefined ? "-" : money(x.cost),
        x.error ?? "",
      ]),
    ),
  );
  const ok = outcomes.filter((x) => x.state === "SUCCEEDED").length;
  const failed = outcomes.filter((x) => x.runId && x.state !== "SUCCEEDED").length;
  const notStarted = outcomes.filter((x) => !x.runId).length;
  const cost = outcomes.reduce((sum, x) => sum + (x.cost ?? 0), 0);
  ctx.io.out(
    `${plural(outcomes.length, "manifest")}: ${ok} succeeded, ${failed} failed${notStarted ? `, ${notStarted} not started` : ""}; total cost ${money(cost)}`,
  );
}
