/** Run metrics' alarms: config, the late-data window a schedule implies, and both stacks' plans. */
import { expect } from "chai";
import { PIPELINE_NAMES } from "../../pipelines";
import { ConfigValidationError } from "../../lib/config";
import { longestGapMinutes } from "../../lib/cron";
import {
  DEFAULT_THRESHOLDS,
  MAX_ALARM_WINDOW_SECONDS,
  lateDataWindow,
  validateAlarmConfig,
} from "../../lib/observability";
import { OfflineProgramError, OfflineRun, runStackOffline } from "../../tools/offline";
import { named, ofType, policyOf, stackRun } from "../support/program";

const ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm";
const JOB = "aws:glue/job:Job";
const VALID_MISSING = ["breaching", "notBreaching", "ignore", "missing"];

describe("alarm config (glue-etl:alarms)", () => {
  it("defaults every pipeline to the documented thresholds", () => {
    const s = validateAlarmConfig(undefined, "Pulumi.dev.yaml");
    expect(s.namespace).to.equal("GlueETL");
    expect(s.pipelines.genomics).to.deep.equal(DEFAULT_THRESHOLDS);
  });

  it("applies stack-wide values, then per-pipeline overrides", () => {
    const s = validateAlarmConfig(
      {
        namespace: "Team/ETL",
        rejectedSharePercent: 2,
        pipelines: { genomics: { rejectedSharePercent: 10, lateGraceMinutes: 0 } },
      },
      "Pulumi.dev.yaml",
    );
    expect(s.namespace).to.equal("Team/ETL");
    expect(s.pipelines.sales).to.deep.equal({ ...DEFAULT_THRESHOLDS, rejectedSharePercent: 2 });
    expect(s.pipelines.genomics).to.deep.equal({
      ...DEFAULT_THRESHOLDS,
      rejectedSharePercent: 10,
      lateGraceMinutes: 0,
    });
  });

  it("names every bad key, the value and what is allowed", () => {
    let err: unknown;
    try {
      validateAlarmConfig(
        {
          namespace: "AWS/Glue",
          rejectedSharePercent: 150,
          runTimeMultiplier: "3",
          colour: "red",
          pipelines: { nope: {}, sales: { lateGraceMinutes: -5 } },
        },
        "Pulumi.dev.yaml",
      );
    } catch (e) {
      err = e;
    }
    expect(err).to.be.instanceOf(ConfigValidationError);
    const lines = (err as ConfigValidationError).problems.map(
      (p) => `${p.key}: ${JSON.stringify(p.value)}: ${p.allowed}`,
    );
    expect(lines).to.deep.equal([
      'glue-etl:alarms.namespace: "AWS/Glue": a CloudWatch namespace: 1-255 letters, digits, spaces or . _ - / #, not starting with AWS/',
      "glue-etl:alarms.rejectedSharePercent: 150: a number from 0 to 100",
      'glue-etl:alarms.runTimeMultiplier: "3": a number from 1 to 100',
      'glue-etl:alarms.colour: "red": no such key; known keys: rejectedSharePercent, runTimeMultiplier, lateGraceMinutes, namespace, pipelines',
      `glue-etl:alarms.pipelines.nope: "nope": a pipeline of this program: ${PIPELINE_NAMES.join(", ")}`,
      "glue-etl:alarms.pipelines.sales.lateGraceMinutes: -5: a number from 0 to 1440",
    ]);
  });

  it("stops the program before any resource is registered", async () => {
    let err: unknown;
    try {
      await runStackOffline("dev", { "glue-etl:alarms": { rejectedSharePercent: -1 } });
    } catch (e) {
      err = e;
    }
    expect(err).to.be.instanceOf(OfflineProgramError);
    expect((err as OfflineProgramError).resources).to.deep.equal([]);
    expect(String((err as OfflineProgramError).cause)).to.include(
      "glue-etl:alarms.rejectedSharePercent: got -1; allowed: a number from 0 to 100",
    );
  });
});

