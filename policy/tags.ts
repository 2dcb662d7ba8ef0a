/**
 * Tagging: every taggable resource carries the tags that cost reports and on-call routing key on.
 * A stack policy, so it sees provider default tags and reports every untagged resource at once.
 */
import { StackValidationPolicy } from "@pulumi/policy";
import { UNKNOWN, effectiveTags, list, stackPolicy, stringList } from "./lib";

/**
 * AWS types that take `tags`, for the services a Glue pipeline uses (from the @pulumi/aws v7
 * schema). Any other resource whose properties include `tags` or `tagsAll` counts as taggable too.
 */
export const TAGGABLE_TYPES: ReadonlySet<string> = new Set(
  Object.entries({
    s3: [
      "accessPoint:AccessPoint",
      "bucket:Bucket",
      "bucketV2:BucketV2",
      "directoryBucket:DirectoryBucket",
    ],
    iam: [
      "instanceProfile:InstanceProfile",
      "openIdConnectProvider:OpenIdConnectProvider",
      "policy:Policy",
      "role:Role",
      "samlProvider:SamlProvider",
      "serverCertificate:ServerCertificate",
      "user:User",
    ],
    glue: [
      "catalogDatabase:CatalogDatabase",
      "connection:Connection",
      "crawler:Crawler",
      "dataQualityRuleset:DataQualityRuleset",
      "devEndpoint:DevEndpoint",
      "job:Job",
      "mLTransform:MLTransform",
      "registry:Registry",
      "schema:Schema",
      "trigger:Trigger",
      "workflow:Workflow",
    ],
    sns: ["topic:Topic"],
    sqs: ["queue:Queue"],
    lambda: [
      "codeSigningConfig:CodeSigningConfig",
      "eventSourceMapping:EventSourceMapping",
      "function:Function",
    ],
    cloudwatch: [
      "compositeAlarm:CompositeAlarm",
      "eventBus:EventBus",
      "eventRule:EventRule",
      "logGroup:LogGroup",
      "metricAlarm:MetricAlarm",
      "metricStream:MetricStream",
    ],
    kms: ["externalKey:ExternalKey", "key:Key", "replicaKey:ReplicaKey"],
    secretsmanager: ["secret:Secret"],
    athena: ["dataCatalog:DataCatalog", "workgroup:Workgroup"],
    scheduler: ["scheduleGroup:ScheduleGroup"],
    ssm: ["document:Document", "parameter:Parameter"],
  }).flatMap(([service, types]) => types.map((t) => `aws:${service}/${t}`)),
);

interface TagsConfig {
  requiredTags: string[];
  allowedValues: Record<string, string[]>;
  exemptTypes: string[];
}

export const requiredTags: StackValidationPolicy = stackPolicy<TagsConfig>({
  name: "required-tags",
  description:
    "Every taggable resource carries non-empty environment, owner and cost-center tags (its own, or the provider's default tags).",
  severity: "low",
  remediationSteps:
    "Pass the stack's tags to the resource, or set them once as defaultTags on the AWS provider.",
  config: {
    requiredTags: stringList(
      "Tag keys every taggable resource must have, with a non-empty value.",
      ["environment", "owner", "cost-center"],
    ),
    allowedValues: {
      type: "object",
      additionalProperties: { type: "array", items: { type: "string" } },
      default: {},
      description: 'Allowed values per tag key, e.g. { "environment": ["dev", "prod"] }.',
    },
    exemptTypes: {
      type: "array",
      items: { type: "string" },
      // S3 object tags are per-object metadata, not cost allocation tags.
      default: [
        "aws:s3/bucketObject:BucketObject",
        "aws:s3/bucketObjectv2:BucketObjectv2",
        "aws:s3/objectCopy:ObjectCopy",
      ],
      description: "Resource types not checked even though they take tags.",
    },
  },
  validate: (stack, config, report) => {
    for (const r of stack.subjects) {
      const taggable = TAGGABLE_TYPES.has(r.type) || "tags" in r.props || "tagsAll" in r.props;
      if (!taggable || config.exemptTypes.includes(r.type)) continue;
      const tags = effectiveTags(r);
      if (tags === UNKNOWN) continue;
      const missing = config.requiredTags.filter((k) => (tags[k] ?? "").trim() === "");
      const kind = r.type.split(":").pop();
      if (missing.length > 0) {
        report(
          `${kind} "${r.name}" is missing tags ${list(missing)}; required: ${list(config.requiredTags)}.`,
          r.urn,
        );
      }
      for (const [key, allowed] of Object.entries(config.allowedValues)) {
        const value = tags[key];
        if (value !== undefined && value.trim() !== "" && !allowed.includes(value)) {
          report(
            `${kind} "${r.name}" has tag ${key}="${value}"; allowed: ${list(allowed)}.`,
            r.urn,
          );
        }
      }
    }
  },
});

export const tagPolicies = [requiredTags];
