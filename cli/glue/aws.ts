/**
 * AWS clients from the usual environment (AWS_REGION, AWS_PROFILE, AWS_ENDPOINT_URL, shared
 * config files) with the flags on top, and AWS errors turned into sentences that say what to do.
 * Retries are the SDK's own (one layer): throttling, 5xx, timeouts and network errors, up to
 * MAX_ATTEMPTS tries with backoff.
 */
import { GlueClient, ServiceInputTypes, ServiceOutputTypes } from "@aws-sdk/client-glue";
import { S3Client } from "@aws-sdk/client-s3";
import { STATUS_CODES } from "node:http";
import { loadSharedConfigFiles } from "@smithy/core/config";
import type { FinalizeRequestMiddleware } from "@smithy/types";
import { CliError, EXIT, UsageError } from "./errors";

export interface AwsSettings {
  readonly region?: string;
  readonly profile?: string;
  readonly endpointUrl?: string;
}

export interface Aws {
  readonly glue: GlueClient;
  /** The named profile in use (--profile or AWS_PROFILE), for messages. */
  readonly profile?: string;
  /** Created on first use: only backfill lists S3. */
  s3(): S3Client;
  /** The Glue endpoint requests go to, for error messages. */
  endpoint(): Promise<string>;
  destroy(): void;
}

/** Tries per request, including the first; the SDK backs off between them. */
export const MAX_ATTEMPTS = 5;
/** Glue answers OperationTimeoutException for a call that may well pass when tried again. */
const RETRYABLE_GLUE_ERRORS = ["OperationTimeoutException"];
/** Fail fast on an endpoint that does not answer instead of hanging on the OS default. */
const CONNECTION_TIMEOUT_MS = 3000;
const REQUEST_TIMEOUT_MS = 30_000;

export function checkEndpointUrl(value: string, source: string): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new UsageError(`${source} is not a URL: ${JSON.stringify(value)}`, [
      "expected something like http://127.0.0.1:5000 or https://glue.eu-west-1.amazonaws.com",
    ]);
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    throw new UsageError(
      `${source} must be an http:// or https:// URL, got ${JSON.stringify(value)}`,
    );
  }
  return value.replace(/\/+$/, "");
}

/**
 * Marks Glue errors worth another try as retryable, below the SDK's retry middleware, so its one
 * retry strategy (attempts, backoff, retry quota) covers them too.
 */
const markRetryable: FinalizeRequestMiddleware<ServiceInputTypes, ServiceOutputTypes> =
  (next) => async (args) => {
    try {
      return await next(args);
    } catch (e) {
      if (RETRYABLE_GLUE_ERRORS.includes(errorName(e) ?? "")) {
        Object.assign(e as object, { $retryable: {} });
      }
      throw e;
    }
  };

/** The profile a client would use: --profile, else AWS_PROFILE unless keys are in the environment. */
function profileInUse(settings: AwsSettings, env: NodeJS.ProcessEnv) {
  if (settings.profile) return { name: settings.profile, source: "--profile" };
  if (env.AWS_PROFILE && !env.AWS_ACCESS_KEY_ID)
    return { name: env.AWS_PROFILE, source: "AWS_PROFILE" };
  return undefined;
}

/**
 * A named profile that is in neither AWS file would fail later as "could not load credentials"
 * or "region is missing"; say which name is unknown before any AWS call.
 */
export async function checkProfile(settings: AwsSettings, env: NodeJS.ProcessEnv): Promise<void> {
  const profile = profileInUse(settings, env);
  if (!profile) return;
  const configFile = env.AWS_CONFIG_FILE ?? "~/.aws/config";
  const credentialsFile = env.AWS_SHARED_CREDENTIALS_FILE ?? "~/.aws/credentials";
  const files = await loadSharedConfigFiles({
    ignoreCache: true,
    ...(env.AWS_CONFIG_FILE ? { configFilepath: env.AWS_CONFIG_FILE } : {}),
    ...(env.AWS_SHARED_CREDENTIALS_FILE ? { filepath: env.AWS_SHARED_CREDENTIALS_FILE } : {}),
  });
  const names = new Set(
    [...Object.keys(files.configFile), ...Object.keys(files.credentialsFile)].filter(
      (n) => !/^(sso-session|services)\./.test(n),
    ),
  );
  if (names.has(profile.name)) return;
  throw new UsageError(
    `unknown AWS profile ${JSON.stringify(profile.name)} (from ${profile.source}): it is in neither ${configFile} nor ${credentialsFile}`,
    [
      names.size > 0
        ? `profiles there: ${[...names].sort().join(", ")}`
        : "no profiles are configured there",
      `create it (aws configure --profile ${profile.name}, or aws configure sso), or pass another --profile`,
    ],
  );
}

