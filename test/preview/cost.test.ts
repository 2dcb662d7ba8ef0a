import { expect } from "chai";
import { stackCost, runMinutesFrom } from "../../tools/cost";
import { stackRun } from "../support/program";
import {
  DAYS_PER_MONTH,
  LIST_DPU,
  LIST_PRICE,
  after,
  handRun,
  job,
  scheduled,
  trigger,
} from "./support";

const close = (actual: number | undefined, expected: number) =>
  expect(actual, `expected ${expected}`).to.be.closeTo(expected, 0.0001);

describe("cost: real stacks, recomputed from Glue's list prices", () => {
  it("dev genomics: G.1X x2 FLEX = 2 DPU x $0.29 = $0.58 per run-hour", async () => {
    const run = await stackRun("dev");
    const cost = stackCost(run, runMinutesFrom(run.settings));
    const g = cost.jobs.find((j) => j.resourceName === "genomics-job")!;
    const dpus = LIST_DPU["G.1X"]! * 2;
    expect(g).to.include({ workerType: "G.1X", numberOfWorkers: 2, executionClass: "FLEX", dpus });
    close(g.pricePerRunHour, 0.58);
    close(g.pricePerRunHour, dpus * LIST_PRICE.FLEX);
    // Pulumi.dev.yaml: genomics typicalRunMinutes 5.
    expect(g.typicalRunMinutes).to.equal(5);
    close(g.costPerRun, (0.58 * 5) / 60);
  });

  it("prod genomics: G.2X x20 STANDARD = 40 DPU x $0.44 = $17.60 per run-hour", async () => {
    const run = await stackRun("prod");
    const cost = stackCost(run, runMinutesFrom(run.settings));
    const g = cost.jobs.find((j) => j.resourceName === "genomics-job")!;
    expect(g.dpus).to.equal(LIST_DPU["G.2X"]! * 20);
    close(g.pricePerRunHour, 17.6);
    close(g.costPerRun, (17.6 * 5) / 60);
  });

  it("stack totals are the sums over the stack's jobs", async () => {
    for (const stack of ["dev", "prod"] as const) {
      const cost = stackCost(
        await stackRun(stack),
        runMinutesFrom((await stackRun(stack)).settings),
      );
      const perHour = cost.jobs.reduce((a, j) => a + j.pricePerRunHour, 0);
      const monthly = cost.jobs.reduce((a, j) => a + (j.monthlyCost ?? 0), 0);
      close(cost.pricePerRunHour, perHour);
      close(cost.monthlyCost, monthly);
      expect(cost.unscheduledJobs).to.deep.equal(
        cost.jobs.filter((j) => j.runsPerMonth === undefined).map((j) => j.jobName),
      );
    }
  });
});

