/**
 * Runs Pulumi code under the SDK's mocks, with a stack's real config file, and records every
 * resource the code registers: type, name, parent, custom or component, and resolved inputs.
 * This is how the program is verified without an AWS account or the Pulumi CLI; the offline
 * preview, the tests and the policy runs all use it.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import * as pulumi from "@pulumi/pulumi";
import YAML from "yaml";
import { StackSettings, validateStackConfig } from "../lib/config";
import { PROJECT } from "../lib/names";

export { PROJECT };
export const MOCK_ACCOUNT_ID = "123456789012";
export const REPO_ROOT = path.resolve(__dirname, "..");

export interface RecordedResource {
  readonly type: string;
  readonly name: string;
  /** URN as the engine would compute it (type chain of the parents). */
  readonly urn: string;
  /** `${type}::${name}` of the parent, or undefined for children of the stack. */
  readonly parent?: string;
  readonly custom: boolean;
  /** Inputs after every Output resolved, as the provider would receive them. */
  readonly inputs: Record<string, unknown>;
  /** Top-level input keys whose value was a Pulumi secret. */
  readonly secretInputs: readonly string[];
  /**
   * URNs a deployed stack may hold this resource under, through a type alias of its own or of a
   * parent (as the engine resolves them): a stack that has one of them updates it in place.
   */
  readonly aliases: readonly string[];
  /** What the mocks answered as the resource's state: inputs plus id, ARN, name and the like. */
  readonly outputs: Record<string, unknown>;
}

export interface OfflineRun {
  readonly stack: string;
  readonly region: string;
  readonly resources: RecordedResource[];
  readonly outputs: Record<string, unknown>;
}

export interface StackConfig {
  /** Fully qualified keys ("glue-etl:sizing", "aws:region") to JSON or plain strings. */
  readonly config: Record<string, string>;
  readonly secretKeys: string[];
}

/** The program threw; `resources` holds what it had registered before (ideally nothing). */
export class OfflineProgramError extends Error {
  constructor(
    override readonly cause: unknown,
    readonly resources: RecordedResource[],
  ) {
    super(cause instanceof Error ? cause.message : String(cause));
    this.name = "OfflineProgramError";
  }
}

/** Placeholder for `secure:` values, which only the Pulumi CLI can decrypt. */
export const SECRET_PLACEHOLDER = "[secret]";

export function stackFile(stack: string): string {
  return path.join(REPO_ROOT, `Pulumi.${stack}.yaml`);
}

/** A stack or project file that is not valid YAML, or not shaped like one: names file and line. */
export class StackFileError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "StackFileError";
  }
}

interface CstToken {
  type?: string;
  offset?: number;
  source?: string;
  start?: { source?: string };
  end?: { source?: string }[];
}

/**
 * Where the construct that a YAML error is about begins. The parser reports an unclosed quote or
 * flow collection where it gave up (often the end of the file); the user needs the line where
 * it was opened.
 */
function openedAt(text: string, error: YAML.YAMLError): number {
  const unclosed: number[] = [];
  const visit = (node: unknown): void => {
    if (Array.isArray(node)) return node.forEach(visit);
    if (typeof node !== "object" || node === null) return;
    const t = node as CstToken;
    if (t.offset !== undefined && t.offset <= error.pos[0]) {
      const quote = t.type === "double-quoted-scalar" ? '"' : "'";
      const quoted = t.type === "double-quoted-scalar" || t.type === "single-quoted-scalar";
      if (quoted && (t.source!.length < 2 || !t.source!.endsWith(quote))) unclosed.push(t.offset);
      if (
        t.type === "flow-collection" &&
        !(t.end ?? []).some((e) => e.source === "]" || e.source === "}")
      )
        unclosed.push(t.offset);
    }
    for (const v of Object.values(node)) if (typeof v === "object") visit(v);
  };
  if (error.code === "MISSING_CHAR" || error.code === "BAD_INDENT")
    visit([...new YAML.Parser().parse(text)]);
  return unclosed.length > 0 ? Math.max(...unclosed) : error.pos[0];
}

