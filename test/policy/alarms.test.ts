import { expect } from "chai";
import { glueJobAlarms } from "../../policy/alarms";
import { stackRun } from "../support/program";
import { checkStack, fromOfflineRun, unknown } from "./harness";
import { T, spec } from "./fixtures";

const ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm";
const TOPIC = "arn:aws:sns:eu-west-1:123456789012:alerts";
const messages = (o: { violations: { message: string }[] }) => o.violations.map((v) => v.message);

const glueJob = (name = "sales-dev") => spec(T.job, "sales-job", { name });
const dims = (job: unknown = "sales-dev") => ({ pipeline: "sales", environment: "dev", job });

/** The run-time alarm: a plain metric alarm. */
const runTime = (extra: Record<string, unknown> = {}) =>
  spec(ALARM, "sales-run-time", {
    namespace: "GlueETL",
    metricName: "RunSeconds",
    dimensions: dims(),
    statistic: "Maximum",
    period: 300,
    alarmActions: [TOPIC],
    ...extra,
  });
/** The rejected-share alarm: metric math over rows read and rejected. */
const rejectedShare = (job: unknown = "sales-dev") =>
  spec(ALARM, "sales-rejected-share", {
    alarmActions: [TOPIC],
    metricQueries: [
      { id: "r", metric: { namespace: "GlueETL", metricName: "RowsRead", dimensions: dims(job) } },
      {
        id: "x",
        metric: { namespace: "GlueETL", metricName: "RowsRejected", dimensions: dims(job) },
      },
      { id: "share", expression: "IF(r > 0, 100 * x / r, 0)", returnData: true },
    ],
  });

describe("glue-job-alarms", () => {
  it("passes a job with both alarms, metric math included", async () => {
    const out = await checkStack(glueJobAlarms, [glueJob(), runTime(), rejectedShare()]);
    expect(out.violations).to.deep.equal([]);
  });

  it("fails a job without alarms, naming what is missing", async () => {
    expect(messages(await checkStack(glueJobAlarms, [glueJob()]))).to.deep.equal([
      'Glue job "sales-job" (sales-dev) has no alarm with an alarm action on RowsRejected, RunSeconds for job=sales-dev; required: an alarm on each of RowsRejected, RunSeconds.',
    ]);
  });

  it("does not count alarms of another job, or alarms that notify no one", async () => {
    const other = await checkStack(glueJobAlarms, [
      glueJob(),
      runTime({ dimensions: dims("tagging-dev") }),
      rejectedShare(),
    ]);
    expect(messages(other)).to.deep.equal([
      'Glue job "sales-job" (sales-dev) has no alarm with an alarm action on RunSeconds for job=sales-dev; required: an alarm on each of RowsRejected, RunSeconds.',
    ]);
    const silent = await checkStack(glueJobAlarms, [
      glueJob(),
      runTime({ alarmActions: [] }),
      rejectedShare(),
    ]);
    expect(messages(silent)).to.have.length(1);
    const disabled = await checkStack(glueJobAlarms, [
      glueJob(),
      runTime({ actionsEnabled: false }),
      rejectedShare(),
    ]);
    expect(messages(disabled)).to.have.length(1);
  });

  it("matches a job name still unknown in a preview by dependency", async () => {
    const pending = spec(
      ALARM,
      "sales-run-time",
      {
        namespace: "GlueETL",
        metricName: "RunSeconds",
        dimensions: dims(unknown()),
        alarmActions: [TOPIC],
      },
      { propertyDependencies: { dimensions: ["sales-job"] } },
    );
    const out = await checkStack(glueJobAlarms, [glueJob(), pending, rejectedShare()]);
    expect(out.violations).to.deep.equal([]);
    // Pointing at another job, it covers only that one.
    const elsewhere = { ...pending, propertyDependencies: { dimensions: ["tagging-job"] } };
    const tagging = spec(T.job, "tagging-job", { name: "tagging-dev" });
    const out2 = await checkStack(glueJobAlarms, [glueJob(), tagging, elsewhere, rejectedShare()]);
    expect(messages(out2)).to.deep.equal([
      'Glue job "sales-job" (sales-dev) has no alarm with an alarm action on RunSeconds for job=sales-dev; required: an alarm on each of RowsRejected, RunSeconds.',
      'Glue job "tagging-job" (tagging-dev) has no alarm with an alarm action on RowsRejected for job=tagging-dev; required: an alarm on each of RowsRejected, RunSeconds.',
    ]);
  });

  it("takes required metrics and exemptions from config", async () => {
    const only = { requiredMetrics: ["RunSeconds"] };
    expect(
      (await checkStack(glueJobAlarms, [glueJob(), runTime()], { config: only })).violations,
    ).to.deep.equal([]);
    const exempt = { exemptJobs: ["sales-dev"] };
    expect(
      (await checkStack(glueJobAlarms, [glueJob()], { config: exempt })).violations,
    ).to.deep.equal([]);
  });
});

describe("glue-job-alarms over the program", () => {
  for (const stack of ["dev", "prod"] as const) {
    it(`passes the ${stack} stack and fails it without its run-time alarms`, async () => {
      const specs = fromOfflineRun(await stackRun(stack));
      expect((await checkStack(glueJobAlarms, specs, { stack })).violations).to.deep.equal([]);
      const stripped = specs.filter((s) => !s.name.endsWith("-alarms-run-time"));
      const out = await checkStack(glueJobAlarms, stripped, { stack });
      const jobs = specs.filter((s) => s.type === T.job);
      expect(out.violations.map((v) => v.urn).sort()).to.deep.equal(jobs.map((j) => j.urn).sort());
      for (const v of out.violations) expect(v.message).to.include("on RunSeconds for job=");
    });
  }
});
