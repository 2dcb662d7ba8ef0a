/** The SDK's promise tracking takes no stack traces, unless leak debugging asks for them. */
import { expect } from "chai";
import { skipPromiseTraces } from "../lib/stack-traces";

type Track = (promise: Promise<unknown>, context: string) => Promise<unknown>;

/** A stand-in for the SDK's module that records the trace each tracked promise would get. */
function fakeSdk() {
  const traces: string[] = [];
  const sdk: { debuggablePromise?: Track } = {
    debuggablePromise: (promise, context) => {
      traces.push(`${context}: ${new Error().stack ?? ""}`);
      return promise;
    },
  };
  return { sdk, traces };
}

describe("SDK promise traces", () => {
  it("tracks promises without taking a stack trace, and leaves other traces alone", async () => {
    const { sdk, traces } = fakeSdk();
    const limit = Error.stackTraceLimit;
    expect(skipPromiseTraces(sdk, {})).to.equal(true);
    expect(await sdk.debuggablePromise!(Promise.resolve(7), "ctx")).to.equal(7);
    expect(traces).to.deep.equal(["ctx: Error"]);
    expect(Error.stackTraceLimit).to.equal(limit);
    expect(new Error("mine").stack).to.match(/\n\s+at /);
  });

  it("keeps the traces when PULUMI_DEBUG_PROMISE_LEAKS is set", async () => {
    const { sdk, traces } = fakeSdk();
    expect(skipPromiseTraces(sdk, { PULUMI_DEBUG_PROMISE_LEAKS: "1" })).to.equal(false);
    await sdk.debuggablePromise!(Promise.resolve(1), "ctx");
    expect(traces[0]).to.match(/\n\s+at /);
  });

  it("wraps once, and does nothing when the SDK tracks promises some other way", () => {
    const { sdk } = fakeSdk();
    expect(skipPromiseTraces(sdk, {})).to.equal(true);
    expect(skipPromiseTraces(sdk, {})).to.equal(false);
    expect(skipPromiseTraces({}, {})).to.equal(false);
  });

  it("reaches the installed SDK's own promise tracking", () => {
    skipPromiseTraces(undefined, {});
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- the SDK's internal module
    const debuggable = require("@pulumi/pulumi/runtime/debuggable") as {
      debuggablePromise: Track & { untraced?: boolean };
    };
    expect(debuggable.debuggablePromise.untraced).to.equal(true);
    const tracked = Promise.resolve(1);
    void debuggable.debuggablePromise(tracked, "test");
    expect((tracked as unknown as { _debugStackTrace?: string })._debugStackTrace).to.equal(
      "Error",
    );
  });
});
