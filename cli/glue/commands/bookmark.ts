/** `bookmark reset <job>`: the job's next run reprocesses its input from the start. */
import { ResetJobBookmarkCommand } from "@aws-sdk/client-glue";
import { explainAwsError } from "../aws";
import type { Context } from "../context";
import { EXIT, UsageError } from "../errors";
import { getJob } from "../glue-api";
import { ResolveOptions, resolveJob } from "../resolve";

export interface BookmarkOptions extends ResolveOptions {
  readonly yes: boolean;
  readonly runId?: string;
}

export async function bookmarkResetCommand(
  ctx: Context,
  name: string,
  o: BookmarkOptions,
): Promise<number> {
  const target = await resolveJob(name, o, ctx.io.err);
  const job = await getJob(ctx, target);
  const what = o.runId
    ? `to where run ${o.runId} left it`
    : "so its next run reprocesses all input";
  if (!o.yes) {
    if (!ctx.io.stdinIsTTY) {
      throw new UsageError(
        `not resetting the bookmark of job ${target.jobName} without confirmation: input is not a terminal`,
        ["pass --yes to confirm"],
      );
    }
    const answer = await ctx.io.ask(`Reset the job bookmark of ${target.jobName} ${what}? [y/N] `);
    if (!/^y(es)?$/i.test(answer.trim())) {
      ctx.io.err("Not reset.");
      return EXIT.USAGE;
    }
  }
  try {
    await ctx.aws.glue.send(
      new ResetJobBookmarkCommand({
        JobName: target.jobName,
        ...(o.runId ? { RunId: o.runId } : {}),
      }),
      { abortSignal: ctx.signal },
    );
  } catch (e) {
    throw await explainAwsError(e, `resetting the bookmark of job ${target.jobName}`, ctx.aws);
  }
  ctx.io.out(`Bookmark of job ${target.jobName} reset ${what}.`);
  if (job.DefaultArguments?.["--job-bookmark-option"] !== "job-bookmark-enable") {
    ctx.io.err(
      `note: job ${target.jobName} does not have --job-bookmark-option job-bookmark-enable, so its runs do not use the bookmark`,
    );
  }
  return EXIT.OK;
}
