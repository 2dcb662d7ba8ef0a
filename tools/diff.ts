/**
 * Property-level diff of two snapshots, printed like `pulumi preview --diff`: `+` create,
 * `-` delete, `~` update, `+-` replace. Resources are matched by URN with the stack part ignored,
 * so the same code compares the working tree with a committed snapshot or one stack with another.
 * A resource whose URN changed is matched through its aliases, as the engine does: it is listed
 * as moved (`=`), with any input change shown too, never as a delete and a create.
 * JSON documents held in strings (IAM and bucket policies) are compared as parsed JSON, so a
 * changed statement shows as a path, not as two long strings.
 */
import { JobCost, StackCost } from "./cost";
import { SNAPSHOT_COMMAND, Snapshot, SnapshotResource } from "./snapshot";

export type ResourceOp = "create" | "delete" | "update" | "replace";

export interface PropertyChange {
  readonly op: "+" | "-" | "~";
  /** `numberOfWorkers`, `defaultArguments["--TempDir"]`, `policy.Statement[Sid=TlsOnly].Effect`. */
  readonly path: string;
  readonly old?: unknown;
  readonly new?: unknown;
  /** The provider replaces the resource when this property changes. */
  readonly replaces: boolean;
}

export interface ResourceChange {
  readonly op: ResourceOp;
  readonly type: string;
  readonly name: string;
  /** URN without its stack part. */
  readonly key: string;
  /** The old URN (without its stack part) when the resource was matched through an alias. */
  readonly movedFrom?: string;
  readonly changes: readonly PropertyChange[];
}

/** A resource matched through an alias: same resource, new URN. */
export interface Move {
  readonly type: string;
  readonly name: string;
  readonly from: string;
  readonly to: string;
  /** The resource's own type changed (a renamed component), not only a parent's. */
  readonly ownType: boolean;
}

export interface CostChange {
  readonly jobName: string;
  readonly old?: JobCost;
  readonly new?: JobCost;
}

export interface SnapshotDiff {
  readonly resources: readonly ResourceChange[];
  /** Resources whose URN changed through an alias (updated in place, never replaced). */
  readonly moves: readonly Move[];
  readonly unchanged: number;
  readonly outputs: readonly PropertyChange[];
  readonly cost: { readonly old: StackCost; readonly new: StackCost; readonly jobs: CostChange[] };
}

/**
 * Top-level inputs whose change makes the AWS provider replace the resource, for the types this
 * program registers. Not exhaustive: only the changes obvious enough to flag in review.
 */
export const REPLACING_INPUTS: Readonly<Record<string, readonly string[]>> = {
  "aws:glue/job:Job": ["name"],
  "aws:glue/trigger:Trigger": ["name", "type", "workflowName"],
  "aws:glue/crawler:Crawler": ["name"],
  "aws:glue/workflow:Workflow": ["name"],
  "aws:glue/catalogDatabase:CatalogDatabase": ["name", "catalogId"],
  "aws:glue/catalogTable:CatalogTable": ["name", "databaseName", "catalogId"],
  "aws:glue/connection:Connection": ["name"],
  "aws:glue/securityConfiguration:SecurityConfiguration": ["name", "encryptionConfiguration"],
  "aws:s3/bucket:Bucket": ["bucket", "bucketPrefix"],
  "aws:s3/bucketObjectv2:BucketObjectv2": ["bucket", "key"],
  "aws:iam/role:Role": ["name", "namePrefix", "path"],
  "aws:iam/rolePolicy:RolePolicy": ["name", "role"],
  "aws:iam/rolePolicyAttachment:RolePolicyAttachment": ["role", "policyArn"],
  "aws:kms/alias:Alias": ["name", "namePrefix"],
  "aws:sns/topic:Topic": ["name", "namePrefix", "fifoTopic"],
  "aws:sqs/queue:Queue": ["name", "namePrefix", "fifoQueue"],
  "aws:lambda/function:Function": ["name"],
  "aws:cloudwatch/eventRule:EventRule": ["name", "namePrefix", "eventBusName"],
  "aws:cloudwatch/logGroup:LogGroup": ["name", "namePrefix"],
};

/** The URN without `urn:pulumi:<stack>::`, so resources of two stacks line up. */
export function stacklessUrn(urn: string): string {
  return urn.replace(/^urn:pulumi:[^:]+::/, "");
}

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === "object" && v !== null && !Array.isArray(v);

