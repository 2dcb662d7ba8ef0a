/**
 * Run metrics and their alarms: the metric names the job scripts publish, the stack config key
 * `glue-etl:alarms` (thresholds, per pipeline overrides) and the late-data window a schedule
 * implies. Pure: validated before any resource is registered.
 */
import { ConfigProblem, ConfigValidationError } from "./config";
import { longestGapMinutes } from "./cron";
import { PIPELINE_NAMES, PipelineName } from "../pipelines";

/** Metric names as `glue_etl_common.py` publishes them, with the dimensions of every datum. */
export const RUN_METRICS = {
  rowsRead: "RowsRead",
  rowsWritten: "RowsWritten",
  rowsRejected: "RowsRejected",
  rejectedShare: "RejectedShare",
  inputBytes: "InputBytes",
  runSeconds: "RunSeconds",
  runsCompleted: "RunsCompleted",
} as const;
export const METRIC_DIMENSIONS = ["pipeline", "environment", "job"] as const;
/** Job arguments that tell the script where its metrics go (set by the job component). */
export const METRIC_ARGUMENTS = ["--METRICS_NAMESPACE", "--PIPELINE", "--ENVIRONMENT"] as const;
export const DEFAULT_NAMESPACE = "GlueETL";
/** CloudWatch's limit for a standard alarm: period × evaluation periods at most one day. */
export const MAX_ALARM_WINDOW_SECONDS = 86_400;

/** What a pipeline's alarms compare against. */
export interface AlarmThresholds {
  /** Alarm when more than this percentage of a run's rows is rejected. Default 5. */
  readonly rejectedSharePercent: number;
  /** Alarm when a run takes more than this many times `typicalRunMinutes`. Default 3. */
  readonly runTimeMultiplier: number;
  /**
   * Minutes a scheduled run may end after its slot (beyond its typical length) before the
   * late-data alarm counts it missing. Default 60.
   */
  readonly lateGraceMinutes: number;
}

export const DEFAULT_THRESHOLDS: AlarmThresholds = {
  rejectedSharePercent: 5,
  runTimeMultiplier: 3,
  lateGraceMinutes: 60,
};

export const THRESHOLD_LIMITS: Record<keyof AlarmThresholds, { min: number; max: number }> = {
  rejectedSharePercent: { min: 0, max: 100 },
  runTimeMultiplier: { min: 1, max: 100 },
  lateGraceMinutes: { min: 0, max: 1440 },
};
const THRESHOLD_KEYS = Object.keys(DEFAULT_THRESHOLDS) as (keyof AlarmThresholds)[];

export interface AlarmSettings {
  /** CloudWatch namespace of the run metrics. Default `GlueETL`. */
  readonly namespace: string;
  /** Thresholds per pipeline: the stack-wide values with the pipeline's overrides. */
  readonly pipelines: Readonly<Record<PipelineName, AlarmThresholds>>;
}

