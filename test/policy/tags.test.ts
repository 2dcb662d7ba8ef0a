import { expect } from "chai";
import { requiredTags } from "../../policy/tags";
import { checkStack, unknown, urnOf } from "./harness";
import { T, TAGS, bucket, spec } from "./fixtures";

describe("required-tags", () => {
  it("passes resources with the three tags, and ignores untaggable ones", async () => {
    const stack = [
      bucket("raw"),
      spec(T.versioning, "raw-versioning", { bucket: "raw-phys" }),
      spec(T.job, "genomics", { tags: TAGS }),
    ];
    expect((await checkStack(requiredTags, stack)).violations).to.deep.equal([]);
  });

  it("counts the provider's default tags and tagsAll", async () => {
    const provider = {
      type: "pulumi:providers:aws",
      name: "eu",
      props: { defaultTags: { tags: { owner: "data-platform", "cost-center": "CC-1" } } },
    };
    const stack = [
      spec(T.topic, "alerts", { tags: { environment: "dev" } }, { provider }),
      spec(T.queue, "dlq", { tagsAll: TAGS }),
    ];
    expect((await checkStack(requiredTags, stack)).violations).to.deep.equal([]);
  });

  it("fails a taggable resource without tags and one with an empty owner", async () => {
    const stack = [
      spec(T.topic, "alerts", {}),
      spec(T.job, "genomics", { tags: { ...TAGS, owner: " " } }),
    ];
    expect((await checkStack(requiredTags, stack)).violations).to.deep.equal([
      {
        policy: "required-tags",
        urn: urnOf(T.topic, "alerts"),
        message:
          'Topic "alerts" is missing tags environment, owner, cost-center; required: environment, owner, cost-center.',
      },
      {
        policy: "required-tags",
        urn: urnOf(T.job, "genomics"),
        message: 'Job "genomics" is missing tags owner; required: environment, owner, cost-center.',
      },
    ]);
  });

  it("checks configured allowed values, and waits for tags unknown during a preview", async () => {
    const stack = [
      spec(T.job, "genomics", { tags: { ...TAGS, environment: "qa" } }),
      spec(T.topic, "alerts", { tags: unknown("object") }),
    ];
    const out = await checkStack(requiredTags, stack, {
      config: { allowedValues: { environment: ["dev", "prod"] } },
    });
    expect(out.violations.map((v) => v.message)).to.deep.equal([
      'Job "genomics" has tag environment="qa"; allowed: dev, prod.',
    ]);
  });
});
