/**
 * Alerts: Glue job runs that fail, time out or error, and crawls that fail, reach an encrypted SNS
 * topic through EventBridge, and from there the subscribed e-mail addresses.
 */
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { PolicyStatement, awsContext, policyDocument } from "../lib/aws";
import { DeadLetterQueue } from "./events";
import { Tags } from "../lib/tags";

/** Job run states that alert by default. */
export const ALERT_JOB_STATES = ["FAILED", "TIMEOUT", "ERROR"] as const;
export type AlertJobState = "FAILED" | "TIMEOUT" | "ERROR" | "STOPPED";

const EMAIL_RE = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;

export function jobStatePattern(
  jobNames: readonly string[],
  states: readonly string[],
): Record<string, unknown> {
  return {
    source: ["aws.glue"],
    "detail-type": ["Glue Job State Change"],
    detail: { jobName: [...jobNames], state: [...states] },
  };
}

export function crawlerFailurePattern(crawlerNames: readonly string[]): Record<string, unknown> {
  return {
    source: ["aws.glue"],
    "detail-type": ["Glue Crawler State Change"],
    detail: { crawlerName: [...crawlerNames], state: ["Failed"] },
  };
}

/**
 * Readable alert bodies. Placeholders stand unquoted so EventBridge inserts each value as JSON,
 * escaped, whatever quotes a Glue error message holds.
 */
const JOB_MESSAGE: aws.types.input.cloudwatch.EventTargetInputTransformer = {
  inputPaths: {
    job: "$.detail.jobName",
    runId: "$.detail.jobRunId",
    state: "$.detail.state",
    message: "$.detail.message",
    time: "$.time",
    account: "$.account",
    region: "$.region",
  },
  inputTemplate:
    '{"alert": "Glue job run did not succeed", "job": <job>, "state": <state>, "jobRunId": <runId>, ' +
    '"message": <message>, "time": <time>, "account": <account>, "region": <region>}',
};
const CRAWLER_MESSAGE: aws.types.input.cloudwatch.EventTargetInputTransformer = {
  inputPaths: {
    crawler: "$.detail.crawlerName",
    state: "$.detail.state",
    message: "$.detail.errorMessage",
    time: "$.time",
    account: "$.account",
    region: "$.region",
  },
  inputTemplate:
    '{"alert": "Glue crawl failed", "crawler": <crawler>, "state": <state>, "message": <message>, ' +
    '"time": <time>, "account": <account>, "region": <region>}',
};

/**
 * The key policy statement a customer-managed key needs before EventBridge can publish to a topic
 * it encrypts. Add it to a key given as `kmsKeyArn`.
 */
export const EVENTBRIDGE_KEY_STATEMENT: PolicyStatement = {
  Sid: "EventBridgePublishesToEncryptedTopics",
  Effect: "Allow",
  Principal: { Service: "events.amazonaws.com" },
  Action: ["kms:GenerateDataKey*", "kms:Decrypt"],
  Resource: "*",
};

export interface AlertsArgs {
  /** Glue jobs whose failed runs alert. At least one job or crawler. */
  readonly jobNames: readonly pulumi.Input<string>[];
  /** Glue crawlers whose failed crawls alert. Default none. */
  readonly crawlerNames?: readonly pulumi.Input<string>[];
  /** Job run states that alert. Default FAILED, TIMEOUT and ERROR. */
  readonly jobStates?: readonly AlertJobState[];
  /** E-mail addresses subscribed to the topic (each confirms by mail). Default none. */
  readonly emails?: readonly string[];
  /**
   * Customer-managed KMS key for the topic; its key policy must let events.amazonaws.com use
   * kms:GenerateDataKey* and kms:Decrypt. Default: a key created here with that policy and
   * rotation on. (EventBridge cannot publish to a topic under the AWS managed alias/aws/sns.)
   */
  readonly kmsKeyArn?: pulumi.Input<string>;
  /** Tags for every taggable resource. Default none. */
  readonly tags?: Tags;
}

/** An encrypted SNS topic fed by EventBridge rules on Glue job and crawler state changes. */
export class Alerts extends pulumi.ComponentResource {
  public readonly topic: aws.sns.Topic;
  public readonly topicArn: pulumi.Output<string>;
  public readonly key?: aws.kms.Key;
  public readonly rules: aws.cloudwatch.EventRule[];
  public readonly deadLetterQueue: DeadLetterQueue;

