import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { PolicyStatement, policyDocument } from "../../lib/aws";
import { Tags } from "../../lib/tags";
import { formerType } from "../../lib/aliases";

export interface DeadLetterQueueArgs {
  /** EventBridge rules allowed to send failed events here. Default none. */
  readonly eventRuleArns?: pulumi.Input<string>[];
  readonly tags?: Tags;
}

/** An encrypted SQS queue that keeps events that could not be delivered, for 14 days. */
export class DeadLetterQueue extends pulumi.ComponentResource {
  public readonly queue: aws.sqs.Queue;
  public readonly arn: pulumi.Output<string>;

  constructor(name: string, args: DeadLetterQueueArgs, opts?: pulumi.ComponentResourceOptions) {
    super(
      "glue-etl:events/dead-letter-queue:DeadLetterQueue",
      name,
      {},
      formerType("glue-etl:events:DeadLetterQueue", opts),
    );
    this.queue = new aws.sqs.Queue(
      `${name}-queue`,
      {
        messageRetentionSeconds: 14 * 24 * 3600,
        // SQS-managed encryption (SSE-SQS): EventBridge and SNS can send to it with no key policy.
        sqsManagedSseEnabled: true,
        tags: args.tags,
      },
      { parent: this },
    );
    this.arn = this.queue.arn;
    const statements: PolicyStatement[] = [
      {
        Sid: "DenyInsecureTransport",
        Effect: "Deny",
        Principal: "*",
        Action: "sqs:*",
        Resource: this.queue.arn,
        Condition: { Bool: { "aws:SecureTransport": "false" } },
      },
    ];
    if (args.eventRuleArns?.length) {
      statements.push({
        Sid: "EventBridgeDeadLetters",
        Effect: "Allow",
        Principal: { Service: "events.amazonaws.com" },
        Action: "sqs:SendMessage",
        Resource: this.queue.arn,
        Condition: { ArnEquals: { "aws:SourceArn": args.eventRuleArns } },
      });
    }
    new aws.sqs.QueuePolicy(
      `${name}-policy`,
      { queueUrl: this.queue.url, policy: policyDocument(statements) },
      { parent: this },
    );
    this.registerOutputs({ arn: this.arn });
  }
}
