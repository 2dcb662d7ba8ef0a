/** Runs of the real program per stack, shared by test files (the program runs once per stack). */
import { OfflineRun, RecordedResource, StackRun, runStackOffline } from "../../tools/offline";

const cache = new Map<string, Promise<StackRun>>();

/** The program as deployed by Pulumi.<stack>.yaml, unmodified. Cached per stack. */
export function stackRun(stack: "dev" | "prod"): Promise<StackRun> {
  let run = cache.get(stack);
  if (!run) {
    run = runStackOffline(stack);
    cache.set(stack, run);
  }
  return run;
}

export function ofType(run: OfflineRun, type: string): RecordedResource[] {
  return run.resources.filter((r) => r.type === type);
}

export function named(run: OfflineRun, type: string, name: string): RecordedResource {
  const r = run.resources.find((x) => x.type === type && x.name === name);
  if (!r)
    throw new Error(
      `no ${type} named ${name}; have: ${ofType(run, type)
        .map((x) => x.name)
        .join(", ")}`,
    );
  return r;
}

export interface PolicyDoc {
  Version: string;
  Statement: {
    Sid?: string;
    Effect: string;
    Principal?: unknown;
    Action: string | string[];
    Resource: string | string[];
    Condition?: Record<string, Record<string, unknown>>;
  }[];
}

export function policyOf(r: RecordedResource, key = "policy"): PolicyDoc {
  return JSON.parse(r.inputs[key] as string) as PolicyDoc;
}

export const asList = <T>(x: T | T[]): T[] => (Array.isArray(x) ? x : [x]);
