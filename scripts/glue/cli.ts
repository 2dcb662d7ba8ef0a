/** Command line: parse, dispatch, help texts, and errors printed for people. */
import * as readline from "node:readline/promises";
import { parseArgs, ParseArgsConfig } from "node:util";
import { JOBS, PIPELINE_NAMES } from "../../lib/jobs";
import { createAws } from "./aws";
import { backfillCommand } from "./commands/backfill";
import { bookmarkResetCommand } from "./commands/bookmark";
import { runCommand } from "./commands/run";
import { runsCommand } from "./commands/runs";
import { latestRunId, watchRun } from "./commands/watch";
import { abortableSleep, Context, Io } from "./context";
import { CliError, EXIT, UsageError } from "./errors";
import { getJob } from "./glue-api";
import { describeArguments, suggest } from "./jobargs";
import { resolveJob } from "./resolve";

const USAGE = "npm run glue --";

const EXIT_CODES = `Exit codes:
  0    success (watch: the run SUCCEEDED)
  1    a run ended FAILED, TIMEOUT, ERROR, STOPPED or EXPIRED (backfill: any of its runs)
  2    bad command line or job arguments; nothing was started
  3    AWS error: unknown job, credentials, concurrency limit, endpoint unreachable
  130  Ctrl-C: stopped watching; runs were left running`;

const COMMON = `Where the job is (for a pipeline name):
  --stack <env>          stack/environment (dev, prod): with the pulumi CLI installed its
                         outputs name the job, else the convention <job base name>-<env>
  --outputs <file>       JSON from "pulumi stack output --json" (no pulumi CLI needed)
  --job-name <name>      the Glue job name itself; overrides both

AWS (default: the usual AWS environment and shared config files):
  --region <region>      else AWS_REGION / AWS_DEFAULT_REGION / the profile's region
  --profile <name>       else AWS_PROFILE
  --endpoint-url <url>   else AWS_ENDPOINT_URL; e.g. a local endpoint http://127.0.0.1:5000
  -h, --help             this help`;

const PIPELINES = `Pipelines: ${PIPELINE_NAMES.map((p) => `${p} (${JOBS[p].jobBaseName}-<env>)`).join(", ")}`;

