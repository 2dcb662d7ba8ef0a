/** How the program wires triggers, S3 events and alerts, in both stacks. */
import { expect } from "chai";
import { OfflineRun } from "../tools/offline";
import { named, ofType, policyOf, stackRun } from "./support/program";

const TRIGGER = "aws:glue/trigger:Trigger";
const ACCOUNT = "123456789012";

for (const stack of ["dev", "prod"] as const) {
  describe(`triggers, S3 events and alerts in the ${stack} stack`, () => {
    let run: OfflineRun;
    before(async () => {
      run = await stackRun(stack);
    });
    const job = (base: string) => `${base}-${stack}`;
    const rawBucket = (p: string) => `glue-etl-${stack}-${p}-raw-offline`;

    it("chains the nightly workflow: schedule → sales job → tagging job → crawler", () => {
      const wf = named(run, "aws:glue/workflow:Workflow", "sales-daily-workflow").inputs;
      expect(wf).to.include({ name: `glue-etl-${stack}-sales-daily`, maxConcurrentRuns: 1 });
      const start = named(run, TRIGGER, "sales-daily-start").inputs;
      expect(start).to.deep.include({
        type: "SCHEDULED",
        schedule: "cron(0 2 * * ? *)",
        workflowName: wf.name,
        actions: [{ jobName: job("sales_raw_to_processed") }],
      });
      expect(named(run, TRIGGER, "sales-daily-then-1").inputs).to.deep.include({
        type: "CONDITIONAL",
        workflowName: wf.name,
        predicate: {
          logical: "AND",
          conditions: [
            {
              jobName: job("sales_raw_to_processed"),
              logicalOperator: "EQUALS",
              state: "SUCCEEDED",
            },
          ],
        },
        actions: [{ jobName: job("regex_tagging") }],
      });
      expect(named(run, TRIGGER, "sales-daily-then-2").inputs).to.deep.include({
        type: "CONDITIONAL",
        predicate: {
          logical: "AND",
          conditions: [
            { jobName: job("regex_tagging"), logicalOperator: "EQUALS", state: "SUCCEEDED" },
          ],
        },
        actions: [{ crawlerName: `glue-etl-${stack}-tagging-tagged` }],
      });
    });

    it("starts the splitter on demand and crawls sales raw data on its own schedule", () => {
      expect(named(run, TRIGGER, "splitter-triggers-on-demand").inputs).to.deep.include({
        type: "ON_DEMAND",
        actions: [{ jobName: job("split_table_rows") }],
      });
      const crawler = named(run, "aws:glue/crawler:Crawler", "sales-raw-crawler").inputs;
      expect(crawler).to.deep.include({
        name: `glue-etl-${stack}-sales-raw`,
        schedule: "cron(30 1 * * ? *)",
        securityConfiguration: `glue-etl-${stack}-sales`,
        recrawlPolicy: { recrawlBehavior: "CRAWL_NEW_FOLDERS_ONLY" },
      });
    });

    it("routes CSV objects through EventBridge to the genomics workflow's event trigger", () => {
      const workflowArn = `arn:aws:glue:eu-west-1:${ACCOUNT}:workflow/glue-etl-${stack}-genomics`;
      expect(
        named(run, "aws:s3/bucketNotification:BucketNotification", "genomics-s3-event-eventbridge")
          .inputs,
      ).to.deep.equal({
        bucket: rawBucket("genomics"),
        eventbridge: true,
      });
      const rule = named(run, "aws:cloudwatch/eventRule:EventRule", "genomics-s3-event-rule");
      expect(JSON.parse(rule.inputs.eventPattern as string)).to.deep.equal({
        source: ["aws.s3"],
        "detail-type": ["Object Created"],
        detail: {
          bucket: { name: [rawBucket("genomics")] },
          // Plain and gzip-compressed CSV both start a run (the job reads both).
          object: {
            key: [{ wildcard: "csv/*.csv" }, { wildcard: "csv/*.csv.gz" }],
            size: [{ numeric: [">", 0] }],
          },
        },
      });
      const target = named(
        run,
        "aws:cloudwatch/eventTarget:EventTarget",
        "genomics-s3-event-target",
      ).inputs;
      expect(target).to.include({ arn: workflowArn, rule: "genomics-s3-event-rule" });
      expect(target.roleArn).to.equal(`arn:aws:iam::${ACCOUNT}:role/genomics-s3-event-role`);
      const notify = policyOf(
        named(run, "aws:iam/rolePolicy:RolePolicy", "genomics-s3-event-notify-workflow"),
      );
      expect(notify.Statement).to.deep.equal([
        {
          Sid: "NotifyThisWorkflowOnly",
          Effect: "Allow",
          Action: "glue:NotifyEvent",
          Resource: workflowArn,
        },
      ]);
      expect(named(run, TRIGGER, "genomics-workflow-start").inputs).to.deep.include({
        type: "EVENT",
        workflowName: `glue-etl-${stack}-genomics`,
        eventBatchingConditions: [{ batchSize: 2, batchWindow: 300 }],
        actions: [{ jobName: job("csv_to_parquet_genomic_data") }],
      });
    });

    it("invokes the start-job-run Lambda for each manifest.json, with a role scoped to that job", () => {
      const fn = named(run, "aws:lambda/function:Function", "manifest-s3-starter-function").inputs;
      expect((fn.environment as { variables: Record<string, string> }).variables).to.deep.equal({
        ARGUMENT_NAME: "--MANIFEST_PATH",
        BUCKET_NAME: rawBucket("manifest"),
        JOB_NAME: job("ndjson_manifest_to_parquet"),
        KEY_PREFIX: "manifests/",
        KEY_SUFFIX: "manifest.json",
        IDEMPOTENCY_TABLE: "manifest-s3-starter-idempotency",
      });
      expect(
        named(
          run,
          "aws:s3/bucketNotification:BucketNotification",
          "manifest-s3-starter-notification",
        ).inputs,
      ).to.deep.equal({
        bucket: rawBucket("manifest"),
        lambdaFunctions: [
          {
            events: ["s3:ObjectCreated:*"],
            filterPrefix: "manifests/",
            filterSuffix: "manifest.json",
            lambdaFunctionArn: `arn:aws:lambda:eu-west-1:${ACCOUNT}:function:manifest-s3-starter-function`,
          },
        ],
      });
      const policy = policyOf(
        named(run, "aws:iam/rolePolicy:RolePolicy", "manifest-s3-starter-policy"),
      );
      expect(policy.Statement.find((s) => s.Sid === "StartRunsOfThisJob")).to.deep.include({
        Action: "glue:StartJobRun",
        Resource: `arn:aws:glue:eu-west-1:${ACCOUNT}:job/${job("ndjson_manifest_to_parquet")}`,
      });
      const table = `arn:aws:dynamodb:eu-west-1:${ACCOUNT}:table/manifest-s3-starter-idempotency`;
      expect(
        policy.Statement.find((s) => s.Sid === "ClaimAndReleaseObjectVersions"),
      ).to.deep.include({ Action: ["dynamodb:PutItem", "dynamodb:DeleteItem"], Resource: table });
      const keyArn = `arn:aws:kms:eu-west-1:${ACCOUNT}:key/manifest-key-mock-key-id`;
      expect(
        named(run, "aws:dynamodb/table:Table", "manifest-s3-starter-idempotency").inputs,
      ).to.deep.include({
        serverSideEncryption: { enabled: true, kmsKeyArn: keyArn },
        pointInTimeRecovery: { enabled: true },
        ttl: { attributeName: "expiresAt", enabled: true },
      });
      expect(
        named(
          run,
          "aws:lambda/functionEventInvokeConfig:FunctionEventInvokeConfig",
          "manifest-s3-starter-async",
        ).inputs,
      ).to.deep.include({
        destinationConfig: {
          onFailure: {
            destination: `arn:aws:sqs:eu-west-1:${ACCOUNT}:manifest-s3-starter-dlq-queue`,
          },
        },
      });
    });

    it("encrypts the start-job-run Lambda's log group with the pipeline's key, which lets CloudWatch Logs use it for that group", () => {
      const name = `/aws/lambda/glue-etl-${stack}-manifest-start-job-run`;
      const keyArn = `arn:aws:kms:eu-west-1:${ACCOUNT}:key/manifest-key-mock-key-id`;
      expect(
        named(run, "aws:cloudwatch/logGroup:LogGroup", "manifest-s3-starter-logs").inputs,
      ).to.deep.include({ name, kmsKeyId: keyArn, retentionInDays: 30 });
      const fn = named(run, "aws:lambda/function:Function", "manifest-s3-starter-function").inputs;
      expect(fn.loggingConfig).to.deep.equal({ logFormat: "JSON", logGroup: name });
      const key = policyOf(named(run, "aws:kms/key:Key", "manifest-key"));
      expect(
        key.Statement.find((s) => s.Sid === "CloudWatchLogsForEventLambdaLogGroup"),
      ).to.deep.include({
        Principal: { Service: "logs.eu-west-1.amazonaws.com" },
        Condition: {
          ArnEquals: {
            "kms:EncryptionContext:aws:logs:arn": `arn:aws:logs:eu-west-1:${ACCOUNT}:log-group:${name}`,
          },
        },
      });
      // Pipelines without the Lambda grant CloudWatch Logs nothing beyond Glue's log groups.
      const genomicsKey = policyOf(named(run, "aws:kms/key:Key", "genomics-key"));
      expect(genomicsKey.Statement.map((s) => s.Sid)).not.to.include(
        "CloudWatchLogsForEventLambdaLogGroup",
      );
    });

    it("alerts each pipeline's failed runs to its encrypted topic, with the stack's subscribers", () => {
      const emails =
        stack === "dev"
          ? ["data-platform-dev@example.com"]
          : ["data-platform-oncall@example.com", "data-platform@example.com"];
      for (const [pipeline, base] of [
        ["genomics", "csv_to_parquet_genomic_data"],
        ["splitter", "split_table_rows"],
        ["manifest", "ndjson_manifest_to_parquet"],
        ["sales", "sales_raw_to_processed"],
        ["tagging", "regex_tagging"],
      ] as const) {
        const rule = named(
          run,
          "aws:cloudwatch/eventRule:EventRule",
          `${pipeline}-alerts-job-runs`,
        );
        expect(JSON.parse(rule.inputs.eventPattern as string), pipeline).to.deep.equal({
          source: ["aws.glue"],
          "detail-type": ["Glue Job State Change"],
          detail: { jobName: [job(base)], state: ["FAILED", "TIMEOUT", "ERROR"] },
        });
        const topic = named(run, "aws:sns/topic:Topic", `${pipeline}-alerts-topic`).inputs;
        expect(topic.kmsMasterKeyId, pipeline).to.equal(
          `arn:aws:kms:eu-west-1:${ACCOUNT}:key/${pipeline}-key-mock-key-id`,
        );
        const subs = ofType(run, "aws:sns/topicSubscription:TopicSubscription").filter((s) =>
          s.name.startsWith(`${pipeline}-alerts-`),
        );
        expect(subs.map((s) => s.inputs.endpoint).sort(), pipeline).to.deep.equal(emails);
        for (const s of subs) expect(s.inputs.protocol).to.equal("email");
      }
      const keyPolicy = policyOf(named(run, "aws:kms/key:Key", "genomics-key"));
      expect(
        keyPolicy.Statement.find((s) => s.Sid === "EventBridgePublishesToEncryptedTopics"),
      ).to.deep.include({
        Principal: { Service: "events.amazonaws.com" },
        Action: ["kms:GenerateDataKey*", "kms:Decrypt"],
      });
    });
  });
}
