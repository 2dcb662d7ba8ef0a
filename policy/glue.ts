/**
 * Glue policies: encryption through security configurations, observability, arguments the
 * runtime reads, bookmarks without overlapping runs, bounded runs, supported runtimes, retries in production, capped capacity, no plaintext secrets, and SSL
 * on JDBC connections.
 */
import { ResourceValidationPolicy, StackValidationPolicy } from "@pulumi/policy";
import {
  ENVIRONMENT_TAG_CONFIG,
  Plain,
  PlainObject,
  Subject,
  asNumber,
  asObject,
  asString,
  environmentOf,
  isUnknown,
  list,
  resourcePolicy,
  stackPolicy,
  stringList,
} from "./lib";
import { CRAWLER, JOB } from "./types";

const CONNECTION = "aws:glue/connection:Connection";
const TRIGGER = "aws:glue/trigger:Trigger";
const SECURITY_CONFIGURATION = "aws:glue/securityConfiguration:SecurityConfiguration";

function label(r: Subject): string {
  const kind =
    {
      [JOB]: "Glue job",
      [CRAWLER]: "Glue crawler",
      [CONNECTION]: "Glue connection",
      [TRIGGER]: "Glue trigger",
    }[r.type] ?? r.type;
  const physical = asString(r.props.name);
  return physical && physical !== r.name
    ? `${kind} "${r.name}" (${physical})`
    : `${kind} "${r.name}"`;
}

/** `glueetl` (Spark), `gluestreaming`, `pythonshell` or `glueray`; AWS defaults to `glueetl`. */
function jobKind(job: Subject): string {
  return asString(asObject(job.props.command)?.name) ?? "glueetl";
}

const SPARK_KINDS = ["glueetl", "gluestreaming"];

/** The Terraform schema gives single nested blocks as objects; state from older versions as one-item lists. */
function block(v: Plain | undefined): PlainObject | undefined {
  return Array.isArray(v) ? asObject(v[0]) : asObject(v);
}

// ---------------------------------------------------------------------------------------------

interface SecurityConfigurationConfig {
  allowedS3EncryptionModes: string[];
}

export const glueSecurityConfigurationEncryption: ResourceValidationPolicy =
  resourcePolicy<SecurityConfigurationConfig>({
    name: "glue-security-configuration-encryption",
    description:
      "A Glue security configuration encrypts S3 output, CloudWatch logs (SSE-KMS) and job bookmarks (CSE-KMS).",
    severity: "high",
    remediationSteps:
      "Set encryptionConfiguration.s3Encryption.s3EncryptionMode to SSE-KMS, cloudwatchEncryption.cloudwatchEncryptionMode " +
      "to SSE-KMS and jobBookmarksEncryption.jobBookmarksEncryptionMode to CSE-KMS, each with a kmsKeyArn.",
    types: [SECURITY_CONFIGURATION],
    config: {
      allowedS3EncryptionModes: {
        type: "array",
        items: { type: "string", enum: ["SSE-KMS", "SSE-S3"] },
        default: ["SSE-KMS", "SSE-S3"],
        description:
          "S3 encryption modes allowed for job output; [SSE-KMS] requires customer keys.",
      },
    },
    validate: (r, config, report) => {
      const enc = block(r.props.encryptionConfiguration) ?? {};
      const checks: [string, Plain | undefined, string[]][] = [
        [
          "s3Encryption.s3EncryptionMode",
          block(enc.s3Encryption)?.s3EncryptionMode,
          config.allowedS3EncryptionModes,
        ],
        [
          "cloudwatchEncryption.cloudwatchEncryptionMode",
          block(enc.cloudwatchEncryption)?.cloudwatchEncryptionMode,
          ["SSE-KMS"],
        ],
        [
          "jobBookmarksEncryption.jobBookmarksEncryptionMode",
          block(enc.jobBookmarksEncryption)?.jobBookmarksEncryptionMode,
          ["CSE-KMS"],
        ],
      ];
      for (const [field, value, allowed] of checks) {
        if (isUnknown(value)) continue;
        const mode = asString(value);
        if (mode === undefined || !allowed.includes(mode)) {
          report(
            `Glue security configuration "${r.name}": encryptionConfiguration.${field} is ` +
              `${mode === undefined ? "not set" : `"${mode}"`}; allowed: ${list(allowed)}.`,
          );
        }
      }
    },
  });