describe("cost: schedules from triggers (hand-built runs)", () => {
  const minutes = (m: number) => () => m;

  it("a daily SCHEDULED trigger: 30.44 runs a month x the cost of a typical run", () => {
    const run = handRun([
      job({
        name: "nightly",
        workerType: "G.2X",
        numberOfWorkers: 20,
        executionClass: "STANDARD",
        tags: { pipeline: "genomics" },
      }),
      scheduled("nightly-trigger", "nightly", "cron(0 2 * * ? *)"),
    ]);
    const cost = stackCost(run, minutes(12));
    const j = cost.jobs[0]!;
    const perRun = 40 * 0.44 * (12 / 60); // $3.52
    close(j.costPerRun, perRun);
    close(j.runsPerMonth, DAYS_PER_MONTH);
    close(j.monthlyCost, DAYS_PER_MONTH * perRun); // about $107.14
    expect(j.starts).to.deep.equal([
      {
        trigger: "nightly-trigger",
        type: "SCHEDULED",
        detail: "cron(0 2 * * ? *)",
        runsPerMonth: DAYS_PER_MONTH,
      },
    ]);
    close(cost.monthlyCost, DAYS_PER_MONTH * perRun);
    expect(cost.unscheduledJobs).to.deep.equal([]);
  });

  it("every 6 hours is 4 runs a day; two schedules on one job add up", () => {
    const run = handRun([
      job({ name: "j", tags: { pipeline: "sales" } }),
      scheduled("six-hourly", "j", "cron(0 */6 * * ? *)"),
      scheduled("monthly", "j", "cron(30 1 1 * ? *)"),
    ]);
    const j = stackCost(run, minutes(10)).jobs[0]!;
    // 4 a day, plus the 1st of every month.
    const runs = 4 * DAYS_PER_MONTH + 1;
    close(j.runsPerMonth, runs);
    close(j.monthlyCost, runs * 2 * 0.29 * (10 / 60));
  });

  it("a job started after another SUCCEEDED runs as often as that one; ANY adds, AND takes the rarer", () => {
    const run = handRun([
      job({ name: "a" }),
      job({ name: "b" }),
      job({ name: "c" }),
      job({ name: "d" }),
      scheduled("a-daily", "a", "cron(0 2 * * ? *)"),
      scheduled("b-hourly", "b", "cron(0 * * * ? *)"),
      after("c-after-a-and-b", ["a", "b"], "c", "AND"),
      after("d-after-a-or-b", ["a", "b"], "d", "ANY"),
    ]);
    const byName = new Map(stackCost(run, minutes(1)).jobs.map((j) => [j.jobName, j]));
    close(byName.get("c")!.runsPerMonth, DAYS_PER_MONTH);
    close(byName.get("d")!.runsPerMonth, 25 * DAYS_PER_MONTH);
    expect(byName.get("c")!.starts[0]!.detail).to.equal("after a SUCCEEDED and b SUCCEEDED");
    expect(byName.get("d")!.starts[0]!.detail).to.equal("after a SUCCEEDED or b SUCCEEDED");
  });

  it("on-demand, event and disabled triggers give no monthly estimate; the job is listed as unscheduled", () => {
    const run = handRun([
      job({ name: "manual" }),
      job({ name: "evented" }),
      job({ name: "paused" }),
      trigger("manual-start", { type: "ON_DEMAND", actions: [{ jobName: "manual" }] }),
      trigger("on-object", { type: "EVENT", actions: [{ jobName: "evented" }] }),
      trigger("paused-daily", {
        type: "SCHEDULED",
        schedule: "cron(0 2 * * ? *)",
        enabled: false,
        actions: [{ jobName: "paused" }],
      }),
    ]);
    const cost = stackCost(run, minutes(10));
    for (const j of cost.jobs) {
      expect(j.runsPerMonth, j.jobName).to.equal(undefined);
      expect(j.monthlyCost, j.jobName).to.equal(undefined);
    }
    expect(cost.monthlyCost).to.equal(0);
    expect(cost.unscheduledJobs).to.deep.equal(["manual", "evented", "paused"]);
    expect(cost.jobs.map((j) => j.starts.map((s) => s.detail))).to.deep.equal([
      ["on demand"],
      ["event"],
      [],
    ]);
  });

  it("the job's typical-run-minutes tag wins over config, and a run under a minute is billed a minute", () => {
    const run = handRun([
      job({ name: "quick", tags: { pipeline: "genomics", "typical-run-minutes": "0.5" } }),
    ]);
    const j = stackCost(run, minutes(30)).jobs[0]!;
    expect(j.typicalRunMinutes).to.equal(0.5);
    close(j.costPerRun, 2 * 0.29 * (1 / 60));
  });

  it("without a pipeline tag or a duration the per-run cost is unknown, not guessed", () => {
    const j = stackCost(handRun([job({ name: "x" })])).jobs[0]!;
    expect(j.typicalRunMinutes).to.equal(undefined);
    expect(j.costPerRun).to.equal(undefined);
    close(j.pricePerRunHour, 0.58);
  });
});
