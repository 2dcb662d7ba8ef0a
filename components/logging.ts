import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { awsContext, policyDocument } from "../lib/aws";

/** The `data-class` tag of the log bucket; policies exempt it from logging into itself. */
export const ACCESS_LOGS_DATA_CLASS = "access-logs";

export interface AccessLogBucketArgs {
  /** Physical bucket name starts with this (e.g. `glue-etl-dev-logs-`); AWS adds a unique suffix. */
  readonly namePrefix: string;
  /**
   * Only buckets whose names start with this may deliver logs here (the `aws:SourceArn`
   * condition), e.g. `glue-etl-dev-`.
   */
  readonly sourceBucketPrefix: string;
  /** Days access log objects are kept. Default 365. */
  readonly expirationDays?: number;
  readonly tags: Record<string, string>;
}

/**
 * One bucket per stack that receives the S3 server access logs of every pipeline bucket. Locked
 * down like the data buckets (owner-enforced, public access blocked, TLS-only, versioned), except
 * for its encryption: S3 server access log delivery supports SSE-S3 as the target bucket's default
 * encryption, not SSE-KMS. Only S3's logging service, for buckets of this account and stack, may
 * write to it; logs expire after `expirationDays`.
 */
export class AccessLogBucket extends pulumi.ComponentResource {
  public readonly bucket: aws.s3.Bucket;
  public readonly bucketName: pulumi.Output<string>;

  constructor(name: string, args: AccessLogBucketArgs, opts?: pulumi.ComponentResourceOptions) {
    super("glue-etl:logging:AccessLogBucket", name, {}, opts);
    const days = args.expirationDays ?? 365;
    if (!Number.isInteger(days) || days < 1) {
      throw new Error(
        `${name}: expirationDays got ${days}; allowed: a whole number of days, 1 or more`,
      );
    }
    const { accountId, partition } = awsContext(this);
    const child = { parent: this };
    this.bucket = new aws.s3.Bucket(
      `${name}-bucket`,
      {
        bucketPrefix: args.namePrefix,
        forceDestroy: false,
        tags: { ...args.tags, "data-class": ACCESS_LOGS_DATA_CLASS },
      },
      child,
    );
    const bucket = this.bucket;
    new aws.s3.BucketServerSideEncryptionConfiguration(
      `${name}-encryption`,
      {
        bucket: bucket.id,
        rules: [{ applyServerSideEncryptionByDefault: { sseAlgorithm: "AES256" } }],
      },
      child,
    );
    new aws.s3.BucketOwnershipControls(
      `${name}-ownership`,
      { bucket: bucket.id, rule: { objectOwnership: "BucketOwnerEnforced" } },
      child,
    );
    const publicAccess = new aws.s3.BucketPublicAccessBlock(
      `${name}-public-access`,
      {
        bucket: bucket.id,
        blockPublicAcls: true,
        blockPublicPolicy: true,
        ignorePublicAcls: true,
        restrictPublicBuckets: true,
      },
      child,
    );
    const objects = pulumi.interpolate`${bucket.arn}/*`;
    new aws.s3.BucketPolicy(
      `${name}-policy`,
      {
        bucket: bucket.id,
        policy: policyDocument([
          {
            Sid: "DenyInsecureTransport",
            Effect: "Deny",
            Principal: "*",
            Action: "s3:*",
            Resource: [bucket.arn, objects],
            Condition: { Bool: { "aws:SecureTransport": "false" } },
          },
          {
            Sid: "DenyOutdatedTls",
            Effect: "Deny",
            Principal: "*",
            Action: "s3:*",
            Resource: [bucket.arn, objects],
            Condition: { NumericLessThan: { "s3:TlsVersion": "1.2" } },
          },
          {
            // With owner-enforced ownership, log delivery is granted here, not by ACLs.
            Sid: "S3ServerAccessLogDelivery",
            Effect: "Allow",
            Principal: { Service: "logging.s3.amazonaws.com" },
            Action: "s3:PutObject",
            Resource: objects,
            Condition: {
              StringEquals: { "aws:SourceAccount": accountId },
              ArnLike: {
                "aws:SourceArn": pulumi.interpolate`arn:${partition}:s3:::${args.sourceBucketPrefix}*`,
              },
            },
          },
        ]),
      },
      // S3 rejects a bucket policy while the public access block is still being applied.
      { parent: this, dependsOn: [publicAccess] },
    );
    const versioning = new aws.s3.BucketVersioning(
      `${name}-versioning`,
      { bucket: bucket.id, versioningConfiguration: { status: "Enabled" } },
      child,
    );
    new aws.s3.BucketLifecycleConfiguration(
      `${name}-lifecycle`,
      {
        bucket: bucket.id,
        rules: [
          { id: "expire-access-logs", status: "Enabled", filter: {}, expiration: { days } },
          {
            id: "expire-old-versions",
            status: "Enabled",
            filter: {},
            noncurrentVersionExpiration: { noncurrentDays: 30 },
          },
          {
            id: "abort-incomplete-uploads",
            status: "Enabled",
            filter: {},
            abortIncompleteMultipartUpload: { daysAfterInitiation: 7 },
          },
        ],
      },
      // Lifecycle rules on noncurrent versions need versioning in place first.
      { parent: this, dependsOn: [versioning] },
    );
    this.bucketName = bucket.bucket;
    this.registerOutputs({ bucketName: this.bucketName });
  }
}
