import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { expect } from "chai";
import { runMinutesFrom } from "../../tools/cost";
import { diffSnapshots, hasChanges, renderDiff, stacklessUrn } from "../../tools/diff";
import { loadStackConfig, runOffline } from "../../tools/offline";
import { main } from "../../tools/preview";
import { Snapshot, serialiseSnapshot, snapshotOf, stackSnapshot } from "../../tools/snapshot";
import { stackRun } from "../support/program";
import { DAYS_PER_MONTH, handRun, job, scheduled } from "./support";

const devNow = async (): Promise<Snapshot> =>
  snapshotOf(await stackRun("dev"), runMinutesFrom((await stackRun("dev")).settings));
const clone = (s: Snapshot): Snapshot => JSON.parse(serialiseSnapshot(s)) as Snapshot;

/** The dev stack's pipelines config with one pipeline's keys changed, the rest as committed. */
function devPipelines(pipeline: string, change: Record<string, unknown>): Record<string, unknown> {
  const all = JSON.parse(loadStackConfig("dev").config["glue-etl:pipelines"] ?? "{}") as Record<
    string,
    Record<string, unknown>
  >;
  return { ...all, [pipeline]: { ...all[pipeline], ...change } };
}

describe("diff: working tree against a snapshot", () => {
  it("a stack against itself has no changes", async () => {
    const s = await devNow();
    const d = diffSnapshots(s, clone(s));
    expect(hasChanges(d)).to.equal(false);
    expect(d.unchanged).to.equal(s.resources.length);
    const text = renderDiff(d);
    expect(text).to.include("No changes.");
    expect(text).to.include(
      `0 to create, 0 to update, 0 to replace, 0 to delete, ${s.resources.length} unchanged`,
    );
  });

  it("a worker count change is exactly one update of the job, with its cost change", async () => {
    const before = await devNow();
    const after = await stackSnapshot("dev", {
      "glue-etl:pipelines": devPipelines("genomics", { numberOfWorkers: 5 }),
    });
    const d = diffSnapshots(before, after);
    expect(d.resources).to.deep.equal([
      {
        op: "update",
        type: "aws:glue/job:Job",
        name: "genomics-job",
        key: stacklessUrn(before.resources.find((r) => r.name === "genomics-job")!.urn),
        changes: [{ op: "~", path: "numberOfWorkers", old: 2, new: 5, replaces: false }],
      },
    ]);
    const text = renderDiff(d);
    expect(text).to.include("  ~ aws:glue/job:Job genomics-job\n      ~ numberOfWorkers: 2 → 5\n");
    // 2 → 5 G.1X FLEX workers: 5 x $0.29 = $1.45 per run-hour; a 5-minute run $0.121.
    expect(text).to.include(
      "  ~ csv_to_parquet_genomic_data-dev: 2 x G.1X FLEX (2 DPU) → 5 x G.1X FLEX (5 DPU); per run-hour $0.58 → $1.45 (+$0.87); per run $0.048 → $0.121 (+$0.073)",
    );
    expect(text).to.include("Resources: 0 to create, 1 to update, 0 to replace, 0 to delete");
  });

  it("a bucket setting change (temp data expiry) shows the lifecycle rule by its id", async () => {
    const before = await devNow();
    const after = await stackSnapshot("dev", { "glue-etl:tempExpirationDays": 10 });
    const d = diffSnapshots(before, after);
    const temp = d.resources.find((r) => r.name === "genomics-temp-lifecycle")!;
    expect(temp.op).to.equal("update");
    expect(temp.changes).to.deep.equal([
      {
        op: "~",
        path: "rules[id=expire-temp-data].expiration.days",
        old: 3,
        new: 10,
        replaces: false,
      },
    ]);
    expect(
      d.resources.every(
        (r) => r.type === "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration",
      ),
    ).to.equal(true);
    expect(d.cost.jobs).to.deep.equal([]);
  });

  it("a bucket prefix change is flagged as a replacement; a policy string is diffed as JSON", async () => {
    const before = await devNow();
    const after = clone(before);
    const raw = after.resources.find((r) => r.name === "genomics-raw")!;
    raw.inputs.bucketPrefix = "glue-etl-dev-genomics-landing-";
    const tls = after.resources.find((r) => r.name === "genomics-raw-tls-only")!;
    const doc = JSON.parse(tls.inputs.policy as string) as {
      Statement: { Sid: string; Condition: Record<string, Record<string, string>> }[];
    };
    doc.Statement.find((s) => s.Sid === "DenyOutdatedTls")!.Condition.NumericLessThan![
      "s3:TlsVersion"
    ] = "1.3";
    tls.inputs.policy = JSON.stringify(doc);
    const text = renderDiff(diffSnapshots(before, after));
    expect(text).to.include(
      '  +-aws:s3/bucket:Bucket genomics-raw (replace)\n      ~ bucketPrefix: "glue-etl-dev-genomics-raw-" → "glue-etl-dev-genomics-landing-"  (forces replacement)\n',
    );
    expect(text).to.include(
      '  ~ aws:s3/bucketPolicy:BucketPolicy genomics-raw-tls-only\n      ~ policy.Statement[Sid=DenyOutdatedTls].Condition.NumericLessThan["s3:TlsVersion"]: "1.2" → "1.3"\n',
    );
    expect(text).to.include("0 to create, 1 to update, 1 to replace, 0 to delete");
  });

  it("a renamed Glue job is a replacement", async () => {
    const before = await devNow();
    const after = clone(before);
    after.resources.find((r) => r.name === "genomics-job")!.inputs.name = "genomics-v2-dev";
    const d = diffSnapshots(before, after);
    expect(d.resources.map((r) => [r.op, r.name])).to.deep.equal([["replace", "genomics-job"]]);
  });

  it("a schedule change updates the trigger and the monthly cost; a new trigger is a create", async () => {
    const minutes = () => 10;
    const daily = await snapshotOf(
      handRun([
        job({ name: "sales", tags: { pipeline: "sales" } }),
        scheduled("sales-nightly", "sales", "cron(0 2 * * ? *)"),
      ]),
      minutes,
    );
    const sixHourly = await snapshotOf(
      handRun([
        job({ name: "sales", tags: { pipeline: "sales" } }),
        scheduled("sales-nightly", "sales", "cron(0 */6 * * ? *)"),
        scheduled("sales-monthly", "sales", "cron(0 3 1 * ? *)"),
      ]),
      minutes,
    );
    const d = diffSnapshots(daily, sixHourly);
    expect(d.resources.map((r) => `${r.op} ${r.name}`)).to.deep.equal([
      "create sales-monthly",
      "update sales-nightly",
    ]);
    expect(d.resources[1]!.changes).to.deep.equal([
      {
        op: "~",
        path: "schedule",
        old: "cron(0 2 * * ? *)",
        new: "cron(0 */6 * * ? *)",
        replaces: false,
      },
    ]);
    const perRun = 2 * 0.29 * (10 / 60);
    const oldMonthly = DAYS_PER_MONTH * perRun; // $2.94
    const newMonthly = (4 * DAYS_PER_MONTH + 1) * perRun; // $11.87
    expect(d.cost.jobs[0]!.old!.monthlyCost).to.be.closeTo(oldMonthly, 0.0001);
    expect(d.cost.jobs[0]!.new!.monthlyCost).to.be.closeTo(newMonthly, 0.0001);
    const text = renderDiff(d);
    expect(text).to.include(
      '  + aws:glue/trigger:Trigger sales-monthly\n      + actions: [{"jobName":"sales"}]\n',
    );
    const [o, n] = [oldMonthly.toFixed(2), newMonthly.toFixed(2)];
    // The printed change is the difference of the printed figures.
    expect(text).to.include(`per month $${o} → $${n} (+$${(Number(n) - Number(o)).toFixed(2)})`);
    expect(text).to.include("1 to create, 1 to update, 0 to replace, 0 to delete, 1 unchanged");
    const removed = diffSnapshots(sixHourly, daily);
    expect(removed.resources.map((r) => `${r.op} ${r.name}`)).to.deep.equal([
      "delete sales-monthly",
      "update sales-nightly",
    ]);
  });
});

