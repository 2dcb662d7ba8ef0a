/**
 * One typed API for Glue triggers (scheduled, conditional, on-demand, event) and the workflows
 * that chain them. Specs are validated as a whole before any resource is registered, so a bad
 * schedule or an impossible workflow fails with one error that lists every problem.
 */
export * from "./spec";
export * from "./triggers";
export * from "./workflow";
