/** The Glue calls the commands share, with their errors explained for this CLI's users. */
import {
  GetJobCommand,
  GetJobRunCommand,
  Job,
  JobRun,
  StartJobRunCommand,
  paginateGetJobRuns,
} from "@aws-sdk/client-glue";
import { PipelineName } from "../../pipelines";
import { errorName, explainAwsError } from "./aws";
import type { Context } from "./context";
import { CliError, EXIT } from "./errors";
import { JobTarget, unknownJobHints } from "./resolve";

export async function getJob(ctx: Context, target: JobTarget): Promise<Job> {
  try {
    const res = await ctx.aws.glue.send(new GetJobCommand({ JobName: target.jobName }), {
      abortSignal: ctx.signal,
    });
    if (!res.Job) throw new CliError(`Glue returned no job for ${target.jobName}`, EXIT.AWS);
    return res.Job;
  } catch (e) {
    if (errorName(e) === "EntityNotFoundException") {
      const region = await ctx.aws.glue.config.region().catch(() => "the configured region");
      throw new CliError(
        `no Glue job named ${target.jobName} in ${region} at ${await ctx.aws.endpoint()} (name from ${target.source})`,
        EXIT.AWS,
        [
          ...(target.pipeline
            ? ["is the stack deployed (pulumi up) in this account and region?"]
            : []),
          ...unknownJobHints(target.jobName),
        ],
      );
    }
    throw await explainAwsError(e, `looking up job ${target.jobName}`, ctx.aws);
  }
}

export function maxConcurrentRuns(job: Job): number {
  return job.ExecutionProperty?.MaxConcurrentRuns ?? 1;
}

/** Glue refused a run because the job is at its MaxConcurrentRuns. */
export class ConcurrentRunsError extends CliError {}

/** ConcurrentRunsExceededException in words: the limit, where it is set, what to do. */
export function concurrencyError(job: Job, pipeline: PipelineName | undefined): CliError {
  const limit = maxConcurrentRuns(job);
  const key = pipeline
    ? `glue-etl:pipelines.${pipeline}.maxConcurrentRuns (or glue-etl:sizing.maxConcurrentRuns for every pipeline)`
    : "maxConcurrentRuns of its pipeline";
  return new ConcurrentRunsError(
    `job ${job.Name} already has ${limit} run${limit === 1 ? "" : "s"} in progress, its limit (MaxConcurrentRuns = ${limit}); Glue refused to start another`,
    EXIT.AWS,
    [
      `wait for a run to end (npm run glue -- runs ${job.Name}), then try again;`,
      `or raise the limit: set ${key} in Pulumi.<stack>.yaml and run pulumi up`,
    ],
  );
}

export async function startRun(
  ctx: Context,
  job: Job,
  target: JobTarget,
  args: Record<string, string>,
): Promise<string> {
  try {
    const res = await ctx.aws.glue.send(
      new StartJobRunCommand({ JobName: target.jobName, Arguments: args }),
      { abortSignal: ctx.signal },
    );
    if (!res.JobRunId) throw new CliError("Glue started a run but returned no run id", EXIT.AWS);
    return res.JobRunId;
  } catch (e) {
    if (errorName(e) === "ConcurrentRunsExceededException") {
      throw concurrencyError(job, target.pipeline);
    }
    throw await explainAwsError(e, `starting a run of job ${target.jobName}`, ctx.aws);
  }
}

/** One poll of a run; the SDK retries throttling, 5xx and network blips. */
export async function pollRun(ctx: Context, jobName: string, runId: string): Promise<JobRun> {
  try {
    const res = await ctx.aws.glue.send(new GetJobRunCommand({ JobName: jobName, RunId: runId }), {
      abortSignal: ctx.signal,
    });
    if (!res.JobRun) throw new CliError(`Glue returned no run ${runId}`, EXIT.AWS);
    return res.JobRun;
  } catch (e) {
    if (errorName(e) === "EntityNotFoundException") {
      throw new CliError(`job ${jobName} has no run ${runId}`, EXIT.AWS, [
        `list its runs: npm run glue -- runs ${jobName}`,
      ]);
    }
    throw await explainAwsError(e, `reading run ${runId} of job ${jobName}`, ctx.aws);
  }
}

/** Up to `limit` runs of the job, in the order Glue returns them. */
export async function listRuns(ctx: Context, jobName: string, limit: number): Promise<JobRun[]> {
  const runs: JobRun[] = [];
  try {
    const pages = paginateGetJobRuns(
      { client: ctx.aws.glue, pageSize: Math.min(200, limit) },
      { JobName: jobName },
      { abortSignal: ctx.signal },
    );
    for await (const page of pages) {
      runs.push(...(page.JobRuns ?? []));
      if (runs.length >= limit) break;
    }
  } catch (e) {
    throw await explainAwsError(e, `listing the runs of job ${jobName}`, ctx.aws);
  }
  return runs.slice(0, limit);
}

/** The command that stops a run, for users who want to after the CLI let go of it. */
export function stopCommand(jobName: string, runId: string): string {
  return `aws glue batch-stop-job-run --job-name ${jobName} --job-run-ids ${runId}`;
}