export function createAws(settings: AwsSettings, env: NodeJS.ProcessEnv = process.env): Aws {
  const region = settings.region ?? env.AWS_REGION ?? env.AWS_DEFAULT_REGION;
  const endpointUrl =
    settings.endpointUrl !== undefined
      ? checkEndpointUrl(settings.endpointUrl, "--endpoint-url")
      : undefined;
  const envS3Endpoint = env.AWS_ENDPOINT_URL_S3 ?? env.AWS_ENDPOINT_URL;
  const profile = profileInUse(settings, env)?.name;
  const common = {
    ...(region ? { region } : {}),
    ...(settings.profile ? { profile: settings.profile } : {}),
    // AWS_MAX_ATTEMPTS and AWS_RETRY_MODE, when set, are the user's choice and win.
    ...(env.AWS_MAX_ATTEMPTS ? {} : { maxAttempts: MAX_ATTEMPTS }),
    retryMode: env.AWS_RETRY_MODE ?? "adaptive",
    requestHandler: {
      connectionTimeout: CONNECTION_TIMEOUT_MS,
      requestTimeout: REQUEST_TIMEOUT_MS,
    },
  };
  const glue = new GlueClient({ ...common, ...(endpointUrl ? { endpoint: endpointUrl } : {}) });
  glue.middlewareStack.addRelativeTo(markRetryable, {
    relation: "after",
    toMiddleware: "retryMiddleware",
    name: "glueEtlMarkRetryable",
  });
  let s3: S3Client | undefined;
  return {
    glue,
    ...(profile ? { profile } : {}),
    s3() {
      const custom = endpointUrl ?? envS3Endpoint;
      // A local S3 endpoint has no per-bucket DNS names.
      s3 ??= new S3Client({
        ...common,
        ...(endpointUrl ? { endpoint: endpointUrl } : {}),
        ...(custom ? { forcePathStyle: true } : {}),
      });
      return s3;
    },
    async endpoint() {
      if (endpointUrl) return endpointUrl;
      const fromEnv = env.AWS_ENDPOINT_URL_GLUE ?? env.AWS_ENDPOINT_URL;
      if (fromEnv) return fromEnv;
      try {
        return `https://glue.${await glue.config.region()}.amazonaws.com`;
      } catch {
        return "the AWS Glue endpoint";
      }
    },
    destroy() {
      glue.destroy();
      s3?.destroy();
    },
  };
}

interface AwsErrorShape {
  name?: string;
  message?: string;
  code?: string;
  errors?: { code?: string }[];
  $metadata?: { httpStatusCode?: number; attempts?: number };
}

function shape(e: unknown): AwsErrorShape {
  return typeof e === "object" && e !== null ? (e as AwsErrorShape) : { message: String(e) };
}

export function errorName(e: unknown): string | undefined {
  return shape(e).name;
}

const NETWORK_CODES = [
  "ECONNREFUSED",
  "ECONNRESET",
  "ETIMEDOUT",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "ENOTFOUND",
  "EAI_AGAIN",
  "EPIPE",
];

function networkCode(e: unknown): string | undefined {
  const s = shape(e);
  const code = s.code ?? s.errors?.find((x) => x.code)?.code;
  if (code && NETWORK_CODES.includes(code)) return code;
  if (s.name === "TimeoutError") return "ETIMEDOUT";
  return undefined;
}

