import * as pulumi from "@pulumi/pulumi";
import { expect } from "chai";
import {
  S3EventJobStarter,
  S3EventJobStarterArgs,
  S3EventWorkflowStart,
  bundleStartJobRun,
  logGroupKeyStatement,
  objectCreatedPattern,
} from "../../components/events";
import { OfflineRun, runOffline } from "../../tools/offline";
import { asList, named, ofType, policyOf } from "../support/program";

const ACCOUNT = "123456789012";
const REGION = "eu-west-1";
const BUCKET = "glue-etl-dev-manifest-raw";
const TAGS = { environment: "dev", owner: "data-platform", "cost-center": "CC-4711" };
const KEY_ARN = `arn:aws:kms:${REGION}:${ACCOUNT}:key/pipeline-key`;

const offline = (program: () => void) =>
  runOffline("dev", { config: { "aws:region": REGION }, secretKeys: [] }, program);

describe("objectCreatedPattern", () => {
  it("matches non-empty objects by prefix and suffix with one wildcard", () => {
    expect(objectCreatedPattern("b", "raw/sales/", ".json")).to.deep.equal({
      source: ["aws.s3"],
      "detail-type": ["Object Created"],
      detail: {
        bucket: { name: ["b"] },
        object: { key: [{ wildcard: "raw/sales/*.json" }], size: [{ numeric: [">", 0] }] },
      },
    });
  });
  it("uses plain prefix or suffix matching when only one is given, and escapes wildcards", () => {
    const key = (p?: string, s?: string) =>
      (objectCreatedPattern("b", p, s).detail as { object: { key?: unknown } }).object.key;
    expect(key("manifests/")).to.deep.equal([{ prefix: "manifests/" }]);
    expect(key(undefined, "manifest.json")).to.deep.equal([{ suffix: "manifest.json" }]);
    expect(key()).to.equal(undefined);
    expect(key("odd*dir\\", "x")).to.deep.equal([{ wildcard: "odd\\*dir\\\\*x" }]);
  });
  it("matches any of several suffixes, with or without a prefix", () => {
    const key = (p: string | undefined, s: string[]) =>
      (objectCreatedPattern("b", p, s).detail as { object: { key?: unknown } }).object.key;
    expect(key("csv/", [".csv", ".csv.gz"])).to.deep.equal([
      { wildcard: "csv/*.csv" },
      { wildcard: "csv/*.csv.gz" },
    ]);
    expect(key(undefined, [".csv", ".csv.gz"])).to.deep.equal([
      { suffix: ".csv" },
      { suffix: ".csv.gz" },
    ]);
    expect(key("csv/", [])).to.deep.equal([{ prefix: "csv/" }]);
  });
});

