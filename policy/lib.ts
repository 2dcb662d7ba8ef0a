/**
 * What every policy of the pack shares: reading resource properties that may be unknown during a
 * preview, policy config with its schema defaults, IAM policy documents, the environment a
 * resource belongs to, its effective tags, and joining a setting resource (an S3 bucket's
 * encryption, a Lambda's invoke config) to the resource it configures.
 */
import {
  EnforcementLevel,
  PolicyConfigSchema,
  PolicyResource,
  ReportViolation,
  ResourceValidationArgs,
  ResourceValidationPolicy,
  Severity,
  StackValidationArgs,
  StackValidationPolicy,
  UnknownValueError,
} from "@pulumi/policy";

/** A value the engine cannot know until the update runs (e.g. the id of a bucket not yet created). */
export const UNKNOWN: unique symbol = Symbol("unknown until the update");
export type Unknown = typeof UNKNOWN;

export type Plain = string | number | boolean | null | Unknown | Plain[] | { [key: string]: Plain };
export type PlainObject = { [key: string]: Plain };

const UnknownError = UnknownValueError as unknown as abstract new (...args: never[]) => Error;

function isUnknownError(e: unknown): boolean {
  return e instanceof UnknownError;
}

/**
 * A plain copy of resource properties. The policy SDK hands them over behind a proxy that throws
 * on any unknown value, which would abort the whole policy for every resource; here an unknown
 * becomes UNKNOWN, so a policy skips just what it cannot judge yet. Policies run again during
 * `pulumi up`, when every value is known, so nothing escapes.
 */
export function plain(value: unknown): Plain {
  if (value === undefined || value === null) return null;
  if (typeof value === "string" || typeof value === "number" || typeof value === "boolean")
    return value;
  if (Array.isArray(value)) {
    const out: Plain[] = [];
    for (let i = 0; i < value.length; i++) out.push(readKey(value, String(i)));
    return out;
  }
  if (typeof value === "object") {
    const out: PlainObject = {};
    for (const key of Object.keys(value)) {
      const v = readKey(value as Record<string, unknown>, key);
      if (v !== null) out[key] = v;
    }
    return out;
  }
  return null;
}

function readKey(container: object, key: string): Plain {
  try {
    return plain((container as Record<string, unknown>)[key]);
  } catch (e) {
    if (isUnknownError(e)) return UNKNOWN;
    throw e;
  }
}

export function asObject(v: Plain | undefined): PlainObject | undefined {
  return typeof v === "object" && v !== null && !Array.isArray(v) ? v : undefined;
}

export function asString(v: Plain | undefined): string | undefined {
  return typeof v === "string" ? v : undefined;
}

/** A property that AWS accepts as a string or a list of strings (IAM Action, Resource). */
export function asStrings(v: Plain | undefined): string[] {
  if (typeof v === "string") return [v];
  if (Array.isArray(v)) return v.filter((x): x is string => typeof x === "string");
  return [];
}

/** A property that AWS accepts as one item or a list of them. */
export function listOf(v: Plain | undefined): Plain[] {
  if (Array.isArray(v)) return v;
  return v === undefined || v === null ? [] : [v];
}

/** Numbers arrive as strings from some sources (stack outputs of older state). */
export function asNumber(v: Plain | undefined): number | undefined {
  if (typeof v === "number") return v;
  if (typeof v === "string" && v.trim() !== "" && !Number.isNaN(Number(v))) return Number(v);
  return undefined;
}

export function isUnknown(v: Plain | undefined): v is Unknown {
  return v === UNKNOWN;
}

/** True when any value inside is unknown. */
export function hasUnknown(v: Plain | undefined): boolean {
  if (v === UNKNOWN) return true;
  if (Array.isArray(v)) return v.some(hasUnknown);
  const o = asObject(v);
  return o !== undefined && Object.values(o).some(hasUnknown);
}

// ---------------------------------------------------------------------------------------------
// Policy definitions

/** The JSON schema of one config property; `default` is required so that every knob is documented. */
export type ConfigProperty = PolicyConfigSchema["properties"][string] & {
  default: unknown;
  description: string;
};
export type ConfigProperties = Record<string, ConfigProperty>;

/** A config property that holds a list of strings. */
export function stringList(description: string, defaults: string[] = []): ConfigProperty {
  return { type: "array", items: { type: "string" }, default: defaults, description };
}

