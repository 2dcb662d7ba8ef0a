import * as path from "node:path";
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import {
  JobArgumentsError,
  Placeholder,
  expandPlaceholders,
  validateJobArguments,
} from "../lib/arguments";
import { AwsContext, PolicyStatement, awsContext } from "../lib/aws";
import { JdbcSettings, PipelineSettings } from "../lib/config";
import {
  JobContract,
  PIPELINE_NAME_RE,
  PipelineCrawler,
  PipelineTable,
  StartDeclaration,
} from "../lib/declaration";
import { AlarmThresholds, DEFAULT_NAMESPACE, DEFAULT_THRESHOLDS } from "../lib/observability";
import { PipelineAlarms } from "./alarms";
import { Alerts, EVENTBRIDGE_KEY_STATEMENT } from "./alerts";
import { Catalog } from "./catalog";
import { JdbcConnection } from "./connection";
import { Crawler } from "./crawler";
import { S3EventJobStarter, S3EventWorkflowStart, logGroupKeyStatement } from "./events";
import { GlueJob } from "./job";
import { GlueJobRole } from "./role";
import { PipelineSecurity } from "./security";
import { BUCKET_PURPOSES, BucketPurpose, PipelineStorage } from "./storage";
import { TriggerAction, Triggers, Workflow, chain } from "./triggers";
import { pipelineDatabaseName, pipelineName } from "../lib/names";

/**
 * How the pipeline's job is started: a declaration's start as the stack resolved it. `after` and
 * a workflow head become `workflow` (the job runs in a workflow of the stack, built from the
 * pipeline declarations, started on `schedule`; no trigger here, and crawlers marked `afterJob`
 * run in that workflow); every other kind is the declaration's own.
 */
export type PipelineStart =
  | Extract<StartDeclaration, { kind: "onDemand" | "schedule" | "s3Workflow" | "s3Lambda" }>
  | Pick<Extract<StartDeclaration, { kind: "workflow" }>, "kind" | "schedule">;

export type { PipelineCrawler };

/** Output of this pipeline that another pipeline's job may read: what `reads` grants. */
export interface PipelineOutput {
  /** The pipeline that writes it. */
  readonly pipeline: string;
  readonly bucketArn: pulumi.Output<string>;
  /** Prefix in that bucket, ending in "/". */
  readonly prefix: string;
  /** `s3://<bucket>/<prefix>`. */
  readonly path: pulumi.Output<string>;
  /** The writer's KMS key, which the reader needs to decrypt. */
  readonly keyArn: pulumi.Output<string>;
}

/** A file the job reads besides its input, uploaded to the scripts bucket under `config/`. */
export interface PipelineAsset {
  /** Local path of the file. */
  readonly path: string;
}

