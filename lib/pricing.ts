/** Glue prices used for every estimate in this project (Glue's published list prices). One place only. */
import { JobSizing, jobDpus } from "./config";
import { ExecutionClass } from "./glue";

export const PRICE_PER_DPU_HOUR = { STANDARD: 0.44, FLEX: 0.29 } as const;
/** Glue bills per second with a 1-minute minimum per run. */
export const MINIMUM_BILLED_SECONDS = 60;

/**
 * Cost of one run that consumed `dpuSeconds` DPU-seconds. With `dpus` (the run's capacity) the
 * 1-minute minimum is applied; without it the figure is the plain per-second charge.
 */
export function runCost(dpuSeconds: number, executionClass: ExecutionClass, dpus?: number): number {
  const minimum = dpus === undefined ? 0 : dpus * MINIMUM_BILLED_SECONDS;
  const billed = Math.max(dpuSeconds, minimum, 0);
  return (billed / 3600) * PRICE_PER_DPU_HOUR[executionClass];
}

/** Cost of a run of `minutes` on the given sizing, with the 1-minute minimum applied. */
export function runCostForDuration(sizing: JobSizing, minutes: number): number {
  const dpus = jobDpus(sizing);
  return runCost(minutes * 60 * dpus, sizing.executionClass, dpus);
}

/** Price of one hour of the job at full capacity. */
export function pricePerRunHour(sizing: JobSizing): number {
  return jobDpus(sizing) * PRICE_PER_DPU_HOUR[sizing.executionClass];
}
