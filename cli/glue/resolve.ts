/**
 * Which Glue job a `<pipeline|job>` argument means: `--job-name`, else the stack outputs (a file
 * from `pulumi stack output --json`, or the pulumi CLI when it is installed), else the naming
 * convention for `--stack`, else a literal Glue job name.
 */
import { execFile } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { JOBS, PIPELINE_NAMES, PipelineName, glueJobName } from "../../pipelines";
import { CliError, EXIT, UsageError } from "./errors";
import { suggest } from "./jobargs";

export interface PipelineOutputs {
  readonly jobName: string;
  readonly maxConcurrentRuns?: number;
  readonly buckets?: Readonly<Partial<Record<"raw" | "processed" | "scripts" | "temp", string>>>;
}

/** The part of the stack outputs this CLI reads. */
export interface StackOutputs {
  readonly environment?: string;
  readonly pipelines: Readonly<Partial<Record<PipelineName, PipelineOutputs>>>;
}

export interface JobTarget {
  readonly jobName: string;
  /** Known when the job belongs to a pipeline of this program; its argument contract applies. */
  readonly pipeline?: PipelineName;
  /** How the name was found, for messages. */
  readonly source: string;
  readonly outputs?: PipelineOutputs;
}

export interface ResolveOptions {
  readonly stack?: string;
  readonly outputsFile?: string;
  readonly jobName?: string;
  readonly env?: NodeJS.ProcessEnv;
}

export function isPipeline(name: string): name is PipelineName {
  return (PIPELINE_NAMES as readonly string[]).includes(name);
}

