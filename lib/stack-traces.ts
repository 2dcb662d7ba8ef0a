/**
 * Cheap stack traces for the Pulumi SDK's promise bookkeeping.
 *
 * The SDK records `new Error().stack` for every promise it tracks (only ever printed when the
 * program exits with promises still pending). When the program runs under ts-node (as both
 * `pulumi preview` and the offline tools run it), source-map support rewrites each of those
 * traces through the source maps, which was about 40% of a large stack's run time. Those traces
 * keep V8's plain format; every other trace (errors users see, resource source positions) is
 * still mapped back to the TypeScript source.
 */
const BOOKKEEPING_FRAME = /[\\/]@pulumi[\\/]pulumi[\\/]runtime[\\/]debuggable\.js$/;

type Prepare = NonNullable<typeof Error.prepareStackTrace>;

function plain(error: Error, frames: NodeJS.CallSite[]): string {
  const head = error.message ? `${error.name}: ${error.message}` : error.name;
  return head + frames.map((frame) => `\n    at ${String(frame)}`).join("");
}

/** Wraps the installed `Error.prepareStackTrace`, if any; returns whether it did. */
export function useCheapBookkeepingTraces(): boolean {
  const mapped: Prepare | undefined = Error.prepareStackTrace;
  if (!mapped || (mapped as { cheap?: boolean }).cheap) {
    return false;
  }
  const prepare: Prepare = (error, frames) =>
    BOOKKEEPING_FRAME.test(frames[0]?.getFileName() ?? "")
      ? plain(error, frames)
      : mapped(error, frames);
  Object.defineProperty(prepare, "cheap", { value: true });
  Error.prepareStackTrace = prepare;
  return true;
}
