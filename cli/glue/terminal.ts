/** Io on the real terminal: results on stdout, progress on stderr, a live status line. */
import * as readline from "node:readline/promises";
import { createLogUpdate } from "log-update";
import type { Io } from "./context";

export function processIo(): Io {
  // Rewrites its own previous output, wrapped to the terminal's current width, so a status line
  // longer than the terminal is erased whole instead of leaving stale lines behind.
  const statusLine = createLogUpdate(process.stderr, { showCursor: true });
  return {
    out: (line) => void process.stdout.write(`${line}\n`),
    err: (line) => void process.stderr.write(`${line}\n`),
    status: (line) => (line === "" ? statusLine.clear() : statusLine(line)),
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
