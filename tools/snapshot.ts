/**
 * The offline preview as stable JSON: every resource (sorted by URN) with its type, name, parent
 * and inputs, the stack outputs and the cost estimate. Secrets are masked and values that depend
 * on the machine (absolute paths, asset objects) are normalised, so two runs of an unchanged
 * program give byte-identical output and the committed snapshots in test/snapshots/ diff cleanly.
 */
import * as fs from "node:fs";
import * as crypto from "node:crypto";
import * as path from "node:path";
import * as pulumi from "@pulumi/pulumi";
import { OfflineRun, REPO_ROOT, SECRET_PLACEHOLDER, runStackOffline } from "./offline";
import { RunMinutesLookup, StackCost, runMinutesFrom, stackCost } from "./cost";

export const SNAPSHOT_VERSION = 1;
export const SNAPSHOT_DIR = path.join(REPO_ROOT, "test", "snapshots");
/** What a developer runs to accept an infrastructure change. */
export const SNAPSHOT_COMMAND = "make snapshot";

export interface SnapshotResource {
  readonly urn: string;
  readonly type: string;
  readonly name: string;
  /** `type::name` of the parent component; absent for children of the stack. */
  readonly parent?: string;
  readonly custom: boolean;
  readonly inputs: Record<string, unknown>;
  /** Former URNs (through type aliases) under which a deployed stack may hold the resource. */
  readonly aliases?: readonly string[];
}

export interface Snapshot {
  readonly version: number;
  readonly stack: string;
  readonly region: string;
  readonly resources: readonly SnapshotResource[];
  readonly outputs: Record<string, unknown>;
  readonly cost: StackCost;
}

export function snapshotFile(stack: string): string {
  return path.join(SNAPSHOT_DIR, `${stack}.json`);
}

/** Repo-relative form of a path inside the repository; other paths are left alone. */
function relativeToRepo(p: string): string {
  const rel = path.relative(REPO_ROOT, p);
  return rel.startsWith("..") || path.isAbsolute(rel) ? p : rel.split(path.sep).join("/");
}

const REPO_PREFIX = REPO_ROOT + path.sep;

/**
 * Assets and archives hold their path as a promise, which serialises as `{}`: resolve it and
 * describe the asset by kind and repo-relative path (the uploaded object's key and sourceHash
 * already carry the content hash).
 */
async function normaliseAsset(v: Record<string, unknown>): Promise<Record<string, unknown>> {
  const kind = v.__pulumiAsset ? "asset" : "archive";
  const out: Record<string, unknown> = {};
  for (const field of ["path", "uri", "text", "assets"] as const) {
    const value = await v[field];
    if (value === undefined) continue;
    if (field === "path") out.path = relativeToRepo(String(value));
    else if (field === "assets") out.assets = await normalise(value);
    else if (field === "text") {
      // Generated text (a bundled Lambda) is hundreds of KB: its hash shows that it changed.
      const text = String(value);
      out.sha256 = crypto.createHash("sha256").update(text).digest("hex").slice(0, 16);
      out.bytes = Buffer.byteLength(text);
    } else out[field] = value;
  }
  return { [kind]: out };
}

/** A plain, key-sorted copy with assets described and repo paths made relative. */
export async function normalise(v: unknown): Promise<unknown> {
  v = await v;
  if (typeof v === "string") return v.includes(REPO_PREFIX) ? v.split(REPO_PREFIX).join("") : v;
  if (v === null || typeof v !== "object") return v;
  if (Array.isArray(v)) return Promise.all(v.map(normalise));
  const o = v as Record<string, unknown>;
  // A secret nested anywhere in the inputs reaches the mocks still wrapped: mask it whole.
  if (o[pulumi.runtime.specialSigKey] === pulumi.runtime.specialSecretSig)
    return SECRET_PLACEHOLDER;
  if (o.__pulumiAsset || o.__pulumiArchive) return normaliseAsset(o);
  const out: Record<string, unknown> = {};
  for (const k of Object.keys(o).sort()) {
    if (o[k] === undefined) continue;
    out[k] = await normalise(o[k]);
  }
  return out;
}

/**
 * The snapshot of a run. `runMinutes` gives a pipeline's typical run duration for the cost
 * estimate (see tools/cost.ts).
 */
export async function snapshotOf(
  run: OfflineRun,
  runMinutes?: RunMinutesLookup,
): Promise<Snapshot> {
  const resources: SnapshotResource[] = [];
  for (const r of run.resources) {
    const inputs = (await normalise(r.inputs)) as Record<string, unknown>;
    // Secret inputs are masked whole: the snapshot is committed and shown in pull requests.
    for (const key of r.secretInputs) if (key in inputs) inputs[key] = SECRET_PLACEHOLDER;
    resources.push({
      urn: r.urn,
      type: r.type,
      name: r.name,
      ...(r.parent ? { parent: r.parent } : {}),
      custom: r.custom,
      inputs,
      ...(r.aliases.length > 0 ? { aliases: [...r.aliases].sort() } : {}),
    });
  }
  resources.sort((a, b) => (a.urn < b.urn ? -1 : a.urn > b.urn ? 1 : 0));
  return {
    version: SNAPSHOT_VERSION,
    stack: run.stack,
    region: run.region,
    resources,
    outputs: (await normalise(run.outputs)) as Record<string, unknown>,
    cost: stackCost(run, runMinutes),
  };
}

/**
 * Runs the program for a stack (with optional config overrides, as `runStackOffline` takes
 * them) and returns its snapshot, costed with the stack's typical run durations.
 */
export async function stackSnapshot(
  stack: string,
  overrides: Record<string, unknown> = {},
): Promise<Snapshot> {
  const run = await runStackOffline(stack, overrides);
  return snapshotOf(run, runMinutesFrom(run.settings));
}

/** Stacks that have a Pulumi.<stack>.yaml in the repository. */
export function repoStacks(): string[] {
  return fs
    .readdirSync(REPO_ROOT)
    .map((f) => /^Pulumi\.(.+)\.yaml$/.exec(f)?.[1])
    .filter((s): s is string => s !== undefined)
    .sort();
}

export function serialiseSnapshot(s: Snapshot): string {
  return JSON.stringify(s, null, 2) + "\n";
}

export function readSnapshot(stack: string): Snapshot | undefined {
  const file = snapshotFile(stack);
  if (!fs.existsSync(file)) return undefined;
  const s = JSON.parse(fs.readFileSync(file, "utf8")) as Snapshot;
  if (s.version !== SNAPSHOT_VERSION)
    throw new Error(
      `${path.relative(REPO_ROOT, file)} has snapshot version ${String(s.version)}; this tool writes version ${SNAPSHOT_VERSION}. Run \`${SNAPSHOT_COMMAND}\` to rewrite it.`,
    );
  return s;
}

export function writeSnapshot(s: Snapshot): string {
  const file = snapshotFile(s.stack);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, serialiseSnapshot(s));
  return file;
}