const HELP: Record<string, string> = {
  main: `glue: operate this program's Glue jobs: start runs, watch them, see their cost.

Usage: ${USAGE} <command> [options]

Commands:
  run <pipeline|job> --arg KEY=VALUE…   start a run with checked arguments; prints the run id
  watch <job> [run-id]                  follow a run (default: the newest) until it ends
  runs <job>                            recent runs: state, duration, DPU-hours, cost, error
  bookmark reset <job>                  reset the job bookmark (asks first; --yes to skip)
  backfill <pipeline> --from D --to D   one run per dated manifest, within MaxConcurrentRuns

<job> is a pipeline name or a Glue job name. ${PIPELINES}.
Costs: $0.44 per DPU-hour STANDARD, $0.29 FLEX, per second, 1-minute minimum.

Examples:
  ${USAGE} run genomics --stack dev --arg INPUT_PATH='s3://raw/csv/*.csv' --arg OUTPUT_PATH=s3://out/
  ${USAGE} watch genomics --stack dev
  ${USAGE} runs csv_to_parquet_genomic_data-prod --limit 10

"${USAGE} <command> --help" shows each command's options.

${EXIT_CODES}`,
  run: `Usage: ${USAGE} run <pipeline|job> --arg KEY=VALUE… [options]

Starts one run of the job and prints its run id on stdout. The arguments are checked against the
pipeline's contract first: an unknown key, a Glue-reserved one (--JOB_NAME, --debug, --mode) or a
required one that is neither given nor a default of the job stops the command before any run.

Options:
  --arg KEY=VALUE        a job argument, repeatable; KEY with or without the leading --
                         (INPUT_PATH=… or --INPUT_PATH=…); --job-bookmark-option is allowed too
  --watch                follow the run until it ends (as the watch command)
  --interval <seconds>   with --watch: seconds between polls (default 10)

${COMMON}

Arguments of each pipeline: ${USAGE} run <pipeline> --help --stack <env>
Example:
  ${USAGE} run genomics --stack dev \\
    --arg INPUT_PATH='s3://my-raw/csv/*.csv' --arg OUTPUT_PATH=s3://my-processed/genomics/

${EXIT_CODES}`,
  watch: `Usage: ${USAGE} watch <job> [run-id] [options]

Follows a run (default: the job's newest) until it ends, with a live status line: state, elapsed
time, DPU-seconds and cost so far. Exits non-zero with Glue's error message when the run fails,
times out or errors. Ctrl-C stops watching and leaves the run running.

Options:
  --interval <seconds>   seconds between polls (default 10)

${COMMON}

${EXIT_CODES}`,
  runs: `Usage: ${USAGE} runs <job> [options]

Recent runs of the job, newest first: run id, state, start (UTC), duration, DPU-hours, cost and
error message.

Options:
  --limit <n>            how many runs (default 20, at most 1000)
  --json                 machine-readable output, with each run's arguments

${COMMON}

${EXIT_CODES}`,
  bookmark: `Usage: ${USAGE} bookmark reset <job> [options]

Resets the job bookmark so the next run processes all of its input again (or, with --run-id, to
where that run left it). Asks for confirmation on a terminal; refuses without --yes otherwise.

Options:
  --yes                  do not ask
  --run-id <id>          reset to the state after this run instead of the start

${COMMON}

${EXIT_CODES}`,
  backfill: `Usage: ${USAGE} backfill <pipeline> --from YYYY-MM-DD --to YYYY-MM-DD [options]

Starts one run of the manifest pipeline per manifest dated in the range (inclusive): S3 objects
under s3://<raw bucket>/manifests/ whose key holds a YYYY-MM-DD date and ends with manifest.json,
each passed as --MANIFEST_PATH. At most the job's MaxConcurrentRuns run at once; the command waits
for runs to end before starting more, reports each outcome and a summary, and exits 1 if any run
did not succeed. Ctrl-C stops starting runs and leaves running ones alone.

Options:
  --from <date>, --to <date>   the range of manifest dates, inclusive
  --manifest-prefix <s3 uri>   where the manifests are (default: from the stack outputs,
                               s3://<pipelines.manifest.buckets.raw>/manifests/)
  --arg KEY=VALUE              extra job arguments for every run, e.g. OUTPUT_PATH=s3://…/
  --max-concurrent <n>         fewer runs at once than the job allows
  --interval <seconds>         seconds between polls (default 10)
  --dry-run                    list the manifests that would run; start nothing

${COMMON}

Example:
  ${USAGE} backfill manifest --stack prod --from 2026-11-01 --to 2026-11-07

${EXIT_CODES}`,
};

type Values = Record<string, string | boolean | string[] | undefined>;

const COMMON_OPTIONS = {
  region: { type: "string" },
  profile: { type: "string" },
  "endpoint-url": { type: "string" },
  stack: { type: "string" },
  outputs: { type: "string" },
  "job-name": { type: "string" },
  help: { type: "boolean", short: "h" },
} as const satisfies ParseArgsConfig["options"];

const OPTIONS = {
  run: {
    ...COMMON_OPTIONS,
    arg: { type: "string", multiple: true },
    watch: { type: "boolean" },
    interval: { type: "string" },
  },
  watch: { ...COMMON_OPTIONS, interval: { type: "string" } },
  runs: { ...COMMON_OPTIONS, limit: { type: "string" }, json: { type: "boolean" } },
  bookmark: {
    ...COMMON_OPTIONS,
    yes: { type: "boolean", short: "y" },
    "run-id": { type: "string" },
  },
  backfill: {
    ...COMMON_OPTIONS,
    from: { type: "string" },
    to: { type: "string" },
    "manifest-prefix": { type: "string" },
    arg: { type: "string", multiple: true },
    "max-concurrent": { type: "string" },
    interval: { type: "string" },
    "dry-run": { type: "boolean" },
  },
} as const satisfies Record<string, ParseArgsConfig["options"]>;

