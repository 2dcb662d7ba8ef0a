import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { awsContext, policyDocument } from "../../lib/aws";
import { DeadLetterQueue } from "./dead-letter-queue";
import { S3ObjectEventArgs, checkKeyFilter, objectCreatedPattern } from "./s3-object-event";
import { formerType } from "../../lib/aliases";

export interface S3EventWorkflowStartArgs extends Omit<S3ObjectEventArgs, "suffix"> {
  /** Only keys ending with this, or with any of these (e.g. `[".csv", ".csv.gz"]`). Default "" (all keys). */
  readonly suffix?: string | readonly string[];
  /** Glue workflow to notify; its start trigger must be an event trigger. */
  readonly workflowName: pulumi.Input<string>;
}

/**
 * S3 → EventBridge → Glue workflow: the rule sends matching Object Created events to the
 * workflow's event trigger through a role allowed only glue:NotifyEvent on that workflow. Events
 * EventBridge cannot deliver go to an encrypted dead-letter queue.
 */
export class S3EventWorkflowStart extends pulumi.ComponentResource {
  public readonly rule: aws.cloudwatch.EventRule;
  public readonly role: aws.iam.Role;
  public readonly deadLetterQueue: DeadLetterQueue;

  constructor(
    name: string,
    args: S3EventWorkflowStartArgs,
    opts?: pulumi.ComponentResourceOptions,
  ) {
    checkKeyFilter(name, args.prefix, args.suffix);
    super(
      "glue-etl:events/s3-event-workflow-start:S3EventWorkflowStart",
      name,
      {},
      formerType("glue-etl:events:S3EventWorkflowStart", opts),
    );
    const child = { parent: this };
    const ctx = awsContext(this);
    const workflowArn = pulumi.interpolate`arn:${ctx.partition}:glue:${ctx.region}:${ctx.accountId}:workflow/${args.workflowName}`;

    if (args.manageBucketNotification ?? true) {
      new aws.s3.BucketNotification(
        `${name}-eventbridge`,
        { bucket: args.bucketName, eventbridge: true },
        child,
      );
    }
    this.rule = new aws.cloudwatch.EventRule(
      `${name}-rule`,
      {
        description: pulumi.interpolate`Objects created in ${args.bucketName}/${args.prefix ?? ""}…${[args.suffix ?? ""].flat().join("|")} notify Glue workflow ${args.workflowName}`,
        eventPattern: pulumi
          .output(args.bucketName)
          .apply((b) => JSON.stringify(objectCreatedPattern(b, args.prefix, args.suffix))),
        tags: args.tags,
      },
      child,
    );
    // Only this rule, in this account, may use the role (no confused deputy).
    this.role = new aws.iam.Role(
      `${name}-role`,
      {
        description: "Lets one EventBridge rule notify its Glue workflow",
        assumeRolePolicy: pulumi.jsonStringify({
          Version: "2012-10-17",
          Statement: [
            {
              Effect: "Allow",
              Principal: { Service: "events.amazonaws.com" },
              Action: "sts:AssumeRole",
              Condition: {
                StringEquals: { "aws:SourceAccount": ctx.accountId },
                ArnEquals: { "aws:SourceArn": this.rule.arn },
              },
            },
          ],
        }),
        tags: args.tags,
      },
      child,
    );
    const policy = new aws.iam.RolePolicy(
      `${name}-notify-workflow`,
      {
        role: this.role.id,
        policy: policyDocument([
          {
            Sid: "NotifyThisWorkflowOnly",
            Effect: "Allow",
            Action: "glue:NotifyEvent",
            Resource: workflowArn,
          },
        ]),
      },
      child,
    );
    this.deadLetterQueue = new DeadLetterQueue(
      `${name}-dlq`,
      { eventRuleArns: [this.rule.arn], tags: args.tags },
      child,
    );
    new aws.cloudwatch.EventTarget(
      `${name}-target`,
      {
        rule: this.rule.name,
        arn: workflowArn,
        roleArn: this.role.arn,
        deadLetterConfig: { arn: this.deadLetterQueue.arn },
        retryPolicy: { maximumEventAgeInSeconds: 24 * 3600, maximumRetryAttempts: 185 },
      },
      { parent: this, dependsOn: [policy] },
    );
    this.registerOutputs({
      ruleName: this.rule.name,
      deadLetterQueueArn: this.deadLetterQueue.arn,
    });
  }
}
