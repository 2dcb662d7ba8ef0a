/**
 * `--arg KEY=VALUE` on the command line, checked against the job's argument contract in
 * pipelines/: before any AWS call for the keys, and against the job's DefaultArguments for what
 * is required.
 */
import { distance } from "fastest-levenshtein";
import { MANAGED_ARGUMENTS, RESERVED_ARGUMENTS } from "../../lib/arguments";
import { JOBS, PipelineName } from "../../pipelines";
import { JobArgumentSpec } from "../../lib/declaration";
import { table } from "../../lib/table";
import { UsageError } from "./errors";

/** Glue options a user may set for one run (the stack sets the job's default). */
export const PER_RUN_OPTIONS: Readonly<Record<string, JobArgumentSpec & { values: string[] }>> = {
  "--job-bookmark-option": {
    required: false,
    description: "Bookmark behaviour for this run only",
    values: ["job-bookmark-enable", "job-bookmark-disable", "job-bookmark-pause"],
    example: "job-bookmark-disable",
  },
};

const KEY_RE = /^[A-Za-z][A-Za-z0-9_.-]*$/;

/** `INPUT_PATH=s3://…` or `--INPUT_PATH=s3://…` to `{ "--INPUT_PATH": "s3://…" }`. */
export function parseArgPairs(raw: readonly string[]): Record<string, string> {
  const args: Record<string, string> = {};
  for (const item of raw) {
    const eq = item.indexOf("=");
    const name = eq < 0 ? item : item.slice(0, eq);
    const bare = name.replace(/^--?/, "");
    if (eq < 0 || !KEY_RE.test(bare)) {
      throw new UsageError(`malformed --arg ${JSON.stringify(item)}: expected KEY=VALUE`, [
        "for example --arg INPUT_PATH=s3://bucket/csv/*.csv (or --arg --INPUT_PATH=…)",
      ]);
    }
    const value = item.slice(eq + 1);
    const key = `--${bare}`;
    if (value === "") {
      throw new UsageError(`--arg ${key} has an empty value`, [
        `give it a value (${key}=…) or leave the argument out`,
      ]);
    }
    if (key in args) {
      throw new UsageError(
        `--arg ${key} is given twice (${JSON.stringify(args[key])} and ${JSON.stringify(value)})`,
      );
    }
    args[key] = value;
  }
  return args;
}

function expected(pipeline: PipelineName): Record<string, JobArgumentSpec> {
  return { ...JOBS[pipeline].arguments, ...PER_RUN_OPTIONS };
}

/** Lines listing a job's arguments, for errors and help. */
export function describeArguments(pipeline: PipelineName): string[] {
  const rows = Object.entries(expected(pipeline)).map(([key, spec]) => [
    key,
    spec.required ? "required" : "optional",
    `${spec.description}${spec.example ? ` (e.g. ${spec.example})` : ""}`,
  ]);
  return table([{ header: "ARGUMENT" }, { header: "" }, { header: "DESCRIPTION" }], rows, {
    indent: 2,
    head: false,
  }).split("\n");
}

/** The closest candidate when it is plausibly a typo of `input` (Levenshtein distance). */
export function suggest(input: string, candidates: readonly string[]): string | undefined {
  const lower = input.toLowerCase();
  let best: { c: string; d: number } | undefined;
  for (const c of candidates) {
    const d = distance(lower, c.toLowerCase());
    if (!best || d < best.d) best = { c, d };
  }
  return best && best.d <= Math.max(2, Math.floor(input.length / 3)) ? best.c : undefined;
}

/**
 * Refuses Glue-reserved and stack-managed keys for any job, and keys outside the contract for a
 * job of a known pipeline. Needs no AWS call.
 */
export function checkArgumentKeys(
  pipeline: PipelineName | undefined,
  args: Readonly<Record<string, string>>,
  jobName: string,
): void {
  for (const [key, value] of Object.entries(args)) {
    if ((RESERVED_ARGUMENTS as readonly string[]).includes(key)) {
      throw new UsageError(`${key} is reserved by Glue and cannot be passed to a run`, [
        "Glue sets it itself; drop this --arg",
      ]);
    }
    const option = PER_RUN_OPTIONS[key];
    if (option && !option.values.includes(value)) {
      throw new UsageError(
        `${key}=${JSON.stringify(value)} is not allowed; use one of ${option.values.join(", ")}`,
      );
    }
    if (!option && (MANAGED_ARGUMENTS as readonly string[]).includes(key)) {
      throw new UsageError(`${key} is set by the stack for job ${jobName}, not per run`, [
        "change it in the pipeline's settings and run pulumi up",
      ]);
    }
  }
  if (!pipeline) return;
  const known = Object.keys(expected(pipeline));
  for (const key of Object.keys(args)) {
    if (!known.includes(key)) {
      const guess = suggest(key, known);
      throw new UsageError(
        `unknown argument ${key} for job ${jobName} (pipeline ${pipeline})${guess ? `; did you mean ${guess}?` : ""}`,
        ["expected arguments:", ...describeArguments(pipeline)],
      );
    }
  }
}

/** Required arguments neither given nor in the job's DefaultArguments. */
export function missingRequired(
  pipeline: PipelineName,
  args: Readonly<Record<string, string>>,
  defaults: Readonly<Record<string, string>>,
): string[] {
  return Object.entries(JOBS[pipeline].arguments)
    .filter(([key, spec]) => spec.required && !(key in args) && !(key in defaults))
    .map(([key]) => key);
}

export function checkRequired(
  pipeline: PipelineName,
  args: Readonly<Record<string, string>>,
  defaults: Readonly<Record<string, string>>,
  jobName: string,
): void {
  const missing = missingRequired(pipeline, args, defaults);
  if (missing.length === 0) return;
  throw new UsageError(
    `missing required argument${missing.length === 1 ? "" : "s"} ${missing.join(", ")} for job ${jobName} (pipeline ${pipeline}); the job has no default for ${missing.length === 1 ? "it" : "them"}`,
    [
      `pass ${missing.map((k) => `--arg ${k.slice(2)}=…`).join(" ")}`,
      "expected arguments:",
      ...describeArguments(pipeline),
    ],
  );
}