/** Parses a YAML file, or throws a StackFileError naming the file, line and column. */
export function parseYamlFile(file: string, text: string): unknown {
  const doc = YAML.parseDocument(text, { prettyErrors: false });
  const error = doc.errors[0];
  if (!error) return doc.toJS() as unknown;
  const at = openedAt(text, error);
  const lineStarts = [0, ...[...text.matchAll(/\n/g)].map((m) => m.index + 1)];
  const line = lineStarts.filter((o) => o <= at).length;
  const col = at - lineStarts[line - 1]! + 1;
  const source = text.split("\n")[line - 1] ?? "";
  const what = error.message.replace(/ at line \d+, column \d+:?[\s\S]*$/, "");
  throw new StackFileError(
    `${path.basename(file)}, line ${line}, column ${col}: ${what}\n  ${line} | ${source}\n  ${" ".repeat(String(line).length)} | ${" ".repeat(col - 1)}^`,
  );
}

/** The `config:` map of a stack or project file, or a StackFileError naming the file. */
function configSection(file: string): Record<string, unknown> {
  const doc = parseYamlFile(file, fs.readFileSync(file, "utf8")) ?? {};
  if (typeof doc !== "object" || Array.isArray(doc)) {
    throw new StackFileError(
      `${path.basename(file)}: expected a map with a "config:" section; got ${JSON.stringify(doc)}`,
    );
  }
  const config = (doc as { config?: unknown }).config;
  if (config === undefined || config === null) return {};
  if (typeof config !== "object" || Array.isArray(config)) {
    throw new StackFileError(
      `${path.basename(file)}: "config" must be a map of keys to values, such as "  glue-etl:owner: my-team"; got ${JSON.stringify(config)}`,
    );
  }
  return config as Record<string, unknown>;
}

const qualified = (key: string) => (key.includes(":") ? key : `${PROJECT}:${key}`);

/**
 * What Pulumi.yaml gives every stack: `value`s and the `default`s of typed declarations (the CLI
 * passes both to the program when the stack file does not set the key).
 */
export function projectConfigDefaults(
  file = path.join(REPO_ROOT, "Pulumi.yaml"),
): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, decl] of Object.entries(configSection(file))) {
    const d = decl as { value?: unknown; default?: unknown; type?: unknown } | null;
    if (d !== null && typeof d === "object" && !Array.isArray(d)) {
      if ("value" in d) out[qualified(key)] = d.value;
      else if ("default" in d) out[qualified(key)] = d.default;
    } else {
      out[qualified(key)] = decl;
    }
  }
  return out;
}

/**
 * Reads Pulumi.<stack>.yaml, over the project's defaults, into the flat form the SDK's config
 * store uses.
 */
export function loadStackConfig(stack: string, file = stackFile(stack)): StackConfig {
  if (!fs.existsSync(file)) {
    throw new Error(`No stack file for stack "${stack}": expected ${path.basename(file)}`);
  }
  const stackValues = Object.fromEntries(
    Object.entries(configSection(file)).map(([k, v]) => [qualified(k), v]),
  );
  const config: Record<string, string> = {};
  const secretKeys: string[] = [];
  for (const [key, value] of Object.entries({ ...projectConfigDefaults(), ...stackValues })) {
    if (isSecure(value)) {
      config[key] = SECRET_PLACEHOLDER;
      secretKeys.push(key);
    } else {
      config[key] = typeof value === "string" ? value : JSON.stringify(value);
    }
  }
  return { config, secretKeys };
}

function isSecure(v: unknown): boolean {
  return typeof v === "object" && v !== null && !Array.isArray(v) && "secure" in v;
}

