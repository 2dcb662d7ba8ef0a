/**
 * How the offline preview scales with the number of pipelines: today's five, then 50 and 100
 * (generated declarations beside them, in a temporary copy of the repository), each run as a
 * whole process the way `make preview` runs it. Prints wall seconds, CPU seconds and peak memory
 * per size for the program as shipped, and the wall seconds "before": with the SDK taking a
 * source-mapped stack trace for every promise it tracks and node's default young generation,
 * which is what a real `pulumi preview` paid too (it runs the program under ts-node the same way).
 *
 *   npx ts-node --transpile-only bench/preview_scale.ts [--sizes 5,50,100] [--repeats 2]
 */
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { Command } from "commander";
import { table } from "../lib/table";

const REPO = path.resolve(__dirname, "..");
const STARTS = [
  `{ kind: "onDemand" }`,
  `{ kind: "schedule", schedule: "cron(15 3 * * ? *)" }`,
  `{ kind: "s3Workflow", prefix: "in/", suffix: ".csv", batchSize: 2, batchWindowSeconds: 300 }`,
  `{ kind: "s3Lambda", prefix: "manifests/", suffix: "manifest.json", argumentName: "--MANIFEST_PATH" }`,
];

/** A generated pipeline like the shipped ones: a table, a crawler-free catalog, one of 4 starts. */
function declaration(name: string, index: number): string {
  return `import { definePipeline } from "../lib/declaration";

export default definePipeline({
  name: "${name}",
  job: {
    script: "${name.replace(/-/g, "_")}.py",
    jobBaseName: "${name.replace(/-/g, "_")}",
    description: "Generated pipeline ${index} for the preview bench",
    bookmarks: false,
    arguments: {
      "--INPUT_PATH": { required: true, description: "Input" },
      "--OUTPUT_PATH": { required: true, description: "Output" },
      "--MANIFEST_PATH": { required: false, description: "Manifest" },
    },
  },
  inputPrefix: "in/",
  defaultArguments: { "--INPUT_PATH": "{raw}/in/", "--OUTPUT_PATH": "{processed}/out/" },
  tables: [
    {
      bucket: "processed",
      table: {
        name: "events",
        description: "Generated table",
        columns: [
          { name: "id", type: "string" },
          { name: "amount", type: "decimal(12,2)" },
          { name: "seen_at", type: "timestamp" },
        ],
        format: { kind: "parquet" },
        prefix: "out/",
      },
    },
  ],
  start: ${STARTS[index % STARTS.length]},
});
`;
}

/** A copy of the program with `total` pipelines; packages linked, not copied. */
function stackWith(total: number): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `glue-etl-preview-${total}-`));
  const skip = new Set(["node_modules", ".venv", ".git", "dist", "test", "bench"]);
  for (const entry of fs.readdirSync(REPO)) {
    if (skip.has(entry) || entry.startsWith(".")) continue;
    fs.cpSync(path.join(REPO, entry), path.join(dir, entry), { recursive: true });
  }
  fs.symlinkSync(path.join(REPO, "node_modules"), path.join(dir, "node_modules"));
  const shipped = fs
    .readdirSync(path.join(dir, "pipelines"))
    .filter((f) => f.endsWith(".ts") && f !== "index.ts").length;
  for (let i = 1; i <= total - shipped; i++) {
    const name = `gen-${String(i).padStart(3, "0")}`;
    fs.writeFileSync(path.join(dir, "pipelines", `${name}.ts`), declaration(name, i));
    fs.writeFileSync(path.join(dir, "scripts", `${name.replace(/-/g, "_")}.py`), "# generated\n");
  }
  return dir;
}

// "Before": the SDK takes a stack trace per tracked promise (the program's patch sees its work
// as done) and node runs with its default young generation.
const TRACED_PRELOAD = `require("@pulumi/pulumi/runtime/debuggable").debuggablePromise.untraced = true;\n`;

/** Node flags the program runs with under `pulumi` (Pulumi.yaml's runtime nodeargs). */
function nodeArgs(dir: string): string[] {
  const project = fs.readFileSync(path.join(dir, "Pulumi.yaml"), "utf8");
  return /^\s*nodeargs:\s*(.+)$/m.exec(project)?.[1]?.trim().split(/\s+/) ?? [];
}

interface Sample {
  wall: number;
  cpu: number;
  rssMb: number;
  resources: number;
}

function runPreview(dir: string, before: boolean): Sample {
  const preload = path.join(dir, "traced.js");
  fs.writeFileSync(preload, TRACED_PRELOAD);
  const node = [
    ...(before ? ["-r", preload] : nodeArgs(dir)),
    "-r",
    "ts-node/register/transpile-only",
    "tools/preview.ts",
    "--stack",
    "dev",
    "--json",
  ];
  const started = process.hrtime.bigint();
  const proc = spawnSync("/usr/bin/time", ["-f", "TIME %U %S %M", process.execPath, ...node], {
    cwd: dir,
    encoding: "utf8",
    maxBuffer: 1 << 30,
    env: { ...process.env, AWS_REGION: "eu-west-1" },
  });
  const wall = Number(process.hrtime.bigint() - started) / 1e9;
  const timeLine = /TIME ([\d.]+) ([\d.]+) (\d+)/.exec(proc.stderr ?? "");
  if (proc.status !== 0 || !timeLine) {
    throw new Error(`preview failed in ${dir}: ${proc.stderr?.slice(-2000)}`);
  }
  const json = JSON.parse(proc.stdout) as { resources: unknown[] };
  return {
    wall,
    cpu: Number(timeLine[1]) + Number(timeLine[2]),
    rssMb: Number(timeLine[3]) / 1024,
    resources: json.resources.length,
  };
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

export { stackWith };

function main(): void {
  const opts = new Command()
    .option("--sizes <list>", "pipeline counts", "5,50,100")
    .option("--repeats <n>", "runs of each variant, interleaved", "2")
    .parse()
    .opts<{ sizes: string; repeats: string }>();
  const rows: string[][] = [];
  for (const total of opts.sizes.split(",").map(Number)) {
    const dir = stackWith(total);
    try {
      const shipped: Sample[] = [];
      const before: Sample[] = [];
      for (let i = 0; i < Number(opts.repeats); i++) {
        shipped.push(runPreview(dir, false));
        before.push(runPreview(dir, true));
      }
      const m = (xs: Sample[], k: keyof Sample) => median(xs.map((x) => x[k]));
      rows.push([
        String(total),
        String(m(shipped, "resources")),
        m(shipped, "wall").toFixed(1),
        m(shipped, "cpu").toFixed(1),
        m(shipped, "rssMb").toFixed(0),
        m(before, "wall").toFixed(1),
        (m(before, "wall") / m(shipped, "wall")).toFixed(2),
        os.loadavg()[0]!.toFixed(1),
      ]);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  }
  const headers = ["pipelines", "resources", "wall s", "cpu s", "peak MB"];
  const more = ["before wall s", "before/shipped", "load"];
  console.log(
    table(
      [...headers, ...more].map((header) => ({ header, align: "right" as const })),
      rows,
    ),
  );
}

if (require.main === module) main();
