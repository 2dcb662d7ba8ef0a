import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { formerType } from "../../lib/aliases";
import { Tags } from "../../lib/tags";
import { TriggerSpec, TriggerValidationError, registerTriggers, triggerProblems } from "./spec";

export interface TriggersArgs {
  /** Standalone triggers by key (no event triggers: those live in a Workflow). */
  readonly triggers: Readonly<Record<string, TriggerSpec>>;
  /** Tags for every trigger. Default none. */
  readonly tags?: Tags;
}

/** Standalone Glue triggers, e.g. a nightly schedule or an on-demand trigger for one job. */
export class Triggers extends pulumi.ComponentResource {
  public readonly triggers: Readonly<Record<string, aws.glue.Trigger>>;
  /** Physical trigger names by key. */
  public readonly triggerNames: Readonly<Record<string, pulumi.Output<string>>>;

  constructor(name: string, args: TriggersArgs, opts?: pulumi.ComponentResourceOptions) {
    // Refuse bad specs before anything, the component included, is registered.
    const problems = triggerProblems(name, args.triggers, false);
    if (problems.length) throw new TriggerValidationError(problems);
    super(
      "glue-etl:triggers/triggers:Triggers",
      name,
      {},
      formerType("glue-etl:triggers:Triggers", opts),
    );
    this.triggers = registerTriggers(this, name, args.triggers, { tags: args.tags });
    this.triggerNames = Object.fromEntries(
      Object.entries(this.triggers).map(([k, t]) => [k, t.name]),
    );
    this.registerOutputs({ triggerNames: this.triggerNames });
  }
}
