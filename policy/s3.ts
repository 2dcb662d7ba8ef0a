/**
 * S3 policies. With @pulumi/aws v7 a bucket's settings live on separate resources that name the
 * bucket (encryption, public access block, bucket policy, versioning), so every rule here is a
 * stack policy that joins each bucket with the settings pointing at it. The deprecated inline
 * settings of `aws.s3.Bucket` count too, but only where no separate resource exists.
 */
import { StackValidationPolicy } from "@pulumi/policy";
import {
  Plain,
  StackView,
  Subject,
  asObject,
  asString,
  asStrings,
  effectiveTags,
  isUnknown,
  list,
  listOf,
  parsePolicy,
  principals,
  stackPolicy,
  UNKNOWN,
  stringList,
} from "./lib";

export const BUCKET_TYPES = ["aws:s3/bucket:Bucket", "aws:s3/bucketV2:BucketV2"];
const ENCRYPTION_TYPES = [
  "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
  "aws:s3/bucketServerSideEncryptionConfigurationV2:BucketServerSideEncryptionConfigurationV2",
];
const PUBLIC_ACCESS_BLOCK_TYPES = ["aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock"];
const ACCOUNT_PUBLIC_ACCESS_BLOCK_TYPES = [
  "aws:s3/accountPublicAccessBlock:AccountPublicAccessBlock",
];
const BUCKET_POLICY_TYPES = ["aws:s3/bucketPolicy:BucketPolicy"];
const LOGGING_TYPES = [
  "aws:s3/bucketLogging:BucketLogging",
  "aws:s3/bucketLoggingV2:BucketLoggingV2",
];
const VERSIONING_TYPES = [
  "aws:s3/bucketVersioning:BucketVersioning",
  "aws:s3/bucketVersioningV2:BucketVersioningV2",
];

/** Properties by which a setting resource's `bucket` may name its bucket. */
const BUCKET_KEYS = ["id", "bucket"];

interface BucketSettings {
  /** Setting resources of the given types that point at each bucket, by bucket URN. */
  readonly of: (bucket: Subject) => Subject[];
  /** A setting's bucket is still unknown: a bucket without one may yet get it. */
  readonly unresolved: boolean;
}

function settingsByBucket(stack: StackView, types: readonly string[]): BucketSettings {
  const byBucket = new Map<string, Subject[]>();
  let unresolved = false;
  for (const setting of stack.ofType(types)) {
    const buckets = stack.targets(setting, "bucket", BUCKET_TYPES, BUCKET_KEYS);
    if (buckets.length === 0 && isUnknown(setting.props.bucket)) unresolved = true;
    for (const b of buckets) byBucket.set(b.urn, [...(byBucket.get(b.urn) ?? []), setting]);
  }
  return { of: (b) => byBucket.get(b.urn) ?? [], unresolved };
}

function bucketLabel(b: Subject): string {
  const physical = asString(b.props.bucket);
  return physical ? `Bucket "${b.name}" (${physical})` : `Bucket "${b.name}"`;
}

// ---------------------------------------------------------------------------------------------

interface EncryptionConfig {
  allowedAlgorithms: string[];
}

function sseAlgorithms(rules: Plain | undefined): (string | typeof UNKNOWN)[] {
  return listOf(rules).map((r) => {
    const alg = asObject(asObject(r)?.applyServerSideEncryptionByDefault)?.sseAlgorithm;
    return isUnknown(alg) ? UNKNOWN : (asString(alg) ?? "");
  });
}

