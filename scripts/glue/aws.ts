/**
 * AWS clients from the usual environment (AWS_REGION, AWS_PROFILE, AWS_ENDPOINT_URL, shared
 * config files) with the flags on top, and AWS errors turned into sentences that say what to do.
 */
import { GlueClient } from "@aws-sdk/client-glue";
import { S3Client } from "@aws-sdk/client-s3";
import { CliError, EXIT, UsageError } from "./errors";

export interface AwsSettings {
  readonly region?: string;
  readonly profile?: string;
  readonly endpointUrl?: string;
}

export interface Aws {
  readonly glue: GlueClient;
  /** Created on first use: only backfill lists S3. */
  s3(): S3Client;
  /** The Glue endpoint requests go to, for error messages. */
  endpoint(): Promise<string>;
}

/** Tries per request, including the first; the SDK backs off between them. */
export const MAX_ATTEMPTS = 5;
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

export function createAws(settings: AwsSettings, env: NodeJS.ProcessEnv = process.env): Aws {
  const region = settings.region ?? env.AWS_REGION ?? env.AWS_DEFAULT_REGION;
  const endpointUrl =
    settings.endpointUrl !== undefined
      ? checkEndpointUrl(settings.endpointUrl, "--endpoint-url")
      : undefined;
  const envS3Endpoint = env.AWS_ENDPOINT_URL_S3 ?? env.AWS_ENDPOINT_URL;
  const common = {
    ...(region ? { region } : {}),
    ...(settings.profile ? { profile: settings.profile } : {}),
    // AWS_MAX_ATTEMPTS, when set, is the user's choice and wins.
    ...(env.AWS_MAX_ATTEMPTS ? {} : { maxAttempts: MAX_ATTEMPTS }),
    retryMode: env.AWS_RETRY_MODE ?? "adaptive",
    requestHandler: {
      connectionTimeout: CONNECTION_TIMEOUT_MS,
      requestTimeout: REQUEST_TIMEOUT_MS,
    },
  };
  const glue = new GlueClient({ ...common, ...(endpointUrl ? { endpoint: endpointUrl } : {}) });
  let s3: S3Client | undefined;
  return {
    glue,
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

/** Worth another try after the SDK's own retries: Glue's timeouts, throttling, 5xx, network. */
export function isTransient(e: unknown): boolean {
  const s = shape(e);
  const status = s.$metadata?.httpStatusCode ?? 0;
  return (
    networkCode(e) !== undefined ||
    status === 429 ||
    status >= 500 ||
    [
      "OperationTimeoutException",
      "ThrottlingException",
      "InternalServiceException",
      "TimeoutError",
    ].includes(s.name ?? "")
  );
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
    return new CliError("no AWS region configured", EXIT.USAGE, [
      "pass --region eu-west-1, set AWS_REGION, or set a region in your AWS profile",
    ]);
  }
  if (s.name === "CredentialsProviderError" || /could not load credentials/i.test(message)) {
    return new CliError(`no AWS credentials found while ${doing}`, EXIT.AWS, [
      "use --profile <name> or AWS_PROFILE, or set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY",
      `(${message})`,
    ]);
  }
  if (/Deserialization error/.test(message)) {
    const status = s.$metadata?.httpStatusCode;
    return new CliError(
      `${await aws.endpoint()} answered${status ? ` HTTP ${status}` : ""} with something that is not an AWS response while ${doing}`,
      EXIT.AWS,
      ["is --endpoint-url / AWS_ENDPOINT_URL an AWS endpoint that implements this call?"],
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
        `${s.name && s.name !== "Error" ? `${s.name}: ` : ""}${message || "unknown error"} (while ${doing})`,
        EXIT.AWS,
      );
  }
}
