/** Small builders for the resources the policy tests put in a stack. */
import { ResourceSpec } from "./harness";

export const TAGS = { environment: "dev", owner: "data-platform", "cost-center": "CC-4711" };

export const T = {
  bucket: "aws:s3/bucket:Bucket",
  encryption:
    "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
  publicAccess: "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock",
  accountPublicAccess: "aws:s3/accountPublicAccessBlock:AccountPublicAccessBlock",
  bucketPolicy: "aws:s3/bucketPolicy:BucketPolicy",
  versioning: "aws:s3/bucketVersioning:BucketVersioning",
  logging: "aws:s3/bucketLogging:BucketLogging",
  logGroup: "aws:cloudwatch/logGroup:LogGroup",
  table: "aws:dynamodb/table:Table",
  role: "aws:iam/role:Role",
  rolePolicy: "aws:iam/rolePolicy:RolePolicy",
  attachment: "aws:iam/rolePolicyAttachment:RolePolicyAttachment",
  iamPolicy: "aws:iam/policy:Policy",
  job: "aws:glue/job:Job",
  crawler: "aws:glue/crawler:Crawler",
  connection: "aws:glue/connection:Connection",
  trigger: "aws:glue/trigger:Trigger",
  securityConfiguration: "aws:glue/securityConfiguration:SecurityConfiguration",
  topic: "aws:sns/topic:Topic",
  fn: "aws:lambda/function:Function",
  invokeConfig: "aws:lambda/functionEventInvokeConfig:FunctionEventInvokeConfig",
  queue: "aws:sqs/queue:Queue",
} as const;

export function spec(
  type: string,
  name: string,
  props: Record<string, unknown>,
  extra: Partial<ResourceSpec> = {},
): ResourceSpec {
  return { type, name, props, ...extra };
}

export function bucket(
  name: string,
  dataClass = "raw",
  extra: Record<string, unknown> = {},
): ResourceSpec {
  return spec(T.bucket, name, {
    bucket: `${name}-phys`,
    tags: { ...TAGS, "data-class": dataClass },
    ...extra,
  });
}

export function policyJson(...statements: object[]): string {
  return JSON.stringify({ Version: "2012-10-17", Statement: statements });
}

export function trust(...principals: object[]): string {
  return policyJson(
    ...principals.map((Principal) => ({ Effect: "Allow", Principal, Action: "sts:AssumeRole" })),
  );
}

/** A Spark job that passes every Glue policy in dev; override what a test is about. */
export function job(name: string, props: Record<string, unknown> = {}): ResourceSpec {
  return spec(T.job, name, {
    name: `${name}-dev`,
    roleArn: "arn:aws:iam::123456789012:role/glue",
    command: { name: "glueetl", scriptLocation: "s3://scripts/job.py", pythonVersion: "3" },
    glueVersion: "5.0",
    workerType: "G.1X",
    numberOfWorkers: 2,
    timeout: 2880,
    maxRetries: 0,
    securityConfiguration: "glue-etl-dev",
    defaultArguments: {
      "--enable-metrics": "true",
      "--enable-spark-ui": "true",
      "--spark-event-logs-path": "s3://temp/sparkui/",
      "--job-bookmark-option": "job-bookmark-enable",
    },
    tags: TAGS,
    ...props,
  });
}
