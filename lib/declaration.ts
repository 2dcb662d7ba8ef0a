/**
 * What a pipeline declaration holds (one file per pipeline under `pipelines/`) and the checks
 * that make a bad declaration fail before any resource is registered. Pure: no Pulumi, no I/O.
 */
import type { TableDeclaration } from "./schema";

export interface JobArgumentSpec {
  /** A run fails without it, unless the job's default arguments or its start give it. */
  readonly required: boolean;
  readonly description: string;
  /** Shown in help texts. */
  readonly example?: string;
  /** The value the script uses when the argument is absent. Default none (the script decides). */
  readonly default?: string;
}

/** The job script's argument contract: shared by the program, the job-run CLI and the script. */
export interface JobContract {
  /** Script file name under `scripts/`; its name without `.py` keys the Python contract. */
  readonly script: string;
  /** Glue job name before the environment suffix, as users type it in `start-job-run`. */
  readonly jobBaseName: string;
  readonly description: string;
  /**
   * Glue job bookmarks: each run reads only input that earlier runs did not. Such a job runs one
   * at a time (config validation refuses maxConcurrentRuns above 1), because two overlapping runs
   * start from the same bookmark and would process the same new files twice.
   */
  readonly bookmarks: boolean;
  /** Keys are Glue argument names with their leading `--`. */
  readonly arguments: Readonly<Record<string, JobArgumentSpec>>;
}

export type TableBucket = "raw" | "processed";

export interface PipelineTable {
  readonly table: TableDeclaration;
  /** Which of the pipeline's buckets holds the data. */
  readonly bucket: TableBucket;
}

export interface PipelineCrawler {
  /** Short name, part of the crawler's name, e.g. `raw`. */
  readonly name: string;
  /** Which of the pipeline's buckets it crawls. */
  readonly bucket: TableBucket;
  /** Prefixes in that bucket, each ending in "/". */
  readonly prefixes: readonly string[];
  /** Glue cron for a crawler of its own schedule. Default none. */
  readonly schedule?: string;
  /** Prefix of the table names it creates. Default none. */
  readonly tablePrefix?: string;
  /**
   * Run after each successful job run: in the pipeline's workflow, in the workflow that runs the
   * job, or through a conditional trigger. Default false.
   */
  readonly afterJob?: boolean;
}

/** What starts a pipeline's job. */
export type StartDeclaration =
  /** An on-demand trigger; a `schedule` in the stack file makes it a scheduled trigger. */
  | { readonly kind: "onDemand" }
  /** A scheduled trigger with this Glue cron (UTC); the stack file's `schedule` overrides it. */
  | { readonly kind: "schedule"; readonly schedule: string }
  /**
   * Objects landing in the raw bucket under prefix…suffix go through EventBridge to a Glue
   * workflow whose EVENT trigger starts the job once `batchSize` objects arrived or
   * `batchWindowSeconds` passed. The stack file may not give it a schedule.
   */
  | {
      readonly kind: "s3Workflow";
      readonly prefix: string;
      /** One key suffix, or several that each start a run (e.g. `.csv` and `.csv.gz`). */
      readonly suffix?: string | readonly string[];
      readonly batchSize?: number;
      readonly batchWindowSeconds?: number;
    }
  /**
   * Each object landing in the raw bucket under prefix…suffix starts one run through a Lambda,
   * with the object's `s3://` path in `argumentName`. The stack file may not give it a schedule.
   */
  | {
      readonly kind: "s3Lambda";
      readonly prefix: string;
      readonly suffix?: string;
      readonly argumentName: string;
    }
  /**
   * Heads a Glue workflow `<pipeline>-<name>` started on `schedule` (the stack file's `schedule`
   * overrides it); pipelines that declare `after` this one join it, in order.
   */
  | {
      readonly kind: "workflow";
      readonly name: string;
      readonly schedule: string;
      readonly description: string;
    }
  /**
   * Runs in the workflow of `pipeline` after its job (and that pipeline's followers) SUCCEEDED.
   * While that pipeline is not deployed, it starts like `onDemand`.
   */
  | { readonly kind: "after"; readonly pipeline: string };

