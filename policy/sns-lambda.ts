/**
 * SNS and Lambda policies for the alerting and event-driven parts of a pipeline: encrypted alert
 * topics, Lambda functions whose failed events are kept, Lambda roles scoped to the function,
 * Lambda log groups encrypted with a customer key, and Lambda functions that start Glue runs
 * only through an idempotency store.
 */
import { ResourceValidationPolicy, StackValidationPolicy } from "@pulumi/policy";
import {
  Plain,
  StackView,
  Subject,
  asObject,
  asString,
  asNumber,
  asStrings,
  hasUnknown,
  isUnknown,
  list,
  managedPolicyName,
  parsePolicy,
  principals,
  resourcePolicy,
  stackPolicy,
  UNKNOWN,
  stringList,
} from "./lib";
import { CRAWLER, JOB, MANAGED_POLICY, ROLE, ROLE_POLICY, ROLE_POLICY_ATTACHMENT } from "./types";

const TOPIC = "aws:sns/topic:Topic";
const FUNCTION = "aws:lambda/function:Function";
const INVOKE_CONFIG = "aws:lambda/functionEventInvokeConfig:FunctionEventInvokeConfig";
const LOG_GROUP = "aws:cloudwatch/logGroup:LogGroup";
const TABLE = "aws:dynamodb/table:Table";
/** Resources that run as a role given by `role` or `roleArn`. */
const ROLE_USERS: Record<string, string> = {
  [FUNCTION]: "role",
  [JOB]: "roleArn",
  [CRAWLER]: "role",
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
    exemptFunctions: stringList(
      "Logical or physical names of functions only ever invoked synchronously.",
    ),
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
    allowedManagedPolicies: stringList(
      "AWS managed policies a Lambda role may carry (name after `:policy/`).",
      [
        "service-role/AWSLambdaBasicExecutionRole",
        "service-role/AWSLambdaVPCAccessExecutionRole",
        "AWSXRayDaemonWriteAccess",
      ],
    ),
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
    externalRoleArns: stringList("Roles managed outside this stack that functions may use."),
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

// ---------------------------------------------------------------------------------------------

interface LogGroupConfig {
  exemptFunctions: string[];
}

/** The log group a function writes to: loggingConfig.logGroup, else Lambda's `/aws/lambda/<name>`. */
function logGroupOf(fn: Subject): string | typeof UNKNOWN | undefined {
  const configured = asObject(fn.props.loggingConfig)?.logGroup;
  if (isUnknown(configured)) return UNKNOWN;
  if (asString(configured)) return asString(configured);
  const name = fn.props.name;
  if (isUnknown(name)) return UNKNOWN;
  return asString(name) ? `/aws/lambda/${asString(name)}` : undefined;
}

export const lambdaLogGroupEncrypted: StackValidationPolicy = stackPolicy<LogGroupConfig>({
  name: "lambda-log-group-encrypted",
  description:
    "Every Lambda function writes to a log group declared in this stack, encrypted with a customer-managed KMS " +
    "key and with a retention; otherwise Lambda creates one that is unencrypted by a customer key and kept forever.",
  severity: "medium",
  remediationSteps:
    "Declare an aws.cloudwatch.LogGroup with kmsKeyId (a key whose policy lets logs.<region>.amazonaws.com use it " +
    "for that log group) and retentionInDays, and point the function's loggingConfig.logGroup at it.",
  config: {
    exemptFunctions: stringList(
      "Logical or physical names of functions whose log groups are managed elsewhere.",
    ),
  },
  validate: (stack, config, report) => {
    const groups = stack.ofType([LOG_GROUP]);
    for (const fn of stack.ofType([FUNCTION])) {
      if (isExempt(fn, config.exemptFunctions)) continue;
      const viaDeps = stack.targets(fn, "loggingConfig", [LOG_GROUP], ["name"]);
      const groupName = logGroupOf(fn);
      if (viaDeps.length === 0 && groupName === UNKNOWN) continue;
      const matches =
        viaDeps.length > 0 ? viaDeps : groups.filter((g) => asString(g.props.name) === groupName);
      if (matches.length === 0) {
        if (groups.some((g) => isUnknown(g.props.name))) continue;
        report(
          `${functionLabel(fn)} writes to log group "${typeof groupName === "string" ? groupName : "(unnamed)"}", which is not declared in this stack, ` +
            `so Lambda creates it without a customer-managed key or retention; declare it with kmsKeyId and retentionInDays.`,
          fn.urn,
        );
        continue;
      }
      for (const g of matches) {
        const key = g.props.kmsKeyId;
        const retention = g.props.retentionInDays;
        if (isUnknown(key) || isUnknown(retention)) continue;
        const missing = [
          ...(asString(key) ? [] : ["kmsKeyId (a customer-managed KMS key)"]),
          ...(asNumber(retention) ? [] : ["retentionInDays"]),
        ];
        if (missing.length > 0) {
          report(
            `${functionLabel(fn)}: its log group "${asString(g.props.name) ?? g.name}" has no ${missing.join(" and no ")}.`,
            fn.urn,
          );
        }
      }
    }
  },
});

// ---------------------------------------------------------------------------------------------

interface IdempotencyConfig {
  startActions: string[];
  exemptFunctions: string[];
}

/** Allowed actions of the role's policies on each resource, lower-cased. */
function allowedActions(
  stack: StackView,
  role: Subject,
): { actions: string[]; resources: string[] }[] {
  const out: { actions: string[]; resources: string[] }[] = [];
  for (const { doc } of roleDocuments(stack, role)) {
    const statements = parsePolicy(doc);
    if (!Array.isArray(statements)) continue;
    for (const s of statements.filter((x) => x.effect === "Allow"))
      out.push({ actions: s.actions.map((a) => a.toLowerCase()), resources: s.resources });
  }
  return out;
}

export const lambdaGlueStartIdempotent: StackValidationPolicy = stackPolicy<IdempotencyConfig>({
  name: "lambda-glue-start-idempotent",
  description:
    "A Lambda function that starts Glue job runs from events claims each event in a DynamoDB table of this stack " +
    "first: its role may PutItem and DeleteItem on the table, and its environment names it. At-least-once " +
    "delivery otherwise starts two runs for one object.",
  severity: "high",
  remediationSteps:
    "Create an aws.dynamodb.Table (TTL, KMS encryption, point-in-time recovery), grant the function's role " +
    "dynamodb:PutItem and dynamodb:DeleteItem on its ARN, pass its name in the function's environment, and claim " +
    "each object version with a conditional PutItem (attribute_not_exists) before StartJobRun.",
  config: {
    startActions: stringList("Actions that start runs and so need an idempotency store.", [
      "glue:StartJobRun",
    ]),
    exemptFunctions: stringList(
      "Logical or physical names of functions invoked only synchronously, once per request.",
    ),
  },
  validate: (stack, config, report) => {
    const starts = config.startActions.map((a) => a.toLowerCase());
    const tables = stack.ofType([TABLE]);
    for (const fn of stack.ofType([FUNCTION])) {
      if (isExempt(fn, config.exemptFunctions)) continue;
      for (const role of stack.targets(fn, "role", [ROLE], ["arn"])) {
        const grants = allowedActions(stack, role);
        if (!grants.some((g) => g.actions.some((a) => starts.includes(a) || a === "glue:*")))
          continue;
        const canWrite = (action: string) =>
          grants
            .filter((g) => g.actions.includes(action) || g.actions.includes("dynamodb:*"))
            .flatMap((g) => g.resources);
        const put = canWrite("dynamodb:putitem");
        const del = canWrite("dynamodb:deleteitem");
        const env = asObject(asObject(fn.props.environment)?.variables) ?? {};
        if (hasUnknown(env) || [...put, ...del].some((r) => r === "")) continue;
        const usable = tables.filter((t) => {
          const arn = asString(t.props.arn);
          const name = asString(t.props.name);
          return (
            arn !== undefined &&
            put.includes(arn) &&
            del.includes(arn) &&
            Object.values(env).some((v) => asString(v) === name)
          );
        });
        if (usable.length === 0) {
          if (tables.some((t) => hasUnknown(t.props.arn) || hasUnknown(t.props.name))) continue;
          report(
            `${functionLabel(fn)} may start Glue job runs (${list(config.startActions)}) but has no idempotency ` +
              `store: no DynamoDB table of this stack that its role "${role.name}" may PutItem and DeleteItem on ` +
              `and its environment names. Copies of one event would start two runs.`,
            fn.urn,
          );
        }
      }
    }
  },
});

export const snsLambdaPolicies = [
  snsTopicEncrypted,
  lambdaDeadLetter,
  lambdaScopedRole,
  lambdaLogGroupEncrypted,
  lambdaGlueStartIdempotent,
];
