/**
 * Every policy over the real program: the dev and prod stacks as the offline runner records them
 * must pass, and a stack config that breaks a rule must be caught.
 */
import { expect } from "chai";
import { policies } from "../../policy/policies";
import { loadStackConfig, runStackOffline } from "../../tools/offline";
import { T } from "./fixtures";
import { ResourceSpec, Violation, fromOfflineRun, runPolicies } from "./harness";

function sizingOf(stack: string): Record<string, unknown> {
  return JSON.parse(loadStackConfig(stack).config["glue-etl:sizing"]) as Record<string, unknown>;
}

const summary = (violations: Violation[]) => violations.map((v) => `${v.policy}: ${v.message}`);

for (const stack of ["dev", "prod"]) {
  describe(`policies over the ${stack} stack`, () => {
    let specs: ResourceSpec[];
    before(async () => {
      specs = fromOfflineRun(await runStackOffline(stack));
    });

    it("has the resources the policies are about", () => {
      const types = new Set(specs.map((s) => s.type));
      for (const t of [
        T.bucket,
        T.encryption,
        T.publicAccess,
        T.bucketPolicy,
        T.versioning,
        T.role,
        T.job,
        T.securityConfiguration,
      ]) {
        expect(types, t).to.include(t);
      }
    });

    it("passes every policy", async () => {
      expect(summary(await runPolicies(policies, specs, { stack }))).to.deep.equal([]);
    });

    it("catches a bucket stripped of its public access block and TLS-only policy", async () => {
      const stripped = specs.filter(
        (s) => !(s.name.endsWith("-raw-public-access") || s.name.endsWith("-raw-tls-only")),
      );
      const raw = specs.filter((s) => s.type === T.bucket && s.name.endsWith("-raw"));
      const violations = await runPolicies(policies, stripped, { stack });
      expect(violations.map((v) => v.policy).sort()).to.deep.equal(
        raw.flatMap(() => ["s3-public-access-blocked", "s3-tls-only"]).sort(),
      );
      expect(violations.map((v) => v.urn).sort()).to.deep.equal(
        raw.flatMap((b) => [b.urn, b.urn]).sort(),
      );
    });
  });
}

describe("policies over a broken stack config", () => {
  it("catches prod jobs that never retry", async () => {
    const run = await runStackOffline("prod", {
      "glue-etl:sizing": { ...sizingOf("prod"), maxRetries: 0 },
    });
    const violations = await runPolicies(policies, fromOfflineRun(run), { stack: "prod" });
    const jobs = run.resources.filter((r) => r.type === T.job);
    expect(jobs).to.not.have.length(0);
    expect(violations.map((v) => v.policy)).to.deep.equal(jobs.map(() => "glue-prod-job-retries"));
    expect(violations[0].message).to.match(
      /runs in environment "prod" with maxRetries 0; production jobs need at least 1\.$/,
    );
  });

  it("catches dev jobs with more workers than the dev cap", async () => {
    const run = await runStackOffline("dev", {
      "glue-etl:sizing": { ...sizingOf("dev"), numberOfWorkers: 50 },
    });
    const violations = await runPolicies(policies, fromOfflineRun(run), { stack: "dev" });
    expect(violations).to.not.have.length(0);
    expect(new Set(violations.map((v) => v.policy))).to.deep.equal(
      new Set(["glue-job-worker-cap"]),
    );
    expect(violations[0].message).to.match(
      /has numberOfWorkers 50 in environment "dev"; the cap there is 10/,
    );
  });
});
