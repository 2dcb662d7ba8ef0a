/**
 * Rows a finished run read, wrote and rejected: its `ETL_SUMMARY {json}` line, found in the run's
 * CloudWatch log streams (driver output, continuous logs, error log). Used by `runs` and `watch`.
 */
import {
  CloudWatchLogsClient,
  FilterLogEventsCommand,
  type FilteredLogEvent,
} from "@aws-sdk/client-cloudwatch-logs";
import type { JobRun } from "@aws-sdk/client-glue";
import { errorName } from "./aws";
import type { Context } from "./context";
import { isTerminal } from "./runs";

export const SUMMARY_MARKER = "ETL_SUMMARY";
/** Glue's log groups under a run's LogGroupName that may hold the driver's summary line. */
const LOG_STREAMS = ["output", "logs-v2", "error"];
/** Where Glue logs when a run reports no LogGroupName of its own. */
const DEFAULT_LOG_GROUP = "/aws-glue/jobs";
const CONCURRENCY = 4;

export interface RunRows {
  readonly read: number;
  readonly written: number;
  readonly rejected: number;
  readonly reconciled?: boolean;
}

/** The rows of the last summary line in `messages`, or undefined when there is none. */
export function parseSummaryLine(messages: readonly string[]): RunRows | undefined {
  for (let i = messages.length - 1; i >= 0; i--) {
    const text = messages[i]!;
    const at = text.indexOf(`${SUMMARY_MARKER} {`);
    if (at < 0) continue;
    try {
      const s = JSON.parse(text.slice(at + SUMMARY_MARKER.length + 1).trim()) as Record<
        string,
        unknown
      >;
      const n = (k: string) => (typeof s[k] === "number" ? s[k] : undefined);
      const [read, written, rejected] = [n("read"), n("written"), n("rejected")];
      if (read === undefined || written === undefined || rejected === undefined) continue;
      return {
        read,
        written,
        rejected,
        ...(typeof s.reconciled === "boolean" ? { reconciled: s.reconciled } : {}),
      };
    } catch {
      continue;
    }
  }
  return undefined;
}

/** "read 21, written 17, rejected 4 (19.0%)" */
export function rowsText(r: RunRows): string {
  const share = r.read > 0 ? ` (${((100 * r.rejected) / r.read).toFixed(1)}%)` : "";
  return `read ${r.read}, written ${r.written}, rejected ${r.rejected}${share}${
    r.reconciled === false ? ", NOT reconciled" : ""
  }`;
}

const clients = new WeakMap<object, CloudWatchLogsClient>();

/** A CloudWatch Logs client with the Glue client's region, credentials and custom endpoint. */
async function logsClient(ctx: Context): Promise<CloudWatchLogsClient> {
  const cached = clients.get(ctx.aws);
  if (cached) return cached;
  const cfg = ctx.aws.glue.config as unknown as {
    region: () => Promise<string>;
    credentials: () => Promise<unknown>;
    isCustomEndpoint?: boolean;
  };
  // A custom endpoint (--endpoint-url, a local AWS) serves every service; the default is per service.
  const endpoint = cfg.isCustomEndpoint ? await ctx.aws.endpoint() : undefined;
  const client = new CloudWatchLogsClient({
    region: cfg.region,
    credentials: cfg.credentials as never,
    maxAttempts: 3,
    ...(endpoint ? { endpoint } : {}),
  });
  clients.set(ctx.aws, client);
  return client;
}

async function summaryOf(ctx: Context, logs: CloudWatchLogsClient, run: JobRun) {
  const bases = [
    ...new Set([(run.LogGroupName ?? DEFAULT_LOG_GROUP).replace(/\/+$/, ""), DEFAULT_LOG_GROUP]),
  ];
  const start = run.StartedOn ? run.StartedOn.getTime() - 60_000 : undefined;
  for (const group of bases.flatMap((b) => LOG_STREAMS.map((s) => `${b}/${s}`))) {
    const events: FilteredLogEvent[] = [];
    let nextToken: string | undefined;
    try {
      do {
        const res = await logs.send(
          new FilterLogEventsCommand({
            logGroupName: group,
            logStreamNamePrefix: run.Id,
            filterPattern: `"${SUMMARY_MARKER}"`,
            ...(start !== undefined ? { startTime: start } : {}),
            nextToken,
          }),
          { abortSignal: ctx.signal },
        );
        // Only this run's streams, even from an endpoint that ignores the prefix.
        events.push(...(res.events ?? []).filter((e) => e.logStreamName?.startsWith(run.Id!)));
        nextToken = res.nextToken;
      } while (nextToken);
    } catch (e) {
      if (errorName(e) === "ResourceNotFoundException") continue;
      throw e;
    }
    const rows = parseSummaryLine(events.map((e) => e.message ?? ""));
    if (rows) return rows;
  }
  return undefined;
}

/**
 * Rows of each finished run, by run id (undefined when its logs hold no summary line). A
 * failure to read the logs is said once on stderr and leaves the rows unknown: the command's
 * own result stands.
 */
export async function rowsOfRuns(
  ctx: Context,
  runs: readonly JobRun[],
): Promise<Map<string, RunRows | undefined>> {
  const out = new Map<string, RunRows | undefined>();
  const finished = runs.filter((r) => r.Id && isTerminal(r.JobRunState));
  if (finished.length === 0) return out;
  let problem: string | undefined;
  try {
    const logs = await logsClient(ctx);
    let next = 0;
    const worker = async () => {
      while (next < finished.length && problem === undefined) {
        const run = finished[next++]!;
        try {
          out.set(run.Id!, await summaryOf(ctx, logs, run));
        } catch (e) {
          problem ??= `${errorName(e) ?? "error"}: ${(e as Error).message ?? String(e)}`;
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(CONCURRENCY, finished.length) }, worker));
  } catch (e) {
    problem ??= (e as Error).message ?? String(e);
  }
  if (problem && !ctx.signal.aborted) {
    ctx.io.err(
      `Rows unknown: could not read the runs' ${SUMMARY_MARKER} lines from CloudWatch Logs (${problem}); ` +
        "the job role's logs and your logs:FilterLogEvents permission decide this.",
    );
  }
  return out;
}
