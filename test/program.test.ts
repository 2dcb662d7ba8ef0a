import * as crypto from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { expect } from "chai";
import { ConfigValidationError } from "../lib/config";
import { OfflineProgramError, OfflineRun, REPO_ROOT, runStackOffline } from "../tools/offline";
import { PIPELINES, PIPELINE_NAMES } from "../pipelines";
import { plannedWorkflows, workflowName } from "../lib/declaration";
import { asList, named, ofType, policyOf, stackRun } from "./support/program";

const BUCKET = "aws:s3/bucket:Bucket";
/** The stack's access log bucket (the rest belong to pipelines). */
const LOG_BUCKET = "access-logs-bucket";
const JOB = "aws:glue/job:Job";

const EXPECTED = {
  dev: {
    workerType: "G.1X",
    numberOfWorkers: 2,
    maxConcurrentRuns: 1,
    timeout: 2880,
    maxRetries: 0,
    executionClass: "FLEX",
    tempDays: 3,
  },
  prod: {
    workerType: "G.2X",
    numberOfWorkers: 20,
    // Bookmarked jobs run one at a time; the manifest pipeline overrides this (see Pulumi.prod.yaml).
    maxConcurrentRuns: 1,
    timeout: 2880,
    maxRetries: 2,
    executionClass: "STANDARD",
    tempDays: 7,
  },
} as const;

/** The bucket resource a sub-resource points at (by the bucket's mock id). */
function bucketOf(run: OfflineRun, bucketInput: unknown) {
  const b = ofType(run, BUCKET).find((x) => `${x.name}-id` === bucketInput);
  if (!b) throw new Error(`no bucket with id ${String(bucketInput)}`);
  return b;
}