function equal(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (Array.isArray(a) && Array.isArray(b))
    return a.length === b.length && a.every((x, i) => equal(x, b[i]));
  if (isObject(a) && isObject(b)) {
    const ka = Object.keys(a).filter((k) => a[k] !== undefined);
    const kb = Object.keys(b).filter((k) => b[k] !== undefined);
    return ka.length === kb.length && ka.every((k) => equal(a[k], b[k]));
  }
  return false;
}

/** A JSON object or array held in a string (policy documents), else undefined. */
function parsedJson(v: unknown): unknown {
  if (typeof v !== "string" || !/^\s*[[{]/.test(v)) return undefined;
  try {
    return JSON.parse(v) as unknown;
  } catch {
    return undefined;
  }
}

function child(path: string, key: string | number): string {
  if (typeof key === "number") return `${path}[${key}]`;
  if (/^[A-Za-z_$][\w$]*$/.test(key)) return path ? `${path}.${key}` : key;
  return `${path}[${JSON.stringify(key)}]`;
}

/**
 * Arrays whose elements all carry a unique `Sid` (policy statements) or `id` (lifecycle rules)
 * are matched by it, so inserting one element does not show every later one as changed.
 */
function keyed(xs: unknown[]): { field: string; items: Map<string, unknown> } | undefined {
  for (const field of ["Sid", "id"]) {
    const items = new Map<string, unknown>();
    for (const x of xs) {
      const k = isObject(x) ? x[field] : undefined;
      if (typeof k !== "string" || items.has(k)) break;
      items.set(k, x);
    }
    if (items.size === xs.length && xs.length > 0) return { field, items };
  }
  return undefined;
}

function diffValues(
  path: string,
  a: unknown,
  b: unknown,
  out: PropertyChange[],
  replaces: boolean,
): void {
  if (equal(a, b)) return;
  if (a === undefined) {
    out.push({ op: "+", path, new: b, replaces });
    return;
  }
  if (b === undefined) {
    out.push({ op: "-", path, old: a, replaces });
    return;
  }
  const ja = parsedJson(a);
  const jb = parsedJson(b);
  if (ja !== undefined && jb !== undefined) {
    diffValues(path, ja, jb, out, replaces);
    return;
  }
  if (isObject(a) && isObject(b)) {
    for (const k of [...new Set([...Object.keys(a), ...Object.keys(b)])].sort())
      diffValues(child(path, k), a[k], b[k], out, replaces);
    return;
  }
  if (Array.isArray(a) && Array.isArray(b)) {
    const ka = keyed(a);
    const kb = keyed(b);
    if (ka && kb && ka.field === kb.field) {
      for (const k of [...new Set([...ka.items.keys(), ...kb.items.keys()])])
        diffValues(`${path}[${ka.field}=${k}]`, ka.items.get(k), kb.items.get(k), out, replaces);
      return;
    }
    for (let i = 0; i < Math.max(a.length, b.length); i++)
      diffValues(child(path, i), a[i], b[i], out, replaces);
    return;
  }
  out.push({ op: "~", path, old: a, new: b, replaces });
}

/** Property changes between two resources' inputs (or outputs), top-level keys sorted. */
export function diffInputs(
  type: string,
  a: Record<string, unknown>,
  b: Record<string, unknown>,
): PropertyChange[] {
  const replacing = REPLACING_INPUTS[type] ?? [];
  const out: PropertyChange[] = [];
  for (const k of [...new Set([...Object.keys(a), ...Object.keys(b)])].sort())
    diffValues(child("", k), a[k], b[k], out, replacing.includes(k));
  return out;
}

/**
 * Replaces the stack name where it stands as a word in a string value (`glue-etl-dev-raw`,
 * `environment: dev`), so a cross-stack diff shows what differs beyond naming.
 */
function withoutStackName<T>(v: T, stack: string): T {
  const word = new RegExp(
    `(?<![A-Za-z0-9])${stack.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}(?![A-Za-z0-9])`,
    "g",
  );
  const walk = (x: unknown): unknown =>
    typeof x === "string"
      ? x.replace(word, "<stack>")
      : Array.isArray(x)
        ? x.map(walk)
        : isObject(x)
          ? Object.fromEntries(Object.entries(x).map(([k, y]) => [k, walk(y)]))
          : x;
  return walk(v) as T;
}

export interface DiffOptions {
  /** Treat values that differ only by the stack name as equal (for stack-vs-stack diffs). */
  readonly ignoreStackName?: boolean;
}

export function diffSnapshots(from: Snapshot, to: Snapshot, opts: DiffOptions = {}): SnapshotDiff {
  const norm = <T>(v: T, stack: string): T =>
    opts.ignoreStackName ? withoutStackName(v, stack) : v;
  const index = (s: Snapshot) =>
    new Map<string, SnapshotResource>(s.resources.map((r) => [stacklessUrn(r.urn), r]));
  const a = index(from);
  const b = index(to);
  // A new URN that one of its aliases ties to an old resource no current resource claims is that
  // resource, moved: pair the two under the new key.
  const movedFrom = new Map<string, string>();
  for (const [key, r] of b) {
    if (a.has(key)) continue;
    const old = (r.aliases ?? []).map(stacklessUrn).find((k) => a.has(k) && !b.has(k));
    if (old !== undefined && ![...movedFrom.values()].includes(old)) movedFrom.set(key, old);
  }
  const moved = new Set(movedFrom.values());
  const moves: Move[] = [];
  const resources: ResourceChange[] = [];
  let unchanged = 0;
  for (const key of [...new Set([...a.keys(), ...b.keys()])].sort()) {
    if (moved.has(key)) continue;
    const oldKey = movedFrom.get(key);
    const ra = a.get(oldKey ?? key);
    const rb = b.get(key);
    if (oldKey !== undefined) {
      const ownType = (k: string) => k.split("::")[1]!.split("$").pop();
      moves.push({
        type: rb!.type,
        name: rb!.name,
        from: oldKey,
        to: key,
        ownType: ownType(oldKey) !== ownType(key),
      });
    }
    const r = (rb ?? ra)!;
    if (!ra || !rb) {
      const inputs = (ra ?? rb)!.inputs;
      const op = ra ? "-" : "+";
      resources.push({
        op: ra ? "delete" : "create",
        type: r.type,
        name: r.name,
        key,
        changes: Object.keys(inputs)
          .sort()
          .map((k) => ({
            op,
            path: child("", k),
            [ra ? "old" : "new"]: inputs[k],
            replaces: false,
          })),
      });
      continue;
    }
    const changes = diffInputs(r.type, norm(ra.inputs, from.stack), norm(rb.inputs, to.stack));
    if (changes.length === 0) {
      unchanged++;
      continue;
    }
    resources.push({
      op: changes.some((c) => c.replaces) ? "replace" : "update",
      type: r.type,
      name: r.name,
      key,
      ...(oldKey !== undefined ? { movedFrom: oldKey } : {}),
      changes,
    });
  }
  const outputs = diffInputs("", norm(from.outputs, from.stack), norm(to.outputs, to.stack));
  // Jobs line up by resource name, which does not change between stacks.
  const jobsOf = (c: StackCost) => new Map(c.jobs.map((j) => [j.resourceName, j]));
  const ja = jobsOf(from.cost);
  const jb = jobsOf(to.cost);
  const jobs: CostChange[] = [];
  for (const k of [...new Set([...ja.keys(), ...jb.keys()])].sort()) {
    const o = ja.get(k);
    const n = jb.get(k);
    if (!equal(norm(o, from.stack), norm(n, to.stack)))
      jobs.push({ jobName: (n ?? o)!.jobName, ...(o ? { old: o } : {}), ...(n ? { new: n } : {}) });
  }
  return { resources, moves, unchanged, outputs, cost: { old: from.cost, new: to.cost, jobs } };
}

export function hasChanges(d: SnapshotDiff): boolean {
  return (
    d.resources.length > 0 || d.moves.length > 0 || d.outputs.length > 0 || d.cost.jobs.length > 0
  );
}

const SYMBOL: Record<ResourceOp, string> = {
  create: "+ ",
  delete: "- ",
  update: "~ ",
  replace: "+-",
};

function show(v: unknown): string {
  const parsed = parsedJson(v);
  // Never truncated: a new policy document is exactly what a reviewer must read in full.
  return JSON.stringify(parsed ?? v) ?? "undefined";
}

function renderProperty(c: PropertyChange, indent = "      "): string {
  const value =
    c.op === "~" ? `${show(c.old)} → ${show(c.new)}` : show(c.op === "+" ? c.new : c.old);
  return `${indent}${c.op} ${c.path}: ${value}${c.replaces ? "  (forces replacement)" : ""}`;
}

/** Dollars: cents, or tenths of a cent below $1 where cents would hide the figure. */
export function usd(x: number): string {
  const cents = Math.abs(x * 100 - Math.round(x * 100)) < 1e-6;
  return `$${x.toFixed(Math.abs(x) >= 1 || cents ? 2 : 3)}`;
}

/** The change between two figures as shown, so the printed numbers add up. */
function signed(a: number, b: number): string {
  const delta = Number(usd(b).slice(1)) - Number(usd(a).slice(1));
  return `${delta < 0 ? "-" : "+"}${usd(Math.round(Math.abs(delta) * 1000) / 1000)}`;
}

function change(label: string, a: number | undefined, b: number | undefined): string {
  if (a === undefined && b === undefined) return "";
  if (a === undefined) return `${label} ${usd(b!)} (new)`;
  if (b === undefined) return `${label} ${usd(a)} (gone)`;
  return a === b ? `${label} ${usd(a)}` : `${label} ${usd(a)} → ${usd(b)} (${signed(a, b)})`;
}

function renderJobCost(j: CostChange): string {
  const sizing = (c?: JobCost) =>
    c ? `${c.numberOfWorkers} x ${c.workerType} ${c.executionClass} (${c.dpus} DPU)` : "none";
  const a = sizing(j.old);
  const b = sizing(j.new);
  const parts = [
    a === b ? a : `${a} → ${b}`,
    change("per run-hour", j.old?.pricePerRunHour, j.new?.pricePerRunHour),
    change("per run", j.old?.costPerRun, j.new?.costPerRun),
    change("per month", j.old?.monthlyCost, j.new?.monthlyCost),
  ].filter((p) => p !== "");
  return `  ~ ${j.jobName}: ${parts.join("; ")}`;
}

export function renderDiff(d: SnapshotDiff): string {
  const lines: string[] = [];
  if (!hasChanges(d)) lines.push("  No changes.");
  for (const r of d.resources) {
    lines.push(`  ${SYMBOL[r.op]}${r.type} ${r.name}${r.op === "replace" ? " (replace)" : ""}`);
    for (const c of r.changes) lines.push(renderProperty(c));
  }
  // A renamed component is shown with its old type; its children move with it and are counted.
  const renamed = d.moves.filter((m) => m.ownType);
  if (renamed.length > 0) {
    lines.push("", "Renamed in place (aliases):");
    for (const m of renamed) {
      const was = m.from.split("::")[1]!.split("$").pop();
      lines.push(`  = ${m.type} ${m.name} (was ${was})`);
    }
  }
  if (d.outputs.length > 0) {
    lines.push("", "Outputs:");
    for (const c of d.outputs) lines.push(renderProperty(c, "  "));
  }
  const { old: co, new: cn } = d.cost;
  if (d.cost.jobs.length > 0) {
    lines.push("", "Cost by job:");
    for (const j of d.cost.jobs) lines.push(renderJobCost(j));
  }
  lines.push(
    "",
    `Cost total: ${change("per run-hour of all jobs", co.pricePerRunHour, cn.pricePerRunHour)}; ${change("scheduled runs per month", co.monthlyCost, cn.monthlyCost)}`,
  );
  const count = (op: ResourceOp) => d.resources.filter((r) => r.op === op).length;
  lines.push(
    `Resources: ${count("create")} to create, ${count("update")} to update, ${count("replace")} to replace, ${count("delete")} to delete, ${d.unchanged} unchanged` +
      (d.moves.length > 0
        ? `; ${d.moves.length} moved to a new URN through aliases (${renamed.length} renamed components and their children)`
        : ""),
  );
  return lines.join("\n");
}

/**
 * Why `current` does not match the committed snapshot, as a readable diff with the command that
 * updates it; undefined when they match.
 */
export function snapshotMismatch(committed: Snapshot, current: Snapshot): string | undefined {
  // Compared as data, so a snapshot reformatted by an editor still matches.
  const plain = JSON.parse(JSON.stringify(current)) as unknown;
  if (equal(committed, plain)) return undefined;
  const d = diffSnapshots(committed, current);
  const detail = hasChanges(d)
    ? renderDiff(d)
    : "  (no resource, output or cost change: the snapshot's other fields differ)";
  return [
    `The program's ${current.stack} stack no longer matches test/snapshots/${current.stack}.json:`,
    "",
    detail,
    "",
    `If this change is intended, run \`${SNAPSHOT_COMMAND}\` and commit test/snapshots/${current.stack}.json with it.`,
  ].join("\n");
}