export interface EtlPipelineArgs {
  /** Environment the stack deploys (dev, prod); part of physical names. */
  readonly environment: string;
  /** Physical Glue job name, e.g. `csv_to_parquet_genomic_data-dev`. */
  readonly jobName: string;
  readonly description?: string;
  /** Local path of the job's PySpark script. */
  readonly scriptPath: string;
  /** Local Python modules the script imports. Default none. */
  readonly pyFiles?: string[];
  /** Files the job reads, such as a rules table; `{scripts}/config/<file name>` in arguments. Default none. */
  readonly assets?: readonly PipelineAsset[];
  /** Sizing, schedule and cost settings resolved from the stack config. */
  readonly settings: PipelineSettings;
  /**
   * The job's own default arguments. String values may use `{raw}`, `{processed}`, `{scripts}`,
   * `{temp}` (each becomes `s3://<that bucket>`) and `{database}` (the pipeline's Glue
   * database). Default none.
   */
  readonly arguments?: Readonly<Record<string, pulumi.Input<string>>>;
  /** Prefix of the raw bucket the job reads; its IAM read access stops there. Default "" (all). */
  readonly inputPrefix?: string;
  /**
   * Other pipelines' output the job reads (from their `output()`): each gets a read grant and a
   * decrypt grant on its writer's key. Default none.
   */
  readonly reads?: readonly PipelineOutput[];
  /** The script's argument contract: every argument the job is given must be in it. Default none. */
  readonly contract?: JobContract;
  /** Days before temp objects expire. Default 7. */
  readonly tempExpirationDays?: number;
  /** Bucket (name) that receives the S3 server access logs of the pipeline's buckets (AccessLogBucket). */
  readonly accessLogBucket: pulumi.Input<string>;
  /** Job bookmarks. Default true. */
  readonly bookmarks?: boolean;
  /** Catalog tables of this pipeline, each in its raw or processed bucket. Default none. */
  readonly tables?: readonly PipelineTable[];
  /** Crawlers over the pipeline's buckets. Default none. */
  readonly crawlers?: readonly PipelineCrawler[];
  /** How the job starts. Default `{ kind: "onDemand" }`. */
  readonly start?: PipelineStart;
  /** Addresses subscribed to the pipeline's failure alerts. Default none (the topic still exists). */
  readonly alertEmails?: readonly string[];
  /**
   * Write through a Glue JDBC connection (credentials in Secrets Manager, SSL enforced, in a VPC
   * of its own). The job gets the connection and `--JDBC_CONNECTION_NAME` / `--JDBC_TABLE`.
   * Default none.
   */
  readonly jdbc?: {
    readonly settings: JdbcSettings;
    readonly password: pulumi.Input<string>;
    readonly region: string;
  };
  /** CloudWatch namespace the job publishes its run metrics to. Default `GlueETL`. */
  readonly metricsNamespace?: string;
  /** Thresholds of the pipeline's alarms. Default: 5 % rejected, 3 × typicalRunMinutes, 60 minutes' grace. */
  readonly alarmThresholds?: AlarmThresholds;
  /** Tags for every taggable resource (environment, owner, cost-center at least). */
  readonly tags: Record<string, string>;
}

const NAME_RE = PIPELINE_NAME_RE;

/** One decrypt grant per pipeline whose output the job reads, on that pipeline's key. */
function decryptStatements(reads: readonly PipelineOutput[]): PolicyStatement[] {
  const byPipeline = new Map(reads.map((r) => [r.pipeline, r.keyArn]));
  return [...byPipeline].map(([pipeline, keyArn]) => ({
    Sid: `Decrypt${pipeline.replace(/(^|-)([a-z0-9])/g, (_, __, c: string) => c.toUpperCase())}Output`,
    Effect: "Allow",
    Action: "kms:Decrypt",
    Resource: keyArn,
  }));
}

export { pipelineDatabaseName };

/**
 * One ETL pipeline: its buckets, KMS key and Glue security configuration, the job's IAM role,
 * the Glue job, its catalog tables and crawlers, what starts it, and failure alerts, each with
 * secure and observable defaults.
 */
export class EtlPipeline extends pulumi.ComponentResource {
  public readonly storage: PipelineStorage;
  public readonly security: PipelineSecurity;
  public readonly role: GlueJobRole;
  public readonly job: GlueJob;
  public readonly context: AwsContext;
  public readonly bucketNames: Readonly<Record<BucketPurpose, pulumi.Output<string>>>;
  /** The pipeline's Glue database, when it has one (tables or crawlers). */
  public readonly databaseName?: string;
  public readonly catalog?: Catalog;
  public readonly crawlers: Readonly<Record<string, Crawler>>;
  public readonly alerts: Alerts;
  /** Alarms on the job's run metrics, into the alert topic. */
  public readonly alarms: PipelineAlarms;
  /** Names of the Glue triggers that start the job or follow it, by key. */
  public readonly triggerNames: Readonly<Record<string, pulumi.Output<string>>>;
  public readonly workflow?: Workflow;
  public readonly jdbcConnection?: JdbcConnection;
  /** The pipeline's name, as given to the constructor. */
  public readonly pipelineName: string;
  private readonly afterJobCrawlerNames: readonly string[];

