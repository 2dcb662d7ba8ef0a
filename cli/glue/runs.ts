/** What a job run costs and how long it took, from GetJobRun(s) fields and Glue's list prices. */
import type { Job, JobRun } from "@aws-sdk/client-glue";
import {
  DEFAULT_EXECUTION_CLASS,
  ExecutionClass,
  TERMINAL_RUN_STATES,
  WORKER_DPUS,
} from "../../lib/glue";
import { runCost } from "../../lib/pricing";

export const TERMINAL_STATES: readonly string[] = TERMINAL_RUN_STATES;

export function isTerminal(state: string | undefined): boolean {
  return state !== undefined && TERMINAL_STATES.includes(state);
}

/** DPUs the run holds: MaxCapacity, else workers × the worker type's DPUs (run, then job). */
export function runCapacity(run: JobRun, job?: Job): number | undefined {
  for (const src of [run, job]) {
    if (!src) continue;
    if (typeof src.MaxCapacity === "number" && src.MaxCapacity > 0) return src.MaxCapacity;
    const dpus = WORKER_DPUS[src.WorkerType as keyof typeof WORKER_DPUS];
    if (dpus !== undefined && typeof src.NumberOfWorkers === "number") {
      return dpus * src.NumberOfWorkers;
    }
  }
  return undefined;
}

/** Seconds the run has taken: Glue's ExecutionTime once it ended, else the clock since start. */
export function runSeconds(run: JobRun, now: Date): number {
  if (isTerminal(run.JobRunState) && typeof run.ExecutionTime === "number") {
    return run.ExecutionTime;
  }
  if (!run.StartedOn) return 0;
  const end = isTerminal(run.JobRunState) && run.CompletedOn ? run.CompletedOn : now;
  return Math.max(0, (end.getTime() - run.StartedOn.getTime()) / 1000);
}

export function runExecutionClass(run: JobRun, job?: Job): ExecutionClass {
  const c = run.ExecutionClass ?? job?.ExecutionClass;
  return c === "FLEX" ? "FLEX" : DEFAULT_EXECUTION_CLASS;
}

export interface RunUsage {
  readonly seconds: number;
  /** Undefined when neither DPUSeconds nor the capacity is known. */
  readonly dpuSeconds?: number;
  /** Dollars; for an ended run of known capacity with Glue's 1-minute minimum applied. */
  readonly cost?: number;
}

export function runUsage(run: JobRun, job: Job | undefined, now: Date): RunUsage {
  const seconds = runSeconds(run, now);
  const capacity = runCapacity(run, job);
  // Glue reports DPUSeconds for auto-scaling and Flex runs, where capacity varies over the run.
  const dpuSeconds =
    typeof run.DPUSeconds === "number" && run.DPUSeconds > 0
      ? run.DPUSeconds
      : capacity !== undefined
        ? seconds * capacity
        : undefined;
  if (dpuSeconds === undefined) return { seconds };
  // The 1-minute minimum is billed for a run that ended; one in progress shows what it used so far.
  const minimumFor = isTerminal(run.JobRunState) ? capacity : undefined;
  return {
    seconds,
    dpuSeconds,
    cost: runCost(dpuSeconds, runExecutionClass(run, job), minimumFor),
  };
}

/** Newest first: GetJobRuns' order is not guaranteed by every endpoint. */
export function newestFirst(runs: readonly JobRun[]): JobRun[] {
  return [...runs].sort((a, b) => (b.StartedOn?.getTime() ?? 0) - (a.StartedOn?.getTime() ?? 0));
}