export const s3BucketEncryption: StackValidationPolicy = stackPolicy<EncryptionConfig>({
  name: "s3-bucket-encryption",
  description:
    "Every S3 bucket has a server-side encryption configuration with an allowed default algorithm.",
  severity: "high",
  remediationSteps:
    "Add an aws.s3.BucketServerSideEncryptionConfiguration for the bucket whose rule sets " +
    "applyServerSideEncryptionByDefault.sseAlgorithm (aws:kms with a customer-managed key is best).",
  config: {
    allowedAlgorithms: {
      type: "array",
      items: { type: "string", enum: ["aws:kms", "aws:kms:dsse", "AES256"] },
      default: ["aws:kms", "aws:kms:dsse", "AES256"],
      description: "Default encryption algorithms allowed; drop AES256 to require KMS keys.",
    },
  },
  validate: (stack, config, report) => {
    const settings = settingsByBucket(stack, ENCRYPTION_TYPES);
    for (const bucket of stack.ofType(BUCKET_TYPES)) {
      const own = settings.of(bucket);
      const algorithms =
        own.length > 0
          ? own.flatMap((s) => sseAlgorithms(s.props.rules))
          : sseAlgorithms(asObject(bucket.props.serverSideEncryptionConfiguration)?.rule);
      if (algorithms.includes(UNKNOWN)) continue;
      if (algorithms.length === 0) {
        if (!settings.unresolved) {
          report(
            `${bucketLabel(bucket)} has no server-side encryption configuration: add an ` +
              `aws.s3.BucketServerSideEncryptionConfiguration for it with sseAlgorithm one of ` +
              `${list(config.allowedAlgorithms)}.`,
            bucket.urn,
          );
        }
        continue;
      }
      for (const alg of algorithms) {
        if (typeof alg === "string" && !config.allowedAlgorithms.includes(alg)) {
          report(
            `${bucketLabel(bucket)} has default encryption sseAlgorithm "${alg}"; allowed: ` +
              `${list(config.allowedAlgorithms)}.`,
            bucket.urn,
          );
        }
      }
    }
  },
});

// ---------------------------------------------------------------------------------------------

const BLOCK_FLAGS = [
  "blockPublicAcls",
  "blockPublicPolicy",
  "ignorePublicAcls",
  "restrictPublicBuckets",
] as const;

/** Flags of a public access block that are not `true`; UNKNOWN while any is being computed. */
function openFlags(block: Subject): string[] | typeof UNKNOWN {
  if (BLOCK_FLAGS.some((f) => isUnknown(block.props[f]))) return UNKNOWN;
  return BLOCK_FLAGS.filter((f) => block.props[f] !== true);
}

export const s3PublicAccessBlocked: StackValidationPolicy = stackPolicy<Record<string, never>>({
  name: "s3-public-access-blocked",
  description:
    "Every S3 bucket has a public access block with all four settings on (or the account has one).",
  severity: "critical",
  remediationSteps:
    "Add an aws.s3.BucketPublicAccessBlock for the bucket with blockPublicAcls, blockPublicPolicy, " +
    "ignorePublicAcls and restrictPublicBuckets all true.",
  config: {},
  validate: (stack, _config, report) => {
    // An account-wide block with every flag on covers every bucket of the account.
    const account = stack.ofType(ACCOUNT_PUBLIC_ACCESS_BLOCK_TYPES);
    if (account.some((a) => Array.isArray(openFlags(a)) && (openFlags(a) as string[]).length === 0))
      return;
    const settings = settingsByBucket(stack, PUBLIC_ACCESS_BLOCK_TYPES);
    for (const bucket of stack.ofType(BUCKET_TYPES)) {
      const blocks = settings.of(bucket);
      if (blocks.length === 0) {
        if (!settings.unresolved) {
          report(
            `${bucketLabel(bucket)} has no public access block: add an aws.s3.BucketPublicAccessBlock ` +
              `for it with ${BLOCK_FLAGS.join(", ")} all true.`,
            bucket.urn,
          );
        }
        continue;
      }
      for (const block of blocks) {
        const open = openFlags(block);
        if (open !== UNKNOWN && open.length > 0) {
          report(
            `${bucketLabel(bucket)}: public access block "${block.name}" does not set ${open.join(", ")} ` +
              `to true; all four of ${BLOCK_FLAGS.join(", ")} must be true.`,
            bucket.urn,
          );
        }
      }
    }
  },
});

// ---------------------------------------------------------------------------------------------

/** `aws:SecureTransport` = false under Bool or BoolIfExists, in any letter case. */
function deniesInsecureTransport(condition: Record<string, Plain> | undefined): boolean {
  for (const [operator, clause] of Object.entries(condition ?? {})) {
    if (!/^bool(ifexists)?$/i.test(operator)) continue;
    for (const [key, value] of Object.entries(asObject(clause) ?? {})) {
      if (key.toLowerCase() !== "aws:securetransport") continue;
      if (asStrings(value).some((v) => v.toLowerCase() === "false") || value === false) return true;
    }
  }
  return false;
}

function coversAllActions(actions: string[]): boolean {
  return actions.some((a) => a === "*" || a.toLowerCase() === "s3:*");
}

/** A statement's resources cover the bucket's objects: `*`, `arn:…:s3:::<name>/*` or `arn:…:s3:::*`. */
function coversObjects(resources: string[], bucketName: string | undefined): boolean {
  return resources.some((r) => {
    if (r === "*" || /^arn:[^:]+:s3:::\*$/.test(r)) return true;
    if (bucketName === undefined) return r.endsWith("/*");
    return new RegExp(
      `^arn:[^:]+:s3:::${bucketName.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}/\\*$`,
    ).test(r);
  });
}