  constructor(name: string, args: EtlPipelineArgs, opts?: pulumi.ComponentResourceOptions) {
    super("glue-etl:pipeline:EtlPipeline", name, {}, opts);
    if (!NAME_RE.test(name)) {
      throw new Error(
        `Pipeline name ${JSON.stringify(name)} is not allowed: use lower-case letters, digits and '-', ` +
          `starting with a letter, at most 20 characters (it becomes part of bucket names)`,
      );
    }
    // Refuse bad arguments before any child resource is registered.
    const literalArgs = Object.fromEntries(
      Object.entries(args.arguments ?? {}).map(([k, v]) => [k, typeof v === "string" ? v : ""]),
    );
    validateJobArguments(name, literalArgs);
    if (args.contract) {
      const jdbcKeys = args.jdbc ? ["--JDBC_CONNECTION_NAME", "--JDBC_TABLE"] : [];
      const unknown = [...Object.keys(literalArgs), ...jdbcKeys].filter(
        (k) => !(k in args.contract!.arguments),
      );
      if (unknown.length > 0)
        throw new JobArgumentsError(
          name,
          unknown.map(
            (k) =>
              `${k}: not in the argument contract of ${args.contract!.script}; allowed: ${Object.keys(args.contract!.arguments).join(", ")}`,
          ),
        );
    }
    const hasCatalog = (args.tables?.length ?? 0) > 0 || (args.crawlers?.length ?? 0) > 0;
    const usesDatabase = Object.entries(literalArgs).filter(([, v]) => v.includes("{database}"));
    if (!hasCatalog && usesDatabase.length > 0)
      throw new JobArgumentsError(
        name,
        usesDatabase.map(
          ([k]) =>
            `${k}: uses {database}, but the pipeline has no tables or crawlers, so no Glue database; declare its tables or drop {database}`,
        ),
      );
    const child = { parent: this };
    this.pipelineName = name;
    this.afterJobCrawlerNames = (args.crawlers ?? []).filter((c) => c.afterJob).map((c) => c.name);
    const physical = pipelineName(args.environment, name);
    const databaseName = pipelineDatabaseName(args.environment, name);
    this.databaseName = hasCatalog ? databaseName : undefined;
    this.context = awsContext(this);
    const start = args.start ?? { kind: "onDemand" };
    // Named up front: the key policy must let CloudWatch Logs use the key for it before it exists.
    const starterLogGroup = `/aws/lambda/${physical}-start-job-run`;

    this.security = new PipelineSecurity(
      name,
      {
        physicalName: physical,
        context: this.context,
        // The alerts topic is encrypted with this key; EventBridge publishes to it.
        extraKeyStatements: [
          EVENTBRIDGE_KEY_STATEMENT,
          ...(start.kind === "s3Lambda"
            ? [logGroupKeyStatement(this.context, starterLogGroup)]
            : []),
        ],
        tags: args.tags,
      },
      child,
    );
    const keyArn = this.security.key.arn;
    const namespace = args.metricsNamespace ?? DEFAULT_NAMESPACE;
    this.storage = new PipelineStorage(
      name,
      {
        namePrefix: physical,
        kmsKeyArn: keyArn,
        tempExpirationDays: args.tempExpirationDays,
        accessLogBucket: args.accessLogBucket,
        tags: args.tags,
      },
      child,
    );
    const b = this.storage.buckets;
    this.bucketNames = Object.fromEntries(BUCKET_PURPOSES.map((p) => [p, b[p].bucket])) as Record<
      BucketPurpose,
      pulumi.Output<string>
    >;

    if (args.jdbc) {
      this.jdbcConnection = new JdbcConnection(
        `${name}-jdbc`,
        {
          physicalName: `${physical}-jdbc`,
          region: args.jdbc.region,
          url: args.jdbc.settings.url,
          username: args.jdbc.settings.username,
          password: args.jdbc.password,
          kmsKeyArn: keyArn,
          tags: args.tags,
        },
        child,
      );
    }
    const jdbcStatements: PolicyStatement[] = this.jdbcConnection
      ? [
          {
            Sid: "ReadConnectionSecret",
            Effect: "Allow",
            Action: "secretsmanager:GetSecretValue",
            Resource: this.jdbcConnection.secret.arn,
          },
        ]
      : [];

    this.role = new GlueJobRole(
      name,
      {
        context: this.context,
        read: [
          { bucketArn: b.raw.arn, prefix: args.inputPrefix ?? "" },
          { bucketArn: b.scripts.arn, prefix: "jobs/", list: false },
          { bucketArn: b.scripts.arn, prefix: "lib/", list: false },
          ...(args.assets?.length
            ? [{ bucketArn: b.scripts.arn, prefix: "config/", list: false }]
            : []),
          ...(args.reads ?? []).map((r) => ({ bucketArn: r.bucketArn, prefix: r.prefix })),
        ],
        readWrite: [{ bucketArn: b.processed.arn }, { bucketArn: b.temp.arn }],
        kmsKeyArn: keyArn,
        extraStatements: [
          ...decryptStatements(args.reads ?? []),
          ...jdbcStatements,
          {
            Sid: "PublishRunMetrics",
            Effect: "Allow",
            Action: "cloudwatch:PutMetricData",
            // PutMetricData has no resource type; the namespace condition is what scopes it.
            Resource: "*",
            Condition: { StringEquals: { "cloudwatch:namespace": namespace } },
          },
        ],
        tags: args.tags,
      },
      child,
    );

    for (const [i, asset] of (args.assets ?? []).entries()) {
      new aws.s3.BucketObjectv2(
        `${name}-asset-${i}`,
        {
          bucket: b.scripts.bucket,
          key: `config/${path.basename(asset.path)}`,
          source: new pulumi.asset.FileAsset(asset.path),
          sourceHash: GlueJob.contentHash(asset.path),
          tags: args.tags,
        },
        child,
      );
    }

    this.job = new GlueJob(
      name,
      {
        jobName: args.jobName,
        description: args.description,
        scriptPath: args.scriptPath,
        pyFiles: args.pyFiles,
        scriptsBucket: b.scripts.bucket,
        roleArn: this.role.arn,
        sizing: args.settings.sizing,
        securityConfigurationName: this.security.securityConfiguration.name,
        tempDir: pulumi.interpolate`s3://${b.temp.bucket}/glue-temp/`,
        sparkUiLogsPath: pulumi.interpolate`s3://${b.temp.bucket}/spark-ui-logs/`,
        arguments: this.expandArguments(
          {
            ...(args.arguments ?? {}),
            ...(this.jdbcConnection && args.jdbc
              ? {
                  "--JDBC_CONNECTION_NAME": this.jdbcConnection.name,
                  "--JDBC_TABLE": args.jdbc.settings.table,
                }
              : {}),
          },
          databaseName,
        ),
        connections: this.jdbcConnection ? [this.jdbcConnection.name] : undefined,
        metrics: { namespace, pipeline: name, environment: args.environment },
        bookmarks: args.bookmarks,
        tags: args.tags,
      },
      child,
    );

    if (hasCatalog) {
      this.catalog = new Catalog(
        `${name}-catalog`,
        {
          databaseName,
          tables: (args.tables ?? []).map((t) => ({ table: t.table, bucket: b[t.bucket].bucket })),
          athenaResultsBucket: b.temp.bucket,
          kmsKeyArn: keyArn,
          expectedResultsBucketOwner: this.context.accountId,
          tags: args.tags,
        },
        child,
      );
    }
    const crawlers: Record<string, Crawler> = {};
    for (const c of args.crawlers ?? []) {
      crawlers[c.name] = new Crawler(
        `${name}-${c.name}`,
        {
          crawlerName: `${physical}-${c.name}`,
          databaseName: this.catalog!.databaseName,
          targets: c.prefixes.map((prefix) => ({ bucket: b[c.bucket].bucket, prefix })),
          schedule: c.schedule,
          securityConfigurationName: this.security.securityConfiguration.name,
          kmsKeyArn: keyArn,
          tablePrefix: c.tablePrefix,
          tags: args.tags,
        },
        child,
      );
    }
    this.crawlers = crawlers;
    // In a stack workflow, that workflow runs them after the job.
    const afterJob: TriggerAction[] = (start.kind === "workflow" ? [] : (args.crawlers ?? []))
      .filter((c) => c.afterJob)
      .map((c) => ({ crawler: crawlers[c.name]!.crawlerName }));

    const jobAction: TriggerAction = { job: this.job.name };
    const tagsOf = args.tags;
    if (start.kind === "s3Workflow") {
      this.workflow = new Workflow(
        `${name}-workflow`,
        {
          workflowName: physical,
          description: `Objects under ${start.prefix} in the raw bucket start ${args.jobName}`,
          triggers: chain(
            {
              kind: "event",
              batchSize: start.batchSize,
              batchWindowSeconds: start.batchWindowSeconds,
            },
            [jobAction, ...afterJob],
          ),
          tags: tagsOf,
        },
        child,
      );
      new S3EventWorkflowStart(
        `${name}-s3-event`,
        {
          bucketName: b.raw.bucket,
          prefix: start.prefix,
          suffix: start.suffix,
          workflowName: this.workflow.name,
          tags: tagsOf,
        },
        child,
      );
      this.triggerNames = this.workflow.triggerNames;
    } else {
      if (start.kind === "s3Lambda") {
        new S3EventJobStarter(
          `${name}-s3-starter`,
          {
            bucketName: b.raw.bucket,
            prefix: start.prefix,
            suffix: start.suffix,
            jobName: this.job.name,
            argumentName: start.argumentName,
            kmsKeyArn: keyArn,
            logGroupName: starterLogGroup,
            tags: tagsOf,
          },
          child,
        );
      }
      const specs: ConstructorParameters<typeof Triggers>[1]["triggers"] = {
        ...(start.kind === "onDemand"
          ? { "on-demand": { kind: "onDemand", actions: [jobAction] } }
          : {}),
        ...(start.kind === "schedule"
          ? { schedule: { kind: "scheduled", schedule: start.schedule, actions: [jobAction] } }
          : {}),
        ...(afterJob.length
          ? {
              "after-job": {
                kind: "conditional",
                when: [{ job: this.job.name }],
                actions: afterJob,
              },
            }
          : {}),
      };
      this.triggerNames =
        Object.keys(specs).length > 0
          ? new Triggers(`${name}-triggers`, { triggers: specs, tags: tagsOf }, child).triggerNames
          : {};
    }

    this.alerts = new Alerts(
      `${name}-alerts`,
      {
        jobNames: [this.job.name],
        crawlerNames: Object.values(crawlers).map((c) => c.crawlerName),
        emails: args.alertEmails,
        kmsKeyArn: keyArn,
        tags: tagsOf,
      },
      child,
    );

    this.alarms = new PipelineAlarms(
      `${name}-alarms`,
      {
        pipeline: name,
        environment: args.environment,
        jobName: this.job.name,
        topicArn: this.alerts.topicArn,
        typicalRunMinutes: args.settings.typicalRunMinutes,
        namespace,
        thresholds: args.alarmThresholds ?? DEFAULT_THRESHOLDS,
        schedule:
          start.kind === "schedule" || start.kind === "workflow" ? start.schedule : undefined,
        tags: tagsOf,
      },
      child,
    );

    this.registerOutputs({
      jobName: this.job.name,
      roleArn: this.role.arn,
      bucketNames: this.bucketNames,
      scriptLocation: this.job.scriptLocation,
      databaseName: this.databaseName,
      ddl: this.catalog?.ddl,
      triggerNames: this.triggerNames,
      alertTopicArn: this.alerts.topicArn,
      alarmArns: this.alarms.alarmArns,
    });
  }

