import * as pulumi from "@pulumi/pulumi";

/** AWS resource tags, as every component and resource in this program takes them. */
export type Tags = pulumi.Input<Record<string, pulumi.Input<string>>>;
