/**
 * Runs policies the way the Pulumi policy server does, without the CLI: builds
 * ResourceValidationArgs / StackValidationArgs of the current @pulumi/policy shape (props behind
 * the SDK's unknown-checking proxy, stackTags, getConfig, notApplicable) and collects what the
 * policies report. Resources come from hand-written specs or from an offline run of the program.
 */
import {
  Policies,
  PolicyResource,
  PolicyResourceOptions,
  ResourceValidationArgs,
  ResourceValidationPolicy,
  StackValidationArgs,
  StackValidationPolicy,
  unknownCheckingProxy,
} from "@pulumi/policy";
import { type OfflineRun } from "../../tools/offline";

export const STACK = "dev";
export const PROJECT = "glue-etl";

/** A resource as a test writes it: type and name, its properties, and optional wiring. */
export interface ResourceSpec {
  readonly type: string;
  readonly name: string;
  readonly props?: Record<string, unknown>;
  /** Defaults to the URN of a resource at the stack's root. */
  readonly urn?: string;
  /** Property name to the names (or URNs) of the resources its value came from, as the engine records it. */
  readonly propertyDependencies?: Record<string, string[]>;
  readonly provider?: { type: string; name: string; props: Record<string, unknown> };
}

export interface RunOptions {
  /** Policy config as a user gives it in a policy config file (defaults are applied by the pack). */
  readonly config?: object;
  readonly stackTags?: Record<string, string>;
  /** Stack name used in generated URNs. Default "dev". */
  readonly stack?: string;
}

export interface Violation {
  readonly policy: string;
  readonly message: string;
  readonly urn?: string;
}

export interface Outcome {
  readonly violations: Violation[];
  /** The reason given to notApplicable, when the policy called it. */
  readonly notApplicable?: string;
  /** What the server would report when a policy reads a value unknown during preview. */
  readonly cannotRun?: string;
}

type UnknownKind = "string" | "number" | "boolean" | "array" | "object";

interface ProxyInternals {
  unknownStringValue: unknown;
  unknownNumberValue: unknown;
  unknownBooleanValue: unknown;
  unknownArrayValue: unknown;
  unknownObjectValue: unknown;
}
// The sentinels the policy SDK deserialises preview-time unknowns into; not in its public typings.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const sentinels = require("@pulumi/policy/proxy") as ProxyInternals;

/** A value the engine does not know yet during a preview (e.g. the id of a bucket to be created). */
export function unknown(kind: UnknownKind = "string"): unknown {
  return {
    string: sentinels.unknownStringValue,
    number: sentinels.unknownNumberValue,
    boolean: sentinels.unknownBooleanValue,
    array: sentinels.unknownArrayValue,
    object: sentinels.unknownObjectValue,
  }[kind];
}

export function urnOf(type: string, name: string, stack = STACK): string {
  return `urn:pulumi:${stack}::${PROJECT}::${type}::${name}`;
}

const OPTS: PolicyResourceOptions = {
  protect: false,
  ignoreChanges: [],
  aliases: [],
  customTimeouts: { createSeconds: 0, updateSeconds: 0, deleteSeconds: 0 },
  additionalSecretOutputs: [],
};

class NotApplicable extends Error {}

function typeToken(resourceClass: unknown): string | undefined {
  return (resourceClass as { __pulumiType?: string }).__pulumiType;
}

function common(config: object | undefined, stackTags: Record<string, string> | undefined) {
  return {
    stackTags: new Map(Object.entries(stackTags ?? {})) as ReadonlyMap<string, string>,
    getConfig: <T extends object>() => ({ ...(config ?? {}) }) as T,
    notApplicable: (reason?: string): never => {
      throw new NotApplicable(reason ?? "");
    },
  };
}

/** Runs a validation the way the server does: notApplicable and unknown reads end it early. */
async function capture(
  policy: string,
  run: (report: (m: string, urn?: string) => void) => unknown,
): Promise<Outcome> {
  const violations: Violation[] = [];
  try {
    await run((message, urn) => violations.push({ policy, message, urn }));
  } catch (e) {
    if (e instanceof NotApplicable) return { violations, notApplicable: e.message };
    if (e instanceof Error && /can't be known during preview/.test(e.message)) {
      return { violations, cannotRun: e.message };
    }
    throw e;
  }
  return { violations };
}

