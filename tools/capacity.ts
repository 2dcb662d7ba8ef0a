/** Glue capacity and price of every job a run registered, read from the job's own inputs. */
import { JobSizing, jobDpus } from "../lib/config";
import { DEFAULT_EXECUTION_CLASS, ExecutionClass, WORKER_DPUS, WorkerType } from "../lib/glue";
import { pricePerRunHour } from "../lib/pricing";
import { OfflineRun } from "./offline";

export interface JobCapacity extends JobSizing {
  readonly resourceName: string;
  readonly jobName: string;
  readonly dpus: number;
  readonly pricePerRunHour: number;
}

export function jobCapacity(run: OfflineRun): JobCapacity[] {
  return run.resources
    .filter((r) => r.type === "aws:glue/job:Job")
    .map((r) => {
      const i = r.inputs as {
        name: string;
        workerType: WorkerType;
        numberOfWorkers: number;
        executionClass?: ExecutionClass;
        timeout: number;
        maxRetries: number;
        executionProperty?: { maxConcurrentRuns?: number };
      };
      const sizing: JobSizing = {
        workerType: i.workerType,
        numberOfWorkers: i.numberOfWorkers,
        executionClass: i.executionClass ?? DEFAULT_EXECUTION_CLASS,
        timeoutMinutes: i.timeout,
        maxRetries: i.maxRetries,
        maxConcurrentRuns: i.executionProperty?.maxConcurrentRuns ?? 1,
      };
      if (!(sizing.workerType in WORKER_DPUS))
        throw new Error(`Job ${i.name}: unknown worker type ${sizing.workerType}`);
      return {
        ...sizing,
        resourceName: r.name,
        jobName: i.name,
        dpus: jobDpus(sizing),
        pricePerRunHour: pricePerRunHour(sizing),
      };
    });
}
