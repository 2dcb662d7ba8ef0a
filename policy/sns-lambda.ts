/**
 * SNS and Lambda policies for the alerting and event-driven parts of a pipeline: encrypted alert
 * topics, Lambda functions whose failed events are kept, and Lambda roles scoped to the function.
 */
import { ResourceValidationPolicy, StackValidationPolicy } from "@pulumi/policy";
import {
  Plain,
  StackView,
  Subject,
  asObject,
  asString,
  asStrings,
  hasUnknown,
  isUnknown,
  list,
  managedPolicyName,
  parsePolicy,
  principals,
  resourcePolicy,
  stackPolicy,
} from "./lib";

const TOPIC = "aws:sns/topic:Topic";
const FUNCTION = "aws:lambda/function:Function";
const INVOKE_CONFIG = "aws:lambda/functionEventInvokeConfig:FunctionEventInvokeConfig";
const ROLE = "aws:iam/role:Role";
const ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy";
const ROLE_POLICY_ATTACHMENT = "aws:iam/rolePolicyAttachment:RolePolicyAttachment";
const MANAGED_POLICY = "aws:iam/policy:Policy";
/** Resources that run as a role given by `role` or `roleArn`. */
const ROLE_USERS: Record<string, string> = {
  [FUNCTION]: "role",
  "aws:glue/job:Job": "roleArn",
  "aws:glue/crawler:Crawler": "role",
};

interface TopicConfig {
  allowAwsManagedKey: boolean;
}

export const snsTopicEncrypted: ResourceValidationPolicy = resourcePolicy<TopicConfig>({
  name: "sns-topic-encrypted",
  description:
    "SNS topics are encrypted with a customer-managed KMS key (EventBridge cannot publish to a topic under alias/aws/sns).",
  severity: "high",
  remediationSteps:
    "Set kmsMasterKeyId to a customer-managed key whose key policy lets events.amazonaws.com use kms:GenerateDataKey* and kms:Decrypt.",
  types: [TOPIC],
  config: {
    allowAwsManagedKey: {
      type: "boolean",
      default: false,
      description:
        "Accept the AWS managed key alias/aws/sns (fine for topics that no AWS service publishes to).",
    },
  },
  validate: (topic, config, report) => {
    const key = topic.props.kmsMasterKeyId;
    if (isUnknown(key)) return;
    const id = asString(key) ?? "";
    if (id === "") {
      report(
        `SNS topic "${topic.name}" has no kmsMasterKeyId: set it to a customer-managed KMS key.`,
      );
    } else if (!config.allowAwsManagedKey && /(^|:)alias\/aws\/sns$/.test(id)) {
      report(
        `SNS topic "${topic.name}" uses the AWS managed key "${id}"; EventBridge alerts cannot be published ` +
          `to it. Use a customer-managed KMS key.`,
      );
    }
  },
});

// ---------------------------------------------------------------------------------------------

function functionLabel(f: Subject): string {
  const physical = asString(f.props.name);
  return physical && physical !== f.name
    ? `Lambda function "${f.name}" (${physical})`
    : `Lambda function "${f.name}"`;
}

function isExempt(f: Subject, exempt: string[]): boolean {
  return exempt.includes(f.name) || exempt.includes(asString(f.props.name) ?? "\0");
}

interface DeadLetterConfig {
  exemptFunctions: string[];
}

