import {
  CreateTableCommand,
  DynamoDBClient,
  PutItemCommand,
  ScanCommand,
} from "@aws-sdk/client-dynamodb";
import { CreateJobCommand, GetJobRunsCommand, GlueClient, JobRun } from "@aws-sdk/client-glue";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { expect } from "chai";
import { bundleStartJobRun } from "../../components/events";
import {
  HandlerResult,
  STALE_CLAIM_SECONDS,
  StarterConfig,
  configFromEnv,
  makeHandler,
  objectsFromEvent,
} from "../../lambda/start-job-run";
import { MotoServer, startMoto } from "../support/moto";

const BUCKET = "glue-etl-dev-manifest-raw";
const CONFIG: StarterConfig = {
  jobName: "ndjson_manifest_to_parquet-dev",
  argumentName: "--MANIFEST_PATH",
  bucket: BUCKET,
  prefix: "manifests/",
  suffix: "manifest.json",
  extraArguments: { "--OUTPUT_PATH": "s3://glue-etl-dev-manifest-processed/" },
  idempotencyTable: "glue-etl-dev-manifest-starts",
};

/** An S3 event notification as Lambda receives it (keys URL-encoded). */
function s3Notification(
  key: string,
  size: number,
  eventTime: Date,
  eventName = "ObjectCreated:Put",
  versionId = "096fKKXTRTtl3on89fVO.nfljtsv6qko",
) {
  return {
    Records: [
      {
        eventVersion: "2.1",
        eventSource: "aws:s3",
        awsRegion: "eu-west-1",
        eventTime: eventTime.toISOString(),
        eventName,
        userIdentity: { principalId: "AWS:AIDAEXAMPLE" },
        requestParameters: { sourceIPAddress: "198.51.100.7" },
        responseElements: {
          "x-amz-request-id": "C3D13FE58DE4C810",
          "x-amz-id-2": "FMyUVURIY8/IgAtTv8xRjskZQpcIZ9KG4V5Wp6S7S/JRWeUWerMUE5JgHvANOjpD",
        },
        s3: {
          s3SchemaVersion: "1.0",
          configurationId: "manifest-landed",
          bucket: {
            name: BUCKET,
            ownerIdentity: { principalId: "A3NL1KOZZKExample" },
            arn: `arn:aws:s3:::${BUCKET}`,
          },
          object: {
            key: encodeURIComponent(key).replace(/%2F/g, "/").replace(/%20/g, "+"),
            size,
            eTag: "d41d8cd98f00b204e9800998ecf8427e",
            versionId,
            sequencer: "0055AED6DCD90281E5",
          },
        },
      },
    ],
  };
}

/** The EventBridge "Object Created" event S3 sends when the bucket has EventBridge enabled. */
function eventBridgeObjectCreated(key: string, size: number, time: Date) {
  return {
    version: "0",
    id: "17793124-05d4-b198-2fde-7ededc63b103",
    "detail-type": "Object Created",
    source: "aws.s3",
    account: "123456789012",
    time: time.toISOString(),
    region: "eu-west-1",
    resources: [`arn:aws:s3:::${BUCKET}`],
    detail: {
      version: "0",
      bucket: { name: BUCKET },
      object: {
        key,
        size,
        etag: "b1946ac92492d2347c6235b4d2611184",
        "version-id": "IYV3p45BT0ac8hjHg1houSdS1a.Mro8e",
        sequencer: "00617F08299329D189",
      },
      "request-id": "N4N7GDK58NMKJ12R",
      requester: "123456789012",
      "source-ip-address": "198.51.100.7",
      reason: "PutObject",
    },
  };
}