export async function checkResource(
  policy: ResourceValidationPolicy,
  spec: ResourceSpec,
  options: RunOptions = {},
): Promise<Outcome> {
  const { config, stackTags, stack } = options;
  const urn = spec.urn ?? urnOf(spec.type, spec.name, stack);
  const args: ResourceValidationArgs = {
    type: spec.type,
    name: spec.name,
    urn,
    props: unknownCheckingProxy(spec.props ?? {}) as Record<string, unknown>,
    opts: OPTS,
    provider: spec.provider
      ? { ...spec.provider, urn: urnOf(spec.provider.type, spec.provider.name, stack) }
      : undefined,
    isType: (cls) => typeToken(cls) === spec.type,
    asType: <TResource, TArgs>(
      cls: new (name: string, args: TArgs, ...rest: never[]) => TResource,
    ) => (typeToken(cls) === spec.type ? args.props : undefined) as never,
    ...common(config, stackTags),
  };
  const validations = [policy.validateResource ?? []].flat();
  return capture(policy.name, async (report) => {
    for (const validate of validations) await validate(args, report);
  });
}

/** PolicyResources of a stack, with parents and property dependencies resolved to resources. */
export function stackResources(specs: readonly ResourceSpec[], stack = STACK): PolicyResource[] {
  const resources = specs.map((spec) => {
    const urn = spec.urn ?? urnOf(spec.type, spec.name, stack);
    const props = unknownCheckingProxy(spec.props ?? {}) as Record<string, unknown>;
    const r: PolicyResource = {
      type: spec.type,
      name: spec.name,
      urn,
      props,
      opts: OPTS,
      provider: spec.provider
        ? { ...spec.provider, urn: urnOf(spec.provider.type, spec.provider.name, stack) }
        : undefined,
      dependencies: [],
      propertyDependencies: {},
      isType: (cls) => typeToken(cls) === spec.type,
      asType: (cls) => (typeToken(cls) === spec.type ? props : undefined) as never,
    };
    return r;
  });
  const find = (ref: string) => resources.find((r) => r.urn === ref || r.name === ref);
  specs.forEach((spec, i) => {
    for (const [prop, refs] of Object.entries(spec.propertyDependencies ?? {})) {
      const deps = refs.map((ref) => {
        const dep = find(ref);
        if (!dep)
          throw new Error(
            `propertyDependencies.${prop} of "${spec.name}" names "${ref}", which is not in the stack`,
          );
        return dep;
      });
      resources[i].propertyDependencies[prop] = deps;
      resources[i].dependencies.push(...deps);
    }
  });
  return resources;
}

export async function checkStack(
  policy: StackValidationPolicy,
  specs: readonly ResourceSpec[],
  options: RunOptions = {},
): Promise<Outcome> {
  const args: StackValidationArgs = {
    resources: stackResources(specs, options.stack),
    ...common(options.config, options.stackTags),
  };
  return capture(policy.name, (report) => policy.validateStack(args, report));
}

/** Runs a policy of either kind: a resource policy over each resource, a stack policy once. */
export async function check(
  policy: ResourceValidationPolicy | StackValidationPolicy,
  specs: readonly ResourceSpec[],
  options: RunOptions = {},
): Promise<Outcome> {
  if ("validateStack" in policy) return checkStack(policy, specs, options);
  const outcomes = await Promise.all(specs.map((s) => checkResource(policy, s, options)));
  return {
    violations: outcomes.flatMap((o) => o.violations),
    cannotRun: outcomes.find((o) => o.cannotRun)?.cannotRun,
  };
}

/** Every violation of every policy over a stack; `config` is keyed by policy name like a policy config file. */
export async function runPolicies(
  policies: Policies,
  specs: readonly ResourceSpec[],
  options: Omit<RunOptions, "config"> & { config?: Record<string, object> } = {},
): Promise<Violation[]> {
  const out: Violation[] = [];
  for (const policy of policies) {
    const outcome = await check(policy, specs, {
      ...options,
      config: options.config?.[policy.name],
    });
    if (outcome.cannotRun)
      out.push({ policy: policy.name, message: `cannot run: ${outcome.cannotRun}` });
    out.push(...outcome.violations);
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Offline runs of the program

/** The custom resources of an offline run as specs, ready for runPolicies. */
export function fromOfflineRun(run: OfflineRun): ResourceSpec[] {
  return (
    run.resources
      .filter((r) => r.custom)
      // The mocks' state (inputs plus ids, names, ARNs) lets the policies' joins by id, name and
      // ARN see the values the program wired together.
      .map((r) => ({ type: r.type, name: r.name, urn: r.urn, props: r.outputs }))
  );
}