export const lambdaDeadLetter: StackValidationPolicy = stackPolicy<DeadLetterConfig>({
  name: "lambda-dead-letter",
  description:
    "Every Lambda function keeps the events it fails on: a deadLetterConfig, or an event invoke config with an on-failure destination.",
  severity: "medium",
  remediationSteps:
    "Set deadLetterConfig.targetArn to an SQS queue or SNS topic, or add an aws.lambda.FunctionEventInvokeConfig " +
    "with destinationConfig.onFailure.destination.",
  config: {
    exemptFunctions: {
      type: "array",
      items: { type: "string" },
      default: [],
      description: "Logical or physical names of functions only ever invoked synchronously.",
    },
  },
  validate: (stack, config, report) => {
    const withDestination = new Set<string>();
    let unresolved = false;
    for (const ic of stack.ofType([INVOKE_CONFIG])) {
      const dest = asObject(asObject(asObject(ic.props.destinationConfig)?.onFailure))?.destination;
      if (isUnknown(dest) || isUnknown(ic.props.functionName)) unresolved = true;
      if (!asString(dest)) continue;
      for (const f of stack.targets(ic, "functionName", [FUNCTION], ["name", "arn", "id"]))
        withDestination.add(f.urn);
    }
    for (const f of stack.ofType([FUNCTION])) {
      if (isExempt(f, config.exemptFunctions) || withDestination.has(f.urn)) continue;
      const dlq = asObject(f.props.deadLetterConfig)?.targetArn;
      if (isUnknown(dlq) || asString(dlq) || unresolved) continue;
      report(
        `${functionLabel(f)} has no dead-letter destination: set deadLetterConfig.targetArn (SQS or SNS) ` +
          `or add a FunctionEventInvokeConfig with destinationConfig.onFailure, so failed events are kept.`,
        f.urn,
      );
    }
  },
});

// ---------------------------------------------------------------------------------------------

interface ScopedRoleConfig {
  allowedManagedPolicies: string[];
  wildcardResourceActions: string[];
  externalRoleArns: string[];
}

/** Policy documents that apply to `role`: inline ones, RolePolicy resources and attached stack policies. */
function roleDocuments(
  stack: StackView,
  role: Subject,
): { where: string; doc: Plain | undefined }[] {
  const docs: { where: string; doc: Plain | undefined }[] = [];
  const inline = Array.isArray(role.props.inlinePolicies) ? role.props.inlinePolicies : [];
  inline.forEach((p, i) => docs.push({ where: `inlinePolicies[${i}]`, doc: asObject(p)?.policy }));
  for (const rp of stack.ofType([ROLE_POLICY])) {
    if (stack.targets(rp, "role", [ROLE], ["id", "name"]).includes(role))
      docs.push({ where: `RolePolicy "${rp.name}"`, doc: rp.props.policy });
  }
  for (const att of attachmentsOf(stack, role)) {
    for (const p of stack.targets(att, "policyArn", [MANAGED_POLICY], ["arn", "id"])) {
      docs.push({ where: `Policy "${p.name}"`, doc: p.props.policy });
    }
  }
  return docs;
}

function attachmentsOf(stack: StackView, role: Subject): Subject[] {
  return stack
    .ofType([ROLE_POLICY_ATTACHMENT])
    .filter((a) => stack.targets(a, "role", [ROLE], ["id", "name"]).includes(role));
}

