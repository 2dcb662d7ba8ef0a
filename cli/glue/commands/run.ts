/** `run <pipeline|job> --arg KEY=VALUE…`: validate the arguments, start a run, print its id. */
import type { Context } from "../context";
import { EXIT } from "../errors";
import { getJob, startRun } from "../glue-api";
import { checkArgumentKeys, checkRequired, parseArgPairs } from "../jobargs";
import { ResolveOptions, resolveJob } from "../resolve";
import { watchRun } from "./watch";

export interface RunOptions extends ResolveOptions {
  readonly args: readonly string[];
  readonly watch: boolean;
  readonly intervalSeconds: number;
}

export async function runCommand(ctx: Context, name: string, o: RunOptions): Promise<number> {
  const args = parseArgPairs(o.args);
  const target = await resolveJob(name, o, ctx.io.err);
  // Keys are checked before any AWS call; required ones need the job's defaults.
  checkArgumentKeys(target.pipeline, args, target.jobName);
  const job = await getJob(ctx, target);
  if (target.pipeline) {
    checkRequired(target.pipeline, args, job.DefaultArguments ?? {}, target.jobName);
  } else {
    ctx.io.err(
      `note: job ${target.jobName} is not one of this program's pipelines; its arguments are passed unchecked`,
    );
  }
  const runId = await startRun(ctx, job, target, args);
  ctx.io.out(runId);
  ctx.io.err(
    `Started run ${runId} of job ${target.jobName}${target.pipeline ? ` (pipeline ${target.pipeline}, name from ${target.source})` : ""}`,
  );
  if (!o.watch) {
    ctx.io.err(`  follow it: npm run glue -- watch ${target.jobName} ${runId}`);
    return EXIT.OK;
  }
  return watchRun(ctx, job, runId, { intervalSeconds: o.intervalSeconds });
}
