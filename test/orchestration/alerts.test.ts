import { expect } from "chai";
import {
  Alerts,
  AlertsArgs,
  EVENTBRIDGE_KEY_STATEMENT,
  crawlerFailurePattern,
  jobStatePattern,
} from "../../components/alerts";
import { OfflineRun, runOffline } from "../../tools/offline";
import { named, ofType, policyOf } from "../support/program";

const ACCOUNT = "123456789012";
const REGION = "eu-west-1";
const RULE = "aws:cloudwatch/eventRule:EventRule";
const TARGET = "aws:cloudwatch/eventTarget:EventTarget";
const JOBS = ["csv_to_parquet_genomic_data-prod", "ndjson_manifest_to_parquet-prod"];
const ARGS: AlertsArgs = {
  jobNames: JOBS,
  crawlerNames: ["glue-etl-prod-sales-raw"],
  emails: ["data-platform-oncall@example.com", "data-platform@example.com"],
  tags: { environment: "prod", owner: "data-platform", "cost-center": "CC-4711" },
};

const offline = (program: () => void) =>
  runOffline("prod", { config: { "aws:region": REGION }, secretKeys: [] }, program);

describe("Alerts", () => {
  let run: OfflineRun;
  before(async () => {
    run = await offline(() => {
      new Alerts("alerts", ARGS);
    });
  });

  it("matches Glue Job State Change in FAILED, TIMEOUT or ERROR for the given jobs", () => {
    const rule = named(run, RULE, "alerts-job-runs");
    expect(JSON.parse(rule.inputs.eventPattern as string)).to.deep.equal({
      source: ["aws.glue"],
      "detail-type": ["Glue Job State Change"],
      detail: { jobName: JOBS, state: ["FAILED", "TIMEOUT", "ERROR"] },
    });
    expect(jobStatePattern(JOBS, ["FAILED"])).to.deep.equal({
      source: ["aws.glue"],
      "detail-type": ["Glue Job State Change"],
      detail: { jobName: JOBS, state: ["FAILED"] },
    });
  });

  it("matches failed crawls of the given crawlers", () => {
    const rule = named(run, RULE, "alerts-crawls");
    expect(JSON.parse(rule.inputs.eventPattern as string)).to.deep.equal(
      crawlerFailurePattern(["glue-etl-prod-sales-raw"]),
    );
    expect(crawlerFailurePattern(["c"]).detail).to.deep.equal({
      crawlerName: ["c"],
      state: ["Failed"],
    });
  });

  it("encrypts the topic with a rotated customer-managed key that EventBridge may use", () => {
    const key = named(run, "aws:kms/key:Key", "alerts-key");
    expect(key.inputs.enableKeyRotation).to.equal(true);
    const statements = policyOf(key).Statement;
    expect(statements.find((s) => s.Sid === EVENTBRIDGE_KEY_STATEMENT.Sid)).to.deep.equal({
      Sid: "EventBridgePublishesToEncryptedTopics",
      Effect: "Allow",
      Principal: { Service: "events.amazonaws.com" },
      Action: ["kms:GenerateDataKey*", "kms:Decrypt"],
      Resource: "*",
    });
    const topic = named(run, "aws:sns/topic:Topic", "alerts-topic");
    expect(topic.inputs.kmsMasterKeyId).to.equal(
      `arn:aws:kms:${REGION}:${ACCOUNT}:key/alerts-key-mock-key-id`,
    );
  });

  it("lets only its own rules publish, over TLS", () => {
    const policy = policyOf(named(run, "aws:sns/topicPolicy:TopicPolicy", "alerts-topic-policy"));
    const topicArn = `arn:aws:sns:${REGION}:${ACCOUNT}:alerts-topic`;
    expect(policy.Statement).to.deep.equal([
      {
        Sid: "EventBridgeRulesOfThisComponent",
        Effect: "Allow",
        Principal: { Service: "events.amazonaws.com" },
        Action: "sns:Publish",
        Resource: topicArn,
        Condition: {
          ArnEquals: {
            "aws:SourceArn": [
              `arn:aws:events:${REGION}:${ACCOUNT}:rule/alerts-job-runs`,
              `arn:aws:events:${REGION}:${ACCOUNT}:rule/alerts-crawls`,
            ],
          },
        },
      },
      {
        Sid: "DenyInsecureTransport",
        Effect: "Deny",
        Principal: "*",
        Action: "sns:Publish",
        Resource: topicArn,
        Condition: { Bool: { "aws:SecureTransport": "false" } },
      },
    ]);
  });

  it("targets the topic with a readable message and keeps undeliverable alerts", () => {
    const target = named(run, TARGET, "alerts-job-runs-target");
    expect(target.inputs).to.deep.include({
      rule: "alerts-job-runs",
      arn: `arn:aws:sns:${REGION}:${ACCOUNT}:alerts-topic`,
      deadLetterConfig: { arn: `arn:aws:sqs:${REGION}:${ACCOUNT}:alerts-dlq-queue` },
    });
    const transformer = target.inputs.inputTransformer as {
      inputPaths: Record<string, string>;
      inputTemplate: string;
    };
    expect(transformer.inputPaths.job).to.equal("$.detail.jobName");
    expect(transformer.inputPaths.message).to.equal("$.detail.message");
    // Filled in as EventBridge does: each placeholder becomes the JSON value at its path.
    const event = {
      time: "2026-11-21T02:14:00Z",
      account: ACCOUNT,
      region: REGION,
      detail: {
        jobName: JOBS[0],
        jobRunId: "jr_1",
        state: "FAILED",
        message: 'Column "pos" not found',
      },
    };
    const filled = transformer.inputTemplate.replace(/<(\w+)>/g, (_, k: string) => {
      const value = transformer.inputPaths[k]
        .slice(2)
        .split(".")
        .reduce<unknown>((o, part) => (o as Record<string, unknown>)[part], event);
      return JSON.stringify(value);
    });
    expect(JSON.parse(filled)).to.deep.equal({
      alert: "Glue job run did not succeed",
      job: JOBS[0],
      state: "FAILED",
      jobRunId: "jr_1",
      message: 'Column "pos" not found',
      time: "2026-11-21T02:14:00Z",
      account: ACCOUNT,
      region: REGION,
    });
    expect(named(run, TARGET, "alerts-crawls-target").inputs.rule).to.equal("alerts-crawls");
  });

  it("subscribes every e-mail address", () => {
    const subs = ofType(run, "aws:sns/topicSubscription:TopicSubscription");
    expect(subs.map((s) => [s.name, s.inputs.protocol, s.inputs.endpoint])).to.deep.equal([
      [
        "alerts-email-data-platform-oncall-example-com",
        "email",
        "data-platform-oncall@example.com",
      ],
      ["alerts-email-data-platform-example-com", "email", "data-platform@example.com"],
    ]);
  });

  it("uses a given key instead of creating one, and watches jobs only when no crawlers are given", async () => {
    const given = "arn:aws:kms:eu-west-1:123456789012:key/pipeline-key";
    const r = await offline(() => {
      new Alerts("a", { jobNames: ["j-dev"], kmsKeyArn: given, jobStates: ["FAILED", "STOPPED"] });
    });
    expect(ofType(r, "aws:kms/key:Key")).to.have.length(0);
    expect(named(r, "aws:sns/topic:Topic", "a-topic").inputs.kmsMasterKeyId).to.equal(given);
    expect(
      ofType(r, RULE).map((x) => JSON.parse(x.inputs.eventPattern as string).detail),
    ).to.deep.equal([{ jobName: ["j-dev"], state: ["FAILED", "STOPPED"] }]);
    expect(ofType(r, "aws:sns/topicSubscription:TopicSubscription")).to.have.length(0);
  });

  it("names every configuration problem before registering anything", async () => {
    let message = "";
    const r = await offline(() => {
      try {
        new Alerts("bad", {
          jobNames: [],
          emails: ["oncall", "a@example.com", "a@example.com"],
          jobStates: [],
        });
      } catch (e) {
        message = (e as Error).message;
      }
    });
    expect(message).to.equal(
      'Alerts "bad" are misconfigured:\n' +
        '  - emails[0]: got "oncall"; allowed: an e-mail address such as team@example.com\n' +
        '  - emails: "a@example.com" listed more than once\n' +
        "  - jobNames and crawlerNames: both empty; give at least one job or crawler to watch\n" +
        "  - jobStates: empty; allowed: one or more of FAILED, TIMEOUT, ERROR, STOPPED",
    );
    expect(r.resources.filter((x) => x.type !== "pulumi:pulumi:Stack")).to.have.length(0);
  });
});
