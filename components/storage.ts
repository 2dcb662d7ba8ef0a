import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { abortIncompleteUploads, expireObjects, expireOldVersions, secureBucket } from "./bucket";

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
    const versioned = VERSIONED[purpose];
    const rules = [abortIncompleteUploads(purpose === "temp" ? 1 : 7)];
    if (purpose === "temp") rules.push(expireObjects("expire-temp-data", tempDays));
    if (versioned) {
      rules.push(expireOldVersions(purpose === "scripts" ? 90 : NONCURRENT_VERSION_DAYS));
    }
    return secureBucket(this, `${name}-${purpose}`, {
      bucketPrefix: prefix,
      forceDestroy: FORCE_DESTROY[purpose],
      tags: { ...args.tags, "data-class": purpose },
      kmsKeyArn: args.kmsKeyArn,
      accessLog:
        args.accessLogBucket === undefined
          ? undefined
          : { bucket: args.accessLogBucket, prefix: `${args.namePrefix}/${purpose}/` },
      versioned,
      lifecycleRules: rules,
    });
  }
}