describe("late-data window from a schedule's cron", () => {
  it("finds the longest gap between runs", () => {
    expect(longestGapMinutes("cron(0 2 * * ? *)")).to.equal(1440);
    expect(longestGapMinutes("cron(0/15 * * * ? *)")).to.equal(15);
    expect(longestGapMinutes("cron(0 2,14 * * ? *)")).to.equal(720);
    expect(longestGapMinutes("cron(30 6 ? * MON-FRI *)")).to.equal(3 * 1440); // Fri → Mon
    expect(longestGapMinutes("cron(0 3 1 * ? *)")).to.equal(31 * 1440);
  });

  it("covers gap + run + grace, capped at one day, in valid alarm periods", () => {
    const nightly = lateDataWindow("cron(0 2 * * ? *)", 20, 60)!;
    expect(nightly).to.deep.include({ periodSeconds: 3600, evaluationPeriods: 24, minutes: 1440 });
    const quarterly = lateDataWindow("cron(0/15 * * * ? *)", 5, 10)!;
    expect(quarterly).to.deep.include({ periodSeconds: 300, evaluationPeriods: 6, minutes: 30 });
    const twice = lateDataWindow("cron(0 2,14 * * ? *)", 30, 60)!;
    expect(twice).to.deep.include({ periodSeconds: 3600, evaluationPeriods: 14, minutes: 840 });
    for (const w of [nightly, quarterly, twice]) {
      expect(w.periodSeconds * w.evaluationPeriods).to.be.at.most(MAX_ALARM_WINDOW_SECONDS);
      expect(w.periodSeconds % 60).to.equal(0);
    }
  });

  it("has no window for schedules with more than a day between runs", () => {
    expect(lateDataWindow("cron(30 6 ? * MON-FRI *)", 10, 60)).to.equal(undefined);
  });
});

