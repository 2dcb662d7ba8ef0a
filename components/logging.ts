import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { awsContext } from "../lib/aws";
import { abortIncompleteUploads, expireObjects, expireOldVersions, secureBucket } from "./bucket";

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
    this.bucket = secureBucket(this, name, {
      bucketResourceName: `${name}-bucket`,
      bucketPrefix: args.namePrefix,
      forceDestroy: false,
      tags: { ...args.tags, "data-class": ACCESS_LOGS_DATA_CLASS },
      policyName: "policy",
      extraStatements: (_bucketArn, objects) => [
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
      ],
      versioned: true,
      lifecycleRules: [
        expireObjects("expire-access-logs", days),
        expireOldVersions(30),
        abortIncompleteUploads(7),
      ],
    });
    const bucket = this.bucket;
    this.bucketName = bucket.bucket;
    this.registerOutputs({ bucketName: this.bucketName });
  }
}