// ---------------------------------------------------------------------------------------------

interface AttachedConfig {
  externalSecurityConfigurations: string[];
}

export const glueSecurityConfigurationAttached: StackValidationPolicy = stackPolicy<AttachedConfig>(
  {
    name: "glue-security-configuration-attached",
    description:
      "Every Glue job and crawler names a security configuration of this stack (whose encryption " +
      "glue-security-configuration-encryption checks) or one listed as managed elsewhere.",
    severity: "high",
    remediationSteps:
      "Create an aws.glue.SecurityConfiguration and pass its name as the job's or crawler's securityConfiguration.",
    config: {
      externalSecurityConfigurations: stringList(
        "Names of security configurations managed outside this stack that are known to encrypt all three.",
      ),
    },
    validate: (stack, config, report) => {
      for (const r of stack.ofType([JOB, CRAWLER])) {
        const value = r.props.securityConfiguration;
        if (isUnknown(value)) continue;
        const name = asString(value);
        if (name === undefined || name === "") {
          report(
            `${label(r)} has no securityConfiguration: without one Glue writes its output, logs and ` +
              `bookmarks unencrypted by Glue. Name an aws.glue.SecurityConfiguration of this stack.`,
            r.urn,
          );
          continue;
        }
        const inStack = stack.targets(
          r,
          "securityConfiguration",
          [SECURITY_CONFIGURATION],
          ["name", "id"],
        );
        if (inStack.length === 0 && !config.externalSecurityConfigurations.includes(name)) {
          report(
            `${label(r)} names securityConfiguration "${name}", which is not in this stack, so its ` +
              `encryption cannot be checked; define it here or list it in externalSecurityConfigurations ` +
              `(now: ${list(config.externalSecurityConfigurations)}).`,
            r.urn,
          );
        }
      }
    },
  },
);

// ---------------------------------------------------------------------------------------------

/** A job argument as Glue will see it: a non-overridable value wins over a default one. */
function jobArgument(job: Subject, key: string): Plain | undefined {
  return (
    asObject(job.props.nonOverridableArguments)?.[key] ??
    asObject(job.props.defaultArguments)?.[key]
  );
}

interface LoggingConfig {
  requireSparkUi: boolean;
  requireObservabilityMetrics: boolean;
}

/** The job's glueVersion as a comparable number, or undefined when unset or unknown. */
function glueVersionOf(job: Subject): number | undefined {
  const v = job.props.glueVersion;
  if (isUnknown(v)) return undefined;
  const s = asString(v) ?? (asNumber(v) ?? "").toString();
  return versionNumber(s.includes(".") ? s : `${s}.0`);
}

const GLUE_5 = 5000;

export const glueJobLoggingAndMetrics: ResourceValidationPolicy = resourcePolicy<LoggingConfig>({
  name: "glue-job-logging-and-metrics",
  description:
    "Spark Glue jobs turn on job metrics (and, by default, Spark UI event logs); before Glue 5.0, also continuous " +
    "CloudWatch logging, which Glue 5.0 does for every job.",
  severity: "medium",
  remediationSteps:
    'Add to defaultArguments: "--enable-metrics": "true", "--enable-spark-ui": "true" and ' +
    '"--spark-event-logs-path": "s3://…/sparkui/"; on Glue 4.0 and earlier also ' +
    '"--enable-continuous-cloudwatch-log": "true" (or move to Glue 5.0).',
  types: [JOB],
  config: {
    requireSparkUi: {
      type: "boolean",
      default: true,
      description: "Also require --enable-spark-ui true with a --spark-event-logs-path.",
    },
    requireObservabilityMetrics: {
      type: "boolean",
      default: false,
      description: "Also require --enable-observability-metrics true (Glue 4.0 and later).",
    },
  },
  validate: (job, config, report) => {
    if (!SPARK_KINDS.includes(jobKind(job))) return;
    const required: [string, (v: string) => boolean, string][] = [
      ["--enable-metrics", (v) => v.toLowerCase() !== "false", 'present (e.g. "true")'],
    ];
    // Glue 5.0 logs in real time without it; an unknown version is judged at `pulumi up`.
    const version = glueVersionOf(job);
    if (!isUnknown(job.props.glueVersion) && (version === undefined || version < GLUE_5)) {
      required.unshift([
        "--enable-continuous-cloudwatch-log",
        (v) => v.toLowerCase() === "true",
        '"true"',
      ]);
    }
    if (config.requireSparkUi) {
      required.push(["--enable-spark-ui", (v) => v === "true", '"true"']);
      required.push(["--spark-event-logs-path", (v) => /^s3:\/\/.+/.test(v), "an s3:// path"]);
    }
    if (config.requireObservabilityMetrics) {
      required.push(["--enable-observability-metrics", (v) => v === "true", '"true"']);
    }
    for (const [key, ok, allowed] of required) {
      const value = jobArgument(job, key);
      if (isUnknown(value)) continue;
      const s = value === undefined ? undefined : String(value);
      if (s === undefined || !ok(s)) {
        report(
          `${label(job)}: defaultArguments["${key}"] is ${s === undefined ? "not set" : JSON.stringify(s)}; ` +
            `it must be ${allowed}.`,
        );
      }
    }
  },
});

