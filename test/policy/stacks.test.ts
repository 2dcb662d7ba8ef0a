/**
 * Every policy over the real program: the dev and prod stacks as the offline runner records them
 * must pass, and a stack config that breaks a rule must be caught.
 */
import { expect } from "chai";
import { policies } from "../../policy/policies";
import { LIMITS } from "../../lib/config";
import { WORKER_DPUS } from "../../lib/glue";
import { PIPELINES } from "../../pipelines";
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
    // Config refuses this (see the config tests), so the plan itself is mutated.
    const run = await runStackOffline("prod");
    const specs = fromOfflineRun(run).map((s) =>
      s.type === T.job ? { ...s, props: { ...s.props, maxRetries: 0 } } : s,
    );
    const violations = await runPolicies(policies, specs, { stack: "prod" });
    const jobs = run.resources.filter((r) => r.type === T.job);
    expect(jobs).to.not.have.length(0);
    expect(violations.map((v) => v.policy)).to.deep.equal(jobs.map(() => "glue-prod-job-retries"));
    expect(violations[0].message).to.match(
      /runs in environment "prod" with maxRetries 0; production jobs need at least 1\.$/,
    );
  });

  it("catches dev jobs with more workers than a dev cap set in the policy config", async () => {
    const run = await runStackOffline("dev", {
      "glue-etl:sizing": { ...sizingOf("dev"), numberOfWorkers: 50 },
    });
    const violations = await runPolicies(policies, fromOfflineRun(run), {
      stack: "dev",
      config: { "glue-job-worker-cap": { maxWorkersByEnvironment: { dev: 10, prod: 40 } } },
    });
    expect(violations).to.not.have.length(0);
    expect(new Set(violations.map((v) => v.policy))).to.deep.equal(
      new Set(["glue-job-worker-cap"]),
    );
    expect(violations[0].message).to.match(
      /has numberOfWorkers 50 in environment "dev"; the cap there is 10/,
    );
  });
});

/** The largest worker type: the most DPUs per worker the config accepts. */
const LARGEST_WORKER = Object.entries(WORKER_DPUS).sort((a, b) => b[1] - a[1])[0]![0];

for (const stack of ["dev", "prod"]) {
  describe(`policies over the most permissive valid ${stack} config`, () => {
    let specs: ResourceSpec[];
    before(async () => {
      // Every sizing key at its allowed extreme, every optional feature on, a JDBC target.
      const most = (k: keyof typeof LIMITS) => LIMITS[k].max;
      const run = await runStackOffline(stack, {
        "glue-etl:sizing": {
          workerType: LARGEST_WORKER,
          numberOfWorkers: most("numberOfWorkers"),
          // Bookmarked jobs may run only one at a time; the others get the maximum below.
          maxConcurrentRuns: 1,
          timeoutMinutes: most("timeoutMinutes"),
          maxRetries: most("maxRetries"),
          executionClass: "STANDARD",
        },
        "glue-etl:tempExpirationDays": most("tempExpirationDays"),
        "glue-etl:tags": { team: "genomics-platform", "data-owner": "lab@example.com" },
        "glue-etl:alertEmails": ["a@example.com", "b@example.com", "c@example.com"],
        "glue-etl:pipelines": Object.fromEntries(
          PIPELINES.map((p) => [
            p.name,
            {
              enabled: true,
              typicalRunMinutes: most("typicalRunMinutes"),
              ...(p.job.bookmarks ? {} : { maxConcurrentRuns: most("maxConcurrentRuns") }),
              // The most frequent schedule where a schedule starts the pipeline.
              ...(p.start.kind === "workflow" || p.start.kind === "schedule"
                ? { schedule: "cron(0/5 * * * ? *)" }
                : {}),
              ...(p.jdbc
                ? {
                    jdbc: {
                      url: "jdbc:postgresql://db.example.com:5432/analytics",
                      table: "public.tagged_sales",
                      username: "etl",
                    },
                  }
                : {}),
            },
          ]),
        ),
        "glue-etl:jdbcPassword": "correct-horse-battery",
      });
      specs = fromOfflineRun(run);
    });

    it("deploys it at those extremes", () => {
      const jobs = specs.filter((s) => s.type === T.job);
      expect(jobs).to.have.length(PIPELINES.length);
      for (const j of jobs) {
        expect(j.props).to.deep.include({
          workerType: LARGEST_WORKER,
          numberOfWorkers: LIMITS.numberOfWorkers.max,
          timeout: LIMITS.timeoutMinutes.max,
          maxRetries: LIMITS.maxRetries.max,
        });
      }
      const runs = jobs.map(
        (j) => (j.props?.executionProperty as { maxConcurrentRuns: number }).maxConcurrentRuns,
      );
      expect(runs).to.include(LIMITS.maxConcurrentRuns.max);
      expect(specs.some((s) => s.type === T.connection)).to.equal(true);
    });

    it("passes every policy with its default config", async () => {
      expect(summary(await runPolicies(policies, specs, { stack }))).to.deep.equal([]);
    });
  });
}

describe("policies over a stack with a deploy-time gap reintroduced", () => {
  let specs: ResourceSpec[];
  before(async () => {
    specs = fromOfflineRun(await runStackOffline("prod"));
  });
  const policiesOf = async (mutated: ResourceSpec[]) =>
    (await runPolicies(policies, mutated, { stack: "prod" })).map((v) => v.policy);
  const withProps = (
    name: string,
    change: (p: Record<string, unknown>) => Record<string, unknown>,
  ) => specs.map((s) => (s.name === name ? { ...s, props: change(s.props ?? {}) } : s));

  it("catches a bookmarked job allowed 30 concurrent runs", async () => {
    const mutated = withProps("genomics-job", (p) => ({
      ...p,
      executionProperty: { maxConcurrentRuns: 30 },
    }));
    expect(await policiesOf(mutated)).to.deep.equal(["glue-job-bookmark-concurrency"]);
  });

  it("catches a data bucket without access logging", async () => {
    const mutated = specs.filter((s) => s.name !== "sales-raw-access-logging");
    expect(await policiesOf(mutated)).to.deep.equal(["s3-access-logging"]);
  });

  it("catches the Lambda's log group without the pipeline's key", async () => {
    const mutated = withProps("manifest-s3-starter-logs", (p) => ({ ...p, kmsKeyId: undefined }));
    expect(await policiesOf(mutated)).to.deep.equal(["lambda-log-group-encrypted"]);
  });

  it("catches a Glue 5.0 job with Glue 4.0 logging arguments", async () => {
    const mutated = withProps("sales-job", (p) => ({
      ...p,
      defaultArguments: {
        ...(p.defaultArguments as object),
        "--enable-continuous-cloudwatch-log": "true",
      },
    }));
    expect(await policiesOf(mutated)).to.deep.equal(["glue-job-runtime-arguments"]);
  });

  it("catches the manifest Lambda without its idempotency table", async () => {
    const mutated = specs.filter((s) => s.type !== T.table);
    expect(await policiesOf(mutated)).to.deep.equal(["lambda-glue-start-idempotent"]);
  });
});
