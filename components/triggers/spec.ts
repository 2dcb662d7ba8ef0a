/**
 * One typed API for Glue triggers (scheduled, conditional, on-demand, event) and the workflows
 * that chain them. Specs are validated as a whole before any resource is registered, so a bad
 * schedule or an impossible workflow fails with one error that lists every problem.
 */
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { validateGlueCron } from "../../lib/cron";
import {
  EVENT_BATCH_LIMITS,
  JOB_LIMITS,
  TRIGGER_CRAWL_STATES,
  TRIGGER_JOB_STATES,
} from "../../lib/glue";
import { Tags } from "../../lib/tags";

/** Job states a conditional trigger can wait for. */
export const JOB_STATES = TRIGGER_JOB_STATES;
export type JobState = (typeof JOB_STATES)[number];
/** Crawl states a conditional trigger can wait for. */
export const CRAWL_STATES = TRIGGER_CRAWL_STATES;
export type CrawlState = (typeof CRAWL_STATES)[number];

export { EVENT_BATCH_LIMITS };

/** Starts a job, optionally with run arguments and a run timeout. */
export interface JobAction {
  readonly job: pulumi.Input<string>;
  /** Run arguments (names with their leading `--`) over the job's defaults. Default none. */
  readonly arguments?: Readonly<Record<string, pulumi.Input<string>>>;
  /** Run timeout in minutes, overriding the job's. Default: the job's timeout. */
  readonly timeoutMinutes?: number;
  /** Minutes after start before Glue reports the run as delayed. Default: no delay notice. */
  readonly notifyDelayAfterMinutes?: number;
}
/** Starts a crawler. */
export interface CrawlerAction {
  readonly crawler: pulumi.Input<string>;
}
export type TriggerAction = JobAction | CrawlerAction;

/** "Job A ended in state S" (default SUCCEEDED). */
export interface JobCondition {
  readonly job: pulumi.Input<string>;
  readonly state?: JobState;
}
/** "Crawler C ended in state S" (default SUCCEEDED). */
export interface CrawlerCondition {
  readonly crawler: pulumi.Input<string>;
  readonly state?: CrawlState;
}
export type TriggerCondition = JobCondition | CrawlerCondition;

interface TriggerCommon {
  /** What the trigger starts; at least one job or crawler. */
  readonly actions: readonly TriggerAction[];
  readonly description?: string;
  /** Whether the trigger is active after deployment. Default true. */
  readonly enabled?: boolean;
}

/** Fires on a Glue cron schedule, in UTC. */
export interface ScheduledTrigger extends TriggerCommon {
  readonly kind: "scheduled";
  /** e.g. `cron(0 2 * * ? *)` for 02:00 UTC every day. */
  readonly schedule: string;
}
/** Fires when jobs or crawlers reach the given states. */
export interface ConditionalTrigger extends TriggerCommon {
  readonly kind: "conditional";
  readonly when: readonly TriggerCondition[];
  /** AND: all conditions; ANY: the first one met. Default AND. */
  readonly logical?: "AND" | "ANY";
}
/** Fires only when started by hand (`aws glue start-trigger` or a workflow run). */
export interface OnDemandTrigger extends TriggerCommon {
  readonly kind: "onDemand";
}
/**
 * Fires on EventBridge events sent to its workflow (see S3EventWorkflowStart); only as the start
 * trigger of a workflow.
 */
export interface EventTrigger extends TriggerCommon {
  readonly kind: "event";
  /** Events that start one workflow run, 1-100. Default 1 (every event starts a run). */
  readonly batchSize?: number;
  /**
   * Seconds after the first event of a batch at which the run starts even if the batch is not
   * full, 1-900. Default 900.
   */
  readonly batchWindowSeconds?: number;
}
export type TriggerSpec = ScheduledTrigger | ConditionalTrigger | OnDemandTrigger | EventTrigger;
export type StartTriggerSpec = ScheduledTrigger | OnDemandTrigger | EventTrigger;
/** A start trigger without its actions, for `chain()`. */
export type ChainStart =
  | Omit<ScheduledTrigger, "actions">
  | Omit<OnDemandTrigger, "actions">
  | Omit<EventTrigger, "actions">;

export interface TriggerProblem {
  /** Where the problem is, e.g. `sales.triggers.nightly.schedule`. */
  readonly field: string;
  readonly detail: string;
}

export class TriggerValidationError extends Error {
  constructor(readonly problems: readonly TriggerProblem[]) {
    super(
      `Invalid trigger configuration (${problems.length} problem${problems.length === 1 ? "" : "s"}):\n` +
        problems.map((p) => `  - ${p.field}: ${p.detail}`).join("\n"),
    );
    this.name = "TriggerValidationError";
  }
}

const KEY_RE = /^[a-z][a-z0-9-]{0,39}$/;
const KINDS = ["scheduled", "conditional", "onDemand", "event"];

function isJobAction(a: TriggerAction): a is JobAction {
  return "job" in a;
}
function isJobCondition(c: TriggerCondition): c is JobCondition {
  return "job" in c;
}
/** A name we can compare before deployment; Outputs are only known at deployment. */
function known(v: pulumi.Input<string>): string | undefined {
  return typeof v === "string" ? v : undefined;
}

