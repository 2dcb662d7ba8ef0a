/** Exit codes (documented in `glue --help`) and the errors that carry them. */

export const EXIT = {
  OK: 0,
  /** A run ended FAILED, TIMEOUT, ERROR, STOPPED or EXPIRED (backfill: any of its runs). */
  RUN_FAILED: 1,
  /** Bad command line or arguments; nothing was started. */
  USAGE: 2,
  /** AWS refused or could not be reached (unknown job, credentials, limits, network). */
  AWS: 3,
  /** Ctrl-C: the CLI stopped watching; runs were left alone. */
  INTERRUPTED: 130,
} as const;

export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode: number,
    /** Extra lines printed after the error, e.g. what to do next. */
    readonly hints: readonly string[] = [],
  ) {
    super(message);
    this.name = "CliError";
  }
}

export class UsageError extends CliError {
  constructor(message: string, hints: readonly string[] = []) {
    super(message, EXIT.USAGE, hints);
    this.name = "UsageError";
  }
}
