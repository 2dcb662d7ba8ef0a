import { expect } from "chai";
import {
  TriggerSpec,
  TriggerValidationError,
  Triggers,
  Workflow,
  chain,
} from "../../components/triggers";
import { OfflineRun, runOffline } from "../../tools/offline";
import { named, ofType } from "../support/program";

const TRIGGER = "aws:glue/trigger:Trigger";
const WORKFLOW = "aws:glue/workflow:Workflow";
const TAGS = { environment: "dev", owner: "data-platform", "cost-center": "CC-4711" };

const offline = (program: () => Record<string, unknown> | void) =>
  runOffline("dev", { config: { "aws:region": "eu-west-1" }, secretKeys: [] }, program);

function validationError(make: () => void): TriggerValidationError {
  try {
    make();
  } catch (e) {
    expect(e).to.be.instanceOf(TriggerValidationError);
    return e as TriggerValidationError;
  }
  throw new Error("no error");
}

describe("Workflow: schedule → job → conditional job → crawler (the nightly sales chain)", () => {
  let run: OfflineRun;
  before(async () => {
    run = await offline(() => {
      const wf = new Workflow("sales", {
        workflowName: "glue-etl-dev-sales",
        description: "Nightly sales: clean, aggregate, catalog",
        triggers: chain({ kind: "scheduled", schedule: "cron(0 2 * * ? *)" }, [
          { job: "sales_raw_to_processed-dev", arguments: { "--INPUT_FORMAT": "json" } },
          { job: "sales_daily_totals-dev", timeoutMinutes: 120 },
          { crawler: "glue-etl-dev-sales-processed" },
        ]),
        tags: TAGS,
      });
      return { triggerNames: wf.triggerNames, arn: wf.arn };
    });
  });

  it("declares the workflow, one run at a time", () => {
    const wf = named(run, WORKFLOW, "sales-workflow");
    expect(wf.inputs).to.include({ name: "glue-etl-dev-sales", maxConcurrentRuns: 1 });
    expect(wf.inputs.tags).to.deep.equal(TAGS);
    expect(wf.parent).to.equal("glue-etl:triggers/workflow:Workflow::sales");
  });

  it("starts the first job on the schedule, inside the workflow", () => {
    const start = named(run, TRIGGER, "sales-start");
    expect(start.inputs).to.deep.include({
      type: "SCHEDULED",
      schedule: "cron(0 2 * * ? *)",
      workflowName: "glue-etl-dev-sales",
      enabled: true,
      actions: [{ jobName: "sales_raw_to_processed-dev", arguments: { "--INPUT_FORMAT": "json" } }],
    });
    expect(start.inputs.predicate).to.equal(undefined);
  });

  it("runs each next step when the one before it SUCCEEDED", () => {
    expect(named(run, TRIGGER, "sales-then-1").inputs).to.deep.include({
      type: "CONDITIONAL",
      workflowName: "glue-etl-dev-sales",
      predicate: {
        logical: "AND",
        conditions: [
          { jobName: "sales_raw_to_processed-dev", state: "SUCCEEDED", logicalOperator: "EQUALS" },
        ],
      },
      actions: [{ jobName: "sales_daily_totals-dev", timeout: 120 }],
    });
    expect(named(run, TRIGGER, "sales-then-2").inputs).to.deep.include({
      type: "CONDITIONAL",
      predicate: {
        logical: "AND",
        conditions: [
          { jobName: "sales_daily_totals-dev", state: "SUCCEEDED", logicalOperator: "EQUALS" },
        ],
      },
      actions: [{ crawlerName: "glue-etl-dev-sales-processed" }],
    });
    expect(ofType(run, TRIGGER).map((t) => t.name)).to.deep.equal([
      "sales-start",
      "sales-then-1",
      "sales-then-2",
    ]);
  });

  it("exports the workflow ARN and every trigger name", () => {
    expect(run.outputs.arn).to.equal(
      "arn:aws:glue:eu-west-1:123456789012:workflow/glue-etl-dev-sales",
    );
    expect(Object.keys(run.outputs.triggerNames as object)).to.deep.equal([
      "start",
      "then-1",
      "then-2",
    ]);
  });
});