describe("S3EventWorkflowStart (S3 → EventBridge → Glue workflow)", () => {
  let run: OfflineRun;
  before(async () => {
    run = await offline(() => {
      new S3EventWorkflowStart("sales-landing", {
        bucketName: "glue-etl-dev-sales-raw",
        prefix: "raw/sales/",
        suffix: ".json",
        workflowName: "glue-etl-dev-sales",
        tags: TAGS,
      });
    });
  });
  const workflowArn = `arn:aws:glue:${REGION}:${ACCOUNT}:workflow/glue-etl-dev-sales`;

  it("turns on EventBridge delivery for the bucket", () => {
    expect(
      named(run, "aws:s3/bucketNotification:BucketNotification", "sales-landing-eventbridge")
        .inputs,
    ).to.deep.equal({
      bucket: "glue-etl-dev-sales-raw",
      eventbridge: true,
    });
  });

  it("matches Object Created under the prefix and suffix", () => {
    const rule = named(run, "aws:cloudwatch/eventRule:EventRule", "sales-landing-rule");
    expect(JSON.parse(rule.inputs.eventPattern as string)).to.deep.equal(
      objectCreatedPattern("glue-etl-dev-sales-raw", "raw/sales/", ".json"),
    );
    expect(rule.inputs.tags).to.deep.equal(TAGS);
  });

  it("targets the workflow ARN through the role, with retries and a dead-letter queue", () => {
    const target = named(run, "aws:cloudwatch/eventTarget:EventTarget", "sales-landing-target");
    const role = named(run, "aws:iam/role:Role", "sales-landing-role");
    const dlq = named(run, "aws:sqs/queue:Queue", "sales-landing-dlq-queue");
    expect(target.inputs).to.deep.include({
      rule: "sales-landing-rule",
      arn: workflowArn,
      roleArn: `arn:aws:iam::${ACCOUNT}:role/sales-landing-role`,
      deadLetterConfig: { arn: `arn:aws:sqs:${REGION}:${ACCOUNT}:sales-landing-dlq-queue` },
    });
    expect(dlq.inputs).to.include({ sqsManagedSseEnabled: true, messageRetentionSeconds: 1209600 });
    expect(role.inputs.tags).to.deep.equal(TAGS);
  });

  it("lets only this rule assume the role, and the role only notify this workflow", () => {
    const trust = policyOf(
      named(run, "aws:iam/role:Role", "sales-landing-role"),
      "assumeRolePolicy",
    );
    expect(trust.Statement).to.deep.equal([
      {
        Effect: "Allow",
        Principal: { Service: "events.amazonaws.com" },
        Action: "sts:AssumeRole",
        Condition: {
          StringEquals: { "aws:SourceAccount": ACCOUNT },
          ArnEquals: {
            "aws:SourceArn": `arn:aws:events:${REGION}:${ACCOUNT}:rule/sales-landing-rule`,
          },
        },
      },
    ]);
    const policy = policyOf(
      named(run, "aws:iam/rolePolicy:RolePolicy", "sales-landing-notify-workflow"),
    );
    expect(policy.Statement).to.deep.equal([
      {
        Sid: "NotifyThisWorkflowOnly",
        Effect: "Allow",
        Action: "glue:NotifyEvent",
        Resource: workflowArn,
      },
    ]);
  });

  it("accepts dead letters only from its rule, over TLS", () => {
    const policy = policyOf(
      named(run, "aws:sqs/queuePolicy:QueuePolicy", "sales-landing-dlq-policy"),
    );
    const allow = policy.Statement.find((s) => s.Sid === "EventBridgeDeadLetters");
    expect(allow?.Condition).to.deep.equal({
      ArnEquals: {
        "aws:SourceArn": [`arn:aws:events:${REGION}:${ACCOUNT}:rule/sales-landing-rule`],
      },
    });
    expect(
      policy.Statement.find((s) => s.Sid === "DenyInsecureTransport")?.Condition,
    ).to.deep.equal({
      Bool: { "aws:SecureTransport": "false" },
    });
  });
});

