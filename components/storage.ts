import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { policyDocument } from "../lib/aws";

/** What a bucket holds; also its `data-class` tag, which policies key on. */
export type BucketPurpose = "raw" | "processed" | "scripts" | "temp";
export const BUCKET_PURPOSES: readonly BucketPurpose[] = ["raw", "processed", "scripts", "temp"];

export interface PipelineStorageArgs {
  /** Physical bucket names start with this (e.g. `glue-etl-dev-genomics`); AWS adds a unique suffix. */
  readonly namePrefix: string;
  /** KMS key for default bucket encryption (SSE-KMS with an S3 bucket key). */
  readonly kmsKeyArn: pulumi.Input<string>;
  /** Days before temp objects expire. Default 7. */
  readonly tempExpirationDays?: number;
  /**
   * Bucket (name) that receives the S3 server access logs of every bucket here, under
   * `<namePrefix>/<purpose>/` (see AccessLogBucket). Default none: no access logging.
   */
  readonly accessLogBucket?: pulumi.Input<string>;
  readonly tags: Record<string, string>;
}

/** Days a replaced or deleted version of raw/processed data is kept. */
const NONCURRENT_VERSION_DAYS = 30;

/** Versioned buckets keep data that must survive a bad run or a mistaken delete. */
const VERSIONED: Record<BucketPurpose, boolean> = {
  raw: true,
  processed: true,
  scripts: true,
  temp: false,
};
// Scratch and program-managed buckets may be emptied on `pulumi destroy`; data buckets may not.
const FORCE_DESTROY: Record<BucketPurpose, boolean> = {
  raw: false,
  processed: false,
  scripts: true,
  temp: true,
};
// bucketPrefix leaves room for the provider's 26-character unique suffix within S3's 63.
const MAX_BUCKET_PREFIX = 37;

/**
 * The buckets of one pipeline: raw input, processed output, job scripts and temp. Every bucket is
 * SSE-KMS encrypted, owner-enforced, fully blocked from public access, TLS-only and logs its
 * requests to the stack's access log bucket; data buckets are versioned; temp data expires.
 */
export class PipelineStorage extends pulumi.ComponentResource {
  public readonly buckets: Readonly<Record<BucketPurpose, aws.s3.Bucket>>;

  constructor(name: string, args: PipelineStorageArgs, opts?: pulumi.ComponentResourceOptions) {
    super("glue-etl:storage:PipelineStorage", name, {}, opts);
    const tempDays = args.tempExpirationDays ?? 7;
    const buckets = {} as Record<BucketPurpose, aws.s3.Bucket>;
    for (const purpose of BUCKET_PURPOSES) {
      buckets[purpose] = this.secureBucket(name, purpose, args, tempDays);
    }
    this.buckets = buckets;
    this.registerOutputs({
      bucketNames: Object.fromEntries(BUCKET_PURPOSES.map((p) => [p, buckets[p].bucket])),
    });
  }

  private secureBucket(
    name: string,
    purpose: BucketPurpose,
    args: PipelineStorageArgs,
    tempDays: number,
  ): aws.s3.Bucket {
    const prefix = `${args.namePrefix}-${purpose}-`;
    if (prefix.length > MAX_BUCKET_PREFIX) {
      throw new Error(
        `Bucket prefix "${prefix}" is ${prefix.length} characters; S3 allows at most ${MAX_BUCKET_PREFIX} ` +
          `before the unique suffix. Use a shorter pipeline or environment name.`,
      );
    }
    const id = `${name}-${purpose}`;
    const child = { parent: this };
    const bucket = new aws.s3.Bucket(
      id,
      {
        bucketPrefix: prefix,
        forceDestroy: FORCE_DESTROY[purpose],
        tags: { ...args.tags, "data-class": purpose },
      },
      child,
    );
    const onBucket = { parent: this };
    new aws.s3.BucketServerSideEncryptionConfiguration(
      `${id}-encryption`,
      {
        bucket: bucket.id,
        rules: [
          {
            applyServerSideEncryptionByDefault: {
              sseAlgorithm: "aws:kms",
              kmsMasterKeyId: args.kmsKeyArn,
            },
            bucketKeyEnabled: true,
          },
        ],
      },
      onBucket,
    );
    new aws.s3.BucketOwnershipControls(
      `${id}-ownership`,
      { bucket: bucket.id, rule: { objectOwnership: "BucketOwnerEnforced" } },
      onBucket,
    );
    const publicAccess = new aws.s3.BucketPublicAccessBlock(
      `${id}-public-access`,
      {
        bucket: bucket.id,
        blockPublicAcls: true,
        blockPublicPolicy: true,
        ignorePublicAcls: true,
        restrictPublicBuckets: true,
      },
      onBucket,
    );
    new aws.s3.BucketPolicy(
      `${id}-tls-only`,
      {
        bucket: bucket.id,
        policy: policyDocument([
          {
            Sid: "DenyInsecureTransport",
            Effect: "Deny",
            Principal: "*",
            Action: "s3:*",
            Resource: [bucket.arn, pulumi.interpolate`${bucket.arn}/*`],
            Condition: { Bool: { "aws:SecureTransport": "false" } },
          },
          {
            Sid: "DenyOutdatedTls",
            Effect: "Deny",
            Principal: "*",
            Action: "s3:*",
            Resource: [bucket.arn, pulumi.interpolate`${bucket.arn}/*`],
            Condition: { NumericLessThan: { "s3:TlsVersion": "1.2" } },
          },
        ]),
      },
      // S3 rejects a bucket policy while the public access block is still being applied.
      { parent: this, dependsOn: [publicAccess] },
    );
    if (args.accessLogBucket !== undefined) {
      new aws.s3.BucketLogging(
        `${id}-access-logging`,
        {
          bucket: bucket.id,
          targetBucket: args.accessLogBucket,
          targetPrefix: `${args.namePrefix}/${purpose}/`,
          // Date partitions under the prefix, so logs can be queried by day.
          targetObjectKeyFormat: { partitionedPrefix: { partitionDateSource: "EventTime" } },
        },
        onBucket,
      );
    }
    const versioned = VERSIONED[purpose];
    let versioning: aws.s3.BucketVersioning | undefined;
    if (versioned) {
      versioning = new aws.s3.BucketVersioning(
        `${id}-versioning`,
        { bucket: bucket.id, versioningConfiguration: { status: "Enabled" } },
        onBucket,
      );
    }
    const rules: aws.types.input.s3.BucketLifecycleConfigurationRule[] = [
      {
        id: "abort-incomplete-uploads",
        status: "Enabled",
        filter: {},
        abortIncompleteMultipartUpload: { daysAfterInitiation: purpose === "temp" ? 1 : 7 },
      },
    ];
    if (purpose === "temp") {
      rules.push({
        id: "expire-temp-data",
        status: "Enabled",
        filter: {},
        expiration: { days: tempDays },
      });
    }
    if (versioned) {
      rules.push({
        id: "expire-old-versions",
        status: "Enabled",
        filter: {},
        noncurrentVersionExpiration: {
          noncurrentDays: purpose === "scripts" ? 90 : NONCURRENT_VERSION_DAYS,
        },
      });
    }
    new aws.s3.BucketLifecycleConfiguration(
      `${id}-lifecycle`,
      { bucket: bucket.id, rules },
      // Lifecycle rules on noncurrent versions need versioning in place first.
      { parent: this, dependsOn: versioning ? [versioning] : [] },
    );
    return bucket;
  }
}