  /** Output under `prefix` of one of this pipeline's buckets, for another pipeline's `reads`. */
  output(bucket: "raw" | "processed", prefix: string): PipelineOutput {
    const b = this.storage.buckets[bucket];
    return {
      pipeline: this.pipelineName,
      bucketArn: b.arn,
      prefix,
      path: pulumi.interpolate`s3://${b.bucket}/${prefix}`,
      keyArn: this.security.key.arn,
    };
  }

  /** Crawlers that run after the job, for a workflow that runs it. */
  get afterJobCrawlers(): TriggerAction[] {
    return this.afterJobCrawlerNames.map((n) => ({ crawler: this.crawlers[n]!.crawlerName }));
  }

  /** Arguments with placeholders replaced; Outputs (another pipeline's paths) pass through. */
  private expandArguments(
    args: Readonly<Record<string, pulumi.Input<string>>>,
    databaseName: string,
  ): Record<string, pulumi.Input<string>> {
    const values = pulumi.all(this.bucketNames).apply((names): Record<Placeholder, string> => ({
      raw: `s3://${names.raw}`,
      processed: `s3://${names.processed}`,
      scripts: `s3://${names.scripts}`,
      temp: `s3://${names.temp}`,
      database: databaseName,
    }));
    return Object.fromEntries(
      Object.entries(args).map(([k, v]) => [
        k,
        typeof v === "string" && v.includes("{")
          ? values.apply((vals) => expandPlaceholders(v, vals))
          : v,
      ]),
    );
  }
}
