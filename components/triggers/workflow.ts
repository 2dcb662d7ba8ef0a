import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { formerType } from "../../lib/aliases";
import { Tags } from "../../lib/tags";
import { TriggerSpec, TriggerValidationError, registerTriggers, triggerProblems } from "./spec";

export interface WorkflowArgs {
  /** Physical workflow name. Default: generated from the component name. */
  readonly workflowName?: pulumi.Input<string>;
  readonly description?: pulumi.Input<string>;
  /**
   * Workflow runs at a time. Default 1, so a schedule or an event batch never overlaps a run
   * still in progress.
   */
  readonly maxConcurrentRuns?: pulumi.Input<number>;
  /**
   * The workflow's graph: exactly one start trigger (scheduled, onDemand or event) and any number
   * of conditional triggers on jobs and crawlers of this workflow. `chain()` builds a straight one.
   */
  readonly triggers: Readonly<Record<string, TriggerSpec>>;
  /** Tags for the workflow and its triggers. Default none. */
  readonly tags?: Tags;
}

/** A Glue workflow and the triggers that form its graph. */
export class Workflow extends pulumi.ComponentResource {
  public readonly workflow: aws.glue.Workflow;
  public readonly name: pulumi.Output<string>;
  public readonly arn: pulumi.Output<string>;
  public readonly triggers: Readonly<Record<string, aws.glue.Trigger>>;
  public readonly triggerNames: Readonly<Record<string, pulumi.Output<string>>>;

  constructor(name: string, args: WorkflowArgs, opts?: pulumi.ComponentResourceOptions) {
    // Refuse bad specs before anything, the component included, is registered.
    const problems = triggerProblems(name, args.triggers, true);
    if (problems.length) throw new TriggerValidationError(problems);
    super(
      "glue-etl:triggers/workflow:Workflow",
      name,
      {},
      formerType("glue-etl:workflow:Workflow", opts),
    );
    this.workflow = new aws.glue.Workflow(
      `${name}-workflow`,
      {
        ...(args.workflowName !== undefined ? { name: args.workflowName } : {}),
        description: args.description,
        maxConcurrentRuns: args.maxConcurrentRuns ?? 1,
        tags: args.tags,
      },
      { parent: this },
    );
    this.name = this.workflow.name;
    this.arn = this.workflow.arn;
    this.triggers = registerTriggers(this, name, args.triggers, {
      workflowName: this.workflow.name,
      tags: args.tags,
    });
    this.triggerNames = Object.fromEntries(
      Object.entries(this.triggers).map(([k, t]) => [k, t.name]),
    );
    this.registerOutputs({ name: this.name, arn: this.arn, triggerNames: this.triggerNames });
  }
}
