/**
 * Offline preview: runs the program for a stack under the Pulumi SDK's mocks with the stack's
 * config file and prints what `pulumi preview` would create, as a tree, with each Glue job's
 * capacity and estimated cost. No AWS account or Pulumi CLI needed. It also prints the preview
 * as stable JSON, writes the committed snapshots and diffs against them or between stacks.
 */
import * as path from "node:path";
import { parseArgs } from "node:util";
import { ConfigValidationError } from "../lib/config";
import { MINIMUM_BILLED_SECONDS, PRICE_PER_DPU_HOUR } from "../lib/pricing";
import { table } from "../lib/table";
import {
  OfflineProgramError,
  OfflineRun,
  REPO_ROOT,
  RecordedResource,
  StackFileError,
  StackRun,
  runStackOffline,
} from "./offline";
import { jobCapacity } from "./capacity";
import { StackCost, runMinutesFrom } from "./cost";
import { diffSnapshots, hasChanges, renderDiff, usd } from "./diff";
import {
  SNAPSHOT_COMMAND,
  Snapshot,
  readSnapshot,
  repoStacks,
  serialiseSnapshot,
  snapshotFile,
  snapshotOf,
  writeSnapshot,
} from "./snapshot";
import { PROJECT } from "../lib/names";

/** Exit codes, for CI: like `terraform plan -detailed-exitcode`. */
export const EXIT = { ok: 0, error: 1, changes: 2 } as const;

export const USAGE = `Offline preview of glue-etl stacks: no AWS account, no Pulumi CLI.

  preview.ts [--stack dev]                  tree, Glue capacity and estimated cost
  preview.ts --stack dev --json             the preview as stable JSON (what snapshots hold)
  preview.ts --write-snapshot [--stack s]   write test/snapshots/<stack>.json (default: every stack)
  preview.ts --diff [--stack s]             working tree vs the committed snapshot (default: every stack)
  preview.ts --diff-stacks dev prod         one stack vs another, matched by URN

Exit codes: 0 no changes (or no diff asked), 1 error, 2 the diff found changes.`;

const STACK_TYPE = "pulumi:pulumi:Stack";

export function renderTree(run: OfflineRun): string {
  const children = new Map<string | undefined, RecordedResource[]>();
  for (const r of run.resources) {
    const list = children.get(r.parent) ?? [];
    list.push(r);
    children.set(r.parent, list);
  }
  const rows: [string, string][] = [[`${STACK_TYPE}`, `${PROJECT}-${run.stack}`]];
  const walk = (parent: string | undefined, indent: string) => {
    const list = children.get(parent) ?? [];
    list.forEach((r, i) => {
      const last = i === list.length - 1;
      rows.push([`${indent}${last ? "└─ " : "├─ "}${r.type}`, r.name]);
      walk(`${r.type}::${r.name}`, `${indent}${last ? "   " : "│  "}`);
    });
  };
  walk(undefined, "");
  return table(
    [{ header: " " }, { header: "Type" }, { header: "Name" }],
    rows.map(([t, n]) => ["+", t, n]),
    { indent: 1 },
  );
}

export function renderSummary(run: OfflineRun): string {
  const custom = run.resources.filter((r) => r.custom).length;
  const components = run.resources.length - custom;
  const byType = new Map<string, number>();
  for (const r of run.resources.filter((x) => x.custom))
    byType.set(r.type, (byType.get(r.type) ?? 0) + 1);
  const lines = [
    "Resources:",
    `    + ${run.resources.length + 1} to create (${custom} AWS resources, ${components} components, 1 stack)`,
  ];
  const counts = [...byType.entries()].sort().map(([t, n]) => [String(n), t]);
  lines.push(
    table([{ header: "", align: "right" }, { header: "" }], counts, { indent: 6, head: false }),
  );
  return lines.join("\n");
}

export function renderCapacity(run: OfflineRun): string {
  const jobs = jobCapacity(run);
  if (jobs.length === 0) return "Glue capacity: no jobs";
  const header = [
    "Glue job",
    "workers",
    "type",
    "DPU",
    "class",
    "$/run-hour",
    "timeout",
    "retries",
    "max runs",
  ];
  const rows = jobs.map((j) => [
    j.jobName,
    String(j.numberOfWorkers),
    j.workerType,
    String(j.dpus),
    j.executionClass,
    j.pricePerRunHour.toFixed(2),
    `${j.timeoutMinutes} min`,
    String(j.maxRetries),
    String(j.maxConcurrentRuns),
  ]);
  return ["Glue capacity:", ...indented(header, rows)].join("\n");
}

