/**
 * The job-run CLI run as a user runs it (a child process) against moto's server, checking its
 * output, exit codes and what moto recorded. What moto 5.2 cannot do (a FAILED run,
 * ResetJobBookmark, throttling) goes through the small stub in support/glue-stub.ts, which
 * answers those calls and forwards the rest to the same moto.
 */
import * as fs from "node:fs";
import * as http from "node:http";
import type { AddressInfo } from "node:net";
import * as path from "node:path";
import {
  CreateJobCommand,
  GetJobRunsCommand,
  GlueClient,
  JobRun,
  StartJobRunCommand,
} from "@aws-sdk/client-glue";
import { CreateBucketCommand, PutObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { expect } from "chai";
import { MotoServer, freePort, startMoto } from "../support/moto";
import { CliResult, ensureBundle, runCli, sandbox, startCli } from "./support/cli";
import { glueError, rewriteJobRun, startGlueStub } from "./support/glue-stub";

const GENOMICS = "csv_to_parquet_genomic_data-dev";
const MANIFEST = "ndjson_manifest_to_parquet-dev";
const FROM_OUTPUTS = "genomics-named-by-outputs";
const RAW_BUCKET = "glue-etl-dev-raw";
const JOB_RUN = "glue::job_run";

describe("glue CLI against a local AWS endpoint (moto)", function () {
  this.timeout(60_000);
  let moto: MotoServer;
  let glue: GlueClient;
  let env: Record<string, string>;
  let box: ReturnType<typeof sandbox>;
  let outputsFile: string;

  /** The CLI against moto; `line` is split on spaces like a shell would (no quoting needed). */
  const cli = (line: string, ...more: string[]) =>
    runCli([...line.split(" "), ...more, "--endpoint-url", moto.endpoint], env);
  /** `run genomics --stack dev --arg <arg>`, as a user types it. */
  const genomicsRun = (arg: string, endpoint = moto.endpoint) =>
    runCli(["run", "genomics", "--stack", "dev", "--arg", arg, "--endpoint-url", endpoint], env);
  const runGenomics = (input: string) => genomicsRun(`INPUT_PATH=s3://raw/${input}`);

  /** A run started straight through the SDK, for tests about what comes after `run`. */
  async function startDirect(input: string): Promise<string> {
    const res = await glue.send(
      new StartJobRunCommand({
        JobName: GENOMICS,
        Arguments: { "--INPUT_PATH": `s3://raw/${input}` },
      }),
    );
    return res.JobRunId ?? "";
  }

  async function runsOf(jobName: string): Promise<JobRun[]> {
    return (await glue.send(new GetJobRunsCommand({ JobName: jobName }))).JobRuns ?? [];
  }

  async function createJob(
    name: string,
    o: {
      defaults: Record<string, string>;
      maxRuns: number;
      worker: string;
      workers: number;
      flex?: boolean;
    },
  ) {
    await glue.send(
      new CreateJobCommand({
        Name: name,
        Role: "arn:aws:iam::123456789012:role/glue-etl-dev",
        Command: { Name: "glueetl", ScriptLocation: "s3://scripts/job.py", PythonVersion: "3" },
        GlueVersion: "5.0",
        DefaultArguments: o.defaults,
        ExecutionProperty: { MaxConcurrentRuns: o.maxRuns },
        WorkerType: o.worker as "G.1X",
        NumberOfWorkers: o.workers,
        ExecutionClass: o.flex ? "FLEX" : "STANDARD",
      }),
    );
  }

  function expectOk(r: CliResult) {
    expect(r.code, `exit code; stderr:\n${r.stderr}`).to.equal(0);
  }

  before(async () => {
    ensureBundle();
    // Node 20 is supported here; keep the SDK's notice about future releases out of the output.
    process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= "true";
    moto = await startMoto();
    box = sandbox();
    env = { ...box.env, ...moto.env };
    const client = {
      region: moto.env.AWS_REGION,
      endpoint: moto.endpoint,
      credentials: { accessKeyId: "testing", secretAccessKey: "testing" },
    };
    glue = new GlueClient(client);
    const defaults = {
      "--OUTPUT_PATH": "s3://glue-etl-dev-processed/out/",
      "--job-bookmark-option": "job-bookmark-enable",
    };
    await createJob(GENOMICS, { defaults, maxRuns: 1, worker: "G.1X", workers: 2, flex: true });
    await createJob(FROM_OUTPUTS, { defaults, maxRuns: 1, worker: "G.1X", workers: 2 });
    await createJob(MANIFEST, { defaults, maxRuns: 2, worker: "G.2X", workers: 3 });
    outputsFile = path.join(box.dir, "outputs.json");
    fs.writeFileSync(
      outputsFile,
      JSON.stringify({
        environment: "dev",
        pipelines: {
          genomics: {
            jobName: FROM_OUTPUTS,
            maxConcurrentRuns: 1,
            buckets: { raw: "x", processed: "y", scripts: "z", temp: "t" },
          },
          manifest: {
            jobName: MANIFEST,
            maxConcurrentRuns: 2,
            buckets: { raw: RAW_BUCKET, processed: "p", scripts: "s", temp: "t" },
          },
        },
      }),
    );
  });

  after(async () => {
    glue?.destroy();
    await moto?.stop();
    if (box) fs.rmSync(box.dir, { recursive: true, force: true });
  });

  afterEach(async () => {
    await moto.unsetTransition(JOB_RUN);
  });

  describe("help", () => {
    it("lists the commands and the exit codes", async () => {
      const r = await runCli(["--help"], env);
      expectOk(r);
      for (const c of [
        "run [options] <pipeline|job>",
        "watch [options] <job> [run-id]",
        "runs [options] <job>",
        "bookmark",
        "backfill [options] <pipeline>",
        "130",
      ]) {
        expect(r.stdout).to.include(c);
      }
      const reset = await runCli(["bookmark", "reset", "--help"], env);
      expectOk(reset);
      expect(reset.stdout).to.include("Usage: npm run glue -- bookmark reset [options] <job>");
      expect(reset.stdout).to.match(/-y, --yes\s+do not ask/);
    });

    it("shows a pipeline's arguments in run --help", async () => {
      const r = await runCli(["run", "manifest", "--help"], env);
      expectOk(r);
      expect(r.stdout).to.match(/--MANIFEST_PATH\s+required/);
      expect(r.stdout).to.match(/--TARGET_FILE_MB\s+optional/);
    });

    it("refuses an unknown command with exit 2", async () => {
      const r = await runCli(["start"], env);
      expect(r.code).to.equal(2);
      expect(r.stderr).to.include("unknown command 'start'");
      expect(r.stderr).to.include("(see npm run glue -- --help)");
    });

    it("suggests the command or option meant by a typo, and exits 2 before any AWS call", async () => {
      const closed = `http://127.0.0.1:${await freePort()}`;
      const command = await runCli(["rnus", GENOMICS, "--endpoint-url", closed], env);
      expect(command.code).to.equal(2);
      expect(command.stderr).to.include("(Did you mean runs?)");
      const option = await runCli(["runs", GENOMICS, "--limt", "3", "--endpoint-url", closed], env);
      expect(option.code).to.equal(2);
      expect(option.stderr).to.include("error: unknown option '--limt'");
      expect(option.stderr).to.include("(Did you mean --limit?)");
      expect(option.stderr).to.include("(see npm run glue -- runs --help)");
      const bad = await runCli(["runs", GENOMICS, "--limit", "0", "--endpoint-url", closed], env);
      expect(bad.code).to.equal(2);
      expect(bad.stderr).to.include(
        "argument '0' is invalid. expected a whole number from 1 to 1000",
      );
      const missing = await runCli(["watch", "--endpoint-url", closed], env);
      expect(missing.code).to.equal(2);
      expect(missing.stderr).to.include("missing required argument 'job'");
    });
  });

  describe("run", () => {
    it("starts a run of the job named by the stack outputs, with both argument spellings", async () => {
      const r = await cli(
        "run genomics --arg INPUT_PATH=s3://raw/csv/*.csv --arg --REJECTED_PATH=s3://out/rej/ --outputs",
        outputsFile,
      );
      expectOk(r);
      const runId = r.stdout.trim();
      expect(runId).to.match(/^jr_[0-9a-f]+$/);
      const run = (await runsOf(FROM_OUTPUTS)).find((x) => x.Id === runId);
      // moto records the job's DefaultArguments merged with the run's, as Glue applies them.
      expect(run?.Arguments).to.deep.equal({
        "--INPUT_PATH": "s3://raw/csv/*.csv",
        "--REJECTED_PATH": "s3://out/rej/",
        "--OUTPUT_PATH": "s3://glue-etl-dev-processed/out/",
        "--job-bookmark-option": "job-bookmark-enable",
      });
      expect(r.stderr).to.include(`Started run ${runId} of job ${FROM_OUTPUTS}`);
    });

    it("names the job by convention from --stack when there is no pulumi CLI", async () => {
      const before = (await runsOf(GENOMICS)).length;
      const r = await runGenomics("a.csv");
      expectOk(r);
      expect(await runsOf(GENOMICS)).to.have.length(before + 1);
    });

    it("reads the stack outputs from the pulumi CLI when it is on PATH", async () => {
      const log = path.join(box.dir, "pulumi-calls.log");
      const pulumiBox = sandbox();
      const outputs = fs.readFileSync(outputsFile, "utf8");
      fs.writeFileSync(
        path.join(pulumiBox.bin, "pulumi"),
        `#!/bin/sh\nprintf '%s\\n' "$*" >> '${log}'\nprintf '%s' '${outputs}'\n`,
        { mode: 0o755 },
      );
      const r = await runCli(
        [
          "run",
          "genomics",
          "--stack",
          "dev",
          "--arg",
          "INPUT_PATH=s3://raw/b.csv",
          "--endpoint-url",
          moto.endpoint,
        ],
        { ...env, PATH: pulumiBox.bin },
      );
      fs.rmSync(pulumiBox.dir, { recursive: true, force: true });
      expectOk(r);
      expect(fs.readFileSync(log, "utf8").trim()).to.equal("stack output --json --stack dev");
      expect((await runsOf(FROM_OUTPUTS)).map((x) => x.Id)).to.include(r.stdout.trim());
    });

    it("refuses a pipeline-name typo with exit 2, before any AWS call", async () => {
      const closed = `http://127.0.0.1:${await freePort()}`;
      const r = await runCli(
        ["run", "genomic", "--arg", "INPUT_PATH=s3://raw/a.csv", "--endpoint-url", closed],
        env,
      );
      expect(r.code).to.equal(2);
      expect(r.stderr).to.include('error: unknown pipeline "genomic"; did you mean genomics?');
      expect(r.stderr).to.include("pass --job-name genomic");
      // A Glue job really named so is reachable through --job-name.
      const job = await cli("runs genomic --job-name", GENOMICS, "--limit", "1");
      expectOk(job);
    });

    it("reports an unknown job by name and endpoint", async () => {
      const r = await cli("run someone_elses_job --arg X=1");
      expect(r.code).to.equal(3);
      expect(r.stderr).to.include(
        `error: no Glue job named someone_elses_job in eu-west-1 at ${moto.endpoint}`,
      );
      expect(r.stderr).to.include("pipelines of this program: genomics, splitter");
    });

    it("refuses a malformed --arg before starting anything", async () => {
      const before = (await runsOf(GENOMICS)).length;
      const r = await cli("run genomics --stack dev --arg INPUT_PATH");
      expect(r.code).to.equal(2);
      expect(r.stderr).to.include('malformed --arg "INPUT_PATH": expected KEY=VALUE');
      expect(await runsOf(GENOMICS)).to.have.length(before);
    });

    it("refuses a missing required argument, naming it and what is expected", async () => {
      const before = (await runsOf(GENOMICS)).length;
      const r = await cli("run genomics --stack dev");
      expect(r.code).to.equal(2);
      expect(r.stderr).to.include(
        "missing required argument --INPUT_PATH for job csv_to_parquet_genomic_data-dev",
      );
      // --OUTPUT_PATH is required too, but the job's DefaultArguments give it.
      expect(r.stderr).not.to.include("missing required arguments");
      expect(r.stderr).to.match(/--INPUT_PATH\s+required/);
      expect(await runsOf(GENOMICS)).to.have.length(before);
    });

    it("refuses unknown and Glue-reserved arguments without calling AWS", async () => {
      const closed = `http://127.0.0.1:${await freePort()}`;
      const unknown = await genomicsRun("INPUT_PTH=s3://a/b", closed);
      expect(unknown.code).to.equal(2);
      expect(unknown.stderr).to.include(
        "unknown argument --INPUT_PTH for job csv_to_parquet_genomic_data-dev (pipeline genomics); did you mean --INPUT_PATH?",
      );
      expect(unknown.stderr).to.match(/--OUTPUT_PATH\s+required/);
      const reserved = await genomicsRun("--JOB_NAME=x", closed);
      expect(reserved.code).to.equal(2);
      expect(reserved.stderr).to.include("--JOB_NAME is reserved by Glue");
    });

    it("says clearly, and quickly, when the endpoint cannot be reached", async () => {
      const closed = `http://127.0.0.1:${await freePort()}`;
      const r = await genomicsRun("INPUT_PATH=s3://a/b", closed);
      expect(r.code).to.equal(3);
      expect(r.stderr).to.include(
        `error: cannot reach ${closed} (connection refused) while looking up job ${GENOMICS}`,
      );
      expect(r.ms).to.be.below(15_000);
    });

    it("shows the HTTP status of an answer that is not from AWS (a proxy's 502 page)", async () => {
      let requests = 0;
      const server = http.createServer((_req, res) => {
        requests++;
        // An empty body is what the SDK alone reports as "Unknown: UnknownError".
        res.writeHead(502, { "content-type": "text/html" });
        res.end(requests % 2 ? "" : "<html><body><h1>502 Bad Gateway</h1></body></html>");
      });
      await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
      const endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
      try {
        const r = await genomicsRun("INPUT_PATH=s3://a/b", endpoint);
        expect(r.code).to.equal(3);
        expect(r.stderr).to.include(
          `error: ${endpoint} answered HTTP 502 Bad Gateway with something that is not an AWS response while looking up job ${GENOMICS} (5 tries)`,
        );
        expect(r.stderr).not.to.include("UnknownError");
        // One retry layer: the SDK's 5 attempts, not retries wrapped around retries.
        expect(requests).to.equal(5);
      } finally {
        server.closeAllConnections();
        await new Promise((resolve) => server.close(resolve));
      }
    });

    it("names an unknown AWS profile, from --profile or AWS_PROFILE, before any AWS call", async () => {
      const closed = `http://127.0.0.1:${await freePort()}`;
      fs.writeFileSync(
        env.AWS_CONFIG_FILE,
        "[default]\nregion = eu-west-1\n[profile analytics]\nregion = eu-west-1\n",
      );
      try {
        const flag = await runCli(
          ["runs", GENOMICS, "--profile", "analytcs", "--endpoint-url", closed],
          env,
        );
        expect(flag.code).to.equal(2);
        expect(flag.stderr).to.include(
          `error: unknown AWS profile "analytcs" (from --profile): it is in neither ${env.AWS_CONFIG_FILE} nor ${env.AWS_SHARED_CREDENTIALS_FILE}`,
        );
        expect(flag.stderr).to.include("profiles there: analytics, default");
        // AWS_PROFILE counts when no access keys are in the environment.
        const noKeys = Object.fromEntries(
          Object.entries(env).filter(([k]) => k !== "AWS_ACCESS_KEY_ID"),
        );
        const fromEnv = await runCli(["runs", GENOMICS, "--endpoint-url", closed], {
          ...noKeys,
          AWS_PROFILE: "nosuch",
        });
        expect(fromEnv.code).to.equal(2);
        expect(fromEnv.stderr).to.include('unknown AWS profile "nosuch" (from AWS_PROFILE)');
      } finally {
        fs.rmSync(env.AWS_CONFIG_FILE, { force: true });
      }
    });

    it("explains ConcurrentRunsExceededException: the limit and how to raise it", async () => {
      await moto.setTransition(JOB_RUN, { progression: "manual", times: 1000 });
      await startDirect("1.csv");
      const second = await runGenomics("2.csv");
      expect(second.code).to.equal(3);
      expect(second.stderr).to.include(
        `job ${GENOMICS} already has 1 run in progress, its limit (MaxConcurrentRuns = 1)`,
      );
      expect(second.stderr).to.include("glue-etl:pipelines.genomics.maxConcurrentRuns");
    });
  });

  describe("watch", () => {
    it("follows a run to SUCCEEDED with its DPU-seconds and cost", async () => {
      const runId = await startDirect("w.csv");
      const r = await cli(`watch ${GENOMICS} ${runId} --interval 0.1`);
      expectOk(r);
      // moto reports ExecutionTime 123 s; G.1X x 2 = 2 DPUs; FLEX at $0.29 per DPU-hour.
      expect(r.stdout).to.include(`${runId}  SUCCEEDED elapsed 2m03s DPU-seconds 246 cost $0.02`);
    });

    it("leaves the run alone on Ctrl-C and says how to stop it", async () => {
      await moto.setTransition(JOB_RUN, { progression: "manual", times: 1000 });
      const runId = await startDirect("c.csv");
      const p = startCli(
        [
          "watch",
          "genomics",
          "--stack",
          "dev",
          "--interval",
          "0.2",
          "--endpoint-url",
          moto.endpoint,
        ],
        env,
      );
      await p.waitForStderr(/STARTING\s+elapsed/);
      p.child.kill("SIGINT");
      const r = await p.done;
      expect(r.code).to.equal(130);
      expect(r.stderr).to.include(
        `Stopped watching. Run ${runId} of job ${GENOMICS} is still STARTING; it was left alone`,
      );
      expect(r.stderr).to.include(
        `aws glue batch-stop-job-run --job-name ${GENOMICS} --job-run-ids ${runId}`,
      );
      const run = (await runsOf(GENOMICS)).find((x) => x.Id === runId);
      expect(run?.JobRunState).to.equal("STARTING");
    });

    it("exits 1 with Glue's error message when the run FAILED (stub answers GetJobRun)", async () => {
      const runId = await startDirect("f.csv");
      const stub = await startGlueStub(
        {
          GetJobRun: rewriteJobRun(() => ({
            JobRunState: "FAILED",
            ExecutionTime: 42,
            ErrorMessage: "AnalysisException: Path does not exist: s3://raw/f.csv",
          })),
        },
        moto.endpoint,
      );
      const r = await runCli(
        ["watch", GENOMICS, runId, "--interval", "0.1", "--endpoint-url", stub.endpoint],
        env,
      );
      await stub.stop();
      expect(r.code).to.equal(1);
      expect(r.stderr).to.include(
        `error: run ${runId} of job ${GENOMICS} ended FAILED after 42s: AnalysisException: Path does not exist: s3://raw/f.csv`,
      );
      // A 42-second run is billed the 1-minute minimum: 2 DPUs x 60 s at FLEX.
      expect(r.stdout).to.include("FAILED elapsed 42s DPU-seconds 84 cost $0.0097");
    });
  });

  describe("runs", () => {
    it("lists recent runs as an aligned table, newest first, with cost and errors", async () => {
      const stub = await startGlueStub(
        {
          GetJobRuns: async (_body, forward) => {
            const up = await forward();
            const runs = (up.body as { JobRuns: Record<string, unknown>[] }).JobRuns;
            // Make the oldest run a failure with a message, as Glue would report it.
            runs[0] = { ...runs[0], JobRunState: "FAILED", ErrorMessage: "Out of memory" };
            return { status: 200, body: { JobRuns: runs } };
          },
        },
        moto.endpoint,
      );
      const r = await runCli(["runs", GENOMICS, "--endpoint-url", stub.endpoint], env);
      await stub.stop();
      expectOk(r);
      const lines = r.stdout.trimEnd().split("\n");
      expect(lines[0]).to.match(
        /^RUN ID\s+STATE\s+STARTED \(UTC\)\s+DURATION\s+DPU-HOURS\s+COST\s+ERROR$/,
      );
      const runs = await runsOf(GENOMICS);
      expect(lines).to.have.length(runs.length + 1);
      // Aligned: every row starts its STATE column where the header does.
      const stateCol = lines[0].indexOf("STATE");
      for (const l of lines.slice(1))
        expect(l.slice(stateCol)).to.match(/^(SUCCEEDED|FAILED|STARTING|RUNNING)\s/);
      const failed = lines.find((l) => l.includes("FAILED"));
      expect(failed).to.match(/2m03s\s+0\.068\s+\$0\.02\s+Out of memory$/);
      expect(r.stderr).to.include(`${runs.length} runs of job ${GENOMICS}`);
    });

    it("retries Glue's OperationTimeoutException in the SDK's retry strategy", async () => {
      const runId = await startDirect("t.csv");
      let timeouts = 1;
      const stub = await startGlueStub(
        {
          GetJobRun: (_body, forward) =>
            timeouts-- > 0
              ? glueError("OperationTimeoutException", "Timed out waiting for the run")
              : forward(),
        },
        moto.endpoint,
      );
      const r = await runCli(
        ["watch", GENOMICS, runId, "--interval", "0.1", "--endpoint-url", stub.endpoint],
        env,
      );
      await stub.stop();
      expectOk(r);
      expect(stub.calls.filter((c) => c.operation === "GetJobRun").length).to.be.at.least(2);
      expect(r.stdout).to.include(`${runId}  SUCCEEDED`);
    });

    it("retries throttled calls with backoff and then answers", async () => {
      let throttles = 1;
      const stub = await startGlueStub(
        {
          GetJob: (_body, forward) =>
            throttles-- > 0 ? glueError("ThrottlingException", "Rate exceeded") : forward(),
        },
        moto.endpoint,
      );
      const r = await runCli(
        ["runs", GENOMICS, "--limit", "1", "--endpoint-url", stub.endpoint],
        env,
      );
      await stub.stop();
      expectOk(r);
      expect(stub.calls.filter((c) => c.operation === "GetJob")).to.have.length(2);
      expect(r.stdout.split("\n")).to.have.length.greaterThan(1);
    });
  });

  describe("bookmark reset (stub answers ResetJobBookmark, which moto lacks)", () => {
    const resetStub = () =>
      startGlueStub(
        {
          ResetJobBookmark: (body) => ({
            status: 200,
            body: { JobBookmarkEntry: { JobName: body.JobName, Version: 3, Run: 0, Attempt: 0 } },
          }),
        },
        moto.endpoint,
      );

    it("refuses without --yes when input is not a terminal", async () => {
      const stub = await resetStub();
      const r = await runCli(["bookmark", "reset", GENOMICS, "--endpoint-url", stub.endpoint], env);
      await stub.stop();
      expect(r.code).to.equal(2);
      expect(r.stderr).to.include("without confirmation: input is not a terminal");
      expect(stub.calls.map((c) => c.operation)).not.to.include("ResetJobBookmark");
    });

    it("resets with --yes", async () => {
      const stub = await resetStub();
      const r = await runCli(
        [
          "bookmark",
          "reset",
          "genomics",
          "--stack",
          "dev",
          "--yes",
          "--endpoint-url",
          stub.endpoint,
        ],
        env,
      );
      await stub.stop();
      expectOk(r);
      expect(stub.calls.filter((c) => c.operation === "ResetJobBookmark")).to.deep.equal([
        { operation: "ResetJobBookmark", body: { JobName: GENOMICS } },
      ]);
      expect(r.stdout).to.include(
        `Bookmark of job ${GENOMICS} reset so its next run reprocesses all input.`,
      );
    });
  });

  describe("backfill", () => {
    const dates = ["2026-11-01", "2026-11-02", "2026-11-03", "2026-11-04", "2026-11-05"];

    before(async () => {
      const s3 = new S3Client({
        region: moto.env.AWS_REGION,
        endpoint: moto.endpoint,
        forcePathStyle: true,
        credentials: { accessKeyId: "testing", secretAccessKey: "testing" },
      });
      await s3.send(
        new CreateBucketCommand({
          Bucket: RAW_BUCKET,
          CreateBucketConfiguration: { LocationConstraint: "eu-west-1" },
        }),
      );
      const keys = [
        ...dates.map((d) => `manifests/${d}/manifest.json`),
        "manifests/2026-10-31/manifest.json", // before the range
        "manifests/2026-11-06-manifest.json", // after it
        "manifests/2026-11-02/notes.json", // not a manifest
      ];
      for (const Key of keys)
        await s3.send(
          new PutObjectCommand({ Bucket: RAW_BUCKET, Key, Body: '{"fileLocations":[]}' }),
        );
      s3.destroy();
    });

    it("runs one job per manifest in the range, never more than MaxConcurrentRuns at once", async () => {
      // Each run needs two polls to end, so runs overlap; moto refuses a third concurrent run.
      await moto.setTransition(JOB_RUN, { progression: "manual", times: 1 });
      const r = await cli(
        "backfill manifest --from 2026-11-01 --to 2026-11-05 --interval 0.05 --outputs",
        outputsFile,
      );
      expectOk(r);
      const manifests = (await runsOf(MANIFEST))
        .map((x) => x.Arguments?.["--MANIFEST_PATH"])
        .sort();
      expect(manifests).to.deep.equal(
        dates.map((d) => `s3://${RAW_BUCKET}/manifests/${d}/manifest.json`),
      );
      const slots = [...r.stdout.matchAll(/\((\d) of 2 slots in use\)/g)].map((m) => Number(m[1]));
      expect(slots).to.have.length(5);
      expect(Math.max(...slots)).to.equal(2);
      expect(r.stderr).not.to.include("waiting:");
      expect(r.stdout).to.include("5 manifests: 5 succeeded, 0 failed; total cost $0.45");
    });

    it("reports a failed run and exits 1 (stub fails the 2026-11-03 run)", async () => {
      const stub = await startGlueStub(
        {
          GetJobRun: rewriteJobRun((run) =>
            run.Arguments?.["--MANIFEST_PATH"]?.includes("2026-11-03")
              ? { JobRunState: "FAILED", ErrorMessage: "manifest lists no files" }
              : {},
          ),
        },
        moto.endpoint,
      );
      const r = await runCli(
        [
          "backfill",
          "manifest",
          "--outputs",
          outputsFile,
          "--from",
          "2026-11-02",
          "--to",
          "2026-11-04",
          "--interval",
          "0.05",
          "--endpoint-url",
          stub.endpoint,
        ],
        env,
      );
      await stub.stop();
      expect(r.code).to.equal(1);
      expect(r.stdout).to.match(/2026-11-03 .*FAILED .*manifest lists no files/);
      expect(r.stdout).to.include("3 manifests: 2 succeeded, 1 failed");
    });

    it("finds nothing outside the range and says so", async () => {
      const r = await cli(
        "backfill manifest --from 2025-01-01 --to 2025-01-31 --outputs",
        outputsFile,
      );
      expect(r.code).to.equal(2);
      expect(r.stderr).to.include(
        `no manifests dated 2025-01-01 to 2025-01-31 under s3://${RAW_BUCKET}/manifests/`,
      );
      expect(r.stderr).to.include("7 dated manifests there in all");
    });
  });
});
