/**
 * IAM policies over identity policies (roles, users, groups and managed policies): no
 * broad AWS managed policies, no wildcard actions on every resource, and Glue roles that
 * nothing but Glue can assume. Resource policies (bucket and key policies) are out of scope:
 * a KMS key policy granting the account `kms:*` on `*` is the documented default.
 */
import { ResourceValidationPolicy } from "@pulumi/policy";
import {
  Plain,
  Statement,
  Subject,
  UNKNOWN,
  asObject,
  asString,
  asStrings,
  hasUnknown,
  list,
  managedPolicyName,
  parsePolicy,
  principals,
  resourcePolicy,
  stringList,
} from "./lib";
import { MANAGED_POLICY, ROLE, ROLE_POLICY, ROLE_POLICY_ATTACHMENT } from "./types";

/** Where each resource type keeps managed policy ARNs. */
const ATTACHMENT_FIELDS: Record<string, string> = {
  [ROLE]: "managedPolicyArns",
  [ROLE_POLICY_ATTACHMENT]: "policyArn",
  "aws:iam/userPolicyAttachment:UserPolicyAttachment": "policyArn",
  "aws:iam/groupPolicyAttachment:GroupPolicyAttachment": "policyArn",
  "aws:iam/policyAttachment:PolicyAttachment": "policyArn",
  "aws:iam/rolePolicyAttachmentsExclusive:RolePolicyAttachmentsExclusive": "policyArns",
  "aws:iam/userPolicyAttachmentsExclusive:UserPolicyAttachmentsExclusive": "policyArns",
  "aws:iam/groupPolicyAttachmentsExclusive:GroupPolicyAttachmentsExclusive": "policyArns",
};

interface ManagedConfig {
  forbiddenManagedPolicies: string[];
}

export const iamNoBroadManagedPolicies: ResourceValidationPolicy = resourcePolicy<ManagedConfig>({
  name: "iam-no-broad-managed-policies",
  description:
    "No role, user or group gets AmazonS3FullAccess, AdministratorAccess or another account-wide AWS managed policy.",
  severity: "critical",
  remediationSteps:
    "Replace the managed policy with an inline policy that names exactly the buckets, prefixes and actions needed.",
  types: Object.keys(ATTACHMENT_FIELDS),
  config: {
    forbiddenManagedPolicies: stringList(
      "AWS managed policy names (the part after `:policy/`) that may not be attached.",
      ["AdministratorAccess", "AmazonS3FullAccess", "PowerUserAccess", "IAMFullAccess"],
    ),
  },
  validate: (r, config, report) => {
    const field = ATTACHMENT_FIELDS[r.type];
    for (const arn of asStrings(r.props[field])) {
      const name = managedPolicyName(arn);
      if (name !== undefined && config.forbiddenManagedPolicies.includes(name)) {
        report(
          `${r.type.split(":").pop()} "${r.name}" attaches the AWS managed policy ${name} (${field} = "${arn}"); ` +
            `forbidden: ${list(config.forbiddenManagedPolicies)}. Grant only the actions and resources needed.`,
        );
      }
    }
  },
});

// ---------------------------------------------------------------------------------------------

/** Where each identity policy type keeps its policy documents. */
function policyDocuments(r: Subject): { where: string; doc: Plain | undefined }[] {
  if (r.type === ROLE) {
    const inline = Array.isArray(r.props.inlinePolicies) ? r.props.inlinePolicies : [];
    return inline.map((p, i) => {
      const o = asObject(p) ?? {};
      return {
        where: `inlinePolicies[${i}]${asString(o.name) ? ` (${asString(o.name)})` : ""}`,
        doc: o.policy,
      };
    });
  }
  return [{ where: "policy", doc: r.props.policy }];
}

const POLICY_DOCUMENT_TYPES = [
  ROLE,
  ROLE_POLICY,
  "aws:iam/userPolicy:UserPolicy",
  "aws:iam/groupPolicy:GroupPolicy",
  MANAGED_POLICY,
];

// "*", and ARNs whose every part after the service is a wildcard: arn:aws:s3:::* or arn:aws:s3:::*/*.
function isAllResources(resource: string): boolean {
  return resource === "*" || /^arn:[^:]*:[^:]+:\*?:\*?:[*/]+$/.test(resource);
}