type Command = keyof typeof OPTIONS;

/** `--arg --INPUT_PATH=…` would read as a flag to parseArgs; glue the value on. */
export function joinArgValues(argv: readonly string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === "--arg" && i + 1 < argv.length) {
      out.push(`--arg=${argv[++i]}`);
    } else {
      out.push(argv[i]);
    }
  }
  return out;
}

function parse(command: Command, argv: readonly string[]) {
  try {
    const parsed = parseArgs({
      args: joinArgValues(argv),
      options: OPTIONS[command],
      allowPositionals: true,
      strict: true,
    });
    return { values: parsed.values as Values, positionals: parsed.positionals };
  } catch (e) {
    const message = (e as Error).message.split("\n")[0];
    const unknown = /Unknown option '(-[^']*)'/.exec(message)?.[1];
    if (unknown) {
      const guess = suggest(
        unknown,
        Object.keys(OPTIONS[command]).map((o) => `--${o}`),
      );
      throw new UsageError(
        `unknown option ${unknown} for ${command}${guess ? `; did you mean ${guess}?` : ""}`,
        [`see: ${USAGE} ${command} --help`],
      );
    }
    throw new UsageError(message, [`see: ${USAGE} ${command} --help`]);
  }
}

function str(values: Values, key: string): string | undefined {
  const v = values[key];
  return typeof v === "string" ? v : undefined;
}

function list(values: Values, key: string): string[] {
  const v = values[key];
  return Array.isArray(v) ? v : [];
}

function number(values: Values, key: string, fallback: number, min: number, max: number): number {
  const raw = str(values, key);
  if (raw === undefined) return fallback;
  const n = Number(raw);
  if (!Number.isFinite(n) || n < min || n > max) {
    throw new UsageError(`--${key} ${JSON.stringify(raw)} is not a number from ${min} to ${max}`);
  }
  return n;
}

function integer(values: Values, key: string, fallback: number, min: number, max: number) {
  const n = number(values, key, fallback, min, max);
  if (!Number.isInteger(n)) throw new UsageError(`--${key} must be a whole number, got ${n}`);
  return n;
}

function one(positionals: string[], what: string, command: string, max = 1): string {
  if (positionals.length === 0) {
    throw new UsageError(`missing ${what}`, [`usage: ${USAGE} ${command} ${what} …`]);
  }
  if (positionals.length > max) {
    throw new UsageError(`unexpected argument ${JSON.stringify(positionals[max])}`, [
      `job arguments go after --arg, e.g. --arg ${positionals[max].replace(/^--/, "")}; see ${USAGE} ${command} --help`,
    ]);
  }
  return positionals[0];
}

function resolveOptions(values: Values) {
  const stack = str(values, "stack");
  const outputsFile = str(values, "outputs");
  const jobName = str(values, "job-name");
  return {
    ...(stack ? { stack } : {}),
    ...(outputsFile ? { outputsFile } : {}),
    ...(jobName ? { jobName } : {}),
  };
}

export interface Process {
  readonly argv: readonly string[];
  readonly io: Io;
  readonly env: NodeJS.ProcessEnv;
  /** Aborted on Ctrl-C. */
  readonly signal: AbortSignal;
}