/** A resource as the policies see it: plain properties, plus where it sits in the stack. */
export interface Subject {
  readonly type: string;
  readonly name: string;
  readonly urn: string;
  readonly props: PlainObject;
  /** Default tags of the provider that manages it, merged under the resource's own tags. */
  readonly providerTags: Record<string, string>;
  readonly stackTags: ReadonlyMap<string, string>;
}

interface PolicyMeta<C> {
  readonly name: string;
  readonly description: string;
  readonly enforcementLevel?: EnforcementLevel;
  readonly severity?: Severity;
  readonly remediationSteps?: string;
  /** Config knobs with their defaults; the policy receives them merged with the user's values. */
  readonly config: { [K in keyof C]: ConfigProperty };
}

export interface ResourcePolicyDef<C> extends PolicyMeta<C> {
  /** Type tokens the policy applies to; it reports itself not applicable to any other. */
  readonly types: readonly string[];
  readonly validate: (r: Subject, config: C, report: (message: string) => void) => void;
}

export interface StackPolicyDef<C> extends PolicyMeta<C> {
  readonly validate: (stack: StackView, config: C, report: ReportViolation) => void;
}

/** What a resource and a stack policy tell the engine about themselves besides their check. */
function policyMeta<C>(def: PolicyMeta<C>) {
  return {
    name: def.name,
    description: def.description,
    enforcementLevel: def.enforcementLevel ?? "mandatory",
    severity: def.severity,
    remediationSteps: def.remediationSteps,
    configSchema: { properties: def.config } satisfies PolicyConfigSchema,
  };
}

/** The user's config for a policy over its defaults. The CLI applies defaults too; tests and older CLIs may not. */
export function configWithDefaults<C>(config: ConfigProperties, given: object): C {
  const out: Record<string, unknown> = {};
  for (const [k, p] of Object.entries(config)) out[k] = p.default;
  for (const [k, v] of Object.entries(given)) if (v !== undefined) out[k] = v;
  return out as C;
}

function providerTags(
  provider: { props: Record<string, unknown> } | undefined,
): Record<string, string> {
  const tags = asObject(asObject(plain(provider?.props))?.defaultTags);
  return stringMap(tags?.tags);
}

export function stringMap(v: Plain | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, x] of Object.entries(asObject(v) ?? {})) if (typeof x === "string") out[k] = x;
  return out;
}

/** A resource as the policies see it: plain props, and the tags of its provider and stack. */
function subjectOf(
  r: Pick<PolicyResource, "type" | "name" | "urn" | "props" | "provider">,
  stackTags: ReadonlyMap<string, string>,
): Subject {
  return {
    type: r.type,
    name: r.name,
    urn: r.urn,
    props: asObject(plain(r.props)) ?? {},
    providerTags: providerTags(r.provider),
    stackTags,
  };
}

export function resourcePolicy<C>(def: ResourcePolicyDef<C>): ResourceValidationPolicy {
  return {
    ...policyMeta(def),
    validateResource: (args: ResourceValidationArgs, reportViolation: ReportViolation) => {
      if (!def.types.includes(args.type)) {
        args.notApplicable(`applies only to ${def.types.join(", ")}`);
      }
      def.validate(
        subjectOf(args, args.stackTags),
        configWithDefaults<C>(def.config, args.getConfig<object>()),
        (m) => reportViolation(m),
      );
    },
  };
}