describe("diff: one stack against another", () => {
  it("dev → prod shows the stack files' sizing and the cost change", async () => {
    const dev = await devNow();
    const prod = await snapshotOf(
      await stackRun("prod"),
      runMinutesFrom((await stackRun("prod")).settings),
    );
    const d = diffSnapshots(dev, prod, { ignoreStackName: true });
    const jobChange = d.resources.find((r) => r.name === "genomics-job")!;
    expect(jobChange.op).to.equal("update");
    expect(jobChange.changes.map((c) => [c.path, c.old, c.new])).to.deep.equal([
      ["executionClass", "FLEX", "STANDARD"],
      // Bookmarked: one run at a time in every stack.
      ["maxRetries", 0, 2],
      ["numberOfWorkers", 2, 20],
      ["workerType", "G.1X", "G.2X"],
    ]);
    const genomicsCost = d.cost.jobs.find((j) => j.new?.resourceName === "genomics-job")!;
    expect(genomicsCost.old!.pricePerRunHour).to.be.closeTo(2 * 0.29, 1e-9);
    expect(genomicsCost.new!.pricePerRunHour).to.be.closeTo(40 * 0.44, 1e-9);
    expect(renderDiff(d)).to.include("per run-hour $0.58 → $17.60 (+$17.02)");
    // Names differ only by the stack name: not reported.
    expect(d.resources.find((r) => r.name === "genomics-raw")).to.equal(undefined);
  });

  it("without ignoring the stack name, every name-bearing resource differs", async () => {
    const dev = await devNow();
    const prod = await snapshotOf(
      await stackRun("prod"),
      runMinutesFrom((await stackRun("prod")).settings),
    );
    const d = diffSnapshots(dev, prod);
    expect(d.resources.find((r) => r.name === "genomics-raw")!.op).to.equal("replace");
  });
});