export async function main(p: Process): Promise<number> {
  const { io } = p;
  const [command, ...rest] = p.argv;
  if (command === undefined || command === "help" || command === "--help" || command === "-h") {
    io.out(HELP.main);
    return command === undefined ? EXIT.USAGE : EXIT.OK;
  }
  if (!(command in OPTIONS)) {
    io.err(`error: unknown command ${JSON.stringify(command)}`);
    io.err(`commands: ${Object.keys(OPTIONS).join(", ")}; see ${USAGE} --help`);
    return EXIT.USAGE;
  }
  const cmd = command as Command;
  let aws: ReturnType<typeof createAws> | undefined;
  try {
    const { values, positionals } = parse(cmd, rest);
    if (values.help) {
      const pipeline = positionals[0];
      io.out(HELP[cmd]);
      if (cmd === "run" && pipeline && pipeline in JOBS) {
        io.out(`\nArguments of pipeline ${pipeline}:`);
        for (const line of describeArguments(pipeline as keyof typeof JOBS)) io.out(line);
      }
      return EXIT.OK;
    }
    const region = str(values, "region");
    const profile = str(values, "profile");
    const endpointUrl = str(values, "endpoint-url");
    aws = createAws(
      {
        ...(region ? { region } : {}),
        ...(profile ? { profile } : {}),
        ...(endpointUrl !== undefined ? { endpointUrl } : {}),
      },
      p.env,
    );
    const ctx: Context = {
      aws,
      io,
      signal: p.signal,
      now: () => new Date(),
      sleep: abortableSleep(p.signal),
    };
    const where = { ...resolveOptions(values), env: p.env };
    const interval = () => number(values, "interval", 10, 0.05, 3600);
    switch (cmd) {
      case "run":
        return await runCommand(ctx, one(positionals, "<pipeline|job>", cmd), {
          ...where,
          args: list(values, "arg"),
          watch: values.watch === true,
          intervalSeconds: interval(),
        });
      case "watch": {
        const name = one(positionals, "<job>", cmd, 2);
        const target = await resolveJob(name, where, io.err);
        const job = await getJob(ctx, target);
        const runId = positionals[1] ?? (await latestRunId(ctx, target.jobName));
        return await watchRun(ctx, job, runId, { intervalSeconds: interval() });
      }
      case "runs":
        return await runsCommand(ctx, one(positionals, "<job>", cmd), {
          ...where,
          limit: integer(values, "limit", 20, 1, 1000),
          json: values.json === true,
        });
      case "bookmark": {
        if (positionals[0] !== "reset") {
          throw new UsageError(
            positionals[0] === undefined
              ? "missing subcommand: bookmark reset <job>"
              : `unknown subcommand bookmark ${positionals[0]}; the only one is: bookmark reset <job>`,
          );
        }
        const runId = str(values, "run-id");
        return await bookmarkResetCommand(
          ctx,
          one(positionals.slice(1), "<job>", "bookmark reset"),
          {
            ...where,
            yes: values.yes === true,
            ...(runId ? { runId } : {}),
          },
        );
      }
      case "backfill": {
        const from = str(values, "from");
        const to = str(values, "to");
        const prefix = str(values, "manifest-prefix");
        const max = values["max-concurrent"];
        return await backfillCommand(ctx, one(positionals, "<pipeline>", cmd), {
          ...where,
          ...(from ? { from } : {}),
          ...(to ? { to } : {}),
          ...(prefix ? { manifestPrefix: prefix } : {}),
          ...(max !== undefined
            ? { maxConcurrent: integer(values, "max-concurrent", 1, 1, 1000) }
            : {}),
          args: list(values, "arg"),
          intervalSeconds: interval(),
          dryRun: values["dry-run"] === true,
        });
      }
      default:
        return EXIT.USAGE;
    }
  } catch (e) {
    if (p.signal.aborted) {
      io.err("Interrupted; nothing further was started.");
      return EXIT.INTERRUPTED;
    }
    const err =
      e instanceof CliError
        ? e
        : new CliError(`unexpected: ${(e as Error).stack ?? String(e)}`, 70);
    io.err(`error: ${err.message}`);
    for (const h of err.hints) io.err(`  ${h}`);
    return err.exitCode;
  } finally {
    aws?.glue.destroy();
  }
}

/** Io on the real terminal. */
export function processIo(): Io {
  return {
    out: (line) => void process.stdout.write(`${line}\n`),
    err: (line) => void process.stderr.write(`${line}\n`),
    status: (line) => void process.stderr.write(`\r\x1b[2K${line}`),
    stderrIsTTY: process.stderr.isTTY === true,
    stdinIsTTY: process.stdin.isTTY === true,
    async ask(question) {
      const rl = readline.createInterface({ input: process.stdin, output: process.stderr });
      try {
        return await rl.question(question);
      } finally {
        rl.close();
      }
    },
  };
}