export function stackPolicy<C>(def: StackPolicyDef<C>): StackValidationPolicy {
  return {
    ...policyMeta(def),
    validateStack: (args: StackValidationArgs, reportViolation: ReportViolation) => {
      def.validate(
        new StackView(args),
        configWithDefaults<C>(def.config, args.getConfig<object>()),
        reportViolation,
      );
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Joining resources in a stack

/** The stack's resources as Subjects, indexed for joins. */
export class StackView {
  readonly subjects: Subject[];
  readonly stackTags: ReadonlyMap<string, string>;
  private readonly byUrn = new Map<string, Subject>();
  private readonly deps = new Map<string, Record<string, PolicyResource[]>>();

  constructor(args: StackValidationArgs) {
    this.stackTags = args.stackTags;
    this.subjects = args.resources.map((r) => {
      const s = subjectOf(r, args.stackTags);
      this.byUrn.set(r.urn, s);
      this.deps.set(r.urn, r.propertyDependencies ?? {});
      return s;
    });
  }

  ofType(types: readonly string[]): Subject[] {
    return this.subjects.filter((s) => types.includes(s.type));
  }

  /**
   * The resources of `targetTypes` that `s` points at through `property`: by the engine's
   * property dependencies (known even during a preview, when the value itself is not), else
   * by value against the targets' identifying properties (`id`, `arn`, `name`, …).
   */
  targets(
    s: Subject,
    property: string,
    targetTypes: readonly string[],
    keys: readonly string[],
  ): Subject[] {
    const viaDeps = (this.deps.get(s.urn)?.[property] ?? [])
      .map((r) => this.byUrn.get(r.urn))
      .filter((t): t is Subject => t !== undefined && targetTypes.includes(t.type));
    if (viaDeps.length > 0) return viaDeps;
    const values = asStrings(s.props[property]);
    if (values.length === 0) return [];
    return this.ofType(targetTypes).filter((t) =>
      keys.some((k) => values.includes(asString(t.props[k]) ?? "\0")),
    );
  }
}

// ---------------------------------------------------------------------------------------------
// Environments and tags

/** Tags as AWS will apply them: provider default tags, then `tagsAll`, then the resource's own. */
export function effectiveTags(s: Subject): Record<string, string> | Unknown {
  if (isUnknown(s.props.tags) || isUnknown(s.props.tagsAll)) return UNKNOWN;
  return { ...s.providerTags, ...stringMap(s.props.tagsAll), ...stringMap(s.props.tags) };
}

/** The stack name in a URN: `urn:pulumi:<stack>::<project>::…`. */
export function stackOfUrn(urn: string): string | undefined {
  return /^urn:pulumi:([^:]+)::/.exec(urn)?.[1];
}

/**
 * The environment a resource belongs to: its `tagKey` tag, else the stack tag of that name,
 * else the stack's name.
 */
export function environmentOf(s: Subject, tagKey: string): string | undefined {
  const tags = effectiveTags(s);
  const fromTag = tags === UNKNOWN ? undefined : tags[tagKey];
  return fromTag ?? s.stackTags.get(tagKey) ?? stackOfUrn(s.urn);
}

export const ENVIRONMENT_TAG_CONFIG: ConfigProperty = {
  type: "string",
  default: "environment",
  description:
    "Tag (or stack tag) naming the environment; the stack name is used when neither is set.",
};

// ---------------------------------------------------------------------------------------------
// IAM policy documents

export interface Statement {
  readonly effect: string;
  readonly actions: string[];
  readonly notActions: string[];
  readonly resources: string[];
  readonly notResources: string[];
  readonly principal: Plain | undefined;
  readonly condition: PlainObject | undefined;
  readonly sid?: string;
}

/** A policy document given as a JSON string or as an object; UNKNOWN while it is being computed. */
export function parsePolicy(v: Plain | undefined): Statement[] | Unknown | "invalid" | undefined {
  if (v === undefined || v === null || v === "") return undefined;
  if (hasUnknown(v)) return UNKNOWN;
  let doc: Plain;
  if (typeof v === "string") {
    try {
      doc = plain(JSON.parse(v));
    } catch {
      return "invalid";
    }
  } else {
    doc = v;
  }
  return listOf(asObject(doc)?.Statement).map((x) => {
    const st = asObject(x) ?? {};
    return {
      effect: asString(st.Effect) ?? "",
      actions: asStrings(st.Action),
      notActions: asStrings(st.NotAction),
      resources: asStrings(st.Resource),
      notResources: asStrings(st.NotResource),
      principal: st.Principal,
      condition: asObject(st.Condition),
      sid: asString(st.Sid),
    };
  });
}

/** `Service`, `AWS` or `Federated` principals of a statement; `*` comes out as AWS `*`. */
export function principals(p: Plain | undefined): { kind: string; value: string }[] {
  if (p === "*") return [{ kind: "AWS", value: "*" }];
  const out: { kind: string; value: string }[] = [];
  for (const [kind, v] of Object.entries(asObject(p) ?? {})) {
    for (const value of asStrings(v)) out.push({ kind, value });
  }
  return out;
}

/** Managed policy ARNs differ by partition (`arn:aws-cn:…`); compare by what follows `:policy/`. */
export function managedPolicyName(arn: string): string | undefined {
  return /^arn:[^:]+:iam::aws:policy\/(.+)$/.exec(arn)?.[1];
}

export function list(values: readonly string[]): string {
  return values.length === 0 ? "none" : values.join(", ");
}
