/**
 * Command line: subcommands, options, help and typo suggestions (commander), dispatch to the
 * commands, and errors printed for people with the documented exit codes.
 */
import { Command, CommanderError, InvalidArgumentError } from "commander";
import { JOBS, PIPELINE_NAMES } from "../../pipelines";
import type { Aws } from "./aws";
import { abortableSleep, Context, Io } from "./context";
import { CliError, EXIT } from "./errors";
import { describeArguments } from "./jobargs";
import { ResolveOptions, isPipeline, resolveJob } from "./resolve";
import { MINIMUM_BILLED_SECONDS, PRICE_PER_DPU_HOUR } from "../../lib/pricing";

type Commands = typeof import("./commands");
/**
 * Loaded on first use: evaluating the AWS SDK is most of the CLI's start-up time, and help or a
 * command-line mistake needs none of it.
 */
// eslint-disable-next-line @typescript-eslint/no-require-imports
const commands = (): Commands => require("./commands") as Commands;

const USAGE = "npm run glue --";

const EXIT_CODES = `Exit codes:
  0    success (watch: the run SUCCEEDED)
  1    a run ended FAILED, TIMEOUT, ERROR, STOPPED or EXPIRED (backfill: any of its runs)
  2    bad command line or job arguments; nothing was started
  3    AWS error: unknown job, credentials, concurrency limit, endpoint unreachable
  130  Ctrl-C: stopped watching; runs were left running`;

const PIPELINES = `Pipelines: ${PIPELINE_NAMES.map((p) => `${p} (${JOBS[p].jobBaseName}-<env>)`).join(", ")}`;

/** Options every command takes: where the job is, and how to reach AWS. */
interface CommonOptions {
  readonly stack?: string;
  readonly outputs?: string;
  readonly jobName?: string;
  readonly region?: string;
  readonly profile?: string;
  readonly endpointUrl?: string;
}

/** Parses a number option, refusing what is not a number within [min, max]. */
function numberIn(min: number, max: number, whole = false) {
  return (raw: string): number => {
    const n = Number(raw);
    if (
      raw.trim() === "" ||
      !Number.isFinite(n) ||
      n < min ||
      n > max ||
      (whole && !Number.isInteger(n))
    ) {
      throw new InvalidArgumentError(
        `expected ${whole ? "a whole number" : "a number"} from ${min} to ${max}.`,
      );
    }
    return n;
  };
}

const collect = (value: string, previous: string[] | undefined): string[] => [
  ...(previous ?? []),
  value,
];

function withCommon(cmd: Command): Command {
  return cmd
    .optionsGroup("Where the job is (for a pipeline name):")
    .option(
      "--stack <env>",
      "stack/environment (dev, prod): with the pulumi CLI installed its outputs name the job, else the convention <job base name>-<env>",
    )
    .option("--outputs <file>", 'JSON from "pulumi stack output --json" (no pulumi CLI needed)')
    .option("--job-name <name>", "the Glue job name itself; overrides both")
    .optionsGroup("AWS (default: the usual AWS environment and shared config files):")
    .option("--region <region>", "else AWS_REGION / AWS_DEFAULT_REGION / the profile's region")
    .option("--profile <name>", "else AWS_PROFILE")
    .option(
      "--endpoint-url <url>",
      "else AWS_ENDPOINT_URL; e.g. a local endpoint http://127.0.0.1:5000",
    )
    .optionsGroup("Options:")
    .addHelpText("after", `\n${EXIT_CODES}`);
}

export interface Process {
  readonly argv: readonly string[];
  readonly io: Io;
  readonly env: NodeJS.ProcessEnv;
  /** Aborted on Ctrl-C. */
  readonly signal: AbortSignal;
}

function resolveOptions(o: CommonOptions, env: NodeJS.ProcessEnv): ResolveOptions {
  return {
    ...(o.stack ? { stack: o.stack } : {}),
    ...(o.outputs ? { outputsFile: o.outputs } : {}),
    ...(o.jobName ? { jobName: o.jobName } : {}),
    env,
  };
}

