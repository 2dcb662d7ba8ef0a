/**
 * Estimated Glue cost of what a run registered: per job its capacity and price per run-hour, and
 * where triggers start it on a schedule, runs per month and a monthly estimate from the
 * pipeline's typical run duration. Prices come from lib/pricing.ts only.
 *
 * Schedules are read from the recorded `aws:glue/trigger:Trigger` resources, never from config,
 * so the estimate describes exactly what would be deployed. A job started by a CONDITIONAL
 * trigger (run B when A SUCCEEDED) inherits the rate of the jobs it watches, assuming runs
 * succeed; ON_DEMAND and EVENT starts have no rate and count as unscheduled.
 */
import { PIPELINE_NAMES, PipelineName } from "../pipelines";
import { StackSettings } from "../lib/config";
import { runsPerMonth } from "../lib/cron";
import { runCostForDuration } from "../lib/pricing";
import { jobCapacity } from "./capacity";
import { OfflineRun, RecordedResource } from "./offline";

export const TRIGGER_TYPE = "aws:glue/trigger:Trigger";
/** Job tag naming the pipeline whose config holds the job's typical run duration. */
export const PIPELINE_TAG = "pipeline";
/** Job tag that, when present, gives the typical run duration in minutes directly. */
export const TYPICAL_RUN_MINUTES_TAG = "typical-run-minutes";

/** One way a job gets started, and how often that happens. */
export interface JobStart {
  /** Resource name of the trigger. */
  readonly trigger: string;
  readonly type: string;
  /** `cron(0 2 * * ? *)`, `after <job> SUCCEEDED`, `on demand`, `event`. */
  readonly detail: string;
  /** Undefined when the start has no predictable rate (on demand, events). */
  readonly runsPerMonth?: number;
}

export interface JobCost {
  readonly resourceName: string;
  readonly jobName: string;
  readonly pipeline?: string;
  readonly workerType: string;
  readonly numberOfWorkers: number;
  readonly executionClass: string;
  readonly dpus: number;
  /** Full capacity for one hour; with auto-scaling this is the ceiling. */
  readonly pricePerRunHour: number;
  readonly typicalRunMinutes?: number;
  /** One typical run, 1-minute minimum applied. */
  readonly costPerRun?: number;
  readonly starts: readonly JobStart[];
  /** Sum of the rated starts; undefined when nothing starts the job on a schedule. */
  readonly runsPerMonth?: number;
  readonly monthlyCost?: number;
}

export interface StackCost {
  readonly jobs: readonly JobCost[];
  /** Sum of every job's price per run-hour. */
  readonly pricePerRunHour: number;
  /** Sum over the jobs that have a monthly estimate. */
  readonly monthlyCost: number;
  /** Jobs with no schedule, whose runs are not in `monthlyCost`. */
  readonly unscheduledJobs: readonly string[];
}

/** Typical run minutes of a pipeline, from wherever the caller keeps its settings. */
export type RunMinutesLookup = (pipeline: string) => number | undefined;

interface TriggerInputs {
  type?: string;
  enabled?: boolean;
  schedule?: string;
  actions?: { jobName?: string; crawlerName?: string }[];
  predicate?: {
    logical?: string;
    conditions?: {
      jobName?: string;
      crawlerName?: string;
      state?: string;
      crawlState?: string;
    }[];
  };
}

/** Money figures are kept to a tenth of a cent so snapshots and hand checks agree. */
export const roundUsd = (x: number): number => Math.round(x * 10_000) / 10_000;

function targetsOf(t: TriggerInputs): string[] {
  return (t.actions ?? []).flatMap((a) =>
    a.jobName ? [`job:${a.jobName}`] : a.crawlerName ? [`crawler:${a.crawlerName}`] : [],
  );
}

/**
 * Runs per month of every job and crawler (keyed `job:<name>` / `crawler:<name>`), following
 * conditional triggers. Cycles contribute nothing.
 */