/** Output of another pipeline this one reads. */
export interface PipelineRead {
  /** The pipeline that writes it. */
  readonly pipeline: string;
  /** Which of its buckets. Default `processed`. */
  readonly bucket?: TableBucket;
  /** Prefix in that bucket, ending in "/". */
  readonly prefix: string;
  /**
   * The job argument that receives `s3://<bucket>/<prefix>` while that pipeline is deployed;
   * otherwise the argument keeps this pipeline's own default. Default `--INPUT_PATH`.
   */
  readonly argument?: string;
}

export interface PipelineDeclaration {
  /** Lower-case name: part of resource and bucket names, the key under `glue-etl:pipelines`. */
  readonly name: string;
  /**
   * Position among the pipelines (dashboard rows, listings), lowest first; pipelines without one
   * follow, by name. Default none.
   */
  readonly order?: number;
  readonly job: JobContract;
  /**
   * The deployed job's default arguments, each in the contract. Values may use `{raw}`,
   * `{processed}`, `{scripts}`, `{temp}` (`s3://<that bucket>`) and `{database}`. Default none.
   */
  readonly defaultArguments?: Readonly<Record<string, string>>;
  /** Prefix of the raw bucket the job reads; its IAM read access stops there. Default "" (all). */
  readonly inputPrefix?: string;
  /** Files under `scripts/` the job reads, uploaded to `{scripts}/config/<file name>`. Default none. */
  readonly assets?: readonly string[];
  /** Catalog tables in the pipeline's Glue database. Default none. */
  readonly tables?: readonly PipelineTable[];
  /** Crawlers over the pipeline's buckets. Default none. */
  readonly crawlers?: readonly PipelineCrawler[];
  readonly start: StartDeclaration;
  /** Other pipelines' output this job reads: read grant, KMS decrypt grant, input path. Default none. */
  readonly reads?: readonly PipelineRead[];
  /**
   * The script can write through a Glue JDBC connection (`glue-etl:pipelines.<name>.jdbc`); with
   * one, these default arguments are dropped (e.g. the Parquet output path). Default: it cannot.
   */
  readonly jdbc?: { readonly replacesArguments: readonly string[] };
}

/** Lower-case letters, digits and '-', starting with a letter: it becomes part of bucket names. */
export const PIPELINE_NAME_RE = /^[a-z][a-z0-9-]{0,19}$/;

/** A declaration, type-checked where it is written. */
export function definePipeline(declaration: PipelineDeclaration): PipelineDeclaration {
  return declaration;
}

/** The Glue job's name in an environment: `csv_to_parquet_genomic_data-dev`. */
export function glueJobName(contract: JobContract, environment: string): string {
  return `${contract.jobBaseName}-${environment}`;
}

/** The key of a script's contract for Python: the file name without `.py`. */
export function scriptKey(contract: JobContract): string {
  return contract.script.replace(/\.py$/, "");
}

/** Why a stack file may not schedule a pipeline that S3 events start, or undefined. */
export function eventStartReason(start: StartDeclaration): string | undefined {
  const suffixes = (s?: string | readonly string[]) =>
    s === undefined ? [] : typeof s === "string" ? [s] : [...s];
  if (start.kind === "s3Workflow") {
    const ends = suffixes(start.suffix);
    return `objects${ends.length ? ` ending in ${ends.join(" or ")}` : ""} landing under ${start.prefix} in its raw bucket start it`;
  }
  if (start.kind === "s3Lambda") {
    const ends = suffixes(start.suffix);
    return `each object${ends.length ? ` ending in ${ends.join(" or ")}` : ""} landing under ${start.prefix} in its raw bucket starts it`;
  }
  return undefined;
}

export class PipelineDeclarationError extends Error {
  readonly __pulumiRunError = true;
  constructor(readonly problems: readonly string[]) {
    super(
      `Invalid pipeline declarations (${problems.length} problem${problems.length === 1 ? "" : "s"}):\n` +
        problems.map((p) => `  - ${p}`).join("\n"),
    );
    this.name = "PipelineDeclarationError";
  }
}