// ---------------------------------------------------------------------------------------------

interface RuntimeArgumentsConfig {
  pre5Arguments: string[];
}

export const glueJobRuntimeArguments: ResourceValidationPolicy =
  resourcePolicy<RuntimeArgumentsConfig>({
    name: "glue-job-runtime-arguments",
    description:
      "Glue 5.0 and later jobs set no Glue 4.0-only arguments (continuous-logging flags): Glue 5.0 ignores them, " +
      "so the job looks configured while nothing changes.",
    severity: "low",
    remediationSteps:
      "Drop the arguments; Glue 5.0 logs every job to CloudWatch in real time. Name log groups and streams " +
      "with --custom-logGroup-prefix and --custom-logStream-prefix.",
    types: [JOB],
    config: {
      pre5Arguments: stringList("Arguments that only Glue 4.0 and earlier read.", [
        "--enable-continuous-cloudwatch-log",
        "--enable-continuous-log-filter",
        "--continuous-log-logGroup",
        "--continuous-log-logStreamPrefix",
        "--continuous-log-conversionPattern",
      ]),
    },
    validate: (job, config, report) => {
      const version = glueVersionOf(job);
      if (version === undefined || version < GLUE_5) return;
      for (const where of ["defaultArguments", "nonOverridableArguments"]) {
        const args = asObject(job.props[where]) ?? {};
        for (const key of config.pre5Arguments.filter((k) => k in args)) {
          report(
            `${label(job)} runs glueVersion ${String(job.props.glueVersion)} but sets ${where}["${key}"], ` +
              `which only Glue 4.0 and earlier read; drop it (Glue 5.0 logs to CloudWatch in real time; ` +
              `--custom-logGroup-prefix / --custom-logStream-prefix name the log groups and streams).`,
          );
        }
      }
    },
  });

// ---------------------------------------------------------------------------------------------

interface BookmarkConcurrencyConfig {
  maxConcurrentRunsWithBookmarks: number;
}

export const glueJobBookmarkConcurrency: ResourceValidationPolicy =
  resourcePolicy<BookmarkConcurrencyConfig>({
    name: "glue-job-bookmark-concurrency",
    description:
      "A Glue job with bookmarks enabled allows one run at a time: overlapping runs start from the same " +
      "bookmark and process the same new files twice.",
    severity: "high",
    remediationSteps:
      'Set executionProperty.maxConcurrentRuns to 1, or "--job-bookmark-option": "job-bookmark-disable" for a job ' +
      "whose runs may overlap (and make each run idempotent instead).",
    types: [JOB],
    config: {
      maxConcurrentRunsWithBookmarks: {
        type: "integer",
        minimum: 1,
        default: 1,
        description: "Most concurrent runs allowed for a job with bookmarks enabled.",
      },
    },
    validate: (job, config, report) => {
      // Bookmarks are off unless the argument enables them (or pauses them, which still reads them).
      const option = jobArgument(job, "--job-bookmark-option");
      const runs = asObject(job.props.executionProperty)?.maxConcurrentRuns;
      if (isUnknown(option) || isUnknown(runs)) return;
      const mode = asString(option) ?? "job-bookmark-disable";
      if (mode === "job-bookmark-disable") return;
      // Glue's default is one run at a time.
      const max = asNumber(runs) ?? 1;
      if (max > config.maxConcurrentRunsWithBookmarks) {
        report(
          `${label(job)} has "--job-bookmark-option" "${mode}" with executionProperty.maxConcurrentRuns ${max}; ` +
            `allowed: at most ${config.maxConcurrentRunsWithBookmarks} with bookmarks. Overlapping runs start from ` +
            `the same bookmark and read the same new files twice: lower maxConcurrentRuns or disable bookmarks.`,
        );
      }
    },
  });

