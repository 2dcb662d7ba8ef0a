/**
 * Offline preview: runs the program for a stack under the Pulumi SDK's mocks with the stack's
 * config file and prints what `pulumi preview` would create, as a tree, with each Glue job's
 * capacity and price. No AWS account or Pulumi CLI needed.
 *
 *   npx ts-node tools/preview.ts --stack dev
 */
import { parseArgs } from "node:util";
import { ConfigValidationError } from "../lib/config";
import { OfflineProgramError, OfflineRun, RecordedResource, runStackOffline } from "./offline";
import { jobCapacity } from "./capacity";

const STACK_TYPE = "pulumi:pulumi:Stack";

export function renderTree(run: OfflineRun): string {
  const children = new Map<string | undefined, RecordedResource[]>();
  for (const r of run.resources) {
    const list = children.get(r.parent) ?? [];
    list.push(r);
    children.set(r.parent, list);
  }
  const rows: [string, string][] = [[`${STACK_TYPE}`, `glue-etl-${run.stack}`]];
  const walk = (parent: string | undefined, indent: string) => {
    const list = children.get(parent) ?? [];
    list.forEach((r, i) => {
      const last = i === list.length - 1;
      rows.push([`${indent}${last ? "└─ " : "├─ "}${r.type}`, r.name]);
      walk(`${r.type}::${r.name}`, `${indent}${last ? "   " : "│  "}`);
    });
  };
  walk(undefined, "");
  const width = Math.max(...rows.map(([t]) => t.length)) + 2;
  const lines = [`     ${"Type".padEnd(width)}Name`];
  for (const [t, n] of rows) lines.push(` +   ${t.padEnd(width)}${n}`);
  return lines.join("\n");
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
  for (const [t, n] of [...byType.entries()].sort())
    lines.push(`      ${String(n).padStart(3)}  ${t}`);
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
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const fmt = (r: string[]) => "  " + r.map((c, i) => c.padEnd(widths[i]!)).join("  ");
  return ["Glue capacity:", fmt(header), ...rows.map(fmt)].join("\n");
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      stack: { type: "string", short: "s", default: "dev" },
      help: { type: "boolean", short: "h" },
    },
  });
  if (values.help) {
    console.log(
      "Usage: make preview STACK=<dev|prod>   (or: npx ts-node tools/preview.ts --stack dev)",
    );
    return;
  }
  const stack = values.stack!;
  let run: OfflineRun;
  try {
    run = await runStackOffline(stack);
  } catch (e) {
    const cause = e instanceof OfflineProgramError ? e.cause : e;
    if (cause instanceof ConfigValidationError) {
      const n = e instanceof OfflineProgramError ? e.resources.length : 0;
      console.error(
        `error: Pulumi.${stack}.yaml: ${cause.message}\n${n} resources were registered.`,
      );
    } else {
      console.error(`error: ${(e as Error).message}`);
    }
    process.exitCode = 1;
    return;
  }
  console.log(
    `Previewing update (${stack}), offline: the program ran under the Pulumi SDK's mocks with`,
  );
  console.log(`Pulumi.${stack}.yaml; nothing was sent to AWS. Region ${run.region}.\n`);
  console.log(renderTree(run));
  console.log("\n" + renderCapacity(run));
  console.log("\n" + renderSummary(run));
}

if (require.main === module) void main();
