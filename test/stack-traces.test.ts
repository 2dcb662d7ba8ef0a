/** The SDK's promise bookkeeping gets plain stack traces; every other trace stays source-mapped. */
import { expect } from "chai";
import { useCheapBookkeepingTraces } from "../lib/stack-traces";

function site(file: string, line: number): NodeJS.CallSite {
  return {
    getFileName: () => file,
    toString: () => `${file}:${line}:1`,
  } as unknown as NodeJS.CallSite;
}

describe("stack traces", () => {
  const original = Error.prepareStackTrace;
  afterEach(() => {
    Error.prepareStackTrace = original;
  });

  const mapped = (_error: Error, frames: NodeJS.CallSite[]): string => `mapped ${frames.length}`;

  it("formats traces taken by the SDK's promise bookkeeping without source maps", () => {
    Error.prepareStackTrace = mapped;
    expect(useCheapBookkeepingTraces()).to.equal(true);
    const sdk = "/app/node_modules/@pulumi/pulumi/runtime/debuggable.js";
    const trace: unknown = Error.prepareStackTrace(new Error("x"), [
      site(sdk, 85),
      site("/app/index.ts", 3),
    ]);
    expect(trace).to.equal(`Error: x\n    at ${sdk}:85:1\n    at /app/index.ts:3:1`);
  });

  it("still maps every other trace, and wraps only once", () => {
    Error.prepareStackTrace = mapped;
    useCheapBookkeepingTraces();
    expect(useCheapBookkeepingTraces()).to.equal(false);
    const trace: unknown = Error.prepareStackTrace(new Error("boom"), [
      site("/app/node_modules/@pulumi/pulumi/resource.js", 327),
      site("/app/node_modules/@pulumi/pulumi/runtime/debuggable.js", 85),
    ]);
    expect(trace).to.equal("mapped 2");
  });

  it("does nothing when no source-map support is installed", () => {
    const errorClass = Error as { prepareStackTrace?: unknown };
    errorClass.prepareStackTrace = undefined;
    expect(useCheapBookkeepingTraces()).to.equal(false);
    expect(errorClass.prepareStackTrace).to.equal(undefined);
  });
});
