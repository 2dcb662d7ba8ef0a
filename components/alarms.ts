/**
 * PipelineAlarms: CloudWatch alarms on the run metrics a pipeline's job publishes (rejected
 * share, run time, and for scheduled pipelines a run that never completed), all into the
 * pipeline's alert topic.
 */
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import {
  AlarmThresholds,
  DEFAULT_NAMESPACE,
  DEFAULT_THRESHOLDS,
  LateDataWindow,
  RUN_METRICS,
  lateDataWindow,
} from "../lib/observability";
import { Tags } from "../lib/tags";
import { pipelineName } from "../lib/names";

/** Each alarm of a pipeline, by key. */
export type AlarmKey = "rejected-share" | "run-time" | "late-data";

export interface PipelineAlarmsArgs {
  /** Pipeline name: the `pipeline` dimension and part of alarm names. */
  readonly pipeline: string;
  /** Environment: the `environment` dimension and part of alarm names. */
  readonly environment: string;
  /** Physical Glue job name: the `job` dimension. */
  readonly jobName: pulumi.Input<string>;
  /** SNS topic every alarm notifies (the pipeline's alert topic). */
  readonly topicArn: pulumi.Input<string>;
  /** Typical run length; the run-time threshold is a multiple of it. */
  readonly typicalRunMinutes: number;
  /** Namespace the job publishes to. Default `GlueETL`. */
  readonly namespace?: string;
  /** Thresholds. Default: 5 % rejected, 3 × typicalRunMinutes, 60 minutes' grace. */
  readonly thresholds?: AlarmThresholds;
  /**
   * Glue cron of the schedule that starts the job (its own or its workflow's). With it, an alarm
   * fires when no run completes within the schedule's longest gap plus the run's typical length
   * plus the grace (at most one day). Default none: the job starts on demand or on events.
   */
  readonly schedule?: string;
  /** Tags for every alarm. Default none. */
  readonly tags?: Tags;
}

/** Rejected share over a 5-minute period: metric math over the rows of every run in it. */
export const SHARE_PERIOD_SECONDS = 300;
export const SHARE_EXPRESSION = "IF(r > 0, 100 * x / r, 0)";

/** A pipeline's alarms on its run metrics; every alarm notifies `topicArn`. */
export class PipelineAlarms extends pulumi.ComponentResource {
  public readonly alarms: Readonly<Partial<Record<AlarmKey, aws.cloudwatch.MetricAlarm>>>;
  /** ARNs of every alarm, for a dashboard's alarm status widget. */
  public readonly alarmArns: pulumi.Output<string>[];
  /** The late-data window, when the pipeline is scheduled and its gaps fit in one day. */
  public readonly lateData?: LateDataWindow;
  public readonly thresholds: AlarmThresholds;
  /** The run-time alarm's threshold in seconds. */
  public readonly runTimeLimitSeconds: number;

  constructor(name: string, args: PipelineAlarmsArgs, opts?: pulumi.ComponentResourceOptions) {
    const t = args.thresholds ?? DEFAULT_THRESHOLDS;
    if (!Number.isInteger(args.typicalRunMinutes) || args.typicalRunMinutes < 1) {
      throw new Error(
        `PipelineAlarms "${name}": typicalRunMinutes got ${args.typicalRunMinutes}; allowed: a whole number of minutes, at least 1`,
      );
    }
    super("glue-etl:alarms:PipelineAlarms", name, {}, opts);
    this.thresholds = t;
    const namespace = args.namespace ?? DEFAULT_NAMESPACE;
    const dimensions = {
      pipeline: args.pipeline,
      environment: args.environment,
      job: args.jobName,
    };
    const physical = pipelineName(args.environment, args.pipeline);
    const child = { parent: this };
    const common = {
      alarmActions: [args.topicArn],
      actionsEnabled: true,
      tags: args.tags,
    };
    const alarms: Partial<Record<AlarmKey, aws.cloudwatch.MetricAlarm>> = {};

    const metric = (metricName: string, stat: string, period: number) => ({
      namespace,
      metricName,
      dimensions,
      period,
      stat,
    });
    alarms["rejected-share"] = new aws.cloudwatch.MetricAlarm(
      `${name}-rejected-share`,
      {
        ...common,
        name: `${physical}-rejected-share`,
        alarmDescription:
          `More than ${t.rejectedSharePercent}% of the rows ${args.pipeline} read were rejected ` +
          `(runs ending within 5 minutes, pooled). The rejected rows and their _reject_reason are ` +
          `under the job's rejected path.`,
        comparisonOperator: "GreaterThanThreshold",
        threshold: t.rejectedSharePercent,
        evaluationPeriods: 1,
        datapointsToAlarm: 1,
        // No run, nothing to judge.
        treatMissingData: "notBreaching",
        metricQueries: [
          {
            id: "r",
            metric: metric(RUN_METRICS.rowsRead, "Sum", SHARE_PERIOD_SECONDS),
            returnData: false,
          },
          {
            id: "x",
            metric: metric(RUN_METRICS.rowsRejected, "Sum", SHARE_PERIOD_SECONDS),
            returnData: false,
          },
          {
            id: "share",
            expression: SHARE_EXPRESSION,
            label: "Rejected share (%)",
            returnData: true,
          },
        ],
      },
      child,
    );

    const runLimitSeconds = Math.round(t.runTimeMultiplier * args.typicalRunMinutes * 60);
    this.runTimeLimitSeconds = runLimitSeconds;
    alarms["run-time"] = new aws.cloudwatch.MetricAlarm(
      `${name}-run-time`,
      {
        ...common,
        name: `${physical}-run-time`,
        alarmDescription:
          `A run of ${args.pipeline} took more than ${t.runTimeMultiplier} × its typical ` +
          `${args.typicalRunMinutes} minutes (${runLimitSeconds} s).`,
        namespace,
        metricName: RUN_METRICS.runSeconds,
        dimensions,
        period: 300,
        statistic: "Maximum",
        comparisonOperator: "GreaterThanThreshold",
        threshold: runLimitSeconds,
        evaluationPeriods: 1,
        datapointsToAlarm: 1,
        treatMissingData: "notBreaching",
      },
      child,
    );

    if (args.schedule) {
      this.lateData = lateDataWindow(args.schedule, args.typicalRunMinutes, t.lateGraceMinutes);
    }
    if (this.lateData) {
      const w = this.lateData;
      alarms["late-data"] = new aws.cloudwatch.MetricAlarm(
        `${name}-late-data`,
        {
          ...common,
          // Say when the data arrives after all.
          okActions: [args.topicArn],
          name: `${physical}-late-data`,
          alarmDescription:
            `No run of ${args.pipeline} completed in the last ${w.minutes} minutes; its schedule ` +
            `${args.schedule} leaves at most ${w.scheduleGapMinutes} minutes between runs. The ` +
            `job did not start, failed, or is running late.`,
          namespace,
          metricName: RUN_METRICS.runsCompleted,
          dimensions,
          period: w.periodSeconds,
          statistic: "Sum",
          comparisonOperator: "LessThanThreshold",
          threshold: 1,
          evaluationPeriods: w.evaluationPeriods,
          datapointsToAlarm: w.evaluationPeriods,
          // No datapoint is exactly what this alarm watches for: a run that never completed.
          treatMissingData: "breaching",
        },
        child,
      );
    }
    this.alarms = alarms;
    this.alarmArns = Object.values(alarms).map((a) => a.arn);
    this.registerOutputs({ alarmArns: this.alarmArns });
  }
}