for (const stack of ["dev", "prod"] as const) {
  describe(`program under mocks with Pulumi.${stack}.yaml`, () => {
    let run: OfflineRun;
    before(async () => {
      run = await stackRun(stack);
    });

    it("sizes the genomics job from the stack config", () => {
      const job = named(run, JOB, "genomics-job").inputs;
      const e = EXPECTED[stack];
      expect(job).to.include({
        name: `csv_to_parquet_genomic_data-${stack}`,
        glueVersion: "5.0",
        workerType: e.workerType,
        numberOfWorkers: e.numberOfWorkers,
        timeout: e.timeout,
        maxRetries: e.maxRetries,
        executionClass: e.executionClass,
      });
      expect(job.executionProperty).to.deep.equal({ maxConcurrentRuns: e.maxConcurrentRuns });
      expect(job.command).to.deep.include({ name: "glueetl", pythonVersion: "3" });
    });

    it("uploads the real script content-addressed and points the job at it", () => {
      const file = path.join(REPO_ROOT, "scripts", "genomics_csv_to_parquet.py");
      const hash = crypto
        .createHash("sha256")
        .update(fs.readFileSync(file))
        .digest("hex")
        .slice(0, 16);
      const obj = named(run, "aws:s3/bucketObjectv2:BucketObjectv2", "genomics-script").inputs;
      const scripts = named(run, BUCKET, "genomics-scripts");
      const bucketName = `glue-etl-${stack}-genomics-scripts-offline`;
      expect(scripts.inputs.bucketPrefix).to.equal(`glue-etl-${stack}-genomics-scripts-`);
      expect(obj).to.include({
        bucket: bucketName,
        key: `jobs/${hash}/genomics_csv_to_parquet.py`,
        sourceHash: hash,
      });
      const job = named(run, JOB, "genomics-job").inputs as { command: { scriptLocation: string } };
      expect(job.command.scriptLocation).to.equal(
        `s3://${bucketName}/jobs/${hash}/genomics_csv_to_parquet.py`,
      );
    });

    it("sets the job's observability defaults and its own arguments", () => {
      const args = named(run, JOB, "genomics-job").inputs.defaultArguments as Record<
        string,
        string
      >;
      const temp = `s3://glue-etl-${stack}-genomics-temp-offline`;
      expect(args).to.include({
        "--job-bookmark-option": "job-bookmark-enable",
        "--enable-metrics": "true",
        "--enable-observability-metrics": "true",
        "--enable-spark-ui": "true",
        "--spark-event-logs-path": `${temp}/spark-ui-logs/`,
        "--TempDir": `${temp}/glue-temp/`,
        "--enable-auto-scaling": "true",
        "--INPUT_PATH": `s3://glue-etl-${stack}-genomics-raw-offline/csv/*.{csv,csv.gz}`,
        "--OUTPUT_PATH": `s3://glue-etl-${stack}-genomics-processed-offline/genomics/`,
      });
      expect(args["--extra-py-files"]).to.match(
        /^s3:\/\/glue-etl-\w+-genomics-scripts-offline\/lib\/[0-9a-f]{16}\/glue_etl_common\.py$/,
      );
      for (const reserved of ["--JOB_NAME", "--debug", "--mode"])
        expect(args).not.to.have.property(reserved);
      // Glue 4.0 logging flags configure nothing on Glue 5.0, which logs in real time.
      for (const job of ofType(run, JOB)) {
        const keys = Object.keys(job.inputs.defaultArguments as object);
        expect(
          keys.filter((k) => /continuous/.test(k)),
          job.name,
        ).to.deep.equal([]);
      }
    });

    it("encrypts S3 output, CloudWatch logs and bookmarks with the pipeline's rotated key", () => {
      const key = named(run, "aws:kms/key:Key", "genomics-key").inputs;
      expect(key.enableKeyRotation).to.equal(true);
      const keyArn = `arn:aws:kms:eu-west-1:123456789012:key/genomics-key-mock-key-id`;
      const sc = named(
        run,
        "aws:glue/securityConfiguration:SecurityConfiguration",
        "genomics-security-configuration",
      ).inputs;
      expect(sc.name).to.equal(`glue-etl-${stack}-genomics`);
      expect(sc.encryptionConfiguration).to.deep.equal({
        s3Encryption: { s3EncryptionMode: "SSE-KMS", kmsKeyArn: keyArn },
        cloudwatchEncryption: { cloudwatchEncryptionMode: "SSE-KMS", kmsKeyArn: keyArn },
        jobBookmarksEncryption: { jobBookmarksEncryptionMode: "CSE-KMS", kmsKeyArn: keyArn },
      });
      expect(named(run, JOB, "genomics-job").inputs.securityConfiguration).to.equal(sc.name);
    });

    // Every pipeline of the registry is enabled in both stack files.
    const NAMES = PIPELINE_NAMES;
    const WORKFLOWS = plannedWorkflows(PIPELINES, () => true).map((w) => workflowName(w.head));
    const keyArnOf = (pipeline: string) =>
      `arn:aws:kms:eu-west-1:123456789012:key/${pipeline}-key-mock-key-id`;

    it("gives every bucket of every pipeline SSE-KMS with its own key, owner-enforced ownership and a full public access block", () => {
      const buckets = ofType(run, BUCKET).filter((b) => b.name !== LOG_BUCKET);
      expect(buckets.map((b) => b.name).sort()).to.deep.equal(
        NAMES.flatMap((p) =>
          ["processed", "raw", "scripts", "temp"].map((k) => `${p}-${k}`),
        ).sort(),
      );
      const sse = ofType(
        run,
        "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
      );
      const pab = ofType(run, "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock");
      const own = ofType(run, "aws:s3/bucketOwnershipControls:BucketOwnershipControls");
      for (const b of buckets) {
        const id = `${b.name}-id`;
        const pipeline = b.name.split("-")[0]!;
        expect(b.inputs.bucketPrefix).to.equal(`glue-etl-${stack}-${b.name}-`);
        const enc = sse.filter((s) => s.inputs.bucket === id);
        expect(enc, b.name).to.have.length(1);
        expect(enc[0]!.inputs.rules).to.deep.equal([
          {
            applyServerSideEncryptionByDefault: {
              sseAlgorithm: "aws:kms",
              kmsMasterKeyId: keyArnOf(pipeline),
            },
            bucketKeyEnabled: true,
          },
        ]);
        const block = pab.filter((p) => p.inputs.bucket === id);
        expect(block, b.name).to.have.length(1);
        expect(block[0]!.inputs).to.include({
          blockPublicAcls: true,
          blockPublicPolicy: true,
          ignorePublicAcls: true,
          restrictPublicBuckets: true,
        });
        expect(own.find((o) => o.inputs.bucket === id)?.inputs.rule).to.deep.equal({
          objectOwnership: "BucketOwnerEnforced",
        });
      }
    });

    it("denies non-TLS access to every bucket and its objects", () => {
      const policies = ofType(run, "aws:s3/bucketPolicy:BucketPolicy");
      expect(policies).to.have.length(ofType(run, BUCKET).length);
      for (const p of policies) {
        const bucket = bucketOf(run, p.inputs.bucket);
        const arn = `arn:aws:s3:::${bucket.inputs.bucketPrefix as string}offline`;
        const deny = policyOf(p).Statement.find((s) => s.Sid === "DenyInsecureTransport");
        expect(deny, bucket.name).to.deep.equal({
          Sid: "DenyInsecureTransport",
          Effect: "Deny",
          Principal: "*",
          Action: "s3:*",
          Resource: [arn, `${arn}/*`],
          Condition: { Bool: { "aws:SecureTransport": "false" } },
        });
      }
    });

    it("versions data buckets and expires temp data after the configured days", () => {
      const versioned = ofType(run, "aws:s3/bucketVersioning:BucketVersioning").map((v) => {
        expect(v.inputs.versioningConfiguration).to.deep.equal({ status: "Enabled" });
        return bucketOf(run, v.inputs.bucket).name;
      });
      expect(versioned.sort()).to.deep.equal(
        [
          LOG_BUCKET,
          ...NAMES.flatMap((p) => ["processed", "raw", "scripts"].map((k) => `${p}-${k}`)),
        ].sort(),
      );
      for (const p of NAMES) {
        const lifecycle = named(
          run,
          "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration",
          `${p}-temp-lifecycle`,
        );
        const rules = lifecycle.inputs.rules as { id: string; expiration?: { days: number } }[];
        expect(rules.find((r) => r.id === "expire-temp-data")?.expiration).to.deep.equal({
          days: EXPECTED[stack].tempDays,
        });
      }
    });

    it("logs the requests of every pipeline bucket to the stack's log bucket, under its own prefix", () => {
      const logging = ofType(run, "aws:s3/bucketLogging:BucketLogging");
      const logBucket = `glue-etl-${stack}-logs-offline`;
      const pipelineBuckets = ofType(run, BUCKET).filter((b) => b.name !== LOG_BUCKET);
      expect(pipelineBuckets).to.have.length(4 * NAMES.length);
      for (const b of pipelineBuckets) {
        const own = logging.filter((l) => l.inputs.bucket === `${b.name}-id`);
        const [pipeline, purpose] = b.name.split("-") as [string, string];
        expect(
          own.map((l) => l.inputs),
          b.name,
        ).to.deep.equal([
          {
            bucket: `${b.name}-id`,
            targetBucket: logBucket,
            targetPrefix: `glue-etl-${stack}-${pipeline}/${purpose}/`,
            targetObjectKeyFormat: { partitionedPrefix: { partitionDateSource: "EventTime" } },
          },
        ]);
      }
      expect(logging).to.have.length(4 * NAMES.length);
    });

    it("locks down the log bucket: SSE-S3, owner-enforced, no public access, TLS-only, versioned, expiring", () => {
      const bucket = named(run, BUCKET, LOG_BUCKET);
      expect(bucket.inputs).to.deep.include({ bucketPrefix: `glue-etl-${stack}-logs-` });
      expect((bucket.inputs.tags as Record<string, string>)["data-class"]).to.equal("access-logs");
      const id = `${LOG_BUCKET}-id`;
      const on = (type: string) => ofType(run, type).filter((r) => r.inputs.bucket === id);
      expect(
        on(
          "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
        ).map((r) => r.inputs.rules),
      ).to.deep.equal([[{ applyServerSideEncryptionByDefault: { sseAlgorithm: "AES256" } }]]);
      expect(
        on("aws:s3/bucketOwnershipControls:BucketOwnershipControls").map((r) => r.inputs.rule),
      ).to.deep.equal([{ objectOwnership: "BucketOwnerEnforced" }]);
      expect(on("aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock")[0]!.inputs).to.include({
        blockPublicAcls: true,
        blockPublicPolicy: true,
        ignorePublicAcls: true,
        restrictPublicBuckets: true,
      });
      expect(
        on("aws:s3/bucketVersioning:BucketVersioning").map((r) => r.inputs.versioningConfiguration),
      ).to.deep.equal([{ status: "Enabled" }]);
      const rules = on("aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration")[0]!
        .inputs.rules as { id: string; expiration?: { days: number } }[];
      expect(rules.find((r) => r.id === "expire-access-logs")?.expiration).to.deep.equal({
        days: 365,
      });
      const arn = `arn:aws:s3:::glue-etl-${stack}-logs-offline`;
      const statements = policyOf(on("aws:s3/bucketPolicy:BucketPolicy")[0]!).Statement;
      expect(statements.map((x) => x.Sid)).to.deep.equal([
        "DenyInsecureTransport",
        "DenyOutdatedTls",
        "S3ServerAccessLogDelivery",
      ]);
      expect(statements[2]).to.deep.equal({
        Sid: "S3ServerAccessLogDelivery",
        Effect: "Allow",
        Principal: { Service: "logging.s3.amazonaws.com" },
        Action: "s3:PutObject",
        Resource: `${arn}/*`,
        Condition: {
          StringEquals: { "aws:SourceAccount": "123456789012" },
          ArnLike: { "aws:SourceArn": `arn:aws:s3:::glue-etl-${stack}-*` },
        },
      });
      expect(
        ofType(run, "aws:s3/bucketLogging:BucketLogging").map((l) => l.inputs.bucket),
      ).not.to.include(id);
    });

    it("trusts only Glue and scopes the job role to this pipeline's buckets and prefixes", () => {
      const role = named(run, "aws:iam/role:Role", "genomics-role");
      const trust = JSON.parse(role.inputs.assumeRolePolicy as string);
      expect(trust.Statement).to.deep.equal([
        { Effect: "Allow", Principal: { Service: "glue.amazonaws.com" }, Action: "sts:AssumeRole" },
      ]);
      const attachments = ofType(run, "aws:iam/rolePolicyAttachment:RolePolicyAttachment");
      expect(
        attachments.find((a) => a.name === "genomics-glue-service")?.inputs.policyArn,
      ).to.equal("arn:aws:iam::aws:policy/service-role/AWSGlueServiceRole");
      for (const a of attachments) {
        expect(a.inputs.policyArn, a.name).not.to.match(/AmazonS3FullAccess|AdministratorAccess/);
      }
      const b = (p: string) => `arn:aws:s3:::glue-etl-${stack}-genomics-${p}-offline`;
      const doc = policyOf(named(run, "aws:iam/rolePolicy:RolePolicy", "genomics-access"));
      const bySid = Object.fromEntries(doc.Statement.map((s) => [s.Sid, s]));
      expect(bySid.ReadInputAndScripts!.Resource).to.deep.equal([
        `${b("raw")}/csv/*`,
        `${b("scripts")}/jobs/*`,
        `${b("scripts")}/lib/*`,
      ]);
      expect(bySid.ReadInputAndScripts!.Action).to.deep.equal([
        "s3:GetObject",
        "s3:GetObjectVersion",
      ]);
      expect(bySid.ListInput0).to.deep.include({
        Resource: b("raw"),
        Condition: { StringLike: { "s3:prefix": ["csv/*"] } },
      });
      expect(bySid.WriteOutputAndTemp!.Resource).to.deep.equal([
        `${b("processed")}/*`,
        `${b("temp")}/*`,
      ]);
      expect(bySid.UsePipelineKey!.Resource).to.equal(keyArnOf("genomics"));
      for (const policy of ofType(run, "aws:iam/rolePolicy:RolePolicy")) {
        for (const s of policyOf(policy).Statement) {
          for (const action of asList(s.Action))
            expect(action, `${policy.name} ${s.Sid}`).not.to.match(/^(\*|s3:\*)$/);
          if (asList(s.Action).some((a) => a.startsWith("s3:"))) {
            for (const res of asList(s.Resource))
              expect(res, `${policy.name} ${s.Sid}`).not.to.equal("*");
          }
        }
      }
    });

    it("lets the tagging job read the sales output and nothing else of sales", () => {
      const doc = policyOf(named(run, "aws:iam/rolePolicy:RolePolicy", "tagging-access"));
      const read = doc.Statement.find((s) => s.Sid === "ReadInputAndScripts")!;
      expect(read.Resource).to.include(
        `arn:aws:s3:::glue-etl-${stack}-sales-processed-offline/sales/*`,
      );
      expect(doc.Statement.find((s) => s.Sid === "DecryptSalesOutput")).to.deep.include({
        Action: "kms:Decrypt",
        Resource: keyArnOf("sales"),
      });
    });

    it("tags every taggable resource with environment, owner and cost centre", () => {
      const taggable = run.resources.filter((r) => r.custom && "tags" in r.inputs);
      expect(taggable.length).to.be.greaterThan(6);
      for (const r of taggable) {
        expect(r.inputs.tags, r.name).to.include({
          environment: stack,
          owner: "data-platform",
          "cost-center": "CC-4711",
        });
      }
      // Resources AWS can tag must not be missing tags.
      for (const type of [BUCKET, JOB, "aws:iam/role:Role", "aws:kms/key:Key"]) {
        for (const r of ofType(run, type)) expect(r.inputs, r.name).to.have.property("tags");
      }
    });

    it("nests every AWS resource under a glue-etl component named after it", () => {
      const comps = run.resources.filter((r) => !r.custom);
      for (const c of comps)
        expect(c.type).to.match(/^glue-etl:[a-z0-9-]+(\/[a-z0-9-]+)?:[A-Z]\w+$/);
      const top = comps.filter((c) => c.parent === undefined).map((c) => `${c.type}::${c.name}`);
      expect(top.sort()).to.deep.equal(
        [
          ...NAMES.map((p) => `glue-etl:pipeline:EtlPipeline::${p}`),
          ...WORKFLOWS.map((w) => `glue-etl:triggers/workflow:Workflow::${w}`),
          "glue-etl:dashboard:StackDashboard::dashboard",
          "glue-etl:logging:AccessLogBucket::access-logs",
        ].sort(),
      );
      for (const r of run.resources.filter((x) => x.custom)) {
        expect(r.parent, r.name).not.to.equal(undefined);
        const root = r.urn.split("::")[2]!.split("$")[0];
        expect(root, r.name).to.match(
          /^glue-etl:(pipeline:EtlPipeline|triggers\/workflow:Workflow|dashboard:StackDashboard|logging:AccessLogBucket)$/,
        );
        const topName = [...NAMES, ...WORKFLOWS, "dashboard", "access-logs"].find((p) =>
          r.name.startsWith(`${p}-`),
        );
        expect(topName, r.name).not.to.equal(undefined);
      }
    });

    it("exports what operators need", () => {
      const out = run.outputs as {
        environment: string;
        accessLogBucket: string;
        pipelines: Record<string, Record<string, unknown>>;
      };
      expect(out.environment).to.equal(stack);
      expect(out.accessLogBucket).to.equal(`glue-etl-${stack}-logs-offline`);
      // Only the pipelines without bookmarks may run side by side.
      expect(out.pipelines.manifest!.maxConcurrentRuns).to.equal(stack === "prod" ? 30 : 1);
      for (const p of PIPELINES.filter((x) => x.job.bookmarks))
        expect(out.pipelines[p.name]!.maxConcurrentRuns, p.name).to.equal(1);
      expect(out.pipelines.genomics).to.deep.include({
        jobName: `csv_to_parquet_genomic_data-${stack}`,
        maxConcurrentRuns: EXPECTED[stack].maxConcurrentRuns,
        securityConfiguration: `glue-etl-${stack}-genomics`,
      });
      expect(out.pipelines.genomics!.buckets).to.have.keys("raw", "processed", "scripts", "temp");
    });
  });
}

