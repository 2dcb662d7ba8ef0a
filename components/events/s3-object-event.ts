/**
 * What both ways of starting a run from a new S3 object share: which objects count (bucket,
 * prefix, suffix), the EventBridge pattern that matches them, and the check of the key filter.
 */
import * as pulumi from "@pulumi/pulumi";
import { Tags } from "../../lib/tags";

/**
 * The EventBridge pattern for "an object was created in this bucket under prefix…suffix, and is
 * not empty". Several suffixes match keys ending with any of them.
 */
export function objectCreatedPattern(
  bucket: string,
  prefix = "",
  suffix: string | readonly string[] = "",
): Record<string, unknown> {
  const suffixes = (typeof suffix === "string" ? [suffix] : [...suffix]).filter((x) => x !== "");
  // EventBridge matches one key by prefix OR suffix; both at once need a wildcard pattern. Items
  // of one key's list are alternatives.
  const escape = (s: string) => s.replace(/[\\*]/g, (c) => `\\${c}`);
  const key =
    prefix && suffixes.length
      ? suffixes.map((x) => ({ wildcard: `${escape(prefix)}*${escape(x)}` }))
      : prefix
        ? [{ prefix }]
        : suffixes.length
          ? suffixes.map((x) => ({ suffix: x }))
          : undefined;
  return {
    source: ["aws.s3"],
    "detail-type": ["Object Created"],
    detail: {
      bucket: { name: [bucket] },
      object: { ...(key ? { key } : {}), size: [{ numeric: [">", 0] }] },
    },
  };
}

/** Refuses a prefix or suffix that no S3 key can have, naming the component. */
export function checkKeyFilter(
  owner: string,
  prefix: string | undefined,
  suffix: string | readonly string[] | undefined,
): void {
  const suffixes = typeof suffix === "string" || suffix === undefined ? [suffix] : suffix;
  for (const [field, v] of [
    ["prefix", prefix] as const,
    ...suffixes.map((x) => ["suffix", x] as const),
  ]) {
    if (v !== undefined && (v.startsWith("/") || v.length > 1024)) {
      throw new Error(
        `${owner}: ${field} ${JSON.stringify(v)} is not allowed: S3 keys have no leading "/" and are at most 1024 characters`,
      );
    }
  }
}

/** The objects whose creation starts something, and what both ways of starting share. */
export interface S3ObjectEventArgs {
  /** Bucket whose new objects start the run. */
  readonly bucketName: pulumi.Input<string>;
  /** Only keys starting with this, e.g. `manifests/`. Default "" (all keys). */
  readonly prefix?: string;
  /** Only keys ending with this, e.g. `manifest.json`. Default "" (all keys). */
  readonly suffix?: string;
  /**
   * Declare the bucket's notification configuration. Default true; set false when another
   * resource manages this bucket's notifications (S3 allows one configuration per bucket).
   */
  readonly manageBucketNotification?: boolean;
  /** Tags for every taggable resource. Default none. */
  readonly tags?: Tags;
}