function isTlsOnly(
  policy: Plain | undefined,
  bucketName: string | undefined,
): boolean | typeof UNKNOWN {
  const statements = parsePolicy(policy);
  if (statements === UNKNOWN) return UNKNOWN;
  if (statements === undefined || statements === "invalid") return false;
  return statements.some(
    (s) =>
      s.effect === "Deny" &&
      principals(s.principal).some((p) => p.kind === "AWS" && p.value === "*") &&
      coversAllActions(s.actions) &&
      coversObjects(s.resources, bucketName) &&
      deniesInsecureTransport(s.condition),
  );
}

export const s3TlsOnly: StackValidationPolicy = stackPolicy<Record<string, never>>({
  name: "s3-tls-only",
  description:
    "Every S3 bucket has a bucket policy that denies `s3:*` to everyone when `aws:SecureTransport` is false.",
  severity: "high",
  remediationSteps:
    'Add an aws.s3.BucketPolicy with a statement { Effect: "Deny", Principal: "*", Action: "s3:*", ' +
    'Resource: [bucketArn, bucketArn + "/*"], Condition: { Bool: { "aws:SecureTransport": "false" } } }.',
  config: {},
  validate: (stack, _config, report) => {
    const settings = settingsByBucket(stack, BUCKET_POLICY_TYPES);
    for (const bucket of stack.ofType(BUCKET_TYPES)) {
      const name = asString(bucket.props.bucket);
      const policies = settings.of(bucket).map((p) => p.props.policy);
      if (policies.length === 0 && bucket.props.policy !== undefined)
        policies.push(bucket.props.policy);
      const verdicts = policies.map((p) => isTlsOnly(p, name));
      if (verdicts.includes(UNKNOWN) || verdicts.includes(true)) continue;
      if (policies.length === 0 && settings.unresolved) continue;
      report(
        policies.length === 0
          ? `${bucketLabel(bucket)} has no bucket policy: add an aws.s3.BucketPolicy that denies s3:* ` +
              `to Principal "*" on the bucket and its objects when aws:SecureTransport is "false".`
          : `${bucketLabel(bucket)}: its bucket policy has no statement that denies s3:* to Principal "*" ` +
              `on the bucket's objects when aws:SecureTransport is "false".`,
        bucket.urn,
      );
    }
  },
});

// ---------------------------------------------------------------------------------------------

interface VersioningConfig {
  dataClassTag: string;
  versionedDataClasses: string[];
  versionedNamePatterns: string[];
}

export const s3DataBucketVersioning: StackValidationPolicy = stackPolicy<VersioningConfig>({
  name: "s3-data-bucket-versioning",
  description:
    "Data buckets (by their data-class tag, or a name pattern) have versioning enabled, so data " +
    "survives a bad run or a mistaken delete.",
  severity: "medium",
  remediationSteps:
    'Add an aws.s3.BucketVersioning for the bucket with versioningConfiguration.status "Enabled".',
  config: {
    dataClassTag: {
      type: "string",
      default: "data-class",
      description: "Tag whose value says what a bucket holds (raw, processed, scripts, temp).",
    },
    versionedDataClasses: stringList(
      "Values of the data-class tag that mark a bucket as a data bucket.",
      ["raw", "processed"],
    ),
    versionedNamePatterns: stringList(
      "Regular expressions over the bucket's physical or logical name that also mark a data bucket.",
    ),
  },
  validate: (stack, config, report) => {
    const patterns = config.versionedNamePatterns.map((p) => new RegExp(p));
    const settings = settingsByBucket(stack, VERSIONING_TYPES);
    for (const bucket of stack.ofType(BUCKET_TYPES)) {
      const tags = effectiveTags(bucket);
      if (tags === UNKNOWN) continue;
      const dataClass = tags[config.dataClassTag];
      const names = [
        bucket.name,
        asString(bucket.props.bucket) ?? "",
        asString(bucket.props.bucketPrefix) ?? "",
      ];
      const byTag = dataClass !== undefined && config.versionedDataClasses.includes(dataClass);
      const byName = patterns.some((re) => names.some((n) => n !== "" && re.test(n)));
      if (!byTag && !byName) continue;
      const why = byTag ? `${config.dataClassTag}=${dataClass}` : "its name marks a data bucket";
      const own = settings.of(bucket);
      const statuses = own.map((v) => asObject(v.props.versioningConfiguration)?.status);
      if (statuses.some(isUnknown)) continue;
      if (statuses.length === 0) {
        if (asObject(bucket.props.versioning)?.enabled === true || settings.unresolved) continue;
        report(
          `${bucketLabel(bucket)} (${why}) has no versioning: add an aws.s3.BucketVersioning for it ` +
            `with versioningConfiguration.status "Enabled".`,
          bucket.urn,
        );
      } else if (!statuses.includes("Enabled")) {
        report(
          `${bucketLabel(bucket)} (${why}) has versioning status ${statuses.map((s) => JSON.stringify(s ?? null)).join(", ")}; ` +
            `data buckets need "Enabled".`,
          bucket.urn,
        );
      }
    }
  },
});