describe("program with invalid config", () => {
  it("fails before registering any resource and names every bad key", async () => {
    let err: unknown;
    try {
      await runStackOffline("prod", {
        "glue-etl:sizing": {
          workerType: "G.4X",
          numberOfWorkers: 1,
          maxConcurrentRuns: 30,
          timeoutMinutes: 2880,
          maxRetries: 2,
          executionClass: "FLEX",
        },
        "aws:region": undefined,
      });
    } catch (e) {
      err = e;
    }
    expect(err).to.be.instanceOf(OfflineProgramError);
    const e = err as OfflineProgramError;
    expect(e.cause).to.be.instanceOf(ConfigValidationError);
    expect(e.resources).to.deep.equal([]);
    expect((e.cause as ConfigValidationError).problems.map((p) => p.key)).to.deep.equal([
      "aws:region",
      "glue-etl:sizing.numberOfWorkers",
      "glue-etl:sizing.executionClass",
    ]);
  });

  it("accepts a per-pipeline override from the stack file", async () => {
    const run = await runStackOffline("dev", {
      "glue-etl:pipelines": { genomics: { numberOfWorkers: 5, executionClass: "STANDARD" } },
    });
    expect(named(run, JOB, "genomics-job").inputs).to.include({
      numberOfWorkers: 5,
      executionClass: "STANDARD",
      workerType: "G.1X",
    });
  });
});