describe("S3EventJobStarter (S3 → Lambda → StartJobRun)", () => {
  const ARGS: S3EventJobStarterArgs = {
    bucketName: BUCKET,
    prefix: "manifests/",
    suffix: "manifest.json",
    jobName: "ndjson_manifest_to_parquet-dev",
    argumentName: "--MANIFEST_PATH",
    extraArguments: { "--OUTPUT_PATH": "s3://glue-etl-dev-manifest-processed/" },
    kmsKeyArn: KEY_ARN,
    tags: TAGS,
  };
  const jobArn = `arn:aws:glue:${REGION}:${ACCOUNT}:job/ndjson_manifest_to_parquet-dev`;
  let run: OfflineRun;
  let starter: S3EventJobStarter;
  before(async () => {
    run = await offline(() => {
      starter = new S3EventJobStarter("manifest-starter", ARGS);
    });
  });

  it("deploys the bundled handler on Node.js 22 with its settings", async () => {
    const fn = named(run, "aws:lambda/function:Function", "manifest-starter-function");
    expect(fn.inputs).to.deep.include({
      runtime: "nodejs22.x",
      architectures: ["arm64"],
      handler: "index.handler",
      role: `arn:aws:iam::${ACCOUNT}:role/manifest-starter-role`,
      timeout: 60,
      environment: {
        variables: {
          JOB_NAME: "ndjson_manifest_to_parquet-dev",
          ARGUMENT_NAME: "--MANIFEST_PATH",
          BUCKET_NAME: BUCKET,
          KEY_PREFIX: "manifests/",
          KEY_SUFFIX: "manifest.json",
          IDEMPOTENCY_TABLE: "manifest-starter-idempotency",
          EXTRA_ARGUMENTS: '{"--OUTPUT_PATH":"s3://glue-etl-dev-manifest-processed/"}',
        },
      },
      loggingConfig: { logFormat: "JSON", logGroup: "/aws/lambda/manifest-starter" },
    });
    expect(fn.inputs.reservedConcurrentExecutions).to.equal(undefined);
    expect(fn.inputs.code).to.have.property("__pulumiArchive", true);
    const assets = await starter.code.assets;
    expect(Object.keys(assets)).to.deep.equal(["index.js"]);
    expect(await (assets["index.js"] as pulumi.asset.StringAsset).text).to.equal(
      bundleStartJobRun(),
    );
  });

  it("bundles the handler with the Glue and DynamoDB clients and nothing it does not use", () => {
    const code = bundleStartJobRun();
    expect(code).to.include("StartJobRun").and.include("PutItem").and.include("DeleteItem");
    expect(code).not.to.include("GetJobRuns");
    expect(code).not.to.include("CreateCrawler");
    expect(code.length).to.be.below(600_000);
    expect(bundleStartJobRun()).to.equal(code);
  });

  it("scopes the role to this job's runs, its own table, log group and dead-letter queue", () => {
    const trust = policyOf(
      named(run, "aws:iam/role:Role", "manifest-starter-role"),
      "assumeRolePolicy",
    );
    expect(trust.Statement.map((s) => s.Principal)).to.deep.equal([
      { Service: "lambda.amazonaws.com" },
    ]);
    const policy = policyOf(named(run, "aws:iam/rolePolicy:RolePolicy", "manifest-starter-policy"));
    expect(policy.Statement).to.deep.equal([
      { Sid: "StartRunsOfThisJob", Effect: "Allow", Action: "glue:StartJobRun", Resource: jobArn },
      {
        Sid: "ClaimAndReleaseObjectVersions",
        Effect: "Allow",
        Action: ["dynamodb:PutItem", "dynamodb:DeleteItem"],
        Resource: `arn:aws:dynamodb:${REGION}:${ACCOUNT}:table/manifest-starter-idempotency`,
      },
      {
        Sid: "UseTableKeyThroughDynamoDb",
        Effect: "Allow",
        Action: ["kms:Decrypt", "kms:DescribeKey"],
        Resource: KEY_ARN,
        Condition: { StringEquals: { "kms:ViaService": `dynamodb.${REGION}.amazonaws.com` } },
      },
      {
        Sid: "WriteOwnLogs",
        Effect: "Allow",
        Action: ["logs:CreateLogStream", "logs:PutLogEvents"],
        Resource: `arn:aws:logs:${REGION}:${ACCOUNT}:log-group:/aws/lambda/manifest-starter:*`,
      },
      {
        Sid: "DeadLetters",
        Effect: "Allow",
        Action: "sqs:SendMessage",
        Resource: `arn:aws:sqs:${REGION}:${ACCOUNT}:manifest-starter-dlq-queue`,
      },
    ]);
    expect(ofType(run, "aws:iam/rolePolicyAttachment:RolePolicyAttachment")).to.have.length(0);
  });

  it("sends events that fail twice more to an encrypted dead-letter queue", () => {
    expect(
      named(
        run,
        "aws:lambda/functionEventInvokeConfig:FunctionEventInvokeConfig",
        "manifest-starter-async",
      ).inputs,
    ).to.deep.equal({
      functionName: "manifest-starter-function",
      maximumRetryAttempts: 2,
      maximumEventAgeInSeconds: 21600,
      destinationConfig: {
        onFailure: { destination: `arn:aws:sqs:${REGION}:${ACCOUNT}:manifest-starter-dlq-queue` },
      },
    });
    expect(
      named(run, "aws:sqs/queue:Queue", "manifest-starter-dlq-queue").inputs.sqsManagedSseEnabled,
    ).to.equal(true);
  });

  it("encrypts its log group with the given key and keeps logs 30 days", () => {
    expect(
      named(run, "aws:cloudwatch/logGroup:LogGroup", "manifest-starter-logs").inputs,
    ).to.deep.include({
      name: "/aws/lambda/manifest-starter",
      kmsKeyId: KEY_ARN,
      retentionInDays: 30,
    });
  });

  it("keeps idempotency records in an encrypted, recoverable table that expires them", () => {
    expect(
      named(run, "aws:dynamodb/table:Table", "manifest-starter-idempotency").inputs,
    ).to.deep.include({
      billingMode: "PAY_PER_REQUEST",
      hashKey: "objectId",
      attributes: [{ name: "objectId", type: "S" }],
      ttl: { attributeName: "expiresAt", enabled: true },
      serverSideEncryption: { enabled: true, kmsKeyArn: KEY_ARN },
      pointInTimeRecovery: { enabled: true },
    });
  });

  it("gives the key policy statement that lets CloudWatch Logs use the key for this log group only", async () => {
    const ctx = {
      accountId: pulumi.output(ACCOUNT),
      region: pulumi.output(REGION),
      partition: pulumi.output("aws"),
    };
    const statement = await new Promise((resolve) =>
      pulumi.jsonStringify(logGroupKeyStatement(ctx, "/aws/lambda/x")).apply(resolve),
    );
    expect(JSON.parse(statement as string)).to.deep.include({
      Effect: "Allow",
      Principal: { Service: `logs.${REGION}.amazonaws.com` },
      Resource: "*",
      Condition: {
        ArnEquals: {
          "kms:EncryptionContext:aws:logs:arn": `arn:aws:logs:${REGION}:${ACCOUNT}:log-group:/aws/lambda/x`,
        },
      },
    });
  });

  it("lets only this bucket in this account invoke it, for created objects under prefix and suffix", () => {
    expect(
      named(run, "aws:lambda/permission:Permission", "manifest-starter-s3-invoke").inputs,
    ).to.deep.include({
      action: "lambda:InvokeFunction",
      function: "manifest-starter-function",
      principal: "s3.amazonaws.com",
      sourceArn: `arn:aws:s3:::${BUCKET}`,
      sourceAccount: ACCOUNT,
    });
    expect(
      named(run, "aws:s3/bucketNotification:BucketNotification", "manifest-starter-notification")
        .inputs,
    ).to.deep.equal({
      bucket: BUCKET,
      lambdaFunctions: [
        {
          lambdaFunctionArn: `arn:aws:lambda:${REGION}:${ACCOUNT}:function:manifest-starter-function`,
          events: ["s3:ObjectCreated:*"],
          filterPrefix: "manifests/",
          filterSuffix: "manifest.json",
        },
      ],
    });
    expect(ofType(run, "aws:cloudwatch/eventRule:EventRule")).to.have.length(0);
  });

  it("can take its events from EventBridge instead", async () => {
    const eb = await offline(() => {
      new S3EventJobStarter("eb-starter", {
        ...ARGS,
        delivery: "eventBridge",
        reservedConcurrency: 2,
      });
    });
    const rule = named(eb, "aws:cloudwatch/eventRule:EventRule", "eb-starter-rule");
    expect(JSON.parse(rule.inputs.eventPattern as string)).to.deep.equal(
      objectCreatedPattern(BUCKET, "manifests/", "manifest.json"),
    );
    expect(
      named(eb, "aws:cloudwatch/eventTarget:EventTarget", "eb-starter-target").inputs,
    ).to.deep.include({
      rule: "eb-starter-rule",
      arn: `arn:aws:lambda:${REGION}:${ACCOUNT}:function:eb-starter-function`,
    });
    expect(
      named(eb, "aws:lambda/permission:Permission", "eb-starter-events-invoke").inputs,
    ).to.deep.include({
      principal: "events.amazonaws.com",
      sourceArn: `arn:aws:events:${REGION}:${ACCOUNT}:rule/eb-starter-rule`,
    });
    expect(
      named(eb, "aws:s3/bucketNotification:BucketNotification", "eb-starter-eventbridge").inputs,
    ).to.deep.equal({
      bucket: BUCKET,
      eventbridge: true,
    });
    expect(
      named(eb, "aws:lambda/function:Function", "eb-starter-function").inputs
        .reservedConcurrentExecutions,
    ).to.equal(2);
    expect(
      ofType(eb, "aws:lambda/permission:Permission").map((p) => p.inputs.principal),
    ).to.deep.equal(["events.amazonaws.com"]);
  });

  it("leaves the bucket's notification configuration alone when asked", async () => {
    const r = await offline(() => {
      new S3EventJobStarter("shared", { ...ARGS, manageBucketNotification: false });
    });
    expect(ofType(r, "aws:s3/bucketNotification:BucketNotification")).to.have.length(0);
    expect(ofType(r, "aws:lambda/permission:Permission")).to.have.length(1);
  });

  it("refuses a bad argument name or key filter before registering anything", async () => {
    const errors: string[] = [];
    const r = await offline(() => {
      for (const bad of [{ argumentName: "MANIFEST_PATH" }, { prefix: "/manifests/" }]) {
        try {
          new S3EventJobStarter("bad", { ...ARGS, ...bad });
        } catch (e) {
          errors.push((e as Error).message);
        }
      }
    });
    expect(errors).to.deep.equal([
      'bad: argumentName "MANIFEST_PATH" is not allowed: a job argument name such as --MANIFEST_PATH',
      'bad: prefix "/manifests/" is not allowed: S3 keys have no leading "/" and are at most 1024 characters',
    ]);
    expect(r.resources.filter((x) => x.type !== "pulumi:pulumi:Stack")).to.have.length(0);
    expect(asList(errors)).to.have.length(2);
  });
});