const NS = "glue-etl:alarms";
// Printable ASCII without ':' and not under AWS/, as PutMetricData accepts namespaces.
const NAMESPACE_RE = /^(?!AWS\/)[A-Za-z0-9 ._\-/#]{1,255}$/;

function thresholds(
  problems: ConfigProblem[],
  prefix: string,
  raw: Record<string, unknown>,
  base: AlarmThresholds,
  extraKeys: readonly string[],
): AlarmThresholds {
  const out: Record<string, number> = { ...base };
  for (const [k, v] of Object.entries(raw)) {
    if (extraKeys.includes(k)) continue;
    if (!(THRESHOLD_KEYS as string[]).includes(k)) {
      problems.push({
        key: `${prefix}.${k}`,
        value: v,
        allowed: `no such key; known keys: ${[...THRESHOLD_KEYS, ...extraKeys].join(", ")}`,
      });
      continue;
    }
    const lim = THRESHOLD_LIMITS[k as keyof AlarmThresholds];
    if (typeof v !== "number" || !Number.isFinite(v) || v < lim.min || v > lim.max) {
      problems.push({
        key: `${prefix}.${k}`,
        value: v,
        allowed: `a number from ${lim.min} to ${lim.max}`,
      });
      continue;
    }
    out[k] = v;
  }
  return out as unknown as AlarmThresholds;
}

function record(
  problems: ConfigProblem[],
  key: string,
  v: unknown,
): Record<string, unknown> | undefined {
  if (typeof v === "object" && v !== null && !Array.isArray(v)) return v as Record<string, unknown>;
  problems.push({ key, value: v, allowed: "a map of keys to values" });
  return undefined;
}

/**
 * `glue-etl:alarms` from the stack file (parsed JSON, or undefined when absent) to settings, or
 * one ConfigValidationError naming every bad key:
 *
 * ```yaml
 * glue-etl:alarms:
 *   rejectedSharePercent: 1
 *   runTimeMultiplier: 3
 *   pipelines:
 *     genomics: { rejectedSharePercent: 10 }
 * ```
 */
export function validateAlarmConfig(raw: unknown, file: string): AlarmSettings {
  const problems: ConfigProblem[] = [];
  const top = raw === undefined ? {} : (record(problems, NS, raw) ?? {});
  let namespace = DEFAULT_NAMESPACE;
  if (top.namespace !== undefined) {
    if (typeof top.namespace === "string" && NAMESPACE_RE.test(top.namespace)) {
      namespace = top.namespace;
    } else {
      problems.push({
        key: `${NS}.namespace`,
        value: top.namespace,
        allowed:
          "a CloudWatch namespace: 1-255 letters, digits, spaces or . _ - / #, not starting with AWS/",
      });
    }
  }
  const base = thresholds(problems, NS, top, DEFAULT_THRESHOLDS, ["namespace", "pipelines"]);
  const rawPipelines =
    top.pipelines === undefined ? {} : (record(problems, `${NS}.pipelines`, top.pipelines) ?? {});
  for (const name of Object.keys(rawPipelines)) {
    if (!(PIPELINE_NAMES as string[]).includes(name)) {
      problems.push({
        key: `${NS}.pipelines.${name}`,
        value: name,
        allowed: `a pipeline of this program: ${PIPELINE_NAMES.join(", ")}`,
      });
    }
  }
  const pipelines = Object.fromEntries(
    PIPELINE_NAMES.map((p) => {
      const prefix = `${NS}.pipelines.${p}`;
      const own = rawPipelines[p] === undefined ? {} : record(problems, prefix, rawPipelines[p]);
      return [p, thresholds(problems, prefix, own ?? {}, base, [])];
    }),
  ) as Record<PipelineName, AlarmThresholds>;
  if (problems.length) throw new ConfigValidationError(file, problems);
  return { namespace, pipelines };
}

/** How the late-data alarm looks back: `evaluationPeriods` periods of `periodSeconds`, all empty. */
export interface LateDataWindow {
  readonly periodSeconds: number;
  readonly evaluationPeriods: number;
  /** Minutes the alarm looks back (periodSeconds × evaluationPeriods / 60). */
  readonly minutes: number;
  /** Longest time between two scheduled runs, in minutes. */
  readonly scheduleGapMinutes: number;
}

/**
 * The window in which a scheduled pipeline must complete a run: the schedule's longest gap,
 * plus the run's typical length, plus the grace, at most one day (CloudWatch's limit for a
 * standard alarm). Undefined when the schedule leaves more than a day between runs: a one-day
 * window would then alarm on every day without a slot.
 */
export function lateDataWindow(
  schedule: string,
  typicalRunMinutes: number,
  graceMinutes: number,
): LateDataWindow | undefined {
  const gap = longestGapMinutes(schedule);
  if (gap > MAX_ALARM_WINDOW_SECONDS / 60) return undefined;
  const wanted = Math.min(MAX_ALARM_WINDOW_SECONDS / 60, gap + typicalRunMinutes + graceMinutes);
  // Hourly periods for long windows keep the alarm cheap; 5-minute ones keep short ones sharp.
  const periodSeconds = wanted >= 360 ? 3600 : 300;
  const evaluationPeriods = Math.max(1, Math.ceil((wanted * 60) / periodSeconds));
  return {
    periodSeconds,
    evaluationPeriods,
    minutes: (periodSeconds * evaluationPeriods) / 60,
    scheduleGapMinutes: gap,
  };
}