/** The pipeline a literal job name follows the convention of (`<jobBaseName>-<env>`), if any. */
export function pipelineOfJob(jobName: string): PipelineName | undefined {
  return PIPELINE_NAMES.find((p) => {
    const base = JOBS[p].jobBaseName;
    return jobName === base || new RegExp(`^${base}-[a-z][a-z0-9-]*$`).test(jobName);
  });
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** Checks the shape of `pulumi stack output --json`; `from` names the source in errors. */
export function parseStackOutputs(text: string, from: string): StackOutputs {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (e) {
    throw new UsageError(`${from} is not JSON: ${(e as Error).message}`, [
      "create it with: pulumi stack output --json --stack <stack> > outputs.json",
    ]);
  }
  const bad = (field: string, value: unknown, allowed: string) =>
    new UsageError(
      `${from}: ${field} is ${JSON.stringify(value) ?? "missing"}; expected ${allowed}`,
    );
  if (!isRecord(doc)) throw bad("the document", doc, "an object of stack outputs");
  if (!isRecord(doc.pipelines)) {
    throw bad("pipelines", doc.pipelines, 'an object such as {"genomics": {"jobName": "…"}}');
  }
  const pipelines: Partial<Record<PipelineName, PipelineOutputs>> = {};
  for (const [name, p] of Object.entries(doc.pipelines)) {
    if (!isPipeline(name)) continue;
    if (!isRecord(p) || typeof p.jobName !== "string" || p.jobName === "") {
      throw bad(`pipelines.${name}.jobName`, isRecord(p) ? p.jobName : p, "the Glue job name");
    }
    const max = p.maxConcurrentRuns;
    if (max !== undefined && (typeof max !== "number" || !Number.isInteger(max) || max < 1)) {
      throw bad(`pipelines.${name}.maxConcurrentRuns`, max, "a positive integer");
    }
    if (p.buckets !== undefined && !isRecord(p.buckets)) {
      throw bad(`pipelines.${name}.buckets`, p.buckets, "an object of bucket names");
    }
    pipelines[name] = {
      jobName: p.jobName,
      ...(typeof max === "number" ? { maxConcurrentRuns: max } : {}),
      ...(isRecord(p.buckets) ? { buckets: p.buckets as PipelineOutputs["buckets"] } : {}),
    };
  }
  return {
    ...(typeof doc.environment === "string" ? { environment: doc.environment } : {}),
    pipelines,
  };
}

/** The pulumi executable on PATH, if any. */
export function findPulumi(env: NodeJS.ProcessEnv): string | undefined {
  const exts = process.platform === "win32" ? [".exe", ".cmd", ""] : [""];
  for (const dir of (env.PATH ?? "").split(path.delimiter)) {
    if (!dir) continue;
    for (const ext of exts) {
      const candidate = path.join(dir, `pulumi${ext}`);
      try {
        fs.accessSync(candidate, fs.constants.X_OK);
        if (fs.statSync(candidate).isFile()) return candidate;
      } catch {
        // not here
      }
    }
  }
  return undefined;
}

function pulumiStackOutput(bin: string, stack: string | undefined, env: NodeJS.ProcessEnv) {
  const args = ["stack", "output", "--json", ...(stack ? ["--stack", stack] : [])];
  return new Promise<string>((resolve, reject) => {
    execFile(bin, args, { env, timeout: 60_000, maxBuffer: 16 << 20 }, (err, stdout, stderr) => {
      if (err) {
        const detail = (stderr || err.message).trim().split("\n").slice(-3).join(" ");
        reject(new Error(`pulumi ${args.join(" ")} failed: ${detail}`));
      } else {
        resolve(stdout);
      }
    });
  });
}

/** Stack outputs from `--outputs` or the pulumi CLI; undefined when neither is available. */
export async function loadStackOutputs(
  o: ResolveOptions,
  warn: (line: string) => void,
): Promise<{ outputs: StackOutputs; from: string } | undefined> {
  const env = o.env ?? process.env;
  if (o.outputsFile) {
    let text: string;
    try {
      text = fs.readFileSync(o.outputsFile, "utf8");
    } catch (e) {
      throw new UsageError(`cannot read --outputs ${o.outputsFile}: ${(e as Error).message}`);
    }
    const outputs = parseStackOutputs(text, `--outputs ${o.outputsFile}`);
    if (o.stack && outputs.environment && outputs.environment !== o.stack) {
      throw new UsageError(
        `--outputs ${o.outputsFile} is for environment ${outputs.environment}, not --stack ${o.stack}`,
      );
    }
    return { outputs, from: `stack outputs in ${o.outputsFile}` };
  }
  const bin = findPulumi(env);
  if (!bin) return undefined;
  try {
    const text = await pulumiStackOutput(bin, o.stack, env);
    const from = `pulumi stack output${o.stack ? ` --stack ${o.stack}` : ""}`;
    return { outputs: parseStackOutputs(text, from), from };
  } catch (e) {
    // Without a stack there is no naming convention to fall back on.
    if (!o.stack) throw new CliError((e as Error).message, EXIT.AWS);
    warn(`warning: ${(e as Error).message}; using the naming convention for stack ${o.stack}`);
    return undefined;
  }
}

export async function resolveJob(
  name: string,
  o: ResolveOptions,
  warn: (line: string) => void,
): Promise<JobTarget> {
  if (o.jobName) {
    const pipeline = isPipeline(name) ? name : pipelineOfJob(o.jobName);
    return { jobName: o.jobName, source: "--job-name", ...(pipeline ? { pipeline } : {}) };
  }
  if (!isPipeline(name)) {
    const pipeline = pipelineOfJob(name);
    // A near miss of a pipeline name is a typo, not a job of another program: say so before
    // asking AWS about a job that does not exist.
    const guess = pipeline ? undefined : suggest(name, PIPELINE_NAMES);
    if (guess) {
      throw new UsageError(`unknown pipeline ${JSON.stringify(name)}; did you mean ${guess}?`, [
        `pipelines of this program: ${PIPELINE_NAMES.join(", ")}`,
        `for a Glue job really named ${name}, pass --job-name ${name}`,
      ]);
    }
    return { jobName: name, source: "the command line", ...(pipeline ? { pipeline } : {}) };
  }
  const loaded = await loadStackOutputs(o, warn);
  if (loaded) {
    const p = loaded.outputs.pipelines[name];
    if (!p) {
      const present = Object.keys(loaded.outputs.pipelines);
      throw new UsageError(`the ${loaded.from} have no pipeline ${name}`, [
        `pipelines there: ${present.length ? present.join(", ") : "none"} (is ${name} disabled in this stack?)`,
      ]);
    }
    return { jobName: p.jobName, pipeline: name, source: loaded.from, outputs: p };
  }
  if (o.stack) {
    return {
      jobName: glueJobName(name, o.stack),
      pipeline: name,
      source: `naming convention for stack ${o.stack}`,
    };
  }
  throw new UsageError(`cannot tell which Glue job pipeline ${name} means`, [
    "pass --stack dev|prod, --outputs <file from pulumi stack output --json>, or --job-name <name>",
  ]);
}

/** Hint for a job Glue does not know: the pipelines, and the closest one to a likely typo. */
export function unknownJobHints(name: string): string[] {
  const guess = suggest(name, PIPELINE_NAMES);
  return [
    ...(guess && guess !== name ? [`did you mean pipeline ${guess}?`] : []),
    `pipelines of this program: ${PIPELINE_NAMES.join(", ")} (with --stack, --outputs or --job-name)`,
  ];
}
