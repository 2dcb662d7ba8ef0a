import { expect } from "chai";
import {
  s3AccessLogging,
  s3BucketEncryption,
  s3DataBucketVersioning,
  s3PublicAccessBlocked,
  s3TlsOnly,
} from "../../policy/s3";
import { checkStack, unknown, urnOf } from "./harness";
import { T, bucket, policyJson, spec } from "./fixtures";

const sse = (of: string, sseAlgorithm = "aws:kms") =>
  spec(T.encryption, `${of}-encryption`, {
    bucket: `${of}-phys`,
    rules: [{ applyServerSideEncryptionByDefault: { sseAlgorithm }, bucketKeyEnabled: true }],
  });
const block = (of: string, flags: Record<string, boolean> = {}) =>
  spec(T.publicAccess, `${of}-public-access`, {
    bucket: `${of}-phys`,
    blockPublicAcls: true,
    blockPublicPolicy: true,
    ignorePublicAcls: true,
    restrictPublicBuckets: true,
    ...flags,
  });
const denyInsecure = (
  of: string,
  condition: object = { Bool: { "aws:SecureTransport": "false" } },
) => ({
  Sid: "DenyInsecureTransport",
  Effect: "Deny",
  Principal: "*",
  Action: "s3:*",
  Resource: [`arn:aws:s3:::${of}-phys`, `arn:aws:s3:::${of}-phys/*`],
  Condition: condition,
});
const tlsPolicy = (of: string, ...statements: object[]) =>
  spec(T.bucketPolicy, `${of}-tls-only`, {
    bucket: `${of}-phys`,
    policy: policyJson(...statements),
  });
const versioning = (of: string, status = "Enabled") =>
  spec(T.versioning, `${of}-versioning`, {
    bucket: `${of}-phys`,
    versioningConfiguration: { status },
  });
const logging = (of: string, target = "logs") =>
  spec(T.logging, `${of}-access-logging`, {
    bucket: `${of}-phys`,
    targetBucket: `${target}-phys`,
    targetPrefix: `${of}/`,
  });

describe("s3-bucket-encryption", () => {
  it("passes a bucket with an SSE-KMS configuration that names it", async () => {
    const { violations } = await checkStack(s3BucketEncryption, [bucket("raw"), sse("raw")]);
    expect(violations).to.deep.equal([]);
  });

  it("joins by property dependency while the bucket id is unknown during a preview", async () => {
    const pending = {
      ...sse("raw"),
      props: { ...sse("raw").props, bucket: unknown() },
      propertyDependencies: { bucket: ["raw"] },
    };
    const out = await checkStack(s3BucketEncryption, [bucket("raw"), pending, bucket("other")]);
    expect(out.cannotRun).to.equal(undefined);
    expect(out.violations.map((v) => v.urn)).to.deep.equal([urnOf(T.bucket, "other")]);
  });

  it("fails a bucket without one, naming the bucket and the algorithms allowed", async () => {
    const { violations } = await checkStack(s3BucketEncryption, [
      bucket("raw"),
      sse("raw"),
      bucket("processed"),
    ]);
    expect(violations).to.deep.equal([
      {
        policy: "s3-bucket-encryption",
        urn: urnOf(T.bucket, "processed"),
        message:
          'Bucket "processed" (processed-phys) has no server-side encryption configuration: add an ' +
          "aws.s3.BucketServerSideEncryptionConfiguration for it with sseAlgorithm one of aws:kms, aws:kms:dsse, AES256.",
      },
    ]);
  });

  it("fails an algorithm the config does not allow", async () => {
    const { violations } = await checkStack(
      s3BucketEncryption,
      [bucket("raw"), sse("raw", "AES256")],
      {
        config: { allowedAlgorithms: ["aws:kms"] },
      },
    );
    expect(violations.map((v) => v.message)).to.deep.equal([
      'Bucket "raw" (raw-phys) has default encryption sseAlgorithm "AES256"; allowed: aws:kms.',
    ]);
  });

  it("accepts the deprecated inline configuration when no separate resource exists", async () => {
    const inline = bucket("raw", "raw", {
      serverSideEncryptionConfiguration: {
        rule: { applyServerSideEncryptionByDefault: { sseAlgorithm: "aws:kms" } },
      },
    });
    expect((await checkStack(s3BucketEncryption, [inline])).violations).to.deep.equal([]);
  });

  it("does not guess while a configuration's bucket is unknown and untraceable", async () => {
    const pending = { ...sse("raw"), props: { ...sse("raw").props, bucket: unknown() } };
    const out = await checkStack(s3BucketEncryption, [bucket("raw"), pending]);
    expect(out).to.deep.equal({ violations: [] });
  });
});