function intProblem(
  value: number | undefined,
  range: { min: number; max: number },
  unit: string,
): string | undefined {
  if (value === undefined) return undefined;
  if (!Number.isInteger(value) || value < range.min || value > range.max) {
    return `got ${value}; allowed: a whole number of ${unit} from ${range.min} to ${range.max}`;
  }
  return undefined;
}

/**
 * Checks a trigger's list of jobs and crawlers (its actions or its conditions): not empty, and
 * each entry naming exactly one job or crawler before `check` looks at the rest of it.
 */
function eachJobOrCrawler<T extends object>(
  list: readonly T[] | undefined,
  field: string,
  emptyDetail: string,
  add: (field: string, detail: string) => void,
  check: (entry: T, at: string) => void,
): void {
  if (!Array.isArray(list) || list.length === 0) add(field, emptyDetail);
  (list ?? []).forEach((entry, i) => {
    const at = `${field}[${i}]`;
    if ("job" in entry === "crawler" in entry) add(at, "give exactly one of job or crawler");
    else check(entry, at);
  });
}

function checkTrigger(where: string, spec: TriggerSpec, problems: TriggerProblem[]): void {
  const add = (field: string, detail: string) =>
    problems.push({ field: `${where}${field}`, detail });
  if (!KINDS.includes(spec.kind)) {
    add(".kind", `got ${JSON.stringify(spec.kind)}; allowed: ${KINDS.join(", ")}`);
    return;
  }
  eachJobOrCrawler(
    spec.actions,
    ".actions",
    "a trigger needs at least one job or crawler to start",
    add,
    (a, at) => {
      if (!isJobAction(a)) return;
      for (const k of Object.keys(a.arguments ?? {})) {
        if (!/^--[A-Za-z0-9_-]+$/.test(k))
          add(
            `${at}.arguments`,
            `got the name ${JSON.stringify(k)}; argument names start with "--", e.g. --INPUT_PATH`,
          );
      }
      const t = intProblem(a.timeoutMinutes, JOB_LIMITS.timeoutMinutes, "minutes");
      if (t) add(`${at}.timeoutMinutes`, t);
      const n = intProblem(
        a.notifyDelayAfterMinutes,
        { min: 1, max: JOB_LIMITS.timeoutMinutes.max },
        "minutes",
      );
      if (n) add(`${at}.notifyDelayAfterMinutes`, n);
    },
  );
  switch (spec.kind) {
    case "scheduled":
      try {
        validateGlueCron(spec.schedule);
      } catch (e) {
        add(".schedule", (e as Error).message);
      }
      break;
    case "conditional":
      eachJobOrCrawler(
        spec.when,
        ".when",
        "a conditional trigger needs at least one job or crawler state to wait for",
        add,
        (c, at) => {
          const allowed: readonly string[] = isJobCondition(c) ? JOB_STATES : CRAWL_STATES;
          if (c.state !== undefined && !allowed.includes(c.state)) {
            add(`${at}.state`, `got ${JSON.stringify(c.state)}; allowed: ${allowed.join(", ")}`);
          }
        },
      );
      if (spec.logical !== undefined && spec.logical !== "AND" && spec.logical !== "ANY") {
        add(".logical", `got ${JSON.stringify(spec.logical)}; allowed: AND, ANY`);
      }
      break;
    case "event": {
      const s = intProblem(spec.batchSize, EVENT_BATCH_LIMITS.batchSize, "events");
      if (s) add(".batchSize", s);
      const w = intProblem(
        spec.batchWindowSeconds,
        EVENT_BATCH_LIMITS.batchWindowSeconds,
        "seconds",
      );
      if (w) add(".batchWindowSeconds", w);
      break;
    }
    case "onDemand":
      break;
  }
}

/**
 * Every problem in a set of triggers. With `workflow`, also Glue's workflow rules: exactly one
 * start trigger (scheduled, on-demand or event), and conditions that only watch jobs and crawlers
 * the workflow itself runs (a workflow's conditional trigger never sees runs from outside it).
 */
