/** `watch <job> [run-id]`: follow a run to its end with a live status line. */
import type { Job, JobRun } from "@aws-sdk/client-glue";
import type { Context } from "../context";
import { CliError, EXIT } from "../errors";
import { duration, money } from "../format";
import { listRuns, pollRun, stopCommand } from "../glue-api";
import { rowsOfRuns, rowsText } from "../rows";
import { isTerminal, newestFirst, runUsage } from "../runs";

export interface WatchOptions {
  /** Seconds between GetJobRun calls. */
  readonly intervalSeconds: number;
}

export function statusLine(run: JobRun, job: Job | undefined, now: Date): string {
  const u = runUsage(run, job, now);
  const parts = [
    (run.JobRunState ?? "UNKNOWN").padEnd(9),
    `elapsed ${duration(u.seconds)}`,
    u.dpuSeconds === undefined ? "DPU-seconds ?" : `DPU-seconds ${Math.round(u.dpuSeconds)}`,
    u.cost === undefined
      ? "cost unknown"
      : `${isTerminal(run.JobRunState) ? "cost" : "cost so far"} ${money(u.cost)}`,
  ];
  return parts.join("  ");
}

/** The newest run of the job, for `watch <job>` without a run id. */
export async function latestRunId(ctx: Context, jobName: string): Promise<string> {
  const [latest] = newestFirst(await listRuns(ctx, jobName, 50));
  if (!latest?.Id) {
    throw new CliError(`job ${jobName} has no runs yet`, EXIT.USAGE, [
      `start one: npm run glue -- run ${jobName} --arg KEY=VALUE …`,
    ]);
  }
  return latest.Id;
}

/**
 * Polls until the run ends. Exit 0 when it SUCCEEDED, RUN_FAILED with Glue's error message
 * otherwise, INTERRUPTED on Ctrl-C (the run keeps going).
 */
export async function watchRun(
  ctx: Context,
  job: Job,
  runId: string,
  o: WatchOptions,
): Promise<number> {
  const jobName = job.Name ?? "";
  const { io } = ctx;
  io.err(`Watching run ${runId} of job ${jobName} (Ctrl-C stops watching, not the run)`);
  const again = `watch again: npm run glue -- watch ${jobName} ${runId}`;
  // Once a run was found, a failed poll (after the SDK's retries) ends the watch, not the run.
  const poll = () =>
    pollRun(ctx, jobName, runId).catch((e: unknown) => {
      throw e instanceof CliError ? new CliError(e.message, e.exitCode, [...e.hints, again]) : e;
    });
  let run = await pollRun(ctx, jobName, runId);
  let lastState: string | undefined;
  let nextPoll = Date.now() + o.intervalSeconds * 1000;
  while (!ctx.signal.aborted) {
    if (isTerminal(run.JobRunState)) break;
    if (io.stderrIsTTY) {
      io.status(statusLine(run, job, ctx.now()));
    } else if (run.JobRunState !== lastState) {
      io.err(statusLine(run, job, ctx.now()));
    }
    lastState = run.JobRunState;
    // On a terminal the elapsed time and cost tick every second between polls.
    const tick = io.stderrIsTTY
      ? Math.min(1000, Math.max(0, nextPoll - Date.now()))
      : nextPoll - Date.now();
    await ctx.sleep(Math.max(0, tick));
    if (ctx.signal.aborted) break;
    if (Date.now() >= nextPoll) {
      run = await poll().catch((e: unknown) => {
        if (ctx.signal.aborted) return run;
        throw e;
      });
      nextPoll = Date.now() + o.intervalSeconds * 1000;
    }
  }
  if (io.stderrIsTTY) io.status("");
  if (ctx.signal.aborted && !isTerminal(run.JobRunState)) {
    io.err(
      `Stopped watching. Run ${runId} of job ${jobName} is still ${run.JobRunState ?? "running"}; it was left alone and keeps running.`,
    );
    io.err(`  ${again}`);
    io.err(`  stop it:     ${stopCommand(jobName, runId)}`);
    return EXIT.INTERRUPTED;
  }
  const final = statusLine(run, job, ctx.now());
  io.out(`${runId}  ${final.replace(/\s+/g, " ")}`);
  const counts = (await rowsOfRuns(ctx, [run])).get(runId);
  io.out(
    `${runId}  rows ${counts ? rowsText(counts) : "unknown (no ETL_SUMMARY line in its logs)"}`,
  );
  if (run.JobRunState === "SUCCEEDED") return EXIT.OK;
  const u = runUsage(run, job, ctx.now());
  throw new CliError(
    `run ${runId} of job ${jobName} ended ${run.JobRunState} after ${duration(u.seconds)}: ${run.ErrorMessage ?? "Glue gave no error message"}`,
    EXIT.RUN_FAILED,
    [
      `logs: CloudWatch log group ${run.LogGroupName ?? "/aws-glue/jobs"} (streams starting with ${runId})`,
    ],
  );
}