describe("s3-public-access-blocked", () => {
  it("passes a bucket with all four settings on", async () => {
    expect(
      (await checkStack(s3PublicAccessBlocked, [bucket("raw"), block("raw")])).violations,
    ).to.deep.equal([]);
  });

  it("fails a bucket with no public access block", async () => {
    const { violations } = await checkStack(s3PublicAccessBlocked, [bucket("raw")]);
    expect(violations.map((v) => v.message)).to.deep.equal([
      'Bucket "raw" (raw-phys) has no public access block: add an aws.s3.BucketPublicAccessBlock for it with ' +
        "blockPublicAcls, blockPublicPolicy, ignorePublicAcls, restrictPublicBuckets all true.",
    ]);
  });

  it("fails a block that leaves a setting off, naming it", async () => {
    const { violations } = await checkStack(s3PublicAccessBlocked, [
      bucket("raw"),
      block("raw", { restrictPublicBuckets: false, ignorePublicAcls: false }),
    ]);
    expect(violations.map((v) => v.message)).to.deep.equal([
      'Bucket "raw" (raw-phys): public access block "raw-public-access" does not set ignorePublicAcls, ' +
        "restrictPublicBuckets to true; all four of blockPublicAcls, blockPublicPolicy, ignorePublicAcls, " +
        "restrictPublicBuckets must be true.",
    ]);
  });

  it("passes every bucket when the account blocks public access entirely", async () => {
    const account = spec(T.accountPublicAccess, "account", {
      blockPublicAcls: true,
      blockPublicPolicy: true,
      ignorePublicAcls: true,
      restrictPublicBuckets: true,
    });
    expect(
      (await checkStack(s3PublicAccessBlocked, [bucket("raw"), account])).violations,
    ).to.deep.equal([]);
  });
});

describe("s3-tls-only", () => {
  it("passes a bucket policy denying s3:* without TLS on the bucket and its objects", async () => {
    const stack = [bucket("raw"), tlsPolicy("raw", denyInsecure("raw"))];
    expect((await checkStack(s3TlsOnly, stack)).violations).to.deep.equal([]);
  });

  it("fails a bucket without a bucket policy", async () => {
    const { violations } = await checkStack(s3TlsOnly, [bucket("raw")]);
    expect(violations.map((v) => v.message)).to.deep.equal([
      'Bucket "raw" (raw-phys) has no bucket policy: add an aws.s3.BucketPolicy that denies s3:* to Principal "*" ' +
        'on the bucket and its objects when aws:SecureTransport is "false".',
    ]);
  });

  it("fails a policy whose deny has no SecureTransport condition", async () => {
    const stack = [
      bucket("raw"),
      tlsPolicy("raw", denyInsecure("raw", { NumericLessThan: { "s3:TlsVersion": "1.2" } })),
    ];
    const { violations } = await checkStack(s3TlsOnly, stack);
    expect(violations.map((v) => v.message)).to.deep.equal([
      'Bucket "raw" (raw-phys): its bucket policy has no statement that denies s3:* to Principal "*" on the ' +
        'bucket\'s objects when aws:SecureTransport is "false".',
    ]);
  });

  it("fails a deny that covers only another bucket's objects", async () => {
    const stack = [bucket("raw"), tlsPolicy("raw", { ...denyInsecure("other") })];
    expect((await checkStack(s3TlsOnly, stack)).violations).to.have.length(1);
  });

  it("waits for a policy document computed during a preview", async () => {
    const pending = spec(
      T.bucketPolicy,
      "raw-tls-only",
      { bucket: unknown(), policy: unknown() },
      { propertyDependencies: { bucket: ["raw"] } },
    );
    expect(await checkStack(s3TlsOnly, [bucket("raw"), pending])).to.deep.equal({ violations: [] });
  });
});

