/** Hand-built offline runs for cost and diff tests: a Glue job plus the triggers that start it. */
import { WorkerType } from "../../lib/glue";
import { OfflineRun, RecordedResource } from "../../tools/offline";

const PARENT = "glue-etl:job:GlueJob";

export interface HandJob {
  readonly name: string;
  readonly workerType?: WorkerType;
  readonly numberOfWorkers?: number;
  readonly executionClass?: "STANDARD" | "FLEX";
  readonly tags?: Record<string, string>;
}

export function job(j: HandJob): RecordedResource {
  return {
    type: "aws:glue/job:Job",
    name: `${j.name}-job`,
    urn: `urn:pulumi:hand::glue-etl::${PARENT}$aws:glue/job:Job::${j.name}-job`,
    custom: true,
    inputs: {
      name: j.name,
      workerType: j.workerType ?? "G.1X",
      numberOfWorkers: j.numberOfWorkers ?? 2,
      executionClass: j.executionClass ?? "FLEX",
      timeout: 2880,
      maxRetries: 0,
      executionProperty: { maxConcurrentRuns: 1 },
      tags: j.tags ?? {},
    },
    secretInputs: [],
    aliases: [],
    outputs: {},
  };
}

export function trigger(name: string, inputs: Record<string, unknown>): RecordedResource {
  return {
    type: "aws:glue/trigger:Trigger",
    name,
    urn: `urn:pulumi:hand::glue-etl::aws:glue/trigger:Trigger::${name}`,
    custom: true,
    inputs: { enabled: true, ...inputs },
    secretInputs: [],
    aliases: [],
    outputs: {},
  };
}

export const scheduled = (name: string, jobName: string, schedule: string) =>
  trigger(name, { type: "SCHEDULED", schedule, actions: [{ jobName }] });

export const after = (
  name: string,
  watched: string[],
  jobName: string,
  logical: "AND" | "ANY" = "AND",
) =>
  trigger(name, {
    type: "CONDITIONAL",
    predicate: {
      logical,
      conditions: watched.map((w) => ({
        jobName: w,
        state: "SUCCEEDED",
        logicalOperator: "EQUALS",
      })),
    },
    actions: [{ jobName }],
  });

export function handRun(resources: RecordedResource[], stack = "hand"): OfflineRun {
  return {
    stack,
    region: "eu-west-1",
    resources: resources.map((r) => ({
      ...r,
      urn: r.urn.replace("urn:pulumi:hand::", `urn:pulumi:${stack}::`),
    })),
    outputs: {},
  };
}

/** Glue's DPUs per worker and list prices, written out again so the tests do not trust the code under test. */
export const LIST_DPU: Record<string, number> = { "G.1X": 1, "G.2X": 2 };
export const LIST_PRICE = { STANDARD: 0.44, FLEX: 0.29 };
/** Four-year average (one leap year): 365.25 days / 12 months. */
export const DAYS_PER_MONTH = 365.25 / 12;
