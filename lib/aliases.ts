import * as pulumi from "@pulumi/pulumi";

/**
 * Options for a component whose type token changed: the alias makes Pulumi match the resource
 * (and, through it, every child) that a deployed stack holds under the old token, so the stack
 * updates in place instead of replacing it.
 */
export function formerType(
  oldType: string,
  opts?: pulumi.ComponentResourceOptions,
): pulumi.ComponentResourceOptions {
  return { ...opts, aliases: [...(opts?.aliases ?? []), { type: oldType }] };
}