/** A table nested under its heading line. */
function indented(header: string[], rows: string[][]): string[] {
  return table(
    header.map((h) => ({ header: h })),
    rows,
    { indent: 2 },
  ).split("\n");
}

const OPERATORS: Record<string, string> = {
  GreaterThanThreshold: ">",
  GreaterThanOrEqualToThreshold: ">=",
  LessThanThreshold: "<",
  LessThanOrEqualToThreshold: "<=",
};

/** The CloudWatch alarms per pipeline: what each watches, when it fires, how it treats no data. */
export function renderAlarms(run: OfflineRun): string {
  const alarms = run.resources.filter((r) => r.type === "aws:cloudwatch/metricAlarm:MetricAlarm");
  if (alarms.length === 0) return "Alarms: none";
  type Query = { id?: string; expression?: string; metric?: Record<string, unknown> };
  const rows = alarms.map((a) => {
    const i = a.inputs;
    const queries = (i.metricQueries as Query[] | undefined) ?? [];
    const metric = (queries.find((q) => q.metric)?.metric ?? i) as Record<string, unknown>;
    const dims = (metric.dimensions ?? {}) as Record<string, string>;
    const op = OPERATORS[String(i.comparisonOperator)] ?? String(i.comparisonOperator);
    const expr = queries.find((q) => q.expression);
    const period = Number(metric.period);
    const window = `${i.evaluationPeriods} x ${period >= 3600 ? `${period / 3600} h` : `${period / 60} min`}`;
    const what = expr
      ? `${expr.expression} (${queries
          .filter((q) => q.metric)
          .map((q) => `${q.id}=${String(q.metric!.metricName)}`)
          .join(", ")}), ${window}`
      : `${String(i.metricName)} ${String(i.statistic)}, ${window}`;
    return [
      dims.pipeline ?? "-",
      String(i.name ?? a.name),
      `${what} ${op} ${String(i.threshold)}`,
      String(i.treatMissingData ?? "missing"),
    ];
  });
  rows.sort((x, y) => x[0]!.localeCompare(y[0]!) || x[1]!.localeCompare(y[1]!));
  return [
    "Alarms (each notifies its pipeline's alert topic):",
    ...indented(["pipeline", "alarm", "fires when", "no data"], rows),
  ].join("\n");
}

export function renderCost(cost: StackCost): string {
  if (cost.jobs.length === 0) return "Estimated cost: no Glue jobs";
  const rows = cost.jobs.map((j) => [
    j.jobName,
    `${j.dpus} ${j.executionClass}`,
    usd(j.pricePerRunHour),
    j.typicalRunMinutes === undefined ? "?" : `${j.typicalRunMinutes} min`,
    j.costPerRun === undefined ? "?" : usd(j.costPerRun),
    j.starts.length === 0 ? "on demand (no trigger)" : j.starts.map((s) => s.detail).join(", "),
    j.runsPerMonth === undefined ? "-" : String(Math.round(j.runsPerMonth * 10) / 10),
    j.monthlyCost === undefined ? "-" : usd(j.monthlyCost),
  ]);
  rows.push(["total", "", usd(cost.pricePerRunHour), "", "", "", "", usd(cost.monthlyCost)]);
  return [
    `Estimated cost (per DPU-hour: STANDARD $${PRICE_PER_DPU_HOUR.STANDARD}, FLEX $${PRICE_PER_DPU_HOUR.FLEX};` +
      ` ${MINIMUM_BILLED_SECONDS / 60}-minute minimum; at full capacity, auto-scaling may use less):`,
    ...indented(
      [
        "Glue job",
        "DPU",
        "$/run-hour",
        "typical run",
        "$/run",
        "started by",
        "runs/month",
        "$/month",
      ],
      rows,
    ),
    ...(cost.unscheduledJobs.length > 0
      ? [`  Not in the monthly total (no schedule): ${cost.unscheduledJobs.join(", ")}`]
      : []),
  ].join("\n");
}

/** Runs a stack, or prints why the program failed and returns undefined. */
async function run(stack: string): Promise<StackRun | undefined> {
  try {
    return await runStackOffline(stack);
  } catch (e) {
    const cause = e instanceof OfflineProgramError ? e.cause : e;
    if (cause instanceof ConfigValidationError) {
      const n = e instanceof OfflineProgramError ? e.resources.length : 0;
      console.error(`error: ${cause.message}\n${n} resources were registered.`);
    } else if (cause instanceof StackFileError) {
      console.error(`error: ${cause.message}\nNothing ran.`);
    } else {
      console.error(`error: ${(e as Error).message}`);
    }
    return undefined;
  }
}

