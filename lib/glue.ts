/**
 * AWS Glue's own terms, in one place: the runtime the jobs run on, worker types and their DPUs,
 * execution classes, the service's limits and its run states. The config parser, the components,
 * pricing, the offline tools and the job-run CLI import them; nothing restates them. (The policy
 * pack is a separate package that Pulumi loads on its own, so it keeps its own copies.)
 */

/** Glue 5.0: Spark 3.5.4, Python 3.11, Java 17, the runtime the scripts are tested against. */
export const GLUE_VERSION = "5.0";
/** The Python the Glue 5.0 runtime runs the scripts with. */
export const PYTHON_VERSION = "3.11";
/** A Spark job's command: Glue takes the Python major version here and picks the minor itself. */
export const SPARK_COMMAND = { name: "glueetl", pythonVersion: "3" } as const;

/** DPUs per worker (R types count memory-optimised M-DPUs). */
export const WORKER_DPUS = {
  "G.1X": 1,
  "G.2X": 2,
  "G.4X": 4,
  "G.8X": 8,
  "G.12X": 12,
  "G.16X": 16,
  "R.1X": 1,
  "R.2X": 2,
  "R.4X": 4,
  "R.8X": 8,
} as const;
export type WorkerType = keyof typeof WORKER_DPUS;
export const WORKER_TYPES = Object.keys(WORKER_DPUS) as WorkerType[];

export const EXECUTION_CLASSES = ["STANDARD", "FLEX"] as const;
export type ExecutionClass = (typeof EXECUTION_CLASSES)[number];
/** What Glue runs a job with when it names no execution class. */
export const DEFAULT_EXECUTION_CLASS: ExecutionClass = "STANDARD";
/** Glue runs FLEX only on these worker types. */
export const FLEX_WORKER_TYPES: readonly WorkerType[] = ["G.1X", "G.2X"];

/** Glue's limits on a job's settings (inclusive). */
export const JOB_LIMITS = {
  numberOfWorkers: { min: 2, max: 1000 },
  maxConcurrentRuns: { min: 1, max: 1000 },
  // Glue rejects batch job timeouts above 7 days.
  timeoutMinutes: { min: 1, max: 7 * 24 * 60 },
  maxRetries: { min: 0, max: 10 },
} as const;

/** Glue's limits for the event batching of an EVENT trigger. */
export const EVENT_BATCH_LIMITS = {
  batchSize: { min: 1, max: 100 },
  batchWindowSeconds: { min: 1, max: 900 },
} as const;

/** Job run states after which a run no longer changes. */
export const TERMINAL_RUN_STATES = [
  "SUCCEEDED",
  "FAILED",
  "TIMEOUT",
  "ERROR",
  "STOPPED",
  "EXPIRED",
] as const;

/** Job states a conditional trigger can wait for. */
export const TRIGGER_JOB_STATES = ["SUCCEEDED", "STOPPED", "TIMEOUT", "FAILED"] as const;
/** Crawl states a conditional trigger can wait for. */
export const TRIGGER_CRAWL_STATES = ["SUCCEEDED", "FAILED", "CANCELLED"] as const;
