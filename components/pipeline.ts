import * as pulumi from "@pulumi/pulumi";
import { AwsContext, PolicyStatement, awsContext } from "../lib/aws";
import { BucketPlaceholder, expandPlaceholders, validateJobArguments } from "../lib/arguments";
import { PipelineSettings } from "../lib/config";
import { GlueJob } from "./job";
import { GlueJobRole } from "./role";
import { PipelineSecurity } from "./security";
import { BUCKET_PURPOSES, BucketPurpose, PipelineStorage } from "./storage";

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
  /** Sizing, schedule and cost settings resolved from the stack config. */
  readonly settings: PipelineSettings;
  /**
   * The job's own default arguments. Values may use `{raw}`, `{processed}`, `{scripts}` and
   * `{temp}`, which become `s3://<that bucket>`. Default none.
   */
  readonly arguments?: Readonly<Record<string, string>>;
  /** Prefix of the raw bucket the job reads; its IAM read access stops there. Default "" (all). */
  readonly inputPrefix?: string;
  /** Days before temp objects expire. Default 7. */
  readonly tempExpirationDays?: number;
  /** Job bookmarks. Default true. */
  readonly bookmarks?: boolean;
  /** Further IAM statements for the job role. Default none. */
  readonly extraStatements?: PolicyStatement[];
  /** Tags for every taggable resource (environment, owner, cost-center at least). */
  readonly tags: Record<string, string>;
}

const NAME_RE = /^[a-z][a-z0-9-]{0,19}$/;

/**
 * One ETL pipeline: its buckets, KMS key and Glue security configuration, the job's IAM role and
 * the Glue job itself, each with secure and observable defaults.
 */
export class EtlPipeline extends pulumi.ComponentResource {
  public readonly storage: PipelineStorage;
  public readonly security: PipelineSecurity;
  public readonly role: GlueJobRole;
  public readonly job: GlueJob;
  public readonly context: AwsContext;
  public readonly bucketNames: Readonly<Record<BucketPurpose, pulumi.Output<string>>>;

  constructor(name: string, args: EtlPipelineArgs, opts?: pulumi.ComponentResourceOptions) {
    super("glue-etl:pipeline:EtlPipeline", name, {}, opts);
    if (!NAME_RE.test(name)) {
      throw new Error(
        `Pipeline name ${JSON.stringify(name)} is not allowed: use lower-case letters, digits and '-', ` +
          `starting with a letter, at most 20 characters (it becomes part of bucket names)`,
      );
    }
    // Refuse bad arguments before any child resource is registered.
    validateJobArguments(name, args.arguments ?? {});
    const child = { parent: this };
    const physical = `glue-etl-${args.environment}-${name}`;
    this.context = awsContext(this);

    this.security = new PipelineSecurity(
      name,
      { physicalName: physical, context: this.context, tags: args.tags },
      child,
    );
    this.storage = new PipelineStorage(
      name,
      {
        namePrefix: physical,
        kmsKeyArn: this.security.key.arn,
        tempExpirationDays: args.tempExpirationDays,
        tags: args.tags,
      },
      child,
    );
    const b = this.storage.buckets;
    this.bucketNames = Object.fromEntries(BUCKET_PURPOSES.map((p) => [p, b[p].bucket])) as Record<
      BucketPurpose,
      pulumi.Output<string>
    >;

    this.role = new GlueJobRole(
      name,
      {
        context: this.context,
        read: [
          { bucketArn: b.raw.arn, prefix: args.inputPrefix ?? "" },
          { bucketArn: b.scripts.arn, prefix: "jobs/", list: false },
          { bucketArn: b.scripts.arn, prefix: "lib/", list: false },
        ],
        readWrite: [{ bucketArn: b.processed.arn }, { bucketArn: b.temp.arn }],
        kmsKeyArn: this.security.key.arn,
        extraStatements: args.extraStatements,
        tags: args.tags,
      },
      child,
    );

    const expanded = pulumi
      .all(this.bucketNames)
      .apply((names) =>
        expandAll(args.arguments ?? {}, names as Record<BucketPlaceholder, string>),
      );
    const jobArguments = Object.fromEntries(
      Object.keys(args.arguments ?? {}).map((k) => [k, expanded.apply((e) => e[k] ?? "")]),
    );

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
        arguments: jobArguments,
        bookmarks: args.bookmarks,
        tags: args.tags,
      },
      child,
    );

    this.registerOutputs({
      jobName: this.job.name,
      roleArn: this.role.arn,
      bucketNames: this.bucketNames,
      scriptLocation: this.job.scriptLocation,
    });
  }
}

function expandAll(
  args: Readonly<Record<string, string>>,
  buckets: Record<BucketPlaceholder, string>,
): Record<string, string> {
  return Object.fromEntries(
    Object.entries(args).map(([k, v]) => [k, expandPlaceholders(v, buckets)]),
  );
}