describe("Workflow with an EVENT start trigger", () => {
  it("batches events and fans in with ANY / AND conditions", async () => {
    const run = await offline(() => {
      new Workflow("landing", {
        triggers: {
          arrivals: {
            kind: "event",
            batchSize: 10,
            batchWindowSeconds: 300,
            actions: [{ job: "clean_a-dev" }, { job: "clean_b-dev" }],
          },
          "both-clean": {
            kind: "conditional",
            logical: "AND",
            when: [{ job: "clean_a-dev" }, { job: "clean_b-dev" }],
            actions: [{ crawler: "landing-crawler" }],
          },
          "any-failed": {
            kind: "conditional",
            logical: "ANY",
            when: [
              { job: "clean_a-dev", state: "FAILED" },
              { crawler: "landing-crawler", state: "FAILED" },
            ],
            actions: [{ job: "quarantine-dev" }],
          },
        },
      });
    });
    const event = named(run, TRIGGER, "landing-arrivals");
    expect(event.inputs).to.deep.include({
      type: "EVENT",
      eventBatchingConditions: [{ batchSize: 10, batchWindow: 300 }],
      actions: [{ jobName: "clean_a-dev" }, { jobName: "clean_b-dev" }],
    });
    expect(event.inputs.workflowName).to.match(/^landing-workflow/);
    expect(named(run, TRIGGER, "landing-both-clean").inputs.predicate).to.deep.equal({
      logical: "AND",
      conditions: [
        { jobName: "clean_a-dev", state: "SUCCEEDED", logicalOperator: "EQUALS" },
        { jobName: "clean_b-dev", state: "SUCCEEDED", logicalOperator: "EQUALS" },
      ],
    });
    expect(named(run, TRIGGER, "landing-any-failed").inputs.predicate).to.deep.equal({
      logical: "ANY",
      conditions: [
        { jobName: "clean_a-dev", state: "FAILED", logicalOperator: "EQUALS" },
        { crawlerName: "landing-crawler", crawlState: "FAILED", logicalOperator: "EQUALS" },
      ],
    });
  });

  it("defaults to one event per run and Glue's 900 s window", async () => {
    const run = await offline(() => {
      new Workflow("manifests", { triggers: chain({ kind: "event" }, [{ job: "j-dev" }]) });
    });
    expect(named(run, TRIGGER, "manifests-start").inputs.eventBatchingConditions).to.deep.equal([
      { batchSize: 1, batchWindow: 900 },
    ]);
  });
});

describe("Triggers (standalone)", () => {
  it("registers scheduled, on-demand and conditional triggers outside a workflow", async () => {
    const run = await offline(() => {
      const t = new Triggers("genomics", {
        triggers: {
          manual: { kind: "onDemand", actions: [{ job: "csv_to_parquet_genomic_data-dev" }] },
          weekly: {
            kind: "scheduled",
            schedule: "cron(0 4 ? * SUN *)",
            enabled: false,
            actions: [{ job: "csv_to_parquet_genomic_data-dev", notifyDelayAfterMinutes: 30 }],
          },
          "after-genomics": {
            kind: "conditional",
            when: [{ job: "csv_to_parquet_genomic_data-dev" }],
            actions: [{ crawler: "genomics-crawler" }],
          },
        },
        tags: TAGS,
      });
      return { names: t.triggerNames };
    });
    const triggers = ofType(run, TRIGGER);
    expect(triggers.map((t) => t.inputs.type)).to.deep.equal([
      "ON_DEMAND",
      "SCHEDULED",
      "CONDITIONAL",
    ]);
    expect(
      triggers.every(
        (t) =>
          t.inputs.workflowName === undefined &&
          t.parent === "glue-etl:triggers/triggers:Triggers::genomics",
      ),
    ).to.equal(true);
    expect(named(run, TRIGGER, "genomics-weekly").inputs).to.deep.include({
      enabled: false,
      schedule: "cron(0 4 ? * SUN *)",
      actions: [
        {
          jobName: "csv_to_parquet_genomic_data-dev",
          notificationProperty: { notifyDelayAfter: 30 },
        },
      ],
      tags: TAGS,
    });
    expect(Object.keys(run.outputs.names as object)).to.deep.equal([
      "manual",
      "weekly",
      "after-genomics",
    ]);
  });
});

