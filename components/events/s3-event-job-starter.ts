import * as path from "node:path";
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import * as esbuild from "esbuild";
import {
  AwsContext,
  PolicyStatement,
  awsContext,
  policyDocument,
  serviceTrustPolicy,
} from "../../lib/aws";
import { cloudWatchLogsKeyStatement } from "../security";
import { DeadLetterQueue } from "./dead-letter-queue";
import { S3ObjectEventArgs, checkKeyFilter, objectCreatedPattern } from "./s3-object-event";
import { formerType } from "../../lib/aliases";

const HANDLER_SOURCE = path.join(__dirname, "..", "..", "lambda", "start-job-run.ts");
let bundledHandler: string | undefined;

/**
 * The Lambda handler and the parts of @aws-sdk/client-glue it uses, as one CommonJS file.
 * Bundled from the repo on every program run (deterministic output, so the archive only changes
 * when the code does), and once per process.
 */
export function bundleStartJobRun(): string {
  bundledHandler ??= esbuild.buildSync({
    entryPoints: [HANDLER_SOURCE],
    bundle: true,
    platform: "node",
    target: "node22",
    format: "cjs",
    // The SDK's ES modules tree-shake to the three commands used: a third of the CommonJS size.
    mainFields: ["module", "main"],
    minify: true,
    legalComments: "none",
    write: false,
    logLevel: "silent",
  }).outputFiles[0].text;
  return bundledHandler;
}

/**
 * The key policy statement that lets CloudWatch Logs use a KMS key for one log group, and only
 * that one (the encryption context names the log group). The key must allow it before the log
 * group is created with the key.
 */
export function logGroupKeyStatement(ctx: AwsContext, logGroupName: string): PolicyStatement {
  return cloudWatchLogsKeyStatement(ctx, "CloudWatchLogsForEventLambdaLogGroup", {
    ArnEquals: {
      "kms:EncryptionContext:aws:logs:arn": pulumi.interpolate`arn:${ctx.partition}:logs:${ctx.region}:${ctx.accountId}:log-group:${logGroupName}`,
    },
  });
}

export interface S3EventJobStarterArgs extends S3ObjectEventArgs {
  /** Glue job to start. */
  readonly jobName: pulumi.Input<string>;
  /** Job argument that receives the object's `s3://bucket/key` path, e.g. `--MANIFEST_PATH`. */
  readonly argumentName: string;
  /** Further fixed run arguments. Default none (the job's default arguments apply). */
  readonly extraArguments?: Readonly<Record<string, pulumi.Input<string>>>;
  /**
   * How events reach the function: `s3Notification` (the bucket invokes it) or `eventBridge`
   * (an EventBridge rule on Object Created). Default `s3Notification`.
   */
  readonly delivery?: "s3Notification" | "eventBridge";
  /** Days the function's logs are kept. Default 30. */
  readonly logRetentionDays?: number;
  /**
   * Customer-managed KMS key for the function's log group and its idempotency table. Its key
   * policy must hold `logGroupKeyStatement(ctx, logGroupName)` for this log group.
   */
  readonly kmsKeyArn: pulumi.Input<string>;
  /** Name of the function's log group. Default `/aws/lambda/<name>`. */
  readonly logGroupName?: string;

  /**
   * Concurrent executions reserved for the function. Default none: reserving needs spare account
   * concurrency, which new accounts do not have.
   */
  readonly reservedConcurrency?: number;
}

/**
 * S3 → Lambda → glue:StartJobRun with the object's path, once per object version: the function
 * claims each upload in a DynamoDB table (conditional PutItem) before it starts the run and
 * releases the claim when the start fails, so copies of one event handled at once start one run.
 * The function's role may only start runs of this one job, put and delete items of its own table,
 * write its own KMS-encrypted log group and send to its dead-letter queue; events it fails on
 * after Lambda's two retries land in that queue.
 */
export class S3EventJobStarter extends pulumi.ComponentResource {
  public readonly function: aws.lambda.Function;
  public readonly role: aws.iam.Role;
  public readonly deadLetterQueue: DeadLetterQueue;
  public readonly logGroup: aws.cloudwatch.LogGroup;
  /** One record per object version whose run was started (or is being started). */
  public readonly idempotencyTable: aws.dynamodb.Table;
  /** The deployment package: `index.js`, the bundled handler. */
  public readonly code: pulumi.asset.AssetArchive;

