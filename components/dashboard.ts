/**
 * StackDashboard: one CloudWatch dashboard per stack with a row per pipeline (runs, rows,
 * rejected share, run time and the state of its alarms), built from the pipelines the program
 * declares.
 */
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { DEFAULT_NAMESPACE, RUN_METRICS } from "../lib/observability";

export interface DashboardPipeline {
  /** Pipeline name: the `pipeline` dimension and the row's title. */
  readonly pipeline: string;
  /** Physical Glue job name: the `job` dimension. */
  readonly jobName: pulumi.Input<string>;
  /** Alarms shown in the row's alarm status widget. */
  readonly alarmArns: readonly pulumi.Input<string>[];
  /** EventBridge rule (default bus) matching the job's failed runs; its TriggeredRules count. Default none. */
  readonly failedRunsRuleName?: pulumi.Input<string>;
  /** Rejected-share alarm threshold (%), drawn as a line. Default none. */
  readonly rejectedSharePercent?: number;
  /** Run-time alarm threshold (seconds), drawn as a line. Default none. */
  readonly runTimeLimitSeconds?: number;
}

export interface StackDashboardArgs {
  /** Physical dashboard name: letters, digits, '-' and '_', at most 255. */
  readonly dashboardName: string;
  /** Environment: the `environment` dimension. */
  readonly environment: string;
  /** Region whose metrics the widgets show. */
  readonly region: string;
  /** Namespace of the run metrics. Default `GlueETL`. */
  readonly namespace?: string;
  /** One row per pipeline, in this order. At least one. */
  readonly pipelines: readonly DashboardPipeline[];
}

/** A pipeline's row with every Output resolved. */
export interface ResolvedRow {
  readonly pipeline: string;
  readonly jobName: string;
  readonly alarmArns: readonly string[];
  readonly failedRunsRuleName?: string;
  readonly rejectedSharePercent?: number;
  readonly runTimeLimitSeconds?: number;
}

const ROW_HEIGHT = 6;
const PERIOD = 300;
const NAME_RE = /^[A-Za-z0-9_-]{1,255}$/;

type Widget = Record<string, unknown>;

/** The dashboard body (CloudWatch dashboard JSON) for resolved rows. Pure. */
export function dashboardBody(
  rows: readonly ResolvedRow[],
  o: { environment: string; region: string; namespace: string },
): string {
  const widgets: Widget[] = [];
  rows.forEach((row, i) => {
    const y = i * (ROW_HEIGHT + 1);
    const dims = ["pipeline", row.pipeline, "environment", o.environment, "job", row.jobName];
    const m = (name: string, opts: Record<string, unknown>) => [o.namespace, name, ...dims, opts];
    const graph = (
      x: number,
      width: number,
      title: string,
      metrics: unknown[],
      extra: Record<string, unknown> = {},
    ): Widget => ({
      type: "metric",
      x,
      y: y + 1,
      width,
      height: ROW_HEIGHT,
      properties: {
        title,
        view: "timeSeries",
        stacked: false,
        region: o.region,
        period: PERIOD,
        metrics,
        ...extra,
      },
    });
    const line = (label: string, value: number | undefined) =>
      value === undefined ? {} : { annotations: { horizontal: [{ label, value }] } };
    widgets.push(
      {
        type: "text",
        x: 0,
        y,
        width: 24,
        height: 1,
        properties: { markdown: `### ${row.pipeline} — \`${row.jobName}\`` },
      },
      graph(0, 5, "Runs", [
        m(RUN_METRICS.runsCompleted, { stat: "Sum", label: "succeeded (reconciled)" }),
        ...(row.failedRunsRuleName
          ? [
              [
                "AWS/Events",
                "TriggeredRules",
                "RuleName",
                row.failedRunsRuleName,
                { stat: "Sum", label: "failed, timed out or errored", color: "#d62728" },
              ],
            ]
          : []),
      ]),
      graph(5, 5, "Rows", [
        m(RUN_METRICS.rowsRead, { stat: "Sum", label: "read" }),
        m(RUN_METRICS.rowsWritten, { stat: "Sum", label: "written" }),
        m(RUN_METRICS.rowsRejected, { stat: "Sum", label: "rejected", color: "#d62728" }),
      ]),
      graph(
        10,
        5,
        "Rejected share (%)",
        [m(RUN_METRICS.rejectedShare, { stat: "Maximum", label: "rejected share, worst run" })],
        {
          yAxis: { left: { min: 0, max: 100, showUnits: false } },
          ...line("alarm", row.rejectedSharePercent),
        },
      ),
      graph(
        15,
        5,
        "Run time (s)",
        [m(RUN_METRICS.runSeconds, { stat: "Maximum", label: "longest run" })],
        {
          yAxis: { left: { min: 0, showUnits: false } },
          ...line("alarm", row.runTimeLimitSeconds),
        },
      ),
      {
        type: "alarm",
        x: 20,
        y: y + 1,
        width: 4,
        height: ROW_HEIGHT,
        properties: {
          title: "Alarms",
          alarms: [...row.alarmArns],
          sortBy: "stateUpdatedTimestamp",
        },
      },
    );
  });
  return JSON.stringify({ start: "-P7D", periodOverride: "inherit", widgets });
}

/** A CloudWatch dashboard with one row per pipeline. */
export class StackDashboard extends pulumi.ComponentResource {
  public readonly dashboard: aws.cloudwatch.Dashboard;
  public readonly dashboardName: pulumi.Output<string>;

  constructor(name: string, args: StackDashboardArgs, opts?: pulumi.ComponentResourceOptions) {
    const problems: string[] = [];
    if (!NAME_RE.test(args.dashboardName))
      problems.push(
        `dashboardName: got ${JSON.stringify(args.dashboardName)}; allowed: 1-255 letters, digits, '-' and '_'`,
      );
    if (args.pipelines.length === 0)
      problems.push("pipelines: empty; a dashboard needs at least one pipeline row");
    if (problems.length)
      throw new Error(`StackDashboard "${name}" is misconfigured:\n  - ${problems.join("\n  - ")}`);
    super("glue-etl:dashboard:StackDashboard", name, {}, opts);
    const rows = pulumi.all(
      args.pipelines.map((p) =>
        pulumi
          .all([p.jobName, pulumi.all([...p.alarmArns]), p.failedRunsRuleName])
          .apply(([jobName, alarmArns, rule]): ResolvedRow => ({
            pipeline: p.pipeline,
            jobName,
            alarmArns,
            ...(rule ? { failedRunsRuleName: rule } : {}),
            rejectedSharePercent: p.rejectedSharePercent,
            runTimeLimitSeconds: p.runTimeLimitSeconds,
          })),
      ),
    );
    this.dashboard = new aws.cloudwatch.Dashboard(
      `${name}-dashboard`,
      {
        dashboardName: args.dashboardName,
        dashboardBody: rows.apply((r) =>
          dashboardBody(r, {
            environment: args.environment,
            region: args.region,
            namespace: args.namespace ?? DEFAULT_NAMESPACE,
          }),
        ),
      },
      { parent: this },
    );
    this.dashboardName = this.dashboard.dashboardName;
    this.registerOutputs({ dashboardName: this.dashboardName });
  }
}