/** Fills in what AWS would compute for the resource types this program uses. */
function mockState(type: string, name: string, inputs: Record<string, unknown>, region: string) {
  const acct = MOCK_ACCOUNT_ID;
  const physical = (inputs.name as string | undefined) ?? name;
  const state: Record<string, unknown> = { ...inputs };
  const arnFor: Record<string, () => string> = {
    "aws:s3/bucket:Bucket": () =>
      `arn:aws:s3:::${(state.bucket ??= `${(inputs.bucketPrefix as string | undefined) ?? `${name}-`}offline`) as string}`,
    "aws:iam/role:Role": () => `arn:aws:iam::${acct}:role/${(state.name ??= name) as string}`,
    "aws:iam/policy:Policy": () => `arn:aws:iam::${acct}:policy/${physical}`,
    "aws:kms/key:Key": () => `arn:aws:kms:${region}:${acct}:key/${name}-mock-key-id`,
    "aws:glue/job:Job": () => `arn:aws:glue:${region}:${acct}:job/${physical}`,
    "aws:glue/workflow:Workflow": () => `arn:aws:glue:${region}:${acct}:workflow/${physical}`,
    "aws:glue/crawler:Crawler": () => `arn:aws:glue:${region}:${acct}:crawler/${physical}`,
    "aws:glue/trigger:Trigger": () => `arn:aws:glue:${region}:${acct}:trigger/${physical}`,
    "aws:glue/catalogDatabase:CatalogDatabase": () =>
      `arn:aws:glue:${region}:${acct}:database/${physical}`,
    "aws:sns/topic:Topic": () => `arn:aws:sns:${region}:${acct}:${physical}`,
    "aws:sqs/queue:Queue": () => `arn:aws:sqs:${region}:${acct}:${physical}`,
    "aws:lambda/function:Function": () => `arn:aws:lambda:${region}:${acct}:function:${physical}`,
    "aws:cloudwatch/eventRule:EventRule": () => `arn:aws:events:${region}:${acct}:rule/${physical}`,
    "aws:cloudwatch/metricAlarm:MetricAlarm": () =>
      `arn:aws:cloudwatch:${region}:${acct}:alarm:${physical}`,
    "aws:cloudwatch/dashboard:Dashboard": () =>
      `arn:aws:cloudwatch::${acct}:dashboard/${inputs.dashboardName as string}`,
    "aws:secretsmanager/secret:Secret": () =>
      `arn:aws:secretsmanager:${region}:${acct}:secret:${physical}-AbCdEf`,
    "aws:dynamodb/table:Table": () => `arn:aws:dynamodb:${region}:${acct}:table/${physical}`,
    "aws:cloudwatch/logGroup:LogGroup": () =>
      `arn:aws:logs:${region}:${acct}:log-group:${physical}`,
    "aws:athena/workgroup:Workgroup": () =>
      `arn:aws:athena:${region}:${acct}:workgroup/${physical}`,
  };
  const arn = arnFor[type];
  if (arn) state.arn = arn();
  if (type === "aws:kms/key:Key") state.keyId = `${name}-mock-key-id`;
  if (type === "awsx:ec2:Vpc") {
    state.vpcId = `${name}-vpc-id`;
    state.privateSubnetIds = [`${name}-private-a`, `${name}-private-b`];
    state.publicSubnetIds = [`${name}-public-a`, `${name}-public-b`];
  }
  if (type === "aws:sqs/queue:Queue")
    state.url = `https://sqs.${region}.amazonaws.com/${acct}/${physical}`;
  if (state.name === undefined && !type.startsWith("aws:s3/")) state.name = physical;
  return state;
}

function mocks(region: string): pulumi.runtime.Mocks {
  return {
    newResource: (args) => {
      const state = mockState(args.type, args.name, args.inputs as Record<string, unknown>, region);
      return { id: `${args.name}-id`, state };
    },
    call: (args) => {
      switch (args.token) {
        case "aws:index/getCallerIdentity:getCallerIdentity":
          return {
            accountId: MOCK_ACCOUNT_ID,
            arn: `arn:aws:iam::${MOCK_ACCOUNT_ID}:user/offline`,
            userId: "OFFLINE",
          };
        case "aws:index/getRegion:getRegion":
          return { name: region, region, id: region };
        case "aws:ec2/getSubnet:getSubnet":
          return { ...args.inputs, availabilityZone: `${region}a` };
        case "aws:index/getPartition:getPartition":
          return { partition: "aws", dnsSuffix: "amazonaws.com", id: "aws" };
        default:
          return args.inputs;
      }
    },
  };
}