function startRates(triggers: RecordedResource[]): {
  rate: (node: string) => number | undefined;
  startsOf: (node: string) => JobStart[];
} {
  const live = triggers.filter((t) => (t.inputs as TriggerInputs).enabled !== false);
  const byTarget = new Map<string, RecordedResource[]>();
  for (const t of live) {
    for (const target of targetsOf(t.inputs as TriggerInputs)) {
      byTarget.set(target, [...(byTarget.get(target) ?? []), t]);
    }
  }
  const memo = new Map<string, number | undefined>();
  const visiting = new Set<string>();

  const triggerRate = (t: RecordedResource): number | undefined => {
    const i = t.inputs as TriggerInputs;
    if (i.type === "SCHEDULED" && i.schedule) return runsPerMonth(i.schedule);
    if (i.type !== "CONDITIONAL") return undefined;
    const conditions = i.predicate?.conditions ?? [];
    // Only success chains are predictable; a trigger on FAILED or TIMEOUT fires rarely.
    const rates = conditions.map((c) =>
      c.jobName && (c.state ?? "SUCCEEDED") === "SUCCEEDED"
        ? rate(`job:${c.jobName}`)
        : c.crawlerName && (c.crawlState ?? "SUCCEEDED") === "SUCCEEDED"
          ? rate(`crawler:${c.crawlerName}`)
          : 0,
    );
    if (rates.length === 0 || rates.some((r) => r === undefined)) return undefined;
    const known = rates as number[];
    return i.predicate?.logical === "ANY" ? known.reduce((a, b) => a + b, 0) : Math.min(...known);
  };

  const rate = (node: string): number | undefined => {
    if (memo.has(node)) return memo.get(node);
    if (visiting.has(node)) return 0;
    visiting.add(node);
    const rated = (byTarget.get(node) ?? [])
      .map(triggerRate)
      .filter((r): r is number => r !== undefined);
    visiting.delete(node);
    const r = rated.length > 0 ? rated.reduce((a, b) => a + b, 0) : undefined;
    memo.set(node, r);
    return r;
  };

  const startsOf = (node: string): JobStart[] =>
    (byTarget.get(node) ?? []).map((t) => {
      const i = t.inputs as TriggerInputs;
      const watched = (i.predicate?.conditions ?? []).map(
        (c) =>
          `${c.jobName ?? c.crawlerName ?? "?"} ${c.jobName ? (c.state ?? "SUCCEEDED") : (c.crawlState ?? "SUCCEEDED")}`,
      );
      const detail =
        i.type === "SCHEDULED"
          ? (i.schedule ?? "SCHEDULED without a schedule")
          : i.type === "CONDITIONAL"
            ? `after ${watched.join(i.predicate?.logical === "ANY" ? " or " : " and ")}`
            : i.type === "ON_DEMAND"
              ? "on demand"
              : i.type === "EVENT"
                ? "event"
                : String(i.type);
      const r = triggerRate(t);
      return {
        trigger: t.name,
        type: String(i.type),
        detail,
        ...(r === undefined ? {} : { runsPerMonth: r }),
      };
    });

  return { rate, startsOf };
}

/**
 * The cost of every Glue job in `run`. The typical run duration is the job's
 * `typical-run-minutes` tag when present, else `runMinutes(<pipeline tag>)`.
 */
export function stackCost(
  run: OfflineRun,
  runMinutes: RunMinutesLookup = () => undefined,
): StackCost {
  const { rate, startsOf } = startRates(run.resources.filter((r) => r.type === TRIGGER_TYPE));
  const jobResources = new Map(run.resources.map((r) => [`${r.type}::${r.name}`, r]));
  const jobs = jobCapacity(run).map((cap): JobCost => {
    const tags = (jobResources.get(`aws:glue/job:Job::${cap.resourceName}`)?.inputs.tags ??
      {}) as Record<string, string>;
    const pipeline = tags[PIPELINE_TAG];
    const tagged = Number(tags[TYPICAL_RUN_MINUTES_TAG]);
    const minutes =
      Number.isFinite(tagged) && tagged > 0
        ? tagged
        : pipeline !== undefined
          ? runMinutes(pipeline)
          : undefined;
    const costPerRun = minutes === undefined ? undefined : runCostForDuration(cap, minutes);
    const perMonth = rate(`job:${cap.jobName}`);
    return {
      resourceName: cap.resourceName,
      jobName: cap.jobName,
      ...(pipeline === undefined ? {} : { pipeline }),
      workerType: cap.workerType,
      numberOfWorkers: cap.numberOfWorkers,
      executionClass: cap.executionClass,
      dpus: cap.dpus,
      pricePerRunHour: roundUsd(cap.pricePerRunHour),
      ...(minutes === undefined ? {} : { typicalRunMinutes: minutes }),
      ...(costPerRun === undefined ? {} : { costPerRun: roundUsd(costPerRun) }),
      starts: startsOf(`job:${cap.jobName}`),
      ...(perMonth === undefined ? {} : { runsPerMonth: roundUsd(perMonth) }),
      ...(perMonth === undefined || costPerRun === undefined
        ? {}
        : { monthlyCost: roundUsd(perMonth * costPerRun) }),
    };
  });
  return {
    jobs,
    pricePerRunHour: roundUsd(jobs.reduce((a, j) => a + j.pricePerRunHour, 0)),
    monthlyCost: roundUsd(jobs.reduce((a, j) => a + (j.monthlyCost ?? 0), 0)),
    unscheduledJobs: jobs.filter((j) => j.monthlyCost === undefined).map((j) => j.jobName),
  };
}

/** Typical run minutes per pipeline from validated settings. */
export function runMinutesFrom(settings: StackSettings): RunMinutesLookup {
  return (pipeline) =>
    (PIPELINE_NAMES as string[]).includes(pipeline)
      ? settings.pipelines[pipeline as PipelineName]?.typicalRunMinutes
      : undefined;
}