export function triggerProblems(
  owner: string,
  triggers: Readonly<Record<string, TriggerSpec>>,
  workflow: boolean,
): TriggerProblem[] {
  const problems: TriggerProblem[] = [];
  const entries = Object.entries(triggers ?? {});
  if (entries.length === 0)
    problems.push({ field: `${owner}.triggers`, detail: "give at least one trigger" });
  for (const [key, spec] of entries) {
    const where = `${owner}.triggers.${key}`;
    if (!KEY_RE.test(key)) {
      problems.push({
        field: where,
        detail:
          "trigger keys are lower-case letters, digits and '-', starting with a letter, at most 40 characters",
      });
    }
    checkTrigger(where, spec, problems);
    if (!workflow && spec.kind === "event") {
      problems.push({
        field: `${where}.kind`,
        detail:
          "an event trigger only exists as the start trigger of a Glue workflow; declare it in a Workflow",
      });
    }
  }
  if (!workflow) return problems;

  const starts = entries.filter(([, s]) => s.kind !== "conditional").map(([k]) => k);
  if (starts.length !== 1) {
    problems.push({
      field: `${owner}.triggers`,
      detail:
        `a workflow needs exactly one start trigger (scheduled, onDemand or event); got ${starts.length}` +
        (starts.length ? ` (${starts.join(", ")})` : "") +
        "; every other trigger must be conditional",
    });
  }
  const runs = new Set<string>();
  for (const [, s] of entries) {
    for (const a of s.actions ?? []) {
      const n = known(isJobAction(a) ? a.job : a.crawler);
      if (n) runs.add(`${isJobAction(a) ? "job" : "crawler"} ${n}`);
    }
  }
  for (const [key, s] of entries) {
    if (s.kind !== "conditional") continue;
    (s.when ?? []).forEach((c, i) => {
      const kind = isJobCondition(c) ? "job" : "crawler";
      const n = known(isJobCondition(c) ? c.job : c.crawler);
      if (n !== undefined && !runs.has(`${kind} ${n}`)) {
        problems.push({
          field: `${owner}.triggers.${key}.when[${i}]`,
          detail: `watches ${kind} ${JSON.stringify(n)}, which no trigger of this workflow starts, so the condition could never be met`,
        });
      }
    });
  }
  return problems;
}

const GLUE_TRIGGER_TYPE = {
  scheduled: "SCHEDULED",
  conditional: "CONDITIONAL",
  onDemand: "ON_DEMAND",
  event: "EVENT",
} as const;

/** The aws.glue.Trigger inputs for a valid spec. */
export function glueTriggerArgs(
  spec: TriggerSpec,
  extra: {
    workflowName?: pulumi.Input<string>;
    tags?: pulumi.Input<Record<string, pulumi.Input<string>>>;
  } = {},
): aws.glue.TriggerArgs {
  const actions = spec.actions.map((a): aws.types.input.glue.TriggerAction =>
    isJobAction(a)
      ? {
          jobName: a.job,
          ...(a.arguments ? { arguments: { ...a.arguments } } : {}),
          ...(a.timeoutMinutes !== undefined ? { timeout: a.timeoutMinutes } : {}),
          ...(a.notifyDelayAfterMinutes !== undefined
            ? { notificationProperty: { notifyDelayAfter: a.notifyDelayAfterMinutes } }
            : {}),
        }
      : { crawlerName: a.crawler },
  );
  return {
    type: GLUE_TRIGGER_TYPE[spec.kind],
    actions,
    enabled: spec.enabled ?? true,
    ...(spec.description ? { description: spec.description } : {}),
    ...(extra.workflowName !== undefined ? { workflowName: extra.workflowName } : {}),
    ...(extra.tags !== undefined ? { tags: extra.tags } : {}),
    ...(spec.kind === "scheduled" ? { schedule: validateGlueCron(spec.schedule) } : {}),
    ...(spec.kind === "conditional"
      ? {
          predicate: {
            logical: spec.logical ?? "AND",
            conditions: spec.when.map((c) =>
              isJobCondition(c)
                ? { jobName: c.job, state: c.state ?? "SUCCEEDED", logicalOperator: "EQUALS" }
                : {
                    crawlerName: c.crawler,
                    crawlState: c.state ?? "SUCCEEDED",
                    logicalOperator: "EQUALS",
                  },
            ),
          },
        }
      : {}),
    ...(spec.kind === "event"
      ? {
          eventBatchingConditions: [
            {
              batchSize: spec.batchSize ?? 1,
              batchWindow: spec.batchWindowSeconds ?? EVENT_BATCH_LIMITS.batchWindowSeconds.max,
            },
          ],
        }
      : {}),
  };
}

/**
 * The triggers of a straight chain: `start` starts the first step, and each further step starts
 * when the one before it SUCCEEDED. Keys: `start`, `then-1`, `then-2`, …
 * (The nightly sales chain: schedule → job → conditional job → crawler.)
 */
export function chain(
  start: ChainStart,
  steps: readonly TriggerAction[],
): Record<string, TriggerSpec> {
  if (steps.length === 0)
    throw new Error("chain: give at least one step (a job or crawler) to start");
  const out: Record<string, TriggerSpec> = { start: { ...start, actions: [steps[0]] } };
  for (let i = 1; i < steps.length; i++) {
    const prev = steps[i - 1];
    out[`then-${i}`] = {
      kind: "conditional",
      when: [isJobAction(prev) ? { job: prev.job } : { crawler: prev.crawler }],
      actions: [steps[i]],
    };
  }
  return out;
}
/** Registers one Glue trigger per spec under `parent`, named `${name}-<key>`. */
export function registerTriggers(
  parent: pulumi.Resource,
  name: string,
  triggers: Readonly<Record<string, TriggerSpec>>,
  extra: { workflowName?: pulumi.Input<string>; tags?: Tags },
): Record<string, aws.glue.Trigger> {
  return Object.fromEntries(
    Object.entries(triggers).map(([key, spec]) => [
      key,
      new aws.glue.Trigger(`${name}-${key}`, glueTriggerArgs(spec, extra), { parent }),
    ]),
  );
}