describe("preview CLI exit codes", () => {
  const quietly = async (args: string[]): Promise<{ code: number; out: string }> => {
    const out: string[] = [];
    const log = console.log;
    const err = console.error;
    console.log = (...a: unknown[]) => void out.push(a.join(" "));
    console.error = console.log;
    try {
      return { code: await main(args), out: out.join("\n") };
    } finally {
      console.log = log;
      console.error = err;
    }
  };

  it("--diff-stacks dev prod exits 2 (changes); a bad call exits 1 and says why", async () => {
    const changed = await quietly(["--diff-stacks", "dev", "prod"]);
    expect(changed.code).to.equal(2);
    expect(changed.out).to.include("~ aws:glue/job:Job genomics-job");
    const bad = await quietly(["--diff-stacks", "dev"]);
    expect(bad.code).to.equal(1);
    expect(bad.out).to.include(
      "--diff-stacks takes two stacks, e.g. --diff-stacks dev prod; got 1",
    );
  });
});

describe("diff: component renames carried by aliases", () => {
  /** A program with one component of the given type holding one bucket, optionally aliased. */
  const program = (type: string, formerTypes: string[]) => async () =>
    snapshotOf(
      await runOffline("hand", { config: { "aws:region": "eu-west-1" }, secretKeys: [] }, () => {
        class Box extends pulumi.ComponentResource {
          constructor(name: string) {
            super(type, name, {}, { aliases: formerTypes.map((t) => ({ type: t })) });
            new aws.s3.Bucket(`${name}-bucket`, { forceDestroy: false }, { parent: this });
            this.registerOutputs({});
          }
        }
        new Box("box");
      }),
    );

  it("matches a renamed component and its children through the alias: moved, not replaced", async () => {
    const before = await program("glue-etl:old:Box", [])();
    const after = await program("glue-etl:new/box:Box", ["glue-etl:old:Box"])();
    const child = after.resources.find((r) => r.type === "aws:s3/bucket:Bucket")!;
    expect(child.aliases).to.include(
      "urn:pulumi:hand::glue-etl::glue-etl:old:Box$aws:s3/bucket:Bucket::box-bucket",
    );
    const d = diffSnapshots(before, after);
    expect(d.resources).to.deep.equal([]);
    expect(d.unchanged).to.equal(2);
    expect(d.moves.map((m) => [m.type, m.ownType])).to.deep.equal([
      ["aws:s3/bucket:Bucket", false],
      ["glue-etl:new/box:Box", true],
    ]);
    const text = renderDiff(d);
    expect(text).to.include("  = glue-etl:new/box:Box box (was glue-etl:old:Box)");
    expect(text).to.include(
      "0 to create, 0 to update, 0 to replace, 0 to delete, 2 unchanged; 2 moved to a new URN through aliases (1 renamed components and their children)",
    );
  });

  it("without the alias the same rename deletes and recreates the component and its bucket", async () => {
    const before = await program("glue-etl:old:Box", [])();
    const after = await program("glue-etl:new/box:Box", [])();
    const d = diffSnapshots(before, after);
    expect(d.moves).to.deep.equal([]);
    expect(d.resources.map((r) => `${r.op} ${r.type}`).sort()).to.deep.equal([
      "create aws:s3/bucket:Bucket",
      "create glue-etl:new/box:Box",
      "delete aws:s3/bucket:Bucket",
      "delete glue-etl:old:Box",
    ]);
  });
});