// ---------------------------------------------------------------------------------------------

interface TimeoutConfig {
  maxTimeoutMinutes: number;
}

export const glueJobTimeout: ResourceValidationPolicy = resourcePolicy<TimeoutConfig>({
  name: "glue-job-timeout",
  description:
    "Every batch Glue job sets a timeout, at most a configured number of minutes, so a hung run stops billing.",
  severity: "medium",
  types: [JOB],
  config: {
    maxTimeoutMinutes: {
      type: "integer",
      minimum: 1,
      default: 10080,
      description:
        "Largest timeout allowed, in minutes. The default is Glue's own limit for batch jobs, which the stack " +
        "config also accepts; lower it for your organisation.",
    },
  },
  validate: (job, config, report) => {
    // A streaming job runs until stopped.
    if (jobKind(job) === "gluestreaming" || isUnknown(job.props.timeout)) return;
    const timeout = asNumber(job.props.timeout);
    if (timeout === undefined) {
      report(
        `${label(job)} has no timeout: set timeout (minutes) to at most ${config.maxTimeoutMinutes} so a hung run is stopped.`,
      );
    } else if (timeout < 1 || timeout > config.maxTimeoutMinutes) {
      report(
        `${label(job)} has timeout ${timeout} minutes; allowed: 1 to ${config.maxTimeoutMinutes}.`,
      );
    }
  },
});

// ---------------------------------------------------------------------------------------------

function versionNumber(v: string): number | undefined {
  const m = /^(\d+)\.(\d+)$/.exec(v);
  return m ? Number(m[1]) * 1000 + Number(m[2]) : undefined;
}

interface VersionConfig {
  minimumGlueVersion: string;
  minimumPythonShellVersion: string;
}

export const glueJobVersion: ResourceValidationPolicy = resourcePolicy<VersionConfig>({
  name: "glue-job-version",
  description:
    "Every Glue job pins glueVersion at least 4.0 (Python shell jobs at least 3.0); older runtimes are out of support.",
  severity: "medium",
  types: [JOB],
  config: {
    minimumGlueVersion: {
      type: "string",
      pattern: "^\\d+\\.\\d+$",
      default: "4.0",
      description: "Lowest glueVersion for Spark, streaming and Ray jobs.",
    },
    minimumPythonShellVersion: {
      type: "string",
      pattern: "^\\d+\\.\\d+$",
      default: "3.0",
      description: "Lowest glueVersion for Python shell jobs (their newest runtime is 3.0).",
    },
  },
  validate: (job, config, report) => {
    if (isUnknown(job.props.glueVersion)) return;
    const minimum =
      jobKind(job) === "pythonshell" ? config.minimumPythonShellVersion : config.minimumGlueVersion;
    const given =
      asString(job.props.glueVersion) ?? (asNumber(job.props.glueVersion) ?? "").toString();
    const ok = given !== "" && (versionNumber(given) ?? -1) >= (versionNumber(minimum) ?? Infinity);
    if (!ok) {
      report(
        `${label(job)} has glueVersion ${given === "" ? "unset (Glue then picks an old default)" : `"${given}"`}; ` +
          `set "${minimum}" or later.`,
      );
    }
  },
});

// ---------------------------------------------------------------------------------------------

interface RetriesConfig {
  environmentTag: string;
  prodEnvironments: string[];
  minimumRetries: number;
}

export const glueProdJobRetries: ResourceValidationPolicy = resourcePolicy<RetriesConfig>({
  name: "glue-prod-job-retries",
  description:
    "Batch Glue jobs in a production environment (by environment tag, stack tag or stack name) retry at least once.",
  severity: "medium",
  types: [JOB],
  config: {
    environmentTag: ENVIRONMENT_TAG_CONFIG,
    prodEnvironments: stringList("Environment names treated as production.", [
      "prod",
      "production",
    ]),
    minimumRetries: {
      type: "integer",
      minimum: 0,
      default: 1,
      description: "Fewest maxRetries for production jobs.",
    },
  },
  validate: (job, config, report) => {
    const env = environmentOf(job, config.environmentTag);
    if (
      env === undefined ||
      !config.prodEnvironments.some((p) => p.toLowerCase() === env.toLowerCase()) ||
      jobKind(job) === "gluestreaming"
    )
      return;
    if (isUnknown(job.props.maxRetries)) return;
    const retries = asNumber(job.props.maxRetries) ?? 0;
    if (retries < config.minimumRetries) {
      report(
        `${label(job)} runs in ${config.environmentTag} "${env}" with maxRetries ${retries}; ` +
          `production jobs need at least ${config.minimumRetries}.`,
      );
    }
  },
});

