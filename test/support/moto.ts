/**
 * A local AWS endpoint for tests: moto's server from the repo's Python virtualenv, on 127.0.0.1
 * with a free port. Start one per test file (`before`) and stop it in `after`.
 */
import { ChildProcess, spawn } from "node:child_process";
import * as fs from "node:fs";
import * as net from "node:net";
import * as path from "node:path";

export interface MotoServer {
  /** e.g. http://127.0.0.1:50123 */
  readonly endpoint: string;
  readonly port: number;
  /** Environment for child processes and SDK clients: fake credentials, region, no real AWS. */
  readonly env: Record<string, string>;
  /** Clears all state (moto's reset API) between tests. */
  reset(): Promise<void>;
  /**
   * How a model's state advances (moto's state manager), e.g. `glue::job_run` with
   * `{ progression: "manual", times: 2 }`: each describe call counts, and after `times` of them
   * the run moves one state (STARTING, RUNNING, SUCCEEDED). The default is immediate.
   */
  setTransition(model: string, transition: MotoTransition): Promise<void>;
  /** Back to moto's default progression for the model. */
  unsetTransition(model: string): Promise<void>;
  stop(): Promise<void>;
}

export type MotoTransition =
  | { readonly progression: "immediate" }
  | { readonly progression: "manual"; readonly times: number }
  | { readonly progression: "time"; readonly seconds: number };

const repoRoot = path.resolve(__dirname, "..", "..");

export function motoBinary(): string {
  const bin = path.join(repoRoot, ".venv", "bin", "moto_server");
  if (!fs.existsSync(bin)) {
    throw new Error(
      `moto_server not found in the Python virtualenv; run "make install" first (looked for .venv/bin/moto_server)`,
    );
  }
  return bin;
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const addr = srv.address();
      const port = typeof addr === "object" && addr !== null ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

async function waitUntilUp(
  endpoint: string,
  child: ChildProcess,
  timeoutMs: number,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) {
      throw new Error(`moto_server exited early with code ${child.exitCode}`);
    }
    try {
      const res = await fetch(`${endpoint}/moto-api/data.json`);
      if (res.ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 150));
  }
  throw new Error(`moto_server did not answer at ${endpoint} within ${timeoutMs} ms`);
}

async function motoApi(endpoint: string, path: string, body: unknown): Promise<void> {
  const res = await fetch(`${endpoint}/moto-api/${path}`, {
    method: "POST",
    body: JSON.stringify(body),
  });
  if (!res.ok) throw new Error(`moto ${path} answered HTTP ${res.status}: ${await res.text()}`);
}

export async function startMoto(region = "eu-west-1"): Promise<MotoServer> {
  const port = await freePort();
  const endpoint = `http://127.0.0.1:${port}`;
  const child = spawn(motoBinary(), ["-H", "127.0.0.1", "-p", String(port)], {
    stdio: ["ignore", "ignore", "pipe"],
  });
  let stderr = "";
  child.stderr?.on("data", (d: Buffer) => {
    stderr = (stderr + d.toString()).slice(-4000);
  });
  try {
    await waitUntilUp(endpoint, child, 30_000);
  } catch (e) {
    child.kill("SIGKILL");
    throw new Error(`${(e as Error).message}\n${stderr}`, { cause: e });
  }
  const env: Record<string, string> = {
    AWS_ACCESS_KEY_ID: "testing",
    AWS_SECRET_ACCESS_KEY: "testing",
    AWS_SESSION_TOKEN: "testing",
    AWS_REGION: region,
    AWS_DEFAULT_REGION: region,
    AWS_ENDPOINT_URL: endpoint,
    AWS_EC2_METADATA_DISABLED: "true",
  };
  return {
    endpoint,
    port,
    env,
    async reset() {
      await fetch(`${endpoint}/moto-api/reset`, { method: "POST" });
    },
    async setTransition(model, transition) {
      await motoApi(endpoint, "state-manager/set-transition", { model_name: model, transition });
    },
    async unsetTransition(model) {
      await motoApi(endpoint, "state-manager/unset-transition", { model_name: model });
    },
    stop() {
      return new Promise((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once("exit", () => resolve());
        child.kill("SIGTERM");
        setTimeout(() => child.kill("SIGKILL"), 3000).unref();
      });
    },
  };
}