  constructor(name: string, args: AlertsArgs, opts?: pulumi.ComponentResourceOptions) {
    const emails = args.emails ?? [];
    const problems = emails
      .map((e, i) =>
        EMAIL_RE.test(e)
          ? undefined
          : `emails[${i}]: got ${JSON.stringify(e)}; allowed: an e-mail address such as team@example.com`,
      )
      .filter((p): p is string => p !== undefined);
    const dupes = emails.filter((e, i) => emails.indexOf(e) !== i);
    if (dupes.length)
      problems.push(
        `emails: ${dupes.map((d) => JSON.stringify(d)).join(", ")} listed more than once`,
      );
    const crawlers = args.crawlerNames ?? [];
    if (args.jobNames.length === 0 && crawlers.length === 0)
      problems.push(
        "jobNames and crawlerNames: both empty; give at least one job or crawler to watch",
      );
    const states = args.jobStates ?? ALERT_JOB_STATES;
    if (states.length === 0)
      problems.push("jobStates: empty; allowed: one or more of FAILED, TIMEOUT, ERROR, STOPPED");
    if (problems.length)
      throw new Error(`Alerts "${name}" are misconfigured:\n  - ${problems.join("\n  - ")}`);
    super("glue-etl:alerts:Alerts", name, {}, opts);

    const child = { parent: this };
    const ctx = awsContext(this);
    let keyArn = args.kmsKeyArn;
    if (keyArn === undefined) {
      this.key = new aws.kms.Key(
        `${name}-key`,
        {
          description: "Encrypts the Glue alert topic; EventBridge may use it to publish",
          enableKeyRotation: true,
          deletionWindowInDays: 30,
          policy: policyDocument([
            {
              Sid: "AccountAdministersKeyThroughIam",
              Effect: "Allow",
              Principal: {
                AWS: pulumi.interpolate`arn:${ctx.partition}:iam::${ctx.accountId}:root`,
              },
              Action: "kms:*",
              Resource: "*",
            },
            EVENTBRIDGE_KEY_STATEMENT,
          ]),
          tags: args.tags,
        },
        child,
      );
      keyArn = this.key.arn;
    }
    this.topic = new aws.sns.Topic(
      `${name}-topic`,
      { displayName: "Glue ETL alerts", kmsMasterKeyId: keyArn, tags: args.tags },
      child,
    );
    this.topicArn = this.topic.arn;

    const rule = (
      suffix: string,
      description: string,
      pattern: pulumi.Output<Record<string, unknown>>,
    ) =>
      new aws.cloudwatch.EventRule(
        `${name}-${suffix}`,
        { description, eventPattern: pattern.apply((p) => JSON.stringify(p)), tags: args.tags },
        child,
      );
    const rules: {
      key: string;
      rule: aws.cloudwatch.EventRule;
      message: aws.types.input.cloudwatch.EventTargetInputTransformer;
    }[] = [];
    if (args.jobNames.length) {
      rules.push({
        key: "job-runs",
        rule: rule(
          "job-runs",
          `Glue job runs ending ${states.join(", ")}`,
          pulumi.all([...args.jobNames]).apply((names) => jobStatePattern(names, states)),
        ),
        message: JOB_MESSAGE,
      });
    }
    if (crawlers.length) {
      rules.push({
        key: "crawls",
        rule: rule(
          "crawls",
          "Glue crawls that failed",
          pulumi.all([...crawlers]).apply((names) => crawlerFailurePattern(names)),
        ),
        message: CRAWLER_MESSAGE,
      });
    }
    this.rules = rules.map((r) => r.rule);
    const ruleArns = this.rules.map((r) => r.arn);

    const statements: PolicyStatement[] = [
      {
        Sid: "EventBridgeRulesOfThisComponent",
        Effect: "Allow",
        Principal: { Service: "events.amazonaws.com" },
        Action: "sns:Publish",
        Resource: this.topic.arn,
        Condition: { ArnEquals: { "aws:SourceArn": ruleArns } },
      },
      {
        Sid: "DenyInsecureTransport",
        Effect: "Deny",
        Principal: "*",
        Action: "sns:Publish",
        Resource: this.topic.arn,
        Condition: { Bool: { "aws:SecureTransport": "false" } },
      },
    ];
    const topicPolicy = new aws.sns.TopicPolicy(
      `${name}-topic-policy`,
      { arn: this.topic.arn, policy: policyDocument(statements) },
      child,
    );
    this.deadLetterQueue = new DeadLetterQueue(
      `${name}-dlq`,
      { eventRuleArns: ruleArns, tags: args.tags },
      child,
    );
    for (const { key, rule: r, message } of rules) {
      new aws.cloudwatch.EventTarget(
        `${name}-${key}-target`,
        {
          rule: r.name,
          arn: this.topic.arn,
          inputTransformer: message,
          deadLetterConfig: { arn: this.deadLetterQueue.arn },
          retryPolicy: { maximumEventAgeInSeconds: 24 * 3600, maximumRetryAttempts: 185 },
        },
        { parent: this, dependsOn: [topicPolicy] },
      );
    }
    for (const email of emails) {
      new aws.sns.TopicSubscription(
        `${name}-email-${email.toLowerCase().replace(/[^a-z0-9]+/g, "-")}`,
        { topic: this.topic.arn, protocol: "email", endpoint: email },
        child,
      );
    }
    this.registerOutputs({ topicArn: this.topicArn });
  }
}