/** Allow statements that grant a forbidden wildcard action (or everything but some actions) on all resources. */
function broadGrants(statements: Statement[], forbidden: string[]): string[] {
  const lower = forbidden.map((a) => a.toLowerCase());
  const found: string[] = [];
  for (const s of statements) {
    if (s.effect !== "Allow") continue;
    const everywhere = s.resources.some(isAllResources) || s.notResources.length > 0;
    if (!everywhere) continue;
    const label = s.sid ? `statement "${s.sid}"` : "a statement";
    for (const a of s.actions)
      if (lower.includes(a.toLowerCase())) found.push(`${label} allows "${a}" on all resources`);
    if (s.notActions.length > 0)
      found.push(`${label} allows every action except ${list(s.notActions)} on all resources`);
  }
  return found;
}

interface WildcardConfig {
  forbiddenActions: string[];
}

export const iamNoWildcardActions: ResourceValidationPolicy = resourcePolicy<WildcardConfig>({
  name: "iam-no-wildcard-actions",
  description:
    "No identity policy allows `*`, `s3:*` (or other configured wildcard actions) on all resources, nor NotAction on all resources.",
  severity: "critical",
  remediationSteps:
    "List the actions needed and scope Resource to the pipeline's buckets, prefixes and keys.",
  types: POLICY_DOCUMENT_TYPES,
  config: {
    forbiddenActions: {
      type: "array",
      items: { type: "string" },
      default: ["*", "s3:*", "iam:*", "kms:*", "glue:*"],
      description:
        'Actions that may not be allowed on Resource "*" (compared without letter case).',
    },
  },
  validate: (r, config, report) => {
    for (const { where, doc } of policyDocuments(r)) {
      const statements = parsePolicy(doc);
      if (statements === undefined || statements === UNKNOWN) continue;
      const kind = r.type.split(":").pop();
      if (statements === "invalid") {
        report(`${kind} "${r.name}": ${where} is not valid JSON, so it cannot be checked.`);
        continue;
      }
      for (const problem of broadGrants(statements, config.forbiddenActions)) {
        report(
          `${kind} "${r.name}": ${where}: ${problem}; forbidden on "*": ${list(config.forbiddenActions)}.`,
        );
      }
    }
  },
});

// ---------------------------------------------------------------------------------------------

interface GlueTrustConfig {
  glueService: string;
  requireSourceAccount: boolean;
}

export const iamGlueRoleTrust: ResourceValidationPolicy = resourcePolicy<GlueTrustConfig>({
  name: "iam-glue-role-trust",
  description:
    "A role that Glue can assume is trusted by glue.amazonaws.com only: no other service, account or federated principal.",
  severity: "high",
  remediationSteps:
    'Give the Glue role its own trust policy: { Effect: "Allow", Principal: { Service: "glue.amazonaws.com" }, Action: "sts:AssumeRole" }.',
  types: [ROLE],
  config: {
    glueService: {
      type: "string",
      default: "glue.amazonaws.com",
      description: "The service principal that marks a role as a Glue role.",
    },
    requireSourceAccount: {
      type: "boolean",
      default: false,
      description:
        "Also require an aws:SourceAccount condition on the trust statement (confused-deputy guard).",
    },
  },
  validate: (r, config, report) => {
    const doc = r.props.assumeRolePolicy;
    if (hasUnknown(doc)) return;
    const statements = parsePolicy(doc);
    if (statements === undefined || statements === UNKNOWN || statements === "invalid") return;
    const allows = statements.filter((s) => s.effect === "Allow");
    const trustsGlue = allows.some((s) =>
      principals(s.principal).some((p) => p.kind === "Service" && p.value === config.glueService),
    );
    if (!trustsGlue) return;
    const others = allows
      .flatMap((s) => principals(s.principal))
      .filter((p) => !(p.kind === "Service" && p.value === config.glueService))
      .map((p) => `${p.kind} "${p.value}"`);
    if (others.length > 0) {
      report(
        `Role "${r.name}" is a Glue role but its assumeRolePolicy also trusts ${others.join(", ")}; ` +
          `only Service "${config.glueService}" may assume it.`,
      );
    }
    if (config.requireSourceAccount) {
      const guarded = allows.every((s) =>
        Object.values(s.condition ?? {}).some((c) =>
          Object.keys(asObject(c) ?? {}).some((k) => k.toLowerCase() === "aws:sourceaccount"),
        ),
      );
      if (!guarded) {
        report(
          `Role "${r.name}": its trust statement for ${config.glueService} has no aws:SourceAccount condition.`,
        );
      }
    }
  },
});

export const iamPolicies = [iamNoBroadManagedPolicies, iamNoWildcardActions, iamGlueRoleTrust];
