import { expect } from "chai";
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { runMinutesFrom } from "../../tools/cost";
import { snapshotMismatch } from "../../tools/diff";
import { REPO_ROOT, SECRET_PLACEHOLDER, runOffline, runStackOffline } from "../../tools/offline";
import { Snapshot, readSnapshot, serialiseSnapshot, snapshotOf } from "../../tools/snapshot";
import { stackRun } from "../support/program";

const current = async (stack: "dev" | "prod"): Promise<Snapshot> =>
  snapshotOf(await stackRun(stack), runMinutesFrom((await stackRun(stack)).settings));

describe("snapshots: the program's output is committed in test/snapshots/", () => {
  for (const stack of ["dev", "prod"] as const) {
    it(`${stack}: matches test/snapshots/${stack}.json`, async () => {
      const committed = readSnapshot(stack);
      if (!committed)
        expect.fail(
          `test/snapshots/${stack}.json is missing: run \`make snapshot\` and commit it.`,
        );
      const problem = snapshotMismatch(committed, await current(stack));
      if (problem) expect.fail(problem);
    });
  }

  it("a mismatch is reported as a readable diff with the command that updates the snapshot", async () => {
    const now = await current("dev");
    const committed = JSON.parse(serialiseSnapshot(now)) as Snapshot;
    const j = committed.resources.find((r) => r.name === "genomics-job")!;
    j.inputs.numberOfWorkers = 3;
    const message = snapshotMismatch(committed, now)!;
    expect(message).to.include(
      "  ~ aws:glue/job:Job genomics-job\n      ~ numberOfWorkers: 3 → 2\n",
    );
    expect(message).to.include("run `make snapshot` and commit test/snapshots/dev.json");
    expect(snapshotMismatch(JSON.parse(serialiseSnapshot(now)) as Snapshot, now)).to.equal(
      undefined,
    );
  });
});

describe("preview --json", () => {
  it("is byte-identical across two runs of the program", async () => {
    const json = async () => {
      const run = await runStackOffline("dev");
      return serialiseSnapshot(await snapshotOf(run, runMinutesFrom(run.settings)));
    };
    const first = await json();
    expect(await json()).to.equal(first);
  });

  it("lists every resource sorted by URN with type, name, parent and inputs, plus outputs and cost", async () => {
    const run = await stackRun("dev");
    const s = await current("dev");
    expect(s.resources).to.have.length(run.resources.length);
    const urns = s.resources.map((r) => r.urn);
    expect(urns).to.deep.equal([...urns].sort());
    const job = s.resources.find((r) => r.name === "genomics-job")!;
    expect(job).to.include({ type: "aws:glue/job:Job", parent: "glue-etl:job:GlueJob::genomics" });
    expect(job.inputs).to.include({ numberOfWorkers: 2, workerType: "G.1X" });
    expect(s.outputs).to.have.property("environment", "dev");
    expect(s.cost.jobs.map((j) => j.resourceName)).to.include("genomics-job");
  });

  it("holds no machine paths: a script's FileAsset becomes its repo-relative path", async () => {
    const text = serialiseSnapshot(await current("dev"));
    expect(text).not.to.include(REPO_ROOT);
    expect(text).not.to.match(/"path": \{\}/);
    const s = JSON.parse(text) as Snapshot;
    const script = s.resources.find((r) => r.name === "genomics-script")!;
    expect(script.inputs.source).to.deep.equal({
      asset: { path: "scripts/genomics_csv_to_parquet.py" },
    });
    expect(script.inputs.key).to.match(/^jobs\/[0-9a-f]{16}\/genomics_csv_to_parquet\.py$/);
  });

  it("masks secret inputs, secure config values and secrets nested in inputs", async () => {
    const run = await runOffline(
      "dev",
      {
        config: { "aws:region": "eu-west-1", "glue-etl:dbPassword": SECRET_PLACEHOLDER },
        secretKeys: ["glue-etl:dbPassword"],
      },
      () => {
        const cfg = new pulumi.Config("glue-etl");
        new aws.glue.Connection("db", {
          connectionType: "JDBC",
          connectionProperties: {
            JDBC_CONNECTION_URL: "jdbc:postgresql://db.example.com:5432/tags",
            USERNAME: "etl",
            PASSWORD: cfg.requireSecret("dbPassword"),
          },
          description: pulumi.secret("hunter2"),
        });
        new aws.glue.Job("j", {
          roleArn: "arn:aws:iam::123456789012:role/r",
          command: { scriptLocation: "s3://b/k.py" },
          workerType: "G.1X",
          numberOfWorkers: 2,
          defaultArguments: { "--API_TOKEN": pulumi.secret("tok-123"), "--MODE": "full" },
        });
      },
    );
    const text = serialiseSnapshot(await snapshotOf(run));
    expect(text).not.to.include("hunter2");
    expect(text).not.to.include("tok-123");
    const s = JSON.parse(text) as Snapshot;
    const db = s.resources.find((r) => r.name === "db")!;
    expect(db.inputs.description).to.equal(SECRET_PLACEHOLDER);
    expect(db.inputs.connectionProperties).to.equal(SECRET_PLACEHOLDER);
    const j = s.resources.find((r) => r.name === "j")!;
    expect(j.inputs.defaultArguments).to.equal(SECRET_PLACEHOLDER);
    expect(j.inputs.command).to.deep.equal({ scriptLocation: "s3://b/k.py" });
  });
});