// ---------------------------------------------------------------------------------------------

interface WorkersConfig {
  environmentTag: string;
  maxWorkersByEnvironment: Record<string, number>;
  defaultMaxWorkers: number;
}

export const glueJobWorkerCap: ResourceValidationPolicy = resourcePolicy<WorkersConfig>({
  name: "glue-job-worker-cap",
  description:
    "A Glue job's numberOfWorkers (or maxCapacity) is at most the cap for its environment.",
  severity: "medium",
  types: [JOB],
  config: {
    environmentTag: ENVIRONMENT_TAG_CONFIG,
    maxWorkersByEnvironment: {
      type: "object",
      additionalProperties: { type: "integer", minimum: 1 },
      default: {},
      description:
        "Largest numberOfWorkers per environment name, e.g. { dev: 10, prod: 40 }. Default none: every " +
        "environment gets defaultMaxWorkers.",
    },
    defaultMaxWorkers: {
      type: "integer",
      minimum: 1,
      default: 1000,
      description:
        "Cap for environments not listed in maxWorkersByEnvironment. The default is the most the stack config " +
        "accepts (and Glue's own limit), so a valid stack passes; set caps for your environments.",
    },
  },
  validate: (job, config, report) => {
    if (isUnknown(job.props.numberOfWorkers) || isUnknown(job.props.maxCapacity)) return;
    const env = environmentOf(job, config.environmentTag) ?? "(unknown)";
    const capKey = Object.keys(config.maxWorkersByEnvironment).find(
      (k) => k.toLowerCase() === env.toLowerCase(),
    );
    const cap =
      capKey === undefined ? config.defaultMaxWorkers : config.maxWorkersByEnvironment[capKey];
    const workers = asNumber(job.props.numberOfWorkers);
    const dpus = asNumber(job.props.maxCapacity);
    // Without worker types, capacity is given in DPUs; one standard worker is one DPU.
    const [count, field] =
      workers !== undefined ? [workers, "numberOfWorkers"] : [dpus, "maxCapacity"];
    if (count !== undefined && count > cap) {
      report(
        `${label(job)} has ${field} ${count} in ${config.environmentTag} "${env}"; the cap there is ${cap} ` +
          `(policy config maxWorkersByEnvironment).`,
      );
    }
  },
});

// ---------------------------------------------------------------------------------------------

interface SecretsConfig {
  secretKeyPattern: string;
  referenceKeyPattern: string;
}

const CREDENTIAL_VALUES: [RegExp, string][] = [
  [/\b(AKIA|ASIA)[A-Z0-9]{16}\b/, "an AWS access key id"],
  [/-----BEGIN [A-Z ]*PRIVATE KEY-----/, "a private key"],
  [/:\/\/[^/\s:@]+:[^/\s@]+@/, "a URL with a password"],
  [/[?;&]password=[^&;]+/i, "a URL with a password parameter"],
  // e.g. --conf spark.hadoop.fs.s3a.secret.key=…
  [/[\w.-]*(secret|password|passwd|token)[\w.-]*\s*=\s*[^\s&;]+/i, "a setting with a secret value"],
];

/** A value that points at a secret store instead of holding the secret. */
function isSecretReference(value: string): boolean {
  return /^arn:[^:]+:(secretsmanager|ssm):/.test(value) || value.startsWith("{{resolve:");
}

/** Why an argument looks like a plaintext secret, or undefined. Never echoes the value. */
function secretFinding(
  key: string,
  value: Plain | undefined,
  config: SecretsConfig,
): string | undefined {
  if (isUnknown(value) || value === undefined || value === null || value === "") return undefined;
  const s = String(value);
  // Flags such as --enable-token-refresh: true hold no secret.
  if (isSecretReference(s) || /^(true|false)$/i.test(s)) return undefined;
  for (const [re, what] of CREDENTIAL_VALUES) if (re.test(s)) return `holds ${what}`;
  const secretKey = new RegExp(config.secretKeyPattern, "i").test(key);
  if (secretKey && !new RegExp(config.referenceKeyPattern, "i").test(key))
    return "is named like a secret";
  return undefined;
}

