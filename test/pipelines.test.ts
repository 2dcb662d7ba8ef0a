/**
 * Adding a pipeline is one script, one declaration file and one test file: in a temporary copy
 * of the repository, a sixth pipeline made of exactly those files is picked up by the offline
 * preview, the policy pack, the job-run CLI's argument check and the scripts' contracts.
 */
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { expect } from "chai";
import { policies } from "../policy/policies";
import { PIPELINES } from "../pipelines";
import { OfflineRun, REPO_ROOT, runStackOffline } from "../tools/offline";
import {
  PipelineDeclaration,
  PipelineDeclarationError,
  checkDeclarations,
} from "../lib/declaration";
import { fromOfflineRun, runPolicies } from "./policy/harness";

const SIXTH = "audit";
const SCRIPT = "audit_copy.py";
const DECLARATION = `import { definePipeline } from "../lib/declaration";

export default definePipeline({
  name: "${SIXTH}",
  job: {
    script: "${SCRIPT}",
    jobBaseName: "audit_copy",
    description: "Copies audit events",
    bookmarks: false,
    arguments: {
      "--INPUT_PATH": { required: true, description: "Events to copy" },
      "--OUTPUT_PATH": { required: true, description: "Where the copy goes" },
      "--LIMIT": { required: false, description: "Rows at most", default: "100" },
    },
  },
  inputPrefix: "events/",
  defaultArguments: { "--INPUT_PATH": "{raw}/events/", "--OUTPUT_PATH": "{processed}/audit/" },
  start: { kind: "onDemand" },
});
`;
const PY_SCRIPT = `import glue_etl_common as common

JOB = "audit_copy"


def main(argv):
    args = common.job_args(argv, JOB)
    print("ARGS", args["INPUT_PATH"], args["OUTPUT_PATH"], args["LIMIT"])


if __name__ == "__main__":
    common.run_main(main)
`;

/** A copy of what the program, the CLI and the scripts are made of; packages linked, not copied. */
function copyRepo(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "glue-etl-sixth-"));
  const skip = new Set(["node_modules", ".venv", ".git", "dist", "test", "bench"]);
  for (const entry of fs.readdirSync(REPO_ROOT)) {
    if (skip.has(entry) || entry.startsWith(".")) continue;
    fs.cpSync(path.join(REPO_ROOT, entry), path.join(dir, entry), {
      recursive: true,
      filter: (src) => !src.includes(`${path.sep}node_modules`),
    });
  }
  fs.symlinkSync(path.join(REPO_ROOT, "node_modules"), path.join(dir, "node_modules"));
  return dir;
}

function run(cmd: string, args: string[], cwd: string) {
  return spawnSync(cmd, args, {
    cwd,
    encoding: "utf8",
    timeout: 120_000,
    env: {
      ...process.env,
      AWS_REGION: "eu-west-1",
      AWS_ACCESS_KEY_ID: "test",
      AWS_SECRET_ACCESS_KEY: "test",
      AWS_ENDPOINT_URL: "http://127.0.0.1:9",
      AWS_PROFILE: "",
      PATH: (process.env.PATH ?? "")
        .split(path.delimiter)
        .filter((d) => !fs.existsSync(path.join(d, "pulumi")))
        .join(path.delimiter),
    },
  });
}