describe("trigger validation", () => {
  it("lists every problem of a workflow at once, before registering anything", () => {
    const triggers: Record<string, TriggerSpec> = {
      nightly: { kind: "scheduled", schedule: "cron(0 2 * * MON *)", actions: [{ job: "a" }] },
      manual: { kind: "onDemand", actions: [] },
      next: {
        kind: "conditional",
        when: [{ job: "not-in-workflow", state: "SUCCEEDED" }],
        actions: [{ job: "b" }],
      },
      Bad_Key: {
        kind: "conditional",
        when: [],
        logical: "ALL" as "AND",
        actions: [{ job: "c", timeoutMinutes: 0 }],
      },
    };
    const e = validationError(() => new Workflow("wf", { triggers }));
    expect(e.problems).to.deep.equal([
      {
        field: "wf.triggers.nightly.schedule",
        detail:
          'Invalid Glue schedule "cron(0 2 * * MON *)": Day-of-month ("*") and Day-of-week ("MON") are both set; Glue needs "?" in one of them. ' +
          "Expected cron(Minutes Hours Day-of-month Month Day-of-week Year) in UTC, e.g. cron(0 2 * * ? *) for 02:00 every day.",
      },
      {
        field: "wf.triggers.manual.actions",
        detail: "a trigger needs at least one job or crawler to start",
      },
      {
        field: "wf.triggers.Bad_Key",
        detail:
          "trigger keys are lower-case letters, digits and '-', starting with a letter, at most 40 characters",
      },
      {
        field: "wf.triggers.Bad_Key.actions[0].timeoutMinutes",
        detail: "got 0; allowed: a whole number of minutes from 1 to 10080",
      },
      {
        field: "wf.triggers.Bad_Key.when",
        detail: "a conditional trigger needs at least one job or crawler state to wait for",
      },
      { field: "wf.triggers.Bad_Key.logical", detail: 'got "ALL"; allowed: AND, ANY' },
      {
        field: "wf.triggers",
        detail:
          "a workflow needs exactly one start trigger (scheduled, onDemand or event); got 2 (nightly, manual); every other trigger must be conditional",
      },
      {
        field: "wf.triggers.next.when[0]",
        detail:
          'watches job "not-in-workflow", which no trigger of this workflow starts, so the condition could never be met',
      },
    ]);
    expect(e.message.split("\n")[0]).to.equal("Invalid trigger configuration (8 problems):");
  });

  it("keeps event batching within Glue's limits", () => {
    const e = validationError(
      () =>
        new Workflow("wf", {
          triggers: chain({ kind: "event", batchSize: 101, batchWindowSeconds: 901 }, [
            { job: "a" },
          ]),
        }),
    );
    expect(e.problems).to.deep.equal([
      {
        field: "wf.triggers.start.batchSize",
        detail: "got 101; allowed: a whole number of events from 1 to 100",
      },
      {
        field: "wf.triggers.start.batchWindowSeconds",
        detail: "got 901; allowed: a whole number of seconds from 1 to 900",
      },
    ]);
  });

  it("refuses event triggers outside a workflow and bad argument names", () => {
    const e = validationError(
      () =>
        new Triggers("t", {
          triggers: {
            landing: {
              kind: "event",
              actions: [{ job: "a", arguments: { INPUT_PATH: "s3://b/" } }],
            },
          },
        }),
    );
    expect(e.problems).to.deep.equal([
      {
        field: "t.triggers.landing.actions[0].arguments",
        detail: 'got the name "INPUT_PATH"; argument names start with "--", e.g. --INPUT_PATH',
      },
      {
        field: "t.triggers.landing.kind",
        detail:
          "an event trigger only exists as the start trigger of a Glue workflow; declare it in a Workflow",
      },
    ]);
  });

  it("registers nothing when validation fails", async () => {
    const run = await offline(() => {
      try {
        new Workflow("wf", {
          triggers: {
            only: { kind: "conditional", when: [{ job: "x" }], actions: [{ job: "x" }] },
          },
        });
      } catch {
        // expected: no start trigger
      }
    });
    expect(run.resources.filter((r) => r.type !== "pulumi:pulumi:Stack")).to.have.length(0);
  });
});