describe("lambda start-job-run against a local Glue and DynamoDB endpoint", function () {
  let moto: MotoServer;
  let glue: GlueClient;
  let dynamodb: DynamoDBClient;

  before(async function () {
    this.timeout(60_000);
    moto = await startMoto();
    const client = {
      endpoint: moto.endpoint,
      region: moto.env.AWS_REGION,
      credentials: { accessKeyId: "testing", secretAccessKey: "testing" },
    };
    glue = new GlueClient(client);
    dynamodb = new DynamoDBClient(client);
  });
  after(async () => {
    glue?.destroy();
    dynamodb?.destroy();
    await moto?.stop();
  });

  async function createJob(name: string, maxConcurrentRuns: number): Promise<void> {
    await glue.send(
      new CreateJobCommand({
        Name: name,
        Role: "arn:aws:iam::123456789012:role/glue-etl-dev-manifest",
        Command: {
          Name: "glueetl",
          ScriptLocation: "s3://scripts/jobs/ndjson_manifest_to_parquet.py",
          PythonVersion: "3",
        },
        GlueVersion: "5.0",
        ExecutionProperty: { MaxConcurrentRuns: maxConcurrentRuns },
      }),
    );
  }
  async function runsOf(jobName: string): Promise<JobRun[]> {
    return (await glue.send(new GetJobRunsCommand({ JobName: jobName }))).JobRuns ?? [];
  }
  /** Sets (or with undefined, clears) how moto advances job run states. */
  async function motoTransition(transition: { progression: string; times: number } | undefined) {
    const action = transition ? "set-transition" : "unset-transition";
    const res = await fetch(`${moto.endpoint}/moto-api/state-manager/${action}`, {
      method: "POST",
      body: JSON.stringify({ model_name: "glue::job_run", ...(transition ? { transition } : {}) }),
    });
    expect(res.ok, `moto ${action}`).to.equal(true);
  }
  let logged: string[] = [];
  /** The table as components/events/s3-event-job-starter.ts declares it: partition key objectId. */
  async function createTable(name: string): Promise<void> {
    await dynamodb.send(
      new CreateTableCommand({
        TableName: name,
        BillingMode: "PAY_PER_REQUEST",
        AttributeDefinitions: [{ AttributeName: "objectId", AttributeType: "S" }],
        KeySchema: [{ AttributeName: "objectId", KeyType: "HASH" }],
      }),
    );
  }
  async function records(): Promise<Record<string, string>[]> {
    const res = await dynamodb.send(new ScanCommand({ TableName: CONFIG.idempotencyTable }));
    return (res.Items ?? []).map((item) =>
      Object.fromEntries(Object.entries(item).map(([k, v]) => [k, v.S ?? v.N ?? ""])),
    );
  }
  const handlerFor = (config: StarterConfig) =>
    makeHandler({
      glue: () => glue,
      dynamodb: () => dynamodb,
      config: () => config,
      log: (level, message) => logged.push(`${level} ${message}`),
    });
  const secondsAgo = (s: number) => new Date(Date.now() - s * 1000);

  beforeEach(async () => {
    logged = [];
    await moto.reset();
    await createJob(CONFIG.jobName, 10);
    await createTable(CONFIG.idempotencyTable);
  });

  it("starts one run with the object's path from an S3 notification, and ignores its duplicate", async () => {
    const handler = handlerFor(CONFIG);
    const event = s3Notification("manifests/2026-11-21/manifest.json", 1843, secondsAgo(5));
    const first = await handler(event);
    const path = `s3://${BUCKET}/manifests/2026-11-21/manifest.json`;
    expect(first.outcomes).to.have.length(1);
    expect(first.outcomes[0]).to.include({ status: "started", path });

    const again = await handler(event);
    expect(again.outcomes[0]).to.deep.equal({
      path,
      status: "duplicate",
      jobRunId: first.outcomes[0].jobRunId,
    });

    const runs = await runsOf(CONFIG.jobName);
    expect(runs).to.have.length(1);
    expect(runs[0].Id).to.equal(first.outcomes[0].jobRunId);
    expect(runs[0].Arguments).to.deep.equal({
      "--MANIFEST_PATH": path,
      "--OUTPUT_PATH": "s3://glue-etl-dev-manifest-processed/",
    });
  });

  it("decodes URL-encoded keys of S3 notifications", async () => {
    await handlerFor(CONFIG)(s3Notification("manifests/batch 7/manifest.json", 20, secondsAgo(5)));
    const runs = await runsOf(CONFIG.jobName);
    expect(runs.map((r) => r.Arguments?.["--MANIFEST_PATH"])).to.deep.equal([
      `s3://${BUCKET}/manifests/batch 7/manifest.json`,
    ]);
  });

  it("rejects a zero-byte object, other suffixes and prefixes, and deletions without starting runs", async () => {
    const handler = handlerFor(CONFIG);
    const t = secondsAgo(5);
    const results: HandlerResult[] = [
      await handler(s3Notification("manifests/2026-11-22/manifest.json", 0, t)),
      await handler(s3Notification("manifests/2026-11-22/part-0001.ndjson", 3_500_000, t)),
      await handler(s3Notification("incoming/manifest.json", 900, t)),
      await handler(
        s3Notification("manifests/2026-11-22/manifest.json", 900, t, "ObjectRemoved:Delete"),
      ),
    ];
    expect(results.map((r) => r.outcomes[0].reason)).to.deep.equal([
      "object is empty (0 bytes)",
      'key does not end with "manifest.json"',
      'key does not start with "manifests/"',
      "not an object-created event",
    ]);
    expect(results.every((r) => r.outcomes[0].status === "rejected")).to.equal(true);
    expect(await runsOf(CONFIG.jobName)).to.have.length(0);
    expect(logged).to.deep.equal(Array(4).fill("WARN object ignored"));
  });

  it("handles EventBridge Object Created events, treating a redelivery as a duplicate", async () => {
    const handler = handlerFor(CONFIG);
    const event = eventBridgeObjectCreated(
      "manifests/2026-11-23/manifest.json",
      2048,
      secondsAgo(3),
    );
    expect((await handler(event)).outcomes[0].status).to.equal("started");
    expect((await handler(event)).outcomes[0].status).to.equal("duplicate");
    const empty = await handler(
      eventBridgeObjectCreated("manifests/2026-11-24/manifest.json", 0, secondsAgo(3)),
    );
    expect(empty.outcomes[0]).to.include({
      status: "rejected",
      reason: "object is empty (0 bytes)",
    });
    const runs = await runsOf(CONFIG.jobName);
    expect(runs.map((r) => r.Arguments?.["--MANIFEST_PATH"])).to.deep.equal([
      `s3://${BUCKET}/manifests/2026-11-23/manifest.json`,
    ]);
  });

  it("starts a new run for a new version of the same key, and none for a redelivered one", async () => {
    const handler = handlerFor(CONFIG);
    const key = "manifests/2026-11-25/manifest.json";
    const first = s3Notification(key, 100, secondsAgo(5), "ObjectCreated:Put", "v1");
    expect((await handler(first)).outcomes[0].status).to.equal("started");
    const rewritten = await handler(
      s3Notification(key, 120, secondsAgo(1), "ObjectCreated:Put", "v2"),
    );
    expect(rewritten.outcomes[0].status).to.equal("started");
    // A late copy of the first upload's event (its time after both runs started) is a duplicate.
    const late = s3Notification(key, 100, new Date(Date.now() + 5000), "ObjectCreated:Put", "v1");
    expect((await handler(late)).outcomes[0].status).to.equal("duplicate");
    expect(await runsOf(CONFIG.jobName)).to.have.length(2);
    const stored = await records();
    expect(stored.map((r) => [r.objectId, r.state]).sort()).to.deep.equal([
      [`s3://${BUCKET}/${key}#version:v1`, "started"],
      [`s3://${BUCKET}/${key}#version:v2`, "started"],
    ]);
    const now = Date.now() / 1000;
    for (const r of stored) {
      expect(Number(r.expiresAt)).to.be.within(now + 6.9 * 86400, now + 7.1 * 86400);
    }
  });

  it("starts exactly one run for copies of an event handled at once, however many runs may overlap", async () => {
    // Runs stay in STARTING, as a real run would for minutes; moto completes them at once.
    await motoTransition({ progression: "manual", times: 1000 });
    const handler = handlerFor(CONFIG);
    const event = s3Notification("manifests/2026-11-26/manifest.json", 100, secondsAgo(5));
    const results = await Promise.all([handler(event), handler(event), handler(event)]);
    const statuses = results.map((r) => r.outcomes[0].status).sort();
    expect(statuses).to.deep.equal(["duplicate", "duplicate", "started"]);
    expect(await runsOf(CONFIG.jobName)).to.have.length(1);
    expect(logged.sort()).to.deep.equal([
      "INFO duplicate event, run exists",
      "INFO duplicate event, run exists",
      "INFO job run started",
    ]);
  });
  afterEach(() => motoTransition(undefined));

  it("identifies an upload by its ETag when the bucket is not versioned", async () => {
    const handler = handlerFor(CONFIG);
    const event = eventBridgeObjectCreated("manifests/2026-11-29/manifest.json", 10, secondsAgo(2));
    delete (event.detail.object as { "version-id"?: string })["version-id"];
    expect((await handler(event)).outcomes[0].status).to.equal("started");
    expect((await handler(event)).outcomes[0].status).to.equal("duplicate");
    expect((await records()).map((r) => r.objectId)).to.deep.equal([
      `s3://${BUCKET}/manifests/2026-11-29/manifest.json#etag:b1946ac92492d2347c6235b4d2611184`,
    ]);
  });

  it("releases the claim when StartJobRun fails, so Lambda's retry starts the run", async () => {
    const handler = handlerFor({ ...CONFIG, jobName: "not_created_yet-dev" });
    const event = s3Notification("manifests/2026-12-01/manifest.json", 100, secondsAgo(5));
    let error: Error | undefined;
    try {
      await handler(event);
    } catch (e) {
      error = e as Error;
    }
    expect(error?.message).to.match(/EntityNotFoundException/);
    expect(await records()).to.deep.equal([]);
    // The cause is fixed (here: the job exists now); the retry of the same event starts the run.
    await createJob("not_created_yet-dev", 1);
    const retry = await handler(event);
    expect(retry.outcomes[0].status).to.equal("started");
    expect(await runsOf("not_created_yet-dev")).to.have.length(1);
  });

  it("takes over a claim left by an invocation that died before starting the run", async () => {
    const path = `s3://${BUCKET}/manifests/2026-12-02/manifest.json`;
    const claim = (ageSeconds: number) =>
      dynamodb.send(
        new PutItemCommand({
          TableName: CONFIG.idempotencyTable,
          Item: {
            objectId: { S: `${path}#version:096fKKXTRTtl3on89fVO.nfljtsv6qko` },
            path: { S: path },
            state: { S: "starting" },
            token: { S: "dead-invocation" },
            claimedAt: { N: String(Date.now() - ageSeconds * 1000) },
            expiresAt: { N: String(Math.floor(Date.now() / 1000) + 3600) },
          },
        }),
      );
    const handler = handlerFor(CONFIG);
    const event = s3Notification("manifests/2026-12-02/manifest.json", 100, secondsAgo(5));
    await claim(30);
    expect((await handler(event)).outcomes[0].status).to.equal("duplicate");
    expect(await runsOf(CONFIG.jobName)).to.have.length(0);
    await claim(STALE_CLAIM_SECONDS + 1);
    expect((await handler(event)).outcomes[0].status).to.equal("started");
    expect(await runsOf(CONFIG.jobName)).to.have.length(1);
  });

  it("fails the invocation, naming the object, when Glue refuses the run", async () => {
    const handler = handlerFor({ ...CONFIG, jobName: "no_such_job-dev" });
    let error: Error | undefined;
    try {
      await handler(s3Notification("manifests/2026-11-27/manifest.json", 100, secondsAgo(5)));
    } catch (e) {
      error = e as Error;
    }
    expect(error?.message).to.match(
      /^Could not start no_such_job-dev for 1 object\(s\):\ns3:\/\/glue-etl-dev-manifest-raw\/manifests\/2026-11-27\/manifest.json: EntityNotFoundException/,
    );
  });
  it("works as deployed: the esbuild bundle, configured from its environment", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "start-job-run-"));
    const file = path.join(dir, "index.js");
    fs.writeFileSync(file, bundleStartJobRun());
    const env = {
      ...moto.env,
      JOB_NAME: CONFIG.jobName,
      ARGUMENT_NAME: "--MANIFEST_PATH",
      BUCKET_NAME: BUCKET,
      KEY_PREFIX: "manifests/",
      KEY_SUFFIX: "manifest.json",
      IDEMPOTENCY_TABLE: CONFIG.idempotencyTable,
    };
    const saved = Object.fromEntries(Object.keys(env).map((k) => [k, process.env[k]]));
    Object.assign(process.env, env);
    const quiet = console.log;
    console.log = () => undefined;
    try {
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      const deployed = require(file) as { handler: (e: unknown) => Promise<HandlerResult> };
      const event = s3Notification("manifests/2026-11-28/manifest.json", 512, secondsAgo(5));
      expect((await deployed.handler(event)).outcomes[0].status).to.equal("started");
      expect((await deployed.handler(event)).outcomes[0].status).to.equal("duplicate");
    } finally {
      console.log = quiet;
      for (const [k, v] of Object.entries(saved)) {
        if (v === undefined) delete process.env[k];
        else process.env[k] = v;
      }
      fs.rmSync(dir, { recursive: true, force: true });
    }
    const runs = await runsOf(CONFIG.jobName);
    expect(runs.map((r) => r.Arguments)).to.deep.equal([
      { "--MANIFEST_PATH": `s3://${BUCKET}/manifests/2026-11-28/manifest.json` },
    ]);
  });
});