/** Every argument map of a resource that Glue stores in plaintext, with where it is. */
function argumentMaps(r: Subject): [string, PlainObject][] {
  if (r.type === CONNECTION)
    return [["connectionProperties", asObject(r.props.connectionProperties) ?? {}]];
  if (r.type === TRIGGER) {
    const actions = Array.isArray(r.props.actions) ? r.props.actions : [];
    return actions.map((a, i) => [
      `actions[${i}].arguments`,
      asObject(asObject(a)?.arguments) ?? {},
    ]);
  }
  return [
    ["defaultArguments", asObject(r.props.defaultArguments) ?? {}],
    ["nonOverridableArguments", asObject(r.props.nonOverridableArguments) ?? {}],
  ];
}

export const glueNoPlaintextSecrets: ResourceValidationPolicy = resourcePolicy<SecretsConfig>({
  name: "glue-no-plaintext-secrets",
  description:
    "No password, token, key or credential in Glue job arguments, trigger arguments or connection properties; " +
    "Glue shows them to anyone who can read the job. Pass a Secrets Manager secret's name or ARN instead.",
  severity: "critical",
  remediationSteps:
    "Store the value in AWS Secrets Manager; give the job the secret's id (e.g. --DB_SECRET_ID) and, for a " +
    "connection, SECRET_ID or authenticationConfiguration.secretArn instead of PASSWORD.",
  types: [JOB, CONNECTION, TRIGGER],
  config: {
    secretKeyPattern: {
      type: "string",
      default: "pass(word|wd)?|secret|token|api[-_]?key|private[-_]?key|credential|access[-_]?key",
      description: "Regular expression (any letter case) for argument names that hold secrets.",
    },
    referenceKeyPattern: {
      type: "string",
      default: "[-_](id|arn|name)$",
      description:
        "Argument names that name a secret rather than hold one (e.g. --DB_SECRET_ID, SECRET_ID).",
    },
  },
  validate: (r, config, report) => {
    for (const [where, args] of argumentMaps(r)) {
      for (const [key, value] of Object.entries(args)) {
        const why = secretFinding(key, value, config);
        if (why) {
          report(
            `${label(r)}: ${where}["${key}"] ${why}; Glue stores it in plaintext. Keep it in Secrets Manager ` +
              `and pass the secret's name or ARN.`,
          );
        }
      }
    }
  },
});

// ---------------------------------------------------------------------------------------------

export const glueJdbcSsl: ResourceValidationPolicy = resourcePolicy<Record<string, never>>({
  name: "glue-jdbc-ssl",
  description:
    'JDBC Glue connections set JDBC_ENFORCE_SSL to "true", so credentials and rows never cross the network in clear.',
  severity: "high",
  remediationSteps: 'Add JDBC_ENFORCE_SSL: "true" to the connection\'s connectionProperties.',
  types: [CONNECTION],
  config: {},
  validate: (r, _config, report) => {
    const type = r.props.connectionType;
    // JDBC is the provider's default connection type.
    if (isUnknown(type) || (asString(type) ?? "JDBC") !== "JDBC") return;
    const ssl = asObject(r.props.connectionProperties)?.JDBC_ENFORCE_SSL;
    if (isUnknown(ssl)) return;
    if (asString(ssl)?.toLowerCase() !== "true") {
      report(
        `${label(r)}: connectionProperties.JDBC_ENFORCE_SSL is ${ssl === undefined ? "not set" : JSON.stringify(ssl)}; ` +
          `JDBC connections must set it to "true".`,
      );
    }
  },
});

export const gluePolicies = [
  glueSecurityConfigurationEncryption,
  glueSecurityConfigurationAttached,
  glueJobLoggingAndMetrics,
  glueJobRuntimeArguments,
  glueJobBookmarkConcurrency,
  glueJobTimeout,
  glueJobVersion,
  glueProdJobRetries,
  glueJobWorkerCap,
  glueNoPlaintextSecrets,
  glueJdbcSsl,
];