describe(`a sixth pipeline added as a script, a declaration and a test (${SIXTH})`, () => {
  let dir: string;
  let offline: OfflineRun;
  before(async function () {
    this.timeout(240_000);
    dir = copyRepo();
    fs.writeFileSync(path.join(dir, "pipelines", `${SIXTH}.ts`), DECLARATION);
    fs.writeFileSync(path.join(dir, "scripts", SCRIPT), PY_SCRIPT);
    // The copy's own offline runner runs the copy's program with the copy's registry.
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- the copy's modules
    const tools = require(
      path.join(dir, "tools", "offline.ts"),
    ) as typeof import("../tools/offline");
    offline = await tools.runStackOffline("dev");
  });
  after(() => {
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  it("is not in this repository's registry (the copy alone has it)", () => {
    expect(PIPELINES.map((p) => p.name)).not.to.include(SIXTH);
  });

  it("previews with its job, buckets, alarms and dashboard row, and no Glue database", () => {
    const job = offline.resources.find(
      (r) => r.type === "aws:glue/job:Job" && r.name === `${SIXTH}-job`,
    );
    expect(job?.inputs).to.deep.include({ name: "audit_copy-dev" });
    expect((job!.inputs.defaultArguments as Record<string, string>)["--INPUT_PATH"]).to.equal(
      `s3://glue-etl-dev-${SIXTH}-raw-offline/events/`,
    );
    const buckets = offline.resources.filter(
      (r) => r.type === "aws:s3/bucket:Bucket" && r.name.startsWith(`${SIXTH}-`),
    );
    expect(buckets.map((b) => b.name).sort()).to.deep.equal(
      ["processed", "raw", "scripts", "temp"].map((k) => `${SIXTH}-${k}`),
    );
    expect(offline.resources.filter((r) => r.name === `${SIXTH}-alarms-run-time`)).to.have.length(
      1,
    );
    // No tables and no crawlers: no database, and none is exported.
    expect(
      offline.resources.filter(
        (r) => r.type === "aws:glue/catalogDatabase:CatalogDatabase" && r.name.startsWith(SIXTH),
      ),
    ).to.deep.equal([]);
    const out = (offline.outputs.pipelines as Record<string, Record<string, unknown>>)[SIXTH]!;
    expect(out.jobName).to.equal("audit_copy-dev");
    expect(out).not.to.have.property("databaseName");
    const dashboard = offline.resources.find(
      (r) => r.type === "aws:cloudwatch/dashboard:Dashboard",
    );
    expect(dashboard!.inputs.dashboardBody as string).to.include("audit_copy-dev");
  });

  it("is checked by the policy pack: passes, and a stripped bucket of it is caught", async () => {
    const specs = fromOfflineRun(offline);
    expect(await runPolicies(policies, specs, { stack: "dev" })).to.deep.equal([]);
    const stripped = specs.filter((s) => s.name !== `${SIXTH}-raw-public-access`);
    const violations = await runPolicies(policies, stripped, { stack: "dev" });
    expect(violations.map((v) => v.policy)).to.deep.equal(["s3-public-access-blocked"]);
    expect(violations[0]!.urn).to.match(new RegExp(`::${SIXTH}-raw$`));
  });

  it("is known to the job-run CLI, whose argument check uses its contract", function () {
    this.timeout(120_000);
    const build = run("node", ["tools/build-cli.mjs"], dir);
    expect(build.status, build.stderr).to.equal(0);
    const help = run("node", ["dist/glue.js", "run", SIXTH, "--help"], dir);
    expect(help.stdout).to.match(/--INPUT_PATH\s+required\s+Events to copy/);
    const bad = run(
      "node",
      ["dist/glue.js", "run", SIXTH, "--stack", "dev", "--arg", "LIMT=5"],
      dir,
    );
    expect(bad.status, bad.stderr).to.equal(2);
    expect(bad.stderr).to.include(
      "unknown argument --LIMT for job audit_copy-dev (pipeline audit); did you mean --LIMIT?",
    );
  });

  it("gets its script's contract generated, which the script parses by", function () {
    this.timeout(120_000);
    const gen = run(
      path.join(REPO_ROOT, "node_modules", ".bin", "ts-node"),
      ["--transpile-only", "tools/contracts.ts"],
      dir,
    );
    expect(gen.status, gen.stderr).to.equal(0);
    const python = path.join(REPO_ROOT, ".venv", "bin", "python");
    const ok = run(
      python,
      [`scripts/${SCRIPT}`, "--INPUT_PATH", "in", "--OUTPUT_PATH", "out"],
      dir,
    );
    expect(ok.stdout, ok.stderr).to.include("ARGS in out 100");
    const missing = run(python, [`scripts/${SCRIPT}`, "--INPUT_PATH", "in"], dir);
    expect(missing.status).to.equal(2);
    expect(missing.stderr).to.include("missing required argument(s) --OUTPUT_PATH");
  });
});

describe("pipeline declarations are checked before anything is registered", () => {
  const genomics = PIPELINES.find((p) => p.name === "genomics")!;
  const tagging = PIPELINES.find((p) => p.name === "tagging")!;
  const problemsOf = (declaration: unknown, file = "genomics.ts") => {
    const others = PIPELINES.filter((p) => p.name !== (declaration as PipelineDeclaration).name);
    try {
      checkDeclarations(
        [...others.map((d) => ({ file: `${d.name}.ts`, declaration: d })), { file, declaration }],
        () => true,
      );
      return [];
    } catch (e) {
      expect(e).to.be.instanceOf(PipelineDeclarationError);
      return (e as PipelineDeclarationError).problems;
    }
  };

  it("accepts the shipped declarations", () => {
    for (const p of PIPELINES) expect(problemsOf(p, `${p.name}.ts`), p.name).to.deep.equal([]);
  });

  it("refuses a default argument outside the contract and a required one nothing gives", () => {
    expect(
      problemsOf({
        ...genomics,
        defaultArguments: { "--INPUT_PATH": "{raw}/csv/", "--OUTPT_PATH": "x" },
      }),
    ).to.deep.equal([
      "genomics.ts (pipeline genomics): defaultArguments --OUTPT_PATH is not in job.arguments; add it to the contract or drop it (known: --INPUT_PATH, --OUTPUT_PATH, --REJECTED_PATH, --ENGINE)",
      "genomics.ts (pipeline genomics): job.arguments --OUTPUT_PATH is required but neither defaultArguments nor the start give it; give it a default argument or make it optional",
    ]);
  });

  it("refuses reads and workflow starts naming a pipeline that does not exist", () => {
    const problems = problemsOf(
      {
        ...tagging,
        reads: [{ pipeline: "salez", prefix: "sales/" }],
        start: { kind: "after", pipeline: "salez" },
      },
      "tagging.ts",
    );
    expect(problems).to.have.length(2);
    expect(problems[0]).to.match(
      /^tagging\.ts \(pipeline tagging\): start\.pipeline "salez"; allowed: another pipeline \(/,
    );
    expect(problems[1]).to.match(/reads\.pipeline "salez"; allowed: another pipeline/);
  });

  it("refuses a file named unlike its pipeline", () => {
    expect(problemsOf(genomics, "genome.ts")).to.deep.equal([
      "genome.ts (pipeline genomics): the file is named after its pipeline; rename it to genomics.ts",
    ]);
  });
});

describe("a pipeline that runs after another one that is disabled", () => {
  let offline: OfflineRun;
  before(async () => {
    offline = await runStackOffline("dev", {
      "glue-etl:pipelines": {
        sales: { enabled: false },
        tagging: { schedule: "cron(0 4 * * ? *)" },
      },
    });
  });

  it("reads its own input, starts on its own schedule and runs its after-job crawler itself", () => {
    const job = offline.resources.find((r) => r.name === "tagging-job")!;
    expect((job.inputs.defaultArguments as Record<string, string>)["--INPUT_PATH"]).to.equal(
      "s3://glue-etl-dev-tagging-raw-offline/input/",
    );
    const policy = JSON.parse(
      offline.resources.find((r) => r.name === "tagging-access")!.inputs.policy as string,
    ) as { Statement: { Sid?: string }[] };
    expect(policy.Statement.map((s) => s.Sid)).not.to.include("DecryptSalesOutput");
    const triggers = offline.resources.filter((r) => r.type === "aws:glue/trigger:Trigger");
    expect(triggers.find((t) => t.name === "tagging-triggers-schedule")?.inputs).to.deep.include({
      type: "SCHEDULED",
      schedule: "cron(0 4 * * ? *)",
    });
    expect(
      triggers.find((t) => t.name === "tagging-triggers-after-job")?.inputs.actions,
    ).to.deep.equal([{ crawlerName: "glue-etl-dev-tagging-tagged" }]);
    expect(
      offline.resources.filter((r) => r.type === "aws:glue/workflow:Workflow").map((w) => w.name),
    ).to.deep.equal(["genomics-workflow-workflow"]);
  });
});