  constructor(name: string, args: S3EventJobStarterArgs, opts?: pulumi.ComponentResourceOptions) {
    checkKeyFilter(name, args.prefix, args.suffix);
    if (!/^--[A-Za-z0-9_-]+$/.test(args.argumentName)) {
      throw new Error(
        `${name}: argumentName ${JSON.stringify(args.argumentName)} is not allowed: a job argument name such as --MANIFEST_PATH`,
      );
    }
    super(
      "glue-etl:events/s3-event-job-starter:S3EventJobStarter",
      name,
      {},
      formerType("glue-etl:events:S3EventJobStarter", opts),
    );
    const delivery = args.delivery ?? "s3Notification";
    const child = { parent: this };
    const ctx = awsContext(this);
    const jobArn = pulumi.interpolate`arn:${ctx.partition}:glue:${ctx.region}:${ctx.accountId}:job/${args.jobName}`;
    const bucketArn = pulumi.interpolate`arn:${ctx.partition}:s3:::${args.bucketName}`;

    const rule =
      delivery === "eventBridge"
        ? new aws.cloudwatch.EventRule(
            `${name}-rule`,
            {
              description: pulumi.interpolate`Objects created in ${args.bucketName} start Glue job ${args.jobName}`,
              eventPattern: pulumi
                .output(args.bucketName)
                .apply((b) => JSON.stringify(objectCreatedPattern(b, args.prefix, args.suffix))),
              tags: args.tags,
            },
            child,
          )
        : undefined;
    this.deadLetterQueue = new DeadLetterQueue(
      `${name}-dlq`,
      {
        eventRuleArns: rule ? [rule.arn] : undefined,
        tags: args.tags,
      },
      child,
    );
    this.logGroup = new aws.cloudwatch.LogGroup(
      `${name}-logs`,
      {
        name: args.logGroupName ?? `/aws/lambda/${name}`,
        retentionInDays: args.logRetentionDays ?? 30,
        kmsKeyId: args.kmsKeyArn,
        tags: args.tags,
      },
      child,
    );
    this.idempotencyTable = new aws.dynamodb.Table(
      `${name}-idempotency`,
      {
        billingMode: "PAY_PER_REQUEST",
        hashKey: "objectId",
        attributes: [{ name: "objectId", type: "S" }],
        // The handler sets expiresAt; DynamoDB deletes expired records within days, at no cost.
        ttl: { attributeName: "expiresAt", enabled: true },
        serverSideEncryption: { enabled: true, kmsKeyArn: args.kmsKeyArn },
        pointInTimeRecovery: { enabled: true },
        tags: args.tags,
      },
      child,
    );
    this.role = new aws.iam.Role(
      `${name}-role`,
      {
        description: "Starts one Glue job for objects landing in S3",
        assumeRolePolicy: serviceTrustPolicy("lambda.amazonaws.com"),
        tags: args.tags,
      },
      child,
    );
    const logStreams = pulumi.interpolate`arn:${ctx.partition}:logs:${ctx.region}:${ctx.accountId}:log-group:${this.logGroup.name}:*`;
    const policy = new aws.iam.RolePolicy(
      `${name}-policy`,
      {
        role: this.role.id,
        policy: policyDocument([
          {
            Sid: "StartRunsOfThisJob",
            Effect: "Allow",
            Action: "glue:StartJobRun",
            Resource: jobArn,
          },
          {
            Sid: "ClaimAndReleaseObjectVersions",
            Effect: "Allow",
            Action: ["dynamodb:PutItem", "dynamodb:DeleteItem"],
            Resource: this.idempotencyTable.arn,
          },
          {
            // DynamoDB decrypts the table's key with the caller's permissions, through DynamoDB only.
            Sid: "UseTableKeyThroughDynamoDb",
            Effect: "Allow",
            Action: ["kms:Decrypt", "kms:DescribeKey"],
            Resource: args.kmsKeyArn,
            Condition: {
              StringEquals: {
                "kms:ViaService": pulumi.interpolate`dynamodb.${ctx.region}.amazonaws.com`,
              },
            },
          },
          {
            Sid: "WriteOwnLogs",
            Effect: "Allow",
            Action: ["logs:CreateLogStream", "logs:PutLogEvents"],
            Resource: logStreams,
          },
          {
            Sid: "DeadLetters",
            Effect: "Allow",
            Action: "sqs:SendMessage",
            Resource: this.deadLetterQueue.arn,
          },
        ]),
      },
      child,
    );
    const environment: Record<string, pulumi.Input<string>> = {
      JOB_NAME: args.jobName,
      ARGUMENT_NAME: args.argumentName,
      BUCKET_NAME: args.bucketName,
      KEY_PREFIX: args.prefix ?? "",
      KEY_SUFFIX: args.suffix ?? "",
      IDEMPOTENCY_TABLE: this.idempotencyTable.name,
    };
    if (args.extraArguments && Object.keys(args.extraArguments).length) {
      environment.EXTRA_ARGUMENTS = pulumi.jsonStringify(args.extraArguments);
    }
    this.code = new pulumi.asset.AssetArchive({
      "index.js": new pulumi.asset.StringAsset(bundleStartJobRun()),
    });
    this.function = new aws.lambda.Function(
      `${name}-function`,
      {
        description: pulumi.interpolate`Starts Glue job ${args.jobName} with ${args.argumentName} set to each new object's path`,
        runtime: aws.lambda.Runtime.NodeJS22dX,
        architectures: ["arm64"],
        handler: "index.handler",
        code: this.code,
        role: this.role.arn,
        memorySize: 256,
        timeout: 60,
        environment: { variables: environment },
        loggingConfig: { logFormat: "JSON", logGroup: this.logGroup.name },
        ...(args.reservedConcurrency !== undefined
          ? { reservedConcurrentExecutions: args.reservedConcurrency }
          : {}),
        tags: args.tags,
      },
      { parent: this, dependsOn: [policy] },
    );
    new aws.lambda.FunctionEventInvokeConfig(
      `${name}-async`,
      {
        functionName: this.function.name,
        maximumRetryAttempts: 2,
        maximumEventAgeInSeconds: 6 * 3600,
        destinationConfig: { onFailure: { destination: this.deadLetterQueue.arn } },
      },
      child,
    );

    if (rule) {
      const permission = new aws.lambda.Permission(
        `${name}-events-invoke`,
        {
          action: "lambda:InvokeFunction",
          function: this.function.name,
          principal: "events.amazonaws.com",
          sourceArn: rule.arn,
        },
        child,
      );
      new aws.cloudwatch.EventTarget(
        `${name}-target`,
        {
          rule: rule.name,
          arn: this.function.arn,
          deadLetterConfig: { arn: this.deadLetterQueue.arn },
          retryPolicy: { maximumEventAgeInSeconds: 24 * 3600, maximumRetryAttempts: 185 },
        },
        { parent: this, dependsOn: [permission] },
      );
      if (args.manageBucketNotification ?? true) {
        new aws.s3.BucketNotification(
          `${name}-eventbridge`,
          { bucket: args.bucketName, eventbridge: true },
          child,
        );
      }
    } else {
      const permission = new aws.lambda.Permission(
        `${name}-s3-invoke`,
        {
          action: "lambda:InvokeFunction",
          function: this.function.name,
          principal: "s3.amazonaws.com",
          sourceArn: bucketArn,
          sourceAccount: ctx.accountId,
        },
        child,
      );
      if (args.manageBucketNotification ?? true) {
        new aws.s3.BucketNotification(
          `${name}-notification`,
          {
            bucket: args.bucketName,
            lambdaFunctions: [
              {
                lambdaFunctionArn: this.function.arn,
                events: ["s3:ObjectCreated:*"],
                ...(args.prefix ? { filterPrefix: args.prefix } : {}),
                ...(args.suffix ? { filterSuffix: args.suffix } : {}),
              },
            ],
          },
          { parent: this, dependsOn: [permission] },
        );
      }
    }
    this.registerOutputs({
      functionName: this.function.name,
      deadLetterQueueArn: this.deadLetterQueue.arn,
      idempotencyTableName: this.idempotencyTable.name,
    });
  }
}