/**
 * Every declaration checked against itself and the others: names, the argument contract against
 * the default arguments, the start, reads and crawlers. Throws one error naming every problem
 * with the file it is in; returns the declarations in their order.
 */
export function checkDeclarations(
  entries: readonly { readonly file: string; readonly declaration: unknown }[],
  scriptExists: (script: string) => boolean,
): PipelineDeclaration[] {
  const problems: string[] = [];
  const decls: { file: string; d: PipelineDeclaration }[] = [];
  for (const { file, declaration } of entries) {
    const d = declaration as Partial<PipelineDeclaration> | undefined;
    if (!d || typeof d !== "object" || typeof d.name !== "string" || !d.job || !d.start) {
      problems.push(
        `${file}: got ${d === undefined ? "no default export" : "a default export without name, job and start"}; allowed: export default definePipeline({ name, job, start, … })`,
      );
      continue;
    }
    decls.push({ file, d: d as PipelineDeclaration });
  }
  const names = decls.map((x) => x.d.name);
  const byName = new Map(decls.map((x) => [x.d.name, x.d]));
  for (const { file, d } of decls) {
    const at = `${file} (pipeline ${d.name})`;
    const contract = d.job.arguments;
    const known = Object.keys(contract);
    if (!PIPELINE_NAME_RE.test(d.name))
      problems.push(
        `${at}: name ${JSON.stringify(d.name)}; allowed: lower-case letters, digits and '-', starting with a letter, at most 20 characters (it becomes part of bucket names)`,
      );
    if (`${d.name}.ts` !== file)
      problems.push(`${at}: the file is named after its pipeline; rename it to ${d.name}.ts`);
    if (names.filter((n) => n === d.name).length > 1)
      problems.push(`${at}: another declaration has the name ${d.name}; names must be unique`);
    for (const [key, what] of [
      ["jobBaseName", d.job.jobBaseName],
      ["script", d.job.script],
    ] as const) {
      if (decls.filter((x) => x.d.job[key] === what).length > 1)
        problems.push(`${at}: job.${key} ${JSON.stringify(what)} is used by another pipeline`);
    }
    if (!/^[a-z][a-z0-9_]*\.py$/.test(d.job.script) || !scriptExists(d.job.script))
      problems.push(
        `${at}: job.script ${JSON.stringify(d.job.script)}; allowed: a Python file under scripts/ (snake_case name)`,
      );
    const given = new Set(Object.keys(d.defaultArguments ?? {}));
    for (const key of given) {
      if (!known.includes(key))
        problems.push(
          `${at}: defaultArguments ${key} is not in job.arguments; add it to the contract or drop it (known: ${known.join(", ")})`,
        );
    }
    const supplied = new Set(given);
    if (d.start.kind === "s3Lambda") supplied.add(d.start.argumentName);
    for (const r of d.reads ?? []) supplied.add(r.argument ?? "--INPUT_PATH");
    for (const [key, spec] of Object.entries(contract)) {
      if (spec.required && spec.default !== undefined)
        problems.push(`${at}: job.arguments ${key} is required and has a default; choose one`);
      if (spec.required && !supplied.has(key))
        problems.push(
          `${at}: job.arguments ${key} is required but neither defaultArguments nor the start give it; give it a default argument or make it optional`,
        );
    }
    if (d.start.kind === "s3Lambda" && !known.includes(d.start.argumentName))
      problems.push(
        `${at}: start.argumentName ${d.start.argumentName} is not in job.arguments (known: ${known.join(", ")})`,
      );
    if (d.start.kind === "after") {
      const after = d.start.pipeline;
      const head = byName.get(after);
      if (!head || after === d.name)
        problems.push(
          `${at}: start.pipeline ${JSON.stringify(d.start.pipeline)}; allowed: another pipeline (${names.filter((n) => n !== d.name).join(", ")})`,
        );
      else if (
        decls.some((x) => x.d !== d && x.d.start.kind === "after" && x.d.start.pipeline === after)
      )
        problems.push(
          `${at}: another pipeline also runs after ${d.start.pipeline}; a workflow is one chain, so run after the last pipeline of it`,
        );
      else if (head.start.kind !== "workflow" && head.start.kind !== "after")
        problems.push(
          `${at}: start.pipeline ${d.start.pipeline} starts with "${head.start.kind}"; allowed: a pipeline that heads a workflow or runs in one`,
        );
    }
    for (const r of d.reads ?? []) {
      if (!byName.has(r.pipeline) || r.pipeline === d.name)
        problems.push(
          `${at}: reads.pipeline ${JSON.stringify(r.pipeline)}; allowed: another pipeline (${names.filter((n) => n !== d.name).join(", ")})`,
        );
      if (!known.includes(r.argument ?? "--INPUT_PATH"))
        problems.push(
          `${at}: reads.argument ${r.argument ?? "--INPUT_PATH"} is not in job.arguments`,
        );
      if (!r.prefix.endsWith("/"))
        problems.push(`${at}: reads.prefix ${JSON.stringify(r.prefix)} must end in "/"`);
    }
    for (const key of d.jdbc?.replacesArguments ?? []) {
      if (!known.includes(key))
        problems.push(`${at}: jdbc.replacesArguments ${key} is not in job.arguments`);
    }
    for (const key of ["--JDBC_CONNECTION_NAME", "--JDBC_TABLE"]) {
      if (d.jdbc && !known.includes(key))
        problems.push(
          `${at}: jdbc is declared, so job.arguments needs ${key} (the program passes it)`,
        );
    }
    const crawlerNames = (d.crawlers ?? []).map((c) => c.name);
    if (new Set(crawlerNames).size !== crawlerNames.length)
      problems.push(`${at}: crawler names repeat (${crawlerNames.join(", ")})`);
  }
  for (const { file, d } of decls) {
    // A cycle of `after` starts would never start.
    const seen = new Set<string>([d.name]);
    let cur = d;
    while (cur.start.kind === "after") {
      const next = byName.get(cur.start.pipeline);
      if (!next) break;
      if (seen.has(next.name)) {
        problems.push(
          `${file} (pipeline ${d.name}): start.after forms a cycle (${[...seen].join(" → ")})`,
        );
        break;
      }
      seen.add(next.name);
      cur = next;
    }
  }
  if (problems.length > 0) throw new PipelineDeclarationError(problems);
  return decls
    .map((x) => x.d)
    .sort(
      (a, b) =>
        (a.order ?? Number.MAX_SAFE_INTEGER) - (b.order ?? Number.MAX_SAFE_INTEGER) ||
        a.name.localeCompare(b.name),
    );
}

