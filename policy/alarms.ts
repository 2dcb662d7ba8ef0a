/**
 * Alarm policies: every Glue job has CloudWatch alarms on the run metrics its script publishes
 * (its rejected rows and its run time by default), each notifying someone.
 */
import { StackValidationPolicy } from "@pulumi/policy";
import {
  PlainObject,
  Subject,
  StackView,
  asObject,
  asString,
  asStrings,
  isUnknown,
  list,
  listOf,
  stackPolicy,
  stringList,
} from "./lib";
import { JOB } from "./types";

const ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm";

interface JobAlarmsConfig {
  requiredMetrics: string[];
  jobDimension: string;
  exemptJobs: string[];
}

/** The metrics an alarm watches, each with its dimensions: directly or inside metric math. */
function watched(alarm: Subject): { metricName: string; dimensions: PlainObject }[] {
  const p = alarm.props;
  const out: { metricName: string; dimensions: PlainObject }[] = [];
  const direct = asString(p.metricName);
  if (direct) out.push({ metricName: direct, dimensions: asObject(p.dimensions) ?? {} });
  for (const q of listOf(p.metricQueries)) {
    const m = asObject(asObject(q)?.metric);
    const name = asString(m?.metricName);
    if (name) out.push({ metricName: name, dimensions: asObject(m?.dimensions) ?? {} });
  }
  return out;
}

/** Whether the alarm reaches anyone: actions on and at least one alarm action. */
function notifies(alarm: Subject): boolean {
  const p = alarm.props;
  if (isUnknown(p.alarmActions)) return true;
  return p.actionsEnabled !== false && asStrings(p.alarmActions).length > 0;
}

/** Jobs an alarm names in its job dimension, by value or (while a name is unknown) by dependency. */
function jobsOf(
  view: StackView,
  alarm: Subject,
  jobs: Subject[],
  dimension: string,
  metric: { dimensions: PlainObject },
): Subject[] {
  const value = metric.dimensions[dimension];
  if (typeof value === "string") return jobs.filter((j) => asString(j.props.name) === value);
  const viaDeps = [
    ...view.targets(alarm, "dimensions", [JOB], []),
    ...view.targets(alarm, "metricQueries", [JOB], []),
  ];
  return jobs.filter((j) => viaDeps.includes(j));
}

export const glueJobAlarms: StackValidationPolicy = stackPolicy<JobAlarmsConfig>({
  name: "glue-job-alarms",
  description:
    "Every Glue job has a CloudWatch alarm, with an alarm action, on each required run metric " +
    "(rejected rows and run time by default) for its job dimension, so a run that succeeds while " +
    "rejecting its rows or runs far too long wakes someone.",
  severity: "medium",
  remediationSteps:
    "Give the job's pipeline its PipelineAlarms (components/alarms.ts), or add an " +
    "aws.cloudwatch.MetricAlarm on each required metric with the job's name in the job " +
    "dimension and an SNS topic in alarmActions.",
  config: {
    requiredMetrics: stringList(
      "Metric names each job needs an alarm on (directly or inside the alarm's metric math).",
      ["RowsRejected", "RunSeconds"],
    ),
    jobDimension: {
      type: "string",
      default: "job",
      description: "The dimension that names the Glue job in the run metrics.",
    },
    exemptJobs: stringList("Physical names of Glue jobs that need no alarms (e.g. ad-hoc tools)."),
  },
  validate: (stack, config, report) => {
    const jobs = stack.ofType([JOB]);
    const alarms = stack.ofType([ALARM]);
    const covered = new Map<Subject, Set<string>>(jobs.map((j) => [j, new Set<string>()]));
    let undecided = false;
    for (const alarm of alarms) {
      if (!notifies(alarm)) continue;
      for (const m of watched(alarm)) {
        if (!config.requiredMetrics.includes(m.metricName)) continue;
        const matched = jobsOf(stack, alarm, jobs, config.jobDimension, m);
        for (const j of matched) covered.get(j)!.add(m.metricName);
        // A job dimension unknown during a preview and no dependency to tell: may be any job.
        if (matched.length === 0 && isUnknown(m.dimensions[config.jobDimension])) undecided = true;
      }
    }
    for (const job of jobs) {
      const name = asString(job.props.name);
      if (isUnknown(job.props.name) || (name && config.exemptJobs.includes(name))) continue;
      const missing = config.requiredMetrics.filter((m) => !covered.get(job)!.has(m));
      // A dimension still unknown during a preview may name this job; `pulumi up` checks again.
      if (missing.length === 0 || undecided) continue;
      report(
        `Glue job "${job.name}"${name && name !== job.name ? ` (${name})` : ""} has no alarm with an ` +
          `alarm action on ${list(missing)} for ${config.jobDimension}=${name ?? job.name}; ` +
          `required: an alarm on each of ${list(config.requiredMetrics)}.`,
        job.urn,
      );
    }
  },
});

export const alarmPolicies = [glueJobAlarms];