describe("s3-data-bucket-versioning", () => {
  it("passes a raw bucket with versioning enabled and a temp bucket without", async () => {
    const stack = [bucket("raw"), versioning("raw"), bucket("temp", "temp")];
    expect((await checkStack(s3DataBucketVersioning, stack)).violations).to.deep.equal([]);
  });

  it("fails a processed bucket without versioning", async () => {
    const { violations } = await checkStack(s3DataBucketVersioning, [bucket("out", "processed")]);
    expect(violations).to.deep.equal([
      {
        policy: "s3-data-bucket-versioning",
        urn: urnOf(T.bucket, "out"),
        message:
          'Bucket "out" (out-phys) (data-class=processed) has no versioning: add an aws.s3.BucketVersioning for it ' +
          'with versioningConfiguration.status "Enabled".',
      },
    ]);
  });

  it("fails suspended versioning", async () => {
    const { violations } = await checkStack(s3DataBucketVersioning, [
      bucket("raw"),
      versioning("raw", "Suspended"),
    ]);
    expect(violations.map((v) => v.message)).to.deep.equal([
      'Bucket "raw" (raw-phys) (data-class=raw) has versioning status "Suspended"; data buckets need "Enabled".',
    ]);
  });

  it("marks data buckets by a configured name pattern too", async () => {
    const untagged = spec(T.bucket, "landing", { bucket: "acme-landing-zone", tags: {} });
    const { violations } = await checkStack(s3DataBucketVersioning, [untagged], {
      config: { versionedNamePatterns: ["-landing-"] },
    });
    expect(violations.map((v) => v.message)).to.deep.equal([
      'Bucket "landing" (acme-landing-zone) (its name marks a data bucket) has no versioning: add an ' +
        'aws.s3.BucketVersioning for it with versioningConfiguration.status "Enabled".',
    ]);
  });
});

describe("s3-access-logging", () => {
  const logBucket = bucket("logs", "access-logs");
  const happy = [logBucket, bucket("raw"), logging("raw"), bucket("temp", "temp"), logging("temp")];

  it("passes buckets that log to a log bucket, which itself needs no logging", async () => {
    expect((await checkStack(s3AccessLogging, happy)).violations).to.deep.equal([]);
    // A log bucket is known by being a target too, whatever its tags.
    const untagged = spec(T.bucket, "audit", { bucket: "audit-phys", tags: {} });
    const stack = [untagged, bucket("raw"), logging("raw", "audit")];
    expect((await checkStack(s3AccessLogging, stack)).violations).to.deep.equal([]);
  });

  it("fails a bucket without access logging, naming it", async () => {
    const stack = happy.filter((s) => s.name !== "temp-access-logging");
    expect((await checkStack(s3AccessLogging, stack)).violations).to.deep.equal([
      {
        policy: "s3-access-logging",
        urn: urnOf(T.bucket, "temp"),
        message:
          'Bucket "temp" (temp-phys) has no server access logging: add an aws.s3.BucketLogging for it with ' +
          "targetBucket a log bucket of this account and a targetPrefix.",
      },
    ]);
  });

  it("fails a bucket that logs into itself", async () => {
    const stack = [logBucket, bucket("raw"), logging("raw", "raw")];
    expect(
      (await checkStack(s3AccessLogging, stack)).violations.map((v) => v.message),
    ).to.deep.equal([
      'Bucket "raw" (raw-phys) logs its requests to itself; deliver them to a separate log bucket (a bucket ' +
        "logging into itself logs its own log writes).",
    ]);
  });

  it("waits for a logging target unknown during a preview, and exempts configured names", async () => {
    const pending = {
      ...logging("raw"),
      props: { ...logging("raw").props, bucket: unknown() },
      propertyDependencies: { bucket: ["raw"] },
    };
    expect(
      (await checkStack(s3AccessLogging, [logBucket, bucket("raw"), pending])).violations,
    ).to.deep.equal([]);
    const exempt = await checkStack(s3AccessLogging, [bucket("scratch", "temp")], {
      config: { exemptBucketNamePatterns: ["^scratch"] },
    });
    expect(exempt.violations).to.deep.equal([]);
  });
});