/**
 * The workflows the declarations ask for: each pipeline that heads one, then the pipelines that
 * run after it, in chain order (a pipeline follows the last pipeline of the chain it names).
 * Only `deployed` pipelines take part.
 */
export function plannedWorkflows(
  declarations: readonly PipelineDeclaration[],
  deployed: (name: string) => boolean,
): { head: PipelineDeclaration; chain: PipelineDeclaration[] }[] {
  const plans: { head: PipelineDeclaration; chain: PipelineDeclaration[] }[] = [];
  for (const head of declarations) {
    if (head.start.kind !== "workflow" || !deployed(head.name)) continue;
    const chain = [head];
    for (;;) {
      const last = chain[chain.length - 1]!.name;
      const next = declarations.find(
        (d) => d.start.kind === "after" && d.start.pipeline === last && deployed(d.name),
      );
      if (!next || chain.includes(next)) break;
      chain.push(next);
    }
    plans.push({ head, chain });
  }
  return plans;
}

/** The name of the workflow a pipeline heads, `<pipeline>-<name>` (e.g. `sales-daily`). */
export function workflowName(head: PipelineDeclaration): string {
  return head.start.kind === "workflow" ? `${head.name}-${head.start.name}` : head.name;
}

/** The pipeline heading the workflow that runs `name`, when one is deployed. */
export function workflowHeadOf(
  declarations: readonly PipelineDeclaration[],
  name: string,
  deployed: (name: string) => boolean,
): PipelineDeclaration | undefined {
  return plannedWorkflows(declarations, deployed).find((w) => w.chain.some((d) => d.name === name))
    ?.head;
}
