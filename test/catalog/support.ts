import { expect } from "chai";
import { OfflineRun, runOffline } from "../../tools/offline";

export const TAGS = { environment: "dev", owner: "data-platform", "cost-center": "CC-1" };

/** Runs component code under mocks with an empty dev config (region us-east-1). */
export function offlineComponents(
  build: () => Record<string, unknown> | void,
): Promise<OfflineRun> {
  return runOffline("dev", { config: {}, secretKeys: [] }, build);
}

/**
 * Runs `build` under mocks, expecting it to throw; returns the error message after checking that
 * no AWS resource was registered before the refusal.
 */
export async function refusedOffline(build: () => void): Promise<string> {
  let message = "";
  const run = await offlineComponents(() => {
    try {
      build();
    } catch (e) {
      message = (e as Error).message;
    }
  });
  expect(message, "expected the component to be refused").not.to.equal("");
  expect(run.resources.filter((r) => r.custom).map((r) => r.name)).to.deep.equal([]);
  return message;
}
