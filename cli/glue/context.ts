/** What every command gets: AWS clients, output streams, the clock and Ctrl-C. */
import type { Aws } from "./aws";

export interface Io {
  /** Results: run ids, tables, outcomes. */
  out(line: string): void;
  /** Progress, warnings and errors. */
  err(line: string): void;
  /** Rewrites the live status line on stderr ("" clears it); only called when stderrIsTTY. */
  status(line: string): void;
  readonly stderrIsTTY: boolean;
  readonly stdinIsTTY: boolean;
  /** Asks a question on the terminal and returns the answer line. */
  ask(question: string): Promise<string>;
}

export interface Context {
  readonly aws: Aws;
  readonly io: Io;
  /** Aborted by Ctrl-C; pass to SDK calls and sleeps so they end at once. */
  readonly signal: AbortSignal;
  now(): Date;
  /** Resolves after `ms`, or early when `signal` aborts. */
  sleep(ms: number): Promise<void>;
}

export function abortableSleep(signal: AbortSignal): (ms: number) => Promise<void> {
  return (ms) =>
    new Promise((resolve) => {
      if (signal.aborted) return resolve();
      const timer = setTimeout(done, ms);
      function done() {
        clearTimeout(timer);
        signal.removeEventListener("abort", done);
        resolve();
      }
      signal.addEventListener("abort", done, { once: true });
    });
}
