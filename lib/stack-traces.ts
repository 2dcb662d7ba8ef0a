/**
 * No stack trace for each promise the Pulumi SDK tracks.
 *
 * The SDK's `debuggablePromise` takes `new Error().stack` for every promise it tracks, and shows
 * those traces only when `PULUMI_DEBUG_PROMISE_LEAKS` is set and the program exits with promises
 * still pending. Under ts-node (how both `pulumi preview` and the offline tools run the program)
 * source-map support also rewrites each trace: together about 60% of a 100-pipeline preview's CPU
 * time, for text nobody reads. Unless that variable is set, the traces are not taken; every other
 * trace (errors users see, resource source positions) is unchanged and still source-mapped.
 */
type Track = (promise: Promise<unknown>, context: string) => Promise<unknown>;

interface DebuggableModule {
  debuggablePromise?: Track & { untraced?: boolean };
}

/**
 * Wraps the SDK's promise tracking so that it records no stack trace; returns whether it did
 * (not when leak debugging is on, or when this SDK version tracks promises some other way).
 */
export function skipPromiseTraces(
  sdk: DebuggableModule = loadDebuggable(),
  env: NodeJS.ProcessEnv = process.env,
): boolean {
  const track = sdk.debuggablePromise;
  if (typeof track !== "function" || track.untraced || env.PULUMI_DEBUG_PROMISE_LEAKS) {
    return false;
  }
  const untraced: Track = (promise, context) => {
    const limit = Error.stackTraceLimit;
    Error.stackTraceLimit = 0;
    try {
      return track(promise, context);
    } finally {
      Error.stackTraceLimit = limit;
    }
  };
  sdk.debuggablePromise = Object.assign(untraced, { untraced: true });
  return true;
}

function loadDebuggable(): DebuggableModule {
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- the SDK's own module, patched in place
    return require("@pulumi/pulumi/runtime/debuggable") as DebuggableModule;
  } catch {
    return {};
  }
}
