/**
 * A tiny local endpoint that answers chosen Glue JSON-protocol calls (`X-Amz-Target:
 * AWSGlue.<Operation>`) itself and forwards every other request to moto. For what moto 5.2
 * cannot do: a run that ends FAILED (its job runs only go STARTING, RUNNING, SUCCEEDED),
 * ResetJobBookmark (not implemented), and throttling.
 */
import * as http from "node:http";
import type { AddressInfo } from "node:net";

export interface StubReply {
  readonly status: number;
  readonly body: unknown;
}

export interface StubCall {
  readonly operation: string;
  readonly body: Record<string, unknown>;
}

/** Answers one call; `forward()` gets moto's answer to change or return as is. */
export type StubHandler = (
  body: Record<string, unknown>,
  forward: () => Promise<StubReply>,
) => Promise<StubReply> | StubReply;

export interface GlueStub {
  readonly endpoint: string;
  /** Every Glue call received, in order, answered here or forwarded. */
  readonly calls: StubCall[];
  stop(): Promise<void>;
}

/** A Glue error as the JSON protocol sends it. */
export function glueError(type: string, message: string, status = 400): StubReply {
  return { status, body: { __type: type, message } };
}

/** A GetJobRun handler that takes moto's answer and overrides fields of the run. */
export function rewriteJobRun(
  change: (run: { Arguments?: Record<string, string> }) => Record<string, unknown>,
): StubHandler {
  return async (_body, forward) => {
    const up = await forward();
    const run = (up.body as { JobRun: { Arguments?: Record<string, string> } }).JobRun;
    return { status: up.status, body: { JobRun: { ...run, ...change(run) } } };
  };
}

function readBody(req: http.IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => resolve(Buffer.concat(chunks)));
    req.on("error", reject);
  });
}

async function forwardTo(upstream: string, req: http.IncomingMessage, body: Buffer) {
  const headers: Record<string, string> = {};
  for (const [k, v] of Object.entries(req.headers)) {
    if (typeof v === "string" && k !== "host" && k !== "content-length") headers[k] = v;
  }
  const res = await fetch(`${upstream}${req.url ?? "/"}`, {
    method: req.method ?? "GET",
    headers,
    ...(body.length > 0 ? { body } : {}),
  });
  return {
    status: res.status,
    contentType: res.headers.get("content-type"),
    body: Buffer.from(await res.arrayBuffer()),
  };
}

export async function startGlueStub(
  handlers: Readonly<Record<string, StubHandler>>,
  upstream: string,
): Promise<GlueStub> {
  const calls: StubCall[] = [];
  const server = http.createServer((req, res) => {
    void (async () => {
      const raw = await readBody(req);
      const target = req.headers["x-amz-target"];
      const operation = typeof target === "string" ? target.replace(/^AWSGlue\./, "") : undefined;
      const handler = operation ? handlers[operation] : undefined;
      if (!operation || !handler) {
        const up = await forwardTo(upstream, req, raw);
        if (operation) calls.push({ operation, body: JSON.parse(raw.toString() || "{}") });
        res.writeHead(up.status, up.contentType ? { "content-type": up.contentType } : {});
        res.end(up.body);
        return;
      }
      const body = JSON.parse(raw.toString() || "{}") as Record<string, unknown>;
      calls.push({ operation, body });
      const reply = await handler(body, async () => {
        const up = await forwardTo(upstream, req, raw);
        return { status: up.status, body: JSON.parse(up.body.toString() || "{}") as unknown };
      });
      res.writeHead(reply.status, { "content-type": "application/x-amz-json-1.1" });
      res.end(JSON.stringify(reply.body));
    })().catch((e: unknown) => {
      res.writeHead(500);
      res.end(String(e));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    calls,
    stop: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