// ---------------------------------------------------------------------------------------------

interface AccessLoggingConfig {
  dataClassTag: string;
  exemptDataClasses: string[];
  exemptBucketNamePatterns: string[];
}

export const s3AccessLogging: StackValidationPolicy = stackPolicy<AccessLoggingConfig>({
  name: "s3-access-logging",
  description:
    "Every S3 bucket logs its requests (server access logging) to another bucket, except the buckets that " +
    "receive access logs, which would log into themselves.",
  severity: "medium",
  remediationSteps:
    "Add an aws.s3.BucketLogging for the bucket with targetBucket a dedicated log bucket (SSE-S3, versioned, " +
    "with a bucket policy letting logging.s3.amazonaws.com PutObject for your account's buckets) and a targetPrefix.",
  config: {
    dataClassTag: {
      type: "string",
      default: "data-class",
      description: "Tag whose value says what a bucket holds.",
    },
    exemptDataClasses: stringList(
      "Values of the data-class tag of log buckets, which need no access logging.",
      ["access-logs"],
    ),
    exemptBucketNamePatterns: stringList(
      "Regular expressions over a bucket's physical or logical name that exempt it.",
    ),
  },
  validate: (stack, config, report) => {
    const patterns = config.exemptBucketNamePatterns.map((p) => new RegExp(p));
    const settings = settingsByBucket(stack, LOGGING_TYPES);
    // A bucket that receives another bucket's logs is a log bucket.
    const logTargets = new Set(
      stack.ofType(LOGGING_TYPES).flatMap((l) => {
        const sources = stack.targets(l, "bucket", BUCKET_TYPES, BUCKET_KEYS).map((b) => b.urn);
        return stack
          .targets(l, "targetBucket", BUCKET_TYPES, BUCKET_KEYS)
          .map((b) => b.urn)
          .filter((urn) => !sources.includes(urn));
      }),
    );
    for (const bucket of stack.ofType(BUCKET_TYPES)) {
      const tags = effectiveTags(bucket);
      if (tags === UNKNOWN) continue;
      const names = [bucket.name, asString(bucket.props.bucket) ?? ""].filter((n) => n !== "");
      if (
        logTargets.has(bucket.urn) ||
        config.exemptDataClasses.includes(tags[config.dataClassTag] ?? "\0") ||
        patterns.some((re) => names.some((n) => re.test(n)))
      )
        continue;
      const own = settings.of(bucket);
      const targets = own.map((l) => l.props.targetBucket);
      if (targets.some(isUnknown)) continue;
      const inline = asObject(listOf(bucket.props.loggings)[0] ?? bucket.props.logging);
      if (own.length === 0 && inline?.targetBucket !== undefined) continue;
      if (own.length === 0) {
        if (settings.unresolved) continue;
        report(
          `${bucketLabel(bucket)} has no server access logging: add an aws.s3.BucketLogging for it with ` +
            `targetBucket a log bucket of this account and a targetPrefix.`,
          bucket.urn,
        );
        continue;
      }
      const self = asString(bucket.props.bucket);
      for (const target of targets.map((t) => asString(t))) {
        if (!target || target === self) {
          report(
            `${bucketLabel(bucket)} logs its requests to ${target ? "itself" : "no targetBucket"}; ` +
              `deliver them to a separate log bucket (a bucket logging into itself logs its own log writes).`,
            bucket.urn,
          );
        }
      }
    }
  },
});

export const s3Policies = [
  s3BucketEncryption,
  s3PublicAccessBlocked,
  s3TlsOnly,
  s3DataBucketVersioning,
  s3AccessLogging,
];