describe("lambda start-job-run event parsing and settings", () => {
  it("refuses events that are not from S3", () => {
    expect(() => objectsFromEvent({ source: "aws.glue", detail: {} })).to.throw(
      "Not an S3 event: expected S3 notification Records or an EventBridge event from aws.s3",
    );
    expect(() => objectsFromEvent({ Records: [{ eventSource: "aws:sqs" }] })).to.throw(
      "Records[0] is not an S3 event notification record",
    );
  });

  it("reads its settings from the environment and names every bad variable", () => {
    expect(
      configFromEnv({
        JOB_NAME: "j-dev",
        ARGUMENT_NAME: "--MANIFEST_PATH",
        KEY_SUFFIX: "manifest.json",
        IDEMPOTENCY_TABLE: "starts",
      }),
    ).to.deep.equal({
      jobName: "j-dev",
      argumentName: "--MANIFEST_PATH",
      bucket: undefined,
      prefix: "",
      suffix: "manifest.json",
      extraArguments: {},
      idempotencyTable: "starts",
    });
    expect(() =>
      configFromEnv({ JOB_NAME: "", ARGUMENT_NAME: "MANIFEST_PATH", EXTRA_ARGUMENTS: "[1]" }),
    ).to.throw(
      "start-job-run is misconfigured:\n" +
        '  - JOB_NAME: got ""; allowed: a Glue job name\n' +
        '  - ARGUMENT_NAME: got "MANIFEST_PATH"; allowed: a job argument such as --MANIFEST_PATH\n' +
        "  - IDEMPOTENCY_TABLE: got nothing; allowed: a DynamoDB table name\n" +
        "  - EXTRA_ARGUMENTS: not an object; allowed: a JSON object of argument names to strings",
    );
  });
});