for (const stack of ["dev", "prod"] as const) {
  describe(`alarms in the ${stack} stack`, () => {
    let run: OfflineRun;
    before(async () => {
      run = await stackRun(stack);
    });
    const alarm = (name: string) => named(run, ALARM, name).inputs;
    const topicArn = (pipeline: string) =>
      named(run, "aws:sns/topic:Topic", `${pipeline}-alerts-topic`).outputs.arn;
    const dims = (pipeline: string, job: string) => ({
      pipeline,
      environment: stack,
      job: `${job}-${stack}`,
    });
    const share = stack === "dev" ? 10 : 2;
    const multiplier = stack === "dev" ? 5 : 3;

    it("gives every job a rejected-share and a run-time alarm into its own topic", () => {
      const jobs = ofType(run, JOB);
      expect(jobs).to.have.length(PIPELINE_NAMES.length);
      for (const p of PIPELINE_NAMES) {
        for (const key of ["rejected-share", "run-time"]) {
          const a = alarm(`${p}-alarms-${key}`);
          expect(a.name).to.equal(`glue-etl-${stack}-${p}-${key}`);
          expect(a.alarmActions).to.deep.equal([topicArn(p)]);
          expect(a.actionsEnabled).to.equal(true);
        }
      }
    });

    it("pools the rejected share of a period with metric math", () => {
      const a = alarm("genomics-alarms-rejected-share");
      const d = dims("genomics", "csv_to_parquet_genomic_data");
      expect(a).to.deep.include({
        comparisonOperator: "GreaterThanThreshold",
        threshold: share,
        evaluationPeriods: 1,
        datapointsToAlarm: 1,
        treatMissingData: "notBreaching",
      });
      expect(a).not.to.have.any.keys("metricName", "namespace", "period", "statistic");
      expect(a.metricQueries).to.deep.equal([
        {
          id: "r",
          metric: {
            namespace: "GlueETL",
            metricName: "RowsRead",
            dimensions: d,
            period: 300,
            stat: "Sum",
          },
          returnData: false,
        },
        {
          id: "x",
          metric: {
            namespace: "GlueETL",
            metricName: "RowsRejected",
            dimensions: d,
            period: 300,
            stat: "Sum",
          },
          returnData: false,
        },
        {
          id: "share",
          expression: "IF(r > 0, 100 * x / r, 0)",
          label: "Rejected share (%)",
          returnData: true,
        },
      ]);
    });

    it("alarms on a run longer than the multiple of its typical length", () => {
      const typical = { dev: { sales: 10, genomics: 5 }, prod: { sales: 20, genomics: 5 } }[stack];
      for (const [p, job] of [
        ["sales", "sales_raw_to_processed"],
        ["genomics", "csv_to_parquet_genomic_data"],
      ] as const) {
        expect(alarm(`${p}-alarms-run-time`)).to.deep.include({
          namespace: "GlueETL",
          metricName: "RunSeconds",
          dimensions: dims(p, job),
          statistic: "Maximum",
          period: 300,
          comparisonOperator: "GreaterThanThreshold",
          threshold: multiplier * typical[p] * 60,
          treatMissingData: "notBreaching",
        });
      }
    });

    it("notices a nightly run that never completed, and only for scheduled pipelines", () => {
      const late = ofType(run, ALARM).filter((a) => String(a.inputs.name).endsWith("-late-data"));
      expect(late.map((a) => a.name).sort()).to.deep.equal([
        "sales-alarms-late-data",
        "tagging-alarms-late-data",
      ]);
      const a = alarm("sales-alarms-late-data");
      expect(a).to.deep.include({
        namespace: "GlueETL",
        metricName: "RunsCompleted",
        dimensions: dims("sales", "sales_raw_to_processed"),
        statistic: "Sum",
        period: 3600,
        evaluationPeriods: 24,
        datapointsToAlarm: 24,
        comparisonOperator: "LessThanThreshold",
        threshold: 1,
        treatMissingData: "breaching",
        alarmActions: [topicArn("sales")],
        okActions: [topicArn("sales")],
      });
    });

    it("keeps every alarm within CloudWatch's rules", () => {
      for (const r of ofType(run, ALARM)) {
        const a = r.inputs;
        expect(VALID_MISSING).to.include(a.treatMissingData);
        const periods = a.metricQueries
          ? (a.metricQueries as { metric?: { period: number } }[])
              .filter((q) => q.metric)
              .map((q) => q.metric!.period)
          : [a.period as number];
        for (const p of periods) {
          expect(p % 60 === 0 || [10, 20, 30].includes(p), `${r.name} period ${p}`).to.equal(true);
          expect(p * (a.evaluationPeriods as number)).to.be.at.most(MAX_ALARM_WINDOW_SECONDS);
        }
        expect(a.datapointsToAlarm as number).to.be.at.most(a.evaluationPeriods as number);
        if (a.metricQueries) {
          const q = a.metricQueries as { returnData: boolean; id: string }[];
          expect(q.filter((x) => x.returnData)).to.have.length(1);
          for (const x of q) expect(x.id).to.match(/^[a-z][A-Za-z0-9_]*$/);
        }
      }
    });

    it("tells each job where its metrics go and lets it publish only there", () => {
      const job = named(run, JOB, "manifest-job").inputs;
      expect(job.defaultArguments).to.deep.include({
        "--METRICS_NAMESPACE": "GlueETL",
        "--PIPELINE": "manifest",
        "--ENVIRONMENT": stack,
      });
      const policy = policyOf(named(run, "aws:iam/rolePolicy:RolePolicy", "manifest-access"));
      expect(policy.Statement.find((s) => s.Sid === "PublishRunMetrics")).to.deep.equal({
        Sid: "PublishRunMetrics",
        Effect: "Allow",
        Action: "cloudwatch:PutMetricData",
        Resource: "*",
        Condition: { StringEquals: { "cloudwatch:namespace": "GlueETL" } },
      });
    });
  });
}
