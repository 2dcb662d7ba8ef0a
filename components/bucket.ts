import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { PolicyStatement, policyDocument } from "../lib/aws";

type LifecycleRule = aws.types.input.s3.BucketLifecycleConfigurationRule;

export interface SecureBucketArgs {
  /** Resource name of the bucket. Default `name`. */
  readonly bucketResourceName?: string;
  /** Physical bucket name starts with this; AWS adds a unique suffix. */
  readonly bucketPrefix: string;
  /** Whether `pulumi destroy` may empty the bucket. */
  readonly forceDestroy: boolean;
  readonly tags: Record<string, string>;
  /** Default encryption SSE-KMS with this key and an S3 bucket key. Default none: SSE-S3. */
  readonly kmsKeyArn?: pulumi.Input<string>;
  /** The bucket policy resource is named `${name}-${policyName}`. Default `tls-only`. */
  readonly policyName?: string;
  /** Statements the bucket policy has besides the TLS-only denials. Default none. */
  readonly extraStatements?: (
    bucketArn: pulumi.Output<string>,
    objectsArn: pulumi.Output<string>,
  ) => PolicyStatement[];
  /** Where the bucket logs its requests (server access logging). Default none. */
  readonly accessLog?: { readonly bucket: pulumi.Input<string>; readonly prefix: string };
  /** Versioning enabled. */
  readonly versioned: boolean;
  /** The bucket's lifecycle rules, in order (see the rule builders below). */
  readonly lifecycleRules: LifecycleRule[];
}

/**
 * A bucket locked down the way every bucket of the product is: owner-enforced, fully blocked from
 * public access, default-encrypted, reachable only over TLS 1.2 or later, with lifecycle rules;
 * optionally versioned and logging its requests. Companions are named `${name}-…`, children of
 * `parent`.
 */
export function secureBucket(
  parent: pulumi.Resource,
  name: string,
  args: SecureBucketArgs,
): aws.s3.Bucket {
  const child = { parent };
  const bucket = new aws.s3.Bucket(
    args.bucketResourceName ?? name,
    { bucketPrefix: args.bucketPrefix, forceDestroy: args.forceDestroy, tags: args.tags },
    child,
  );
  new aws.s3.BucketServerSideEncryptionConfiguration(
    `${name}-encryption`,
    {
      bucket: bucket.id,
      rules: [
        args.kmsKeyArn === undefined
          ? { applyServerSideEncryptionByDefault: { sseAlgorithm: "AES256" } }
          : {
              applyServerSideEncryptionByDefault: {
                sseAlgorithm: "aws:kms",
                kmsMasterKeyId: args.kmsKeyArn,
              },
              bucketKeyEnabled: true,
            },
      ],
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
  const denyUnless = (Sid: string, Condition: PolicyStatement["Condition"]): PolicyStatement => ({
    Sid,
    Effect: "Deny",
    Principal: "*",
    Action: "s3:*",
    Resource: [bucket.arn, objects],
    Condition,
  });
  new aws.s3.BucketPolicy(
    `${name}-${args.policyName ?? "tls-only"}`,
    {
      bucket: bucket.id,
      policy: policyDocument([
        denyUnless("DenyInsecureTransport", { Bool: { "aws:SecureTransport": "false" } }),
        denyUnless("DenyOutdatedTls", { NumericLessThan: { "s3:TlsVersion": "1.2" } }),
        ...(args.extraStatements?.(bucket.arn, objects) ?? []),
      ]),
    },
    // S3 rejects a bucket policy while the public access block is still being applied.
    { parent, dependsOn: [publicAccess] },
  );
  if (args.accessLog !== undefined) {
    new aws.s3.BucketLogging(
      `${name}-access-logging`,
      {
        bucket: bucket.id,
        targetBucket: args.accessLog.bucket,
        targetPrefix: args.accessLog.prefix,
        // Date partitions under the prefix, so logs can be queried by day.
        targetObjectKeyFormat: { partitionedPrefix: { partitionDateSource: "EventTime" } },
      },
      child,
    );
  }
  const versioning = args.versioned
    ? new aws.s3.BucketVersioning(
        `${name}-versioning`,
        { bucket: bucket.id, versioningConfiguration: { status: "Enabled" } },
        child,
      )
    : undefined;
  new aws.s3.BucketLifecycleConfiguration(
    `${name}-lifecycle`,
    { bucket: bucket.id, rules: args.lifecycleRules },
    // Lifecycle rules on noncurrent versions need versioning in place first.
    { parent, dependsOn: versioning ? [versioning] : [] },
  );
  return bucket;
}

/** Lifecycle rule `id` that deletes current objects `days` after they were written. */
export const expireObjects = (id: string, days: number): LifecycleRule => ({
  id,
  status: "Enabled",
  filter: {},
  expiration: { days },
});

/** Lifecycle rule that deletes replaced or deleted versions `days` after they became noncurrent. */
export const expireOldVersions = (days: number): LifecycleRule => ({
  id: "expire-old-versions",
  status: "Enabled",
  filter: {},
  noncurrentVersionExpiration: { noncurrentDays: days },
});

/** Lifecycle rule that aborts multipart uploads left incomplete for `days`. */
export const abortIncompleteUploads = (days: number): LifecycleRule => ({
  id: "abort-incomplete-uploads",
  status: "Enabled",
  filter: {},
  abortIncompleteMultipartUpload: { daysAfterInitiation: days },
});