// The wire form of a secret value: { [SIG_KEY]: SECRET_SIG, value }.
const SIG_KEY = "4dabf18193072939515e22adb298388d";
const SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270";

/**
 * Inputs as a provider (and a policy) sees them: secret values in place. Which inputs were
 * secret is kept in `secretInputs`.
 */
function unwrapSecrets(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(unwrapSecrets);
  if (typeof v !== "object" || v === null) return v;
  // Only plain objects: an asset's path may still be a Promise, which the snapshot awaits.
  const proto = Object.getPrototypeOf(v) as unknown;
  if (proto !== Object.prototype && proto !== null) return v;
  const o = v as Record<string, unknown>;
  if (o[SIG_KEY] === SECRET_SIG) return unwrapSecrets(o.value);
  return Object.fromEntries(Object.entries(o).map(([k, x]) => [k, unwrapSecrets(x)]));
}

function hasSecret(v: unknown): boolean {
  if (Array.isArray(v)) return v.some(hasSecret);
  if (typeof v !== "object" || v === null) return false;
  const o = v as Record<string, unknown>;
  return o[SIG_KEY] === SECRET_SIG || Object.values(o).some(hasSecret);
}

interface Pending {
  type: string;
  name: string;
  parent?: string;
  custom: boolean;
  secretInputs: Promise<string[]>;
  /** Former type tokens, from `aliases: [{ type: "..." }]`. */
  formerTypes: string[];
}

async function secretKeysOf(props: Record<string, unknown>): Promise<string[]> {
  const keys: string[] = [];
  for (const [k, v] of Object.entries(props ?? {})) {
    // isSecret is not in the public typings but is how the SDK itself marks secrets.
    if (
      pulumi.Output.isInstance(v) &&
      (await (v as unknown as { isSecret: Promise<boolean> }).isSecret)
    )
      keys.push(k);
  }
  return keys;
}

/**
 * Runs `program` under mocks with the given stack config and returns what it registered and
 * exported. Runs are serialised: the SDK's runtime state is per process.
 */