/** The command tree; each action stores its exit code through `done`. */
function program(p: Process, done: (code: number) => void, clients: Aws[]): Command {
  const { io } = p;
  async function context(o: CommonOptions): Promise<Context> {
    const settings = {
      ...(o.region ? { region: o.region } : {}),
      ...(o.profile ? { profile: o.profile } : {}),
      ...(o.endpointUrl !== undefined ? { endpointUrl: o.endpointUrl } : {}),
    };
    const { checkProfile, createAws } = commands();
    await checkProfile(settings, p.env);
    const aws = createAws(settings, p.env);
    clients.push(aws);
    return { aws, io, signal: p.signal, now: () => new Date(), sleep: abortableSleep(p.signal) };
  }

  const root = new Command()
    .name(USAGE)
    .description("Operate this program's Glue jobs: start runs, watch them, see their cost.")
    .exitOverride()
    .configureOutput({
      writeOut: (s) => io.out(s.replace(/\n$/, "")),
      writeErr: (s) => io.err(s.replace(/\n$/, "")),
    })
    .showSuggestionAfterError(true)
    .helpCommand(true)
    .addHelpText(
      "after",
      `
<job> is a pipeline name or a Glue job name. ${PIPELINES}.
Costs: $${PRICE_PER_DPU_HOUR.STANDARD} per DPU-hour STANDARD, $${PRICE_PER_DPU_HOUR.FLEX} FLEX, per second, ${MINIMUM_BILLED_SECONDS / 60}-minute minimum.

Examples:
  ${USAGE} run genomics --stack dev --arg INPUT_PATH='s3://raw/csv/*.csv' --arg OUTPUT_PATH=s3://out/
  ${USAGE} watch genomics --stack dev
  ${USAGE} runs csv_to_parquet_genomic_data-prod --limit 10

"${USAGE} <command> --help" shows each command's options.

${EXIT_CODES}`,
    );

  const interval = () => numberIn(0.05, 3600);

  withCommon(
    root
      .command("run")
      .summary("start a run with checked arguments; prints the run id")
      .description(
        `Starts one run of the job and prints its run id on stdout. The arguments are checked against the
pipeline's contract first: an unknown key, a Glue-reserved one (--JOB_NAME, --debug, --mode) or a
required one that is neither given nor a default of the job stops the command before any run.`,
      )
      .argument("<pipeline|job>", "a pipeline name or a Glue job name")
      .option(
        "--arg <KEY=VALUE>",
        "a job argument, repeatable; KEY with or without the leading -- (INPUT_PATH=… or --INPUT_PATH=…); --job-bookmark-option is allowed too",
        collect,
      )
      .option("--watch", "follow the run until it ends (as the watch command)")
      .option("--interval <seconds>", "with --watch: seconds between polls", interval(), 10),
  )
    .addHelpText("after", (c) => {
      const pipeline = c.command.args.find(isPipeline);
      if (!pipeline) {
        return `\nArguments of each pipeline: ${USAGE} run <pipeline> --help\nExample:\n  ${USAGE} run genomics --stack dev \\\n    --arg INPUT_PATH='s3://my-raw/csv/*.csv' --arg OUTPUT_PATH=s3://my-processed/genomics/`;
      }
      return [`\nArguments of pipeline ${pipeline}:`, ...describeArguments(pipeline)].join("\n");
    })
    .action(
      async (
        name: string,
        o: CommonOptions & { arg?: string[]; watch?: boolean; interval: number },
      ) => {
        const ctx = await context(o);
        done(
          await commands().runCommand(ctx, name, {
            ...resolveOptions(o, p.env),
            args: o.arg ?? [],
            watch: o.watch === true,
            intervalSeconds: o.interval,
          }),
        );
      },
    );

  withCommon(
    root
      .command("watch")
      .summary("follow a run (default: the newest) until it ends")
      .description(
        `Follows a run (default: the job's newest) until it ends, with a live status line: state, elapsed
time, DPU-seconds and cost so far. Exits non-zero with Glue's error message when the run fails,
times out or errors. Ctrl-C stops watching and leaves the run running.`,
      )
      .argument("<job>", "a pipeline name or a Glue job name")
      .argument("[run-id]", "the run to follow (default: the job's newest)")
      .option("--interval <seconds>", "seconds between polls", interval(), 10),
  ).action(
    async (name: string, runId: string | undefined, o: CommonOptions & { interval: number }) => {
      const ctx = await context(o);
      const target = await resolveJob(name, resolveOptions(o, p.env), io.err);
      const job = await commands().getJob(ctx, target);
      const id = runId ?? (await commands().latestRunId(ctx, target.jobName));
      done(await commands().watchRun(ctx, job, id, { intervalSeconds: o.interval }));
    },
  );

  withCommon(
    root
      .command("runs")
      .summary("recent runs: state, duration, DPU-hours, cost, error")
      .description(
        "Recent runs of the job, newest first: run id, state, start (UTC), duration, DPU-hours, cost and\nerror message.",
      )
      .argument("<job>", "a pipeline name or a Glue job name")
      .option("--limit <n>", "how many runs (at most 1000)", numberIn(1, 1000, true), 20)
      .option("--json", "machine-readable output, with each run's arguments"),
  ).action(async (name: string, o: CommonOptions & { limit: number; json?: boolean }) => {
    const ctx = await context(o);
    done(
      await commands().runsCommand(ctx, name, {
        ...resolveOptions(o, p.env),
        limit: o.limit,
        json: o.json === true,
      }),
    );
  });

  const bookmark = root
    .command("bookmark")
    .summary("job bookmarks: bookmark reset <job>")
    .description("Job bookmarks. The one subcommand: reset <job>.")
    .addHelpText("after", `\n${EXIT_CODES}`);
  withCommon(
    bookmark
      .command("reset")
      .summary("reset the job bookmark (asks first; --yes to skip)")
      .description(
        `Resets the job bookmark so the next run processes all of its input again (or, with --run-id, to
where that run left it). Asks for confirmation on a terminal; refuses without --yes otherwise.`,
      )
      .argument("<job>", "a pipeline name or a Glue job name")
      .option("-y, --yes", "do not ask")
      .option("--run-id <id>", "reset to the state after this run instead of the start"),
  ).action(async (name: string, o: CommonOptions & { yes?: boolean; runId?: string }) => {
    const ctx = await context(o);
    done(
      await commands().bookmarkResetCommand(ctx, name, {
        ...resolveOptions(o, p.env),
        yes: o.yes === true,
        ...(o.runId ? { runId: o.runId } : {}),
      }),
    );
  });

  withCommon(
    root
      .command("backfill")
      .summary("one run per dated manifest, within MaxConcurrentRuns")
      .description(
        `Starts one run of the manifest pipeline per manifest dated in the range (inclusive): S3 objects
under s3://<raw bucket>/manifests/ whose key holds a YYYY-MM-DD date and ends with manifest.json,
each passed as --MANIFEST_PATH. At most the job's MaxConcurrentRuns run at once; the command waits
for runs to end before starting more, reports each outcome and a summary, and exits 1 if any run
did not succeed. Ctrl-C stops starting runs and leaves running ones alone.`,
      )
      .argument("<pipeline>", "the manifest pipeline (or its Glue job name)")
      .option("--from <date>", "first manifest date, YYYY-MM-DD (inclusive)")
      .option("--to <date>", "last manifest date, YYYY-MM-DD (inclusive)")
      .option(
        "--manifest-prefix <s3 uri>",
        "where the manifests are (default: from the stack outputs, s3://<pipelines.manifest.buckets.raw>/manifests/)",
      )
      .option(
        "--arg <KEY=VALUE>",
        "extra job arguments for every run, e.g. OUTPUT_PATH=s3://…/",
        collect,
      )
      .option(
        "--max-concurrent <n>",
        "fewer runs at once than the job allows",
        numberIn(1, 1000, true),
      )
      .option("--interval <seconds>", "seconds between polls", interval(), 10)
      .option("--dry-run", "list the manifests that would run; start nothing"),
  )
    .addHelpText(
      "after",
      `\nExample:\n  ${USAGE} backfill manifest --stack prod --from 2026-11-01 --to 2026-11-07`,
    )
    .action(
      async (
        name: string,
        o: CommonOptions & {
          from?: string;
          to?: string;
          manifestPrefix?: string;
          arg?: string[];
          maxConcurrent?: number;
          interval: number;
          dryRun?: boolean;
        },
      ) => {
        const ctx = await context(o);
        done(
          await commands().backfillCommand(ctx, name, {
            ...resolveOptions(o, p.env),
            ...(o.from ? { from: o.from } : {}),
            ...(o.to ? { to: o.to } : {}),
            ...(o.manifestPrefix ? { manifestPrefix: o.manifestPrefix } : {}),
            ...(o.maxConcurrent !== undefined ? { maxConcurrent: o.maxConcurrent } : {}),
            args: o.arg ?? [],
            intervalSeconds: o.interval,
            dryRun: o.dryRun === true,
          }),
        );
      },
    );

  // A mistake in the command line ends with where to read more.
  for (const cmd of [root, ...root.commands, ...bookmark.commands]) {
    const path = cmd === root ? "" : cmd.parent === bookmark ? " bookmark reset" : ` ${cmd.name()}`;
    cmd.showHelpAfterError(`(see ${USAGE}${path} --help)`);
  }
  return root;
}

export async function main(p: Process): Promise<number> {
  const { io } = p;
  let code: number = EXIT.OK;
  const clients: Aws[] = [];
  try {
    await program(p, (c) => (code = c), clients).parseAsync([...p.argv], { from: "user" });
    return code;
  } catch (e) {
    if (e instanceof CommanderError) {
      // Commander has printed the help or the error already.
      if (e.code === "commander.helpDisplayed" || e.code === "commander.version") return EXIT.OK;
      if (e.code === "commander.help" && e.exitCode === 0) return EXIT.OK;
      return EXIT.USAGE;
    }
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
    for (const c of clients) c.destroy();
  }
}