/**
 * An AWS or network error as a CliError whose message says what failed, in which endpoint and
 * what to try. `doing` completes "... while <doing>", e.g. "starting a run of job x-dev".
 */
export async function explainAwsError(e: unknown, doing: string, aws: Aws): Promise<CliError> {
  if (e instanceof CliError) return e;
  const s = shape(e);
  const message = (s.message ?? "").trim();
  const net = networkCode(e);
  if (net) {
    const endpoint = await aws.endpoint();
    const what =
      net === "ECONNREFUSED"
        ? "connection refused"
        : net === "ETIMEDOUT"
          ? "no answer in time"
          : net === "ENOTFOUND" || net === "EAI_AGAIN"
            ? "host name not found"
            : `network error ${net}`;
    return new CliError(`cannot reach ${endpoint} (${what}) while ${doing}`, EXIT.AWS, [
      "check --endpoint-url / AWS_ENDPOINT_URL and --region / AWS_REGION, and your network",
    ]);
  }
  if (/region is missing/i.test(message)) {
    const which = aws.profile ? ` (AWS profile ${JSON.stringify(aws.profile)} sets none)` : "";
    return new CliError(`no AWS region configured${which}`, EXIT.USAGE, [
      "pass --region eu-west-1, set AWS_REGION, or set a region in your AWS profile",
    ]);
  }
  if (s.name === "CredentialsProviderError" || /could not load credentials/i.test(message)) {
    const which = aws.profile ? ` for AWS profile ${JSON.stringify(aws.profile)}` : "";
    return new CliError(`no AWS credentials found${which} while ${doing}`, EXIT.AWS, [
      "use --profile <name> or AWS_PROFILE, or set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY",
      `(${message})`,
    ]);
  }
  const status = s.$metadata?.httpStatusCode;
  // The SDK names an answer it cannot read as an AWS error "Unknown" (empty or unmodelled body)
  // or a deserialization error (HTML or text from a proxy or a wrong endpoint).
  if (/Deserialization error/.test(message) || s.name === "Unknown" || message === "UnknownError") {
    const tries = s.$metadata?.attempts;
    return new CliError(
      `${await aws.endpoint()} answered${status ? ` HTTP ${status}${STATUS_CODES[status] ? ` ${STATUS_CODES[status]}` : ""}` : ""} with something that is not an AWS response while ${doing}${tries && tries > 1 ? ` (${tries} tries)` : ""}`,
      EXIT.AWS,
      [
        status !== undefined && status >= 500
          ? "the endpoint or a proxy in front of it is failing; try again later, or check --endpoint-url / AWS_ENDPOINT_URL"
          : "is --endpoint-url / AWS_ENDPOINT_URL an AWS endpoint that implements this call?",
      ],
    );
  }
  switch (s.name) {
    case "AccessDeniedException":
      return new CliError(`AWS denied access while ${doing}: ${message}`, EXIT.AWS, [
        "the credentials in use need the glue:* actions this command calls on the job",
      ]);
    case "ThrottlingException":
      return new CliError(
        `AWS kept throttling the requests while ${doing}, even after ${s.$metadata?.attempts ?? MAX_ATTEMPTS} tries`,
        EXIT.AWS,
        ["wait a minute and try again, or raise AWS_MAX_ATTEMPTS"],
      );
    case "UnrecognizedClientException":
    case "InvalidSignatureException":
    case "ExpiredTokenException":
      return new CliError(`AWS rejected the credentials while ${doing}: ${message}`, EXIT.AWS, [
        "refresh your session (aws sso login, or new keys) and check --profile / AWS_PROFILE",
      ]);
    case "InvalidInputException":
      return new CliError(`Glue rejected the request while ${doing}: ${message}`, EXIT.AWS);
    case "ResourceNumberLimitExceededException":
      return new CliError(`an AWS account limit was reached while ${doing}: ${message}`, EXIT.AWS);
    default:
      return new CliError(
        `${s.name && s.name !== "Error" ? `${s.name}: ` : ""}${message || "unknown error"} (${status ? `HTTP ${status}, ` : ""}while ${doing})`,
        EXIT.AWS,
      );
  }
}