/** The snapshot of a run, costed with the settings the program itself validated. */
async function snapshot(stack: string, r?: StackRun): Promise<Snapshot | undefined> {
  const done = r ?? (await run(stack));
  return done && snapshotOf(done, runMinutesFrom(done.settings));
}

const rel = (file: string) => path.relative(REPO_ROOT, file);

async function diffAgainstSnapshot(stack: string): Promise<number> {
  const committed = readSnapshot(stack);
  if (!committed) {
    console.error(
      `error: no snapshot for stack ${stack} (${rel(snapshotFile(stack))}); run \`${SNAPSHOT_COMMAND}\` to write it.`,
    );
    return EXIT.error;
  }
  const current = await snapshot(stack);
  if (!current) return EXIT.error;
  const d = diffSnapshots(committed, current);
  console.log(`Stack ${stack}: ${rel(snapshotFile(stack))} → working tree\n`);
  console.log(renderDiff(d));
  if (hasChanges(d))
    console.log(`\nTo accept these changes, run \`${SNAPSHOT_COMMAND}\` and commit the snapshot.`);
  return hasChanges(d) ? EXIT.changes : EXIT.ok;
}

async function diffStacks(from: string, to: string): Promise<number> {
  const a = await snapshot(from);
  const b = a && (await snapshot(to));
  if (!a || !b) return EXIT.error;
  const d = diffSnapshots(a, b, { ignoreStackName: true });
  console.log(
    `Stack ${from} → stack ${to} (values that differ only by the stack name count as equal)\n`,
  );
  console.log(renderDiff(d));
  return hasChanges(d) ? EXIT.changes : EXIT.ok;
}

async function preview(stack: string): Promise<number> {
  const r = await run(stack);
  const s = r && (await snapshot(stack, r));
  if (!r || !s) return EXIT.error;
  console.log(
    `Previewing update (${stack}), offline: the program ran under the Pulumi SDK's mocks with`,
  );
  console.log(`Pulumi.${stack}.yaml; nothing was sent to AWS. Region ${r.region}.\n`);
  console.log(renderTree(r));
  console.log("\n" + renderCapacity(r));
  console.log("\n" + renderCost(s.cost));
  console.log("\n" + renderAlarms(r));
  console.log("\n" + renderSummary(r));
  return EXIT.ok;
}

export async function main(argv: string[] = process.argv.slice(2)): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      stack: { type: "string", short: "s", multiple: true },
      json: { type: "boolean" },
      "write-snapshot": { type: "boolean" },
      diff: { type: "boolean" },
      "diff-stacks": { type: "boolean" },
      help: { type: "boolean", short: "h" },
    },
  });
  if (values.help) {
    console.log(USAGE);
    return EXIT.ok;
  }
  const stacks = values.stack ?? [];
  if (values["diff-stacks"]) {
    if (positionals.length !== 2) {
      console.error(
        `error: --diff-stacks takes two stacks, e.g. --diff-stacks dev prod; got ${positionals.length}`,
      );
      return EXIT.error;
    }
    return diffStacks(positionals[0]!, positionals[1]!);
  }
  if (positionals.length > 0) {
    console.error(`error: unexpected argument ${JSON.stringify(positionals[0])}\n\n${USAGE}`);
    return EXIT.error;
  }
  if (values["write-snapshot"] || values.diff) {
    let failed = false;
    let changed = false;
    for (const stack of stacks.length > 0 ? stacks : repoStacks()) {
      if (values.diff) {
        const code = await diffAgainstSnapshot(stack);
        failed ||= code === EXIT.error;
        changed ||= code === EXIT.changes;
        continue;
      }
      const s = await snapshot(stack);
      if (!s) return EXIT.error;
      console.log(`wrote ${rel(writeSnapshot(s))} (${s.resources.length} resources)`);
    }
    // An error outranks "changes" so CI never mistakes a broken program for a diff.
    return failed ? EXIT.error : changed ? EXIT.changes : EXIT.ok;
  }
  const stack = stacks[0] ?? "dev";
  if (values.json) {
    const s = await snapshot(stack);
    if (!s) return EXIT.error;
    process.stdout.write(serialiseSnapshot(s));
    return EXIT.ok;
  }
  return preview(stack);
}

if (require.main === module)
  void main().then(
    (code) => (process.exitCode = code),
    (e: unknown) => {
      console.error(`error: ${e instanceof Error ? e.message : String(e)}`);
      process.exitCode = EXIT.error;
    },
  );