/** Why a role is broader than one function needs; empty when it is scoped. */
function roleProblems(
  stack: StackView,
  fn: Subject,
  role: Subject,
  config: ScopedRoleConfig,
): string[] {
  const problems: string[] = [];
  const trust = parsePolicy(role.props.assumeRolePolicy);
  if (Array.isArray(trust)) {
    const others = trust
      .filter((s) => s.effect === "Allow")
      .flatMap((s) => principals(s.principal))
      .filter((p) => !(p.kind === "Service" && p.value === "lambda.amazonaws.com"));
    if (others.length > 0)
      problems.push(
        `it is also trusted by ${others.map((p) => `${p.kind} "${p.value}"`).join(", ")}`,
      );
  }
  const sharers = stack.subjects.filter(
    (s) =>
      s !== fn &&
      ROLE_USERS[s.type] !== undefined &&
      stack.targets(s, ROLE_USERS[s.type], [ROLE], ["arn"]).includes(role),
  );
  if (sharers.length > 0)
    problems.push(`it is shared with ${sharers.map((s) => `"${s.name}"`).join(", ")}`);
  const managed = [
    ...asStrings(role.props.managedPolicyArns),
    ...attachmentsOf(stack, role).flatMap((a) => asStrings(a.props.policyArn)),
  ];
  for (const arn of managed) {
    const name = managedPolicyName(arn);
    if (name !== undefined && !config.allowedManagedPolicies.includes(name)) {
      problems.push(
        `it has the AWS managed policy ${name} (allowed: ${list(config.allowedManagedPolicies)})`,
      );
    }
  }
  const starOk = config.wildcardResourceActions.map((a) => a.toLowerCase());
  for (const { where, doc } of roleDocuments(stack, role)) {
    const statements = parsePolicy(doc);
    if (!Array.isArray(statements)) continue;
    for (const s of statements.filter((x) => x.effect === "Allow")) {
      const wild = s.actions.filter((a) => a.includes("*"));
      if (wild.length > 0) problems.push(`${where} allows wildcard actions ${list(wild)}`);
      if (s.notActions.length > 0) problems.push(`${where} uses NotAction`);
      if (s.resources.includes("*")) {
        const broad = s.actions.filter(
          (a) => !a.includes("*") && !starOk.includes(a.toLowerCase()),
        );
        if (broad.length > 0) problems.push(`${where} allows ${list(broad)} on Resource "*"`);
      }
    }
  }
  return problems;
}

export const lambdaScopedRole: StackValidationPolicy = stackPolicy<ScopedRoleConfig>({
  name: "lambda-scoped-role",
  description:
    "Every Lambda function runs as its own role: trusted only by lambda.amazonaws.com, not shared, with only " +
    'allowed AWS managed policies and no wildcard actions or Resource "*" beyond actions that need it.',
  severity: "high",
  remediationSteps:
    "Give the function a dedicated role with AWSLambdaBasicExecutionRole and an inline policy naming the exact " +
    "actions and ARNs it uses (e.g. glue:StartJobRun on one job).",
  config: {
    allowedManagedPolicies: {
      type: "array",
      items: { type: "string" },
      default: [
        "service-role/AWSLambdaBasicExecutionRole",
        "service-role/AWSLambdaVPCAccessExecutionRole",
        "AWSXRayDaemonWriteAccess",
      ],
      description: "AWS managed policies a Lambda role may carry (name after `:policy/`).",
    },
    wildcardResourceActions: {
      type: "array",
      items: { type: "string" },
      default: [
        "xray:PutTraceSegments",
        "xray:PutTelemetryRecords",
        "ec2:CreateNetworkInterface",
        "ec2:DescribeNetworkInterfaces",
        "ec2:DeleteNetworkInterface",
      ],
      description: 'Actions that AWS only grants on Resource "*".',
    },
    externalRoleArns: {
      type: "array",
      items: { type: "string" },
      default: [],
      description: "Roles managed outside this stack that functions may use.",
    },
  },
  validate: (stack, config, report) => {
    for (const fn of stack.ofType([FUNCTION])) {
      const roleArn = fn.props.role;
      if (hasUnknown(roleArn) && stack.targets(fn, "role", [ROLE], ["arn"]).length === 0) continue;
      const roles = stack.targets(fn, "role", [ROLE], ["arn"]);
      if (roles.length === 0) {
        const arn = asString(roleArn) ?? "";
        if (!config.externalRoleArns.includes(arn)) {
          report(
            `${functionLabel(fn)} runs as role "${arn}", which is not in this stack, so its scope cannot be ` +
              `checked; define the role here or list it in externalRoleArns.`,
            fn.urn,
          );
        }
        continue;
      }
      for (const role of roles) {
        const problems = roleProblems(stack, fn, role, config);
        if (problems.length > 0) {
          report(
            `${functionLabel(fn)}: its role "${role.name}" is not scoped to it: ${problems.join("; ")}.`,
            fn.urn,
          );
        }
      }
    }
  },
});

export const snsLambdaPolicies = [snsTopicEncrypted, lambdaDeadLetter, lambdaScopedRole];
