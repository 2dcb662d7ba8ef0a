import * as fs from "node:fs";
import * as path from "node:path";
import { expect } from "chai";
import YAML from "yaml";
import * as alarms from "../../policy/alarms";
import * as glue from "../../policy/glue";
import * as iam from "../../policy/iam";
import { policies } from "../../policy/policies";
import * as s3 from "../../policy/s3";
import * as snsLambda from "../../policy/sns-lambda";
import * as tags from "../../policy/tags";
import { checkStack, unknown } from "./harness";
import { T, bucket, spec } from "./fixtures";

const PACK = path.resolve(__dirname, "../../policy");

describe("policy pack", () => {
  it("lists every policy that a domain module exports, once", () => {
    const exported = [glue, iam, s3, snsLambda, tags, alarms].flatMap((m) =>
      Object.values(m).filter(
        (v): v is { name: string } =>
          typeof v === "object" && v !== null && "enforcementLevel" in v,
      ),
    );
    expect(policies.map((p) => p.name).sort()).to.deep.equal(exported.map((p) => p.name).sort());
    expect(new Set(policies.map((p) => p.name)).size).to.equal(policies.length);
  });

  it("gives every policy a kebab-case name, a description, an enforcement level and config defaults", () => {
    for (const p of policies) {
      expect(p.name, p.name).to.match(/^[a-z0-9]+(-[a-z0-9]+)*$/);
      expect(p.description.length, p.name).to.be.greaterThan(20);
      expect(["advisory", "mandatory", "remediate", "disabled"], p.name).to.include(
        p.enforcementLevel,
      );
      for (const [key, prop] of Object.entries(p.configSchema?.properties ?? {})) {
        expect(prop, `${p.name}.${key}`).to.have.property("default");
        expect(prop, `${p.name}.${key}`).to.have.property("description");
      }
    }
  });

  it("is a self-contained Node.js policy pack project", () => {
    const manifest = YAML.parse(fs.readFileSync(path.join(PACK, "PulumiPolicy.yaml"), "utf8")) as {
      runtime: string;
    };
    expect(manifest.runtime).to.equal("nodejs");
    const pkg = JSON.parse(fs.readFileSync(path.join(PACK, "package.json"), "utf8")) as {
      version: string;
      dependencies: Record<string, string>;
    };
    expect(pkg.version).to.match(/^\d+\.\d+\.\d+$/);
    expect(pkg.dependencies).to.have.keys("@pulumi/policy", "@pulumi/pulumi");
    const index = fs.readFileSync(path.join(PACK, "index.ts"), "utf8");
    expect(index).to.match(/new PolicyPack\("glue-etl", \{[\s\S]*policies,/);
    // Policy modules may only import the pack's own files and its declared dependencies.
    for (const file of fs.readdirSync(PACK).filter((f) => f.endsWith(".ts"))) {
      const imports = [
        ...fs.readFileSync(path.join(PACK, file), "utf8").matchAll(/from "([^"]+)"/g),
      ].map((m) => m[1]);
      for (const i of imports)
        expect(i.startsWith("./") || i in pkg.dependencies, `${file} imports ${i}`).to.equal(true);
    }
  });

  it("documents every policy in the pack's README", () => {
    const readme = fs.readFileSync(path.join(PACK, "README.md"), "utf8");
    for (const p of policies) expect(readme, p.name).to.contain(`| \`${p.name}\``);
  });

  it("builds preview unknowns that throw on access, like the policy server's", async () => {
    // A policy reading a value unknown during preview must not crash the run; ours skip it.
    const naive = {
      ...s3.s3BucketEncryption,
      validateStack: (args: { resources: { props: Record<string, unknown> }[] }) => {
        void args.resources.map((r) => String(r.props.bucket));
      },
    };
    const pending = spec(T.encryption, "raw-encryption", { bucket: unknown() });
    const out = await checkStack(naive, [bucket("raw"), pending]);
    expect(out.cannotRun).to.match(/string value at \.bucket can't be known during preview/);
    expect(await checkStack(s3.s3BucketEncryption, [bucket("raw"), pending])).to.deep.equal({
      violations: [],
    });
  });
});

describe("pull-request workflow", () => {
  interface Step {
    uses?: string;
    run?: string;
    with?: Record<string, unknown>;
  }
  const file = path.resolve(__dirname, "../../.github/workflows/pull-request.yml");
  const text = fs.readFileSync(file, "utf8");
  const workflow = YAML.parse(text) as {
    jobs: Record<string, { steps: Step[]; permissions?: Record<string, string> }>;
  };

  it("runs the offline checks without any secret", () => {
    const offline = workflow.jobs.offline;
    expect(JSON.stringify(offline)).not.to.contain("secrets.");
    expect(offline.steps.map((s) => s.run).filter(Boolean)).to.include.members([
      "make test-all",
      "make diff",
    ]);
  });

  it("previews each stack with the policy pack and comments on the pull request", () => {
    const preview = workflow.jobs.preview;
    const pulumi = preview.steps.find((s) => s.uses?.startsWith("pulumi/actions@"));
    expect(pulumi?.with).to.include({
      command: "preview",
      policyPacks: "policy",
      "comment-on-pr": true,
    });
    expect(preview.permissions).to.include({ "id-token": "write", "pull-requests": "write" });
    // The policy pack installs from its own lock file.
    expect(preview.steps.some((s) => s.run?.includes("npm ci --prefix policy"))).to.equal(true);
  });

  it("pins every action by full commit SHA, with its release in a comment", () => {
    const uses = [...text.matchAll(/uses: (\S+)(.*)$/gm)];
    expect(uses.length).to.be.greaterThan(5);
    for (const [, ref, comment] of uses) {
      expect(ref, ref).to.match(/^[\w.-]+\/[\w.-]+@[0-9a-f]{40}$/);
      expect(comment.trim(), ref).to.match(/^# v\d+\.\d+\.\d+$/);
    }
  });
});