export async function runOffline(
  stack: string,
  stackConfig: StackConfig,
  program: () => Promise<Record<string, unknown> | void> | Record<string, unknown> | void,
): Promise<OfflineRun> {
  const region = readRegion(stackConfig);
  const resolved = new Map<string, Record<string, unknown>>();
  const states = new Map<string, Record<string, unknown>>();
  const wireSecrets = new Map<string, string[]>();
  const pending: Pending[] = [];
  const m = mocks(region);
  await pulumi.runtime.setMocks(
    {
      newResource: (args) => {
        const res = m.newResource(args) as pulumi.runtime.MockResourceResult;
        const key = `${args.type}::${args.name}`;
        const inputs = args.inputs as Record<string, unknown>;
        resolved.set(key, unwrapSecrets(inputs) as Record<string, unknown>);
        wireSecrets.set(
          key,
          Object.keys(inputs).filter((k) => hasSecret(inputs[k])),
        );
        states.set(key, { ...(unwrapSecrets(res.state) as Record<string, unknown>), id: res.id });
        return res;
      },
      call: m.call,
    },
    PROJECT,
    stack,
    true,
  );
  pulumi.runtime.setAllConfig(stackConfig.config, stackConfig.secretKeys);
  let programError: unknown;
  const outputs = await pulumi.runtime.runInPulumiStack(async () => {
    pulumi.runtime.registerStackTransformation((args) => {
      const parent = args.opts.parent as
        (pulumi.Resource & { __pulumiType?: string; __name?: string }) | undefined;
      const parentKey =
        parent && parent.__pulumiType !== "pulumi:pulumi:Stack"
          ? `${parent.__pulumiType}::${parent.__name}`
          : undefined;
      pending.push({
        type: args.type,
        name: args.name,
        parent: parentKey,
        custom: args.resource instanceof pulumi.CustomResource,
        secretInputs: secretKeysOf(args.props as Record<string, unknown>),
        formerTypes: (args.opts.aliases ?? []).flatMap((a) => {
          const t = typeof a === "object" && a !== null ? (a as pulumi.Alias).type : undefined;
          return typeof t === "string" ? [t] : [];
        }),
      });
      return undefined;
    });
    try {
      return (await program()) ?? undefined;
    } catch (e) {
      programError = e;
      return undefined;
    }
  });
  // Outputs resolve asynchronously after registration; let the mock monitor drain.
  await new Promise((r) => setTimeout(r, 50));
  const byKey = new Map(pending.map((p) => [`${p.type}::${p.name}`, p]));
  /** Every type chain the resource can have: its current one first, then through aliases. */
  const chainsOf = (p: Pending): string[] => {
    const parent = p.parent ? byKey.get(p.parent) : undefined;
    const parentChains = parent ? chainsOf(parent) : [""];
    return parentChains.flatMap((pc) =>
      [p.type, ...p.formerTypes].map((t) => (pc ? `${pc}$${t}` : t)),
    );
  };
  const urnFor = (chain: string, name: string) =>
    `urn:pulumi:${stack}::${PROJECT}::${chain}::${name}`;
  const urnOf = (p: Pending): string => urnFor(chainsOf(p)[0]!, p.name);
  const resources: RecordedResource[] = [];
  for (const p of pending) {
    resources.push({
      type: p.type,
      name: p.name,
      urn: urnOf(p),
      parent: p.parent,
      custom: p.custom,
      inputs: resolved.get(`${p.type}::${p.name}`) ?? {},
      secretInputs: [
        ...new Set([...(await p.secretInputs), ...(wireSecrets.get(`${p.type}::${p.name}`) ?? [])]),
      ].sort(),
      outputs: states.get(`${p.type}::${p.name}`) ?? {},
      aliases: [...new Set(chainsOf(p).map((c) => urnFor(c, p.name)))].slice(1),
    });
  }
  if (programError !== undefined) throw new OfflineProgramError(programError, resources);
  return { stack, region, resources, outputs: (outputs ?? {}) as Record<string, unknown> };
}

export function readRegion(stackConfig: StackConfig): string {
  return stackConfig.config["aws:region"] ?? "us-east-1";
}

/** A run of the real program, with the settings it deployed. */
export interface StackRun extends OfflineRun {
  /** The validated settings the program used, for the cost estimate and other tools. */
  readonly settings: StackSettings;
}

/**
 * Runs the real program (index.ts) for a stack. `overrides` replace config keys (fully
 * qualified, values as they would appear in the stack file) to try other configurations;
 * `file` reads another stack file instead of Pulumi.<stack>.yaml.
 */
export async function runStackOffline(
  stack: string,
  overrides: Record<string, unknown> = {},
  file = stackFile(stack),
): Promise<StackRun> {
  const base = loadStackConfig(stack, file);
  const config = { ...base.config };
  for (const [k, v] of Object.entries(overrides)) {
    const key = k.includes(":") ? k : `${PROJECT}:${k}`;
    if (v === undefined) delete config[key];
    else config[key] = typeof v === "string" ? v : JSON.stringify(v);
  }
  const programPath = require.resolve(path.join(REPO_ROOT, "index.ts"));
  const run = await runOffline(stack, { config, secretKeys: base.secretKeys }, () => {
    // The program registers resources when imported: load it afresh for every run. Modules it
    // imports hold no state, so they stay cached (and their classes stay comparable).
    delete require.cache[programPath];
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- re-executes the program
    return require(programPath) as Record<string, unknown>;
  });
  // The program accepted this exact config; the same pure function gives the tools its settings,
  // so no tool reads or validates the stack file on its own.
  return { ...run, settings: validateStackConfig(config, path.basename(file), base.secretKeys) };
}
