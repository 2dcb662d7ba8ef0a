/** Runs the job-run CLI as a user would: a child process with its own environment. */
import { ChildProcess, execFileSync, spawn } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";

export const REPO_ROOT = path.resolve(__dirname, "..", "..", "..");

export interface CliResult {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
  readonly ms: number;
}

export interface CliProcess {
  readonly child: ChildProcess;
  readonly done: Promise<CliResult>;
  /** Resolves once stderr contains `text`. */
  waitForStderr(text: string | RegExp, timeoutMs?: number): Promise<void>;
}

/**
 * A scratch directory for the run: an empty bin directory for PATH (no pulumi CLI unless a test
 * puts one there) and AWS config files that do not exist, so nothing of the developer's own
 * machine leaks into a test.
 */
export function sandbox(): { dir: string; bin: string; env: Record<string, string> } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "glue-cli-"));
  const bin = path.join(dir, "bin");
  fs.mkdirSync(bin);
  return {
    dir,
    bin,
    env: {
      PATH: bin,
      HOME: dir,
      AWS_CONFIG_FILE: path.join(dir, "aws-config"),
      AWS_SHARED_CREDENTIALS_FILE: path.join(dir, "aws-credentials"),
    },
  };
}

/** The bundle users run (`npm run glue`), rebuilt first if a source changed since it was built. */
export function ensureBundle(): void {
  execFileSync(process.execPath, ["tools/build-cli.mjs", "--if-stale"], {
    cwd: REPO_ROOT,
    stdio: "inherit",
  });
}

export function startCli(args: readonly string[], env: Record<string, string>): CliProcess {
  const started = Date.now();
  const child = spawn(process.execPath, ["dist/glue.js", ...args], {
    cwd: REPO_ROOT,
    env,
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  const waiters: { text: string | RegExp; resolve: () => void }[] = [];
  const matches = (t: string | RegExp) =>
    typeof t === "string" ? stderr.includes(t) : t.test(stderr);
  child.stdout?.on("data", (d: Buffer) => (stdout += d.toString()));
  child.stderr?.on("data", (d: Buffer) => {
    stderr += d.toString();
    for (const w of waiters.filter((x) => matches(x.text))) {
      waiters.splice(waiters.indexOf(w), 1);
      w.resolve();
    }
  });
  const done = new Promise<CliResult>((resolve) =>
    child.on("close", (code, signal) =>
      resolve({ code, signal, stdout, stderr, ms: Date.now() - started }),
    ),
  );
  return {
    child,
    done,
    waitForStderr(text, timeoutMs = 20_000) {
      if (matches(text)) return Promise.resolve();
      return new Promise((resolve, reject) => {
        const timer = setTimeout(
          () => reject(new Error(`stderr never showed ${String(text)}; it was:\n${stderr}`)),
          timeoutMs,
        );
        waiters.push({ text, resolve: () => (clearTimeout(timer), resolve()) });
      });
    },
  };
}

export function runCli(args: readonly string[], env: Record<string, string>): Promise<CliResult> {
  return startCli(args, env).done;
}
