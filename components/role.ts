import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { AwsContext, PolicyStatement, policyDocument, serviceTrustPolicy } from "../lib/aws";
import { formerType } from "../lib/aliases";

/** A bucket, or a prefix of it ("" for the whole bucket). */
export interface S3Location {
  readonly bucketArn: pulumi.Input<string>;
  /** Key prefix without a leading slash, e.g. `csv/`. Default "" (the whole bucket). */
  readonly prefix?: string;
  /** Allow listing the prefix (jobs that read by exact key, such as scripts, need not). Default true. */
  readonly list?: boolean;
}

export interface GlueJobRoleArgs {
  readonly context: AwsContext;
  /** Read-only locations: the job's input and its script. */
  readonly read: S3Location[];
  /** Read-write locations: output, rejected rows, temp. */
  readonly readWrite: S3Location[];
  /** KMS key that encrypts the buckets, logs and bookmarks. */
  readonly kmsKeyArn: pulumi.Input<string>;
  /** Further statements a pipeline needs (e.g. one secret). Default none. */
  readonly extraStatements?: PolicyStatement[];
  readonly tags: Record<string, string>;
}

const READ_ACTIONS = ["s3:GetObject", "s3:GetObjectVersion"];
const WRITE_ACTIONS = [
  "s3:PutObject",
  "s3:DeleteObject",
  "s3:AbortMultipartUpload",
  "s3:ListMultipartUploadParts",
];

function objectArns(locations: S3Location[]): pulumi.Output<string>[] {
  return locations.map((l) => pulumi.interpolate`${l.bucketArn}/${l.prefix ?? ""}*`);
}

/** ListBucket on each bucket, limited to the prefix where one is given. */
function listStatements(sid: string, locations: S3Location[]): PolicyStatement[] {
  return locations
    .filter((l) => l.list !== false)
    .map((l, i) => ({
      Sid: `${sid}${i}`,
      Effect: "Allow",
      Action: "s3:ListBucket",
      Resource: l.bucketArn,
      ...(l.prefix ? { Condition: { StringLike: { "s3:prefix": [`${l.prefix}*`] } } } : {}),
    }));
}

export interface GlueServiceRoleArgs {
  readonly description: string;
  readonly partition: pulumi.Input<string>;
  /** The inline policy: exactly what this role's job or crawler needs. */
  readonly statements: PolicyStatement[];
  readonly tags: Record<string, string>;
}

/**
 * The shape every Glue role here shares: trusted by glue.amazonaws.com only, the AWS Glue
 * service policy, and one inline policy. Children are named `${name}-role`,
 * `${name}-glue-service` and `${name}-access`, under `parent`.
 */
export function glueServiceRole(
  parent: pulumi.Resource,
  name: string,
  args: GlueServiceRoleArgs,
): { role: aws.iam.Role; attachment: aws.iam.RolePolicyAttachment; policy: aws.iam.RolePolicy } {
  const child = { parent };
  const role = new aws.iam.Role(
    `${name}-role`,
    {
      description: args.description,
      assumeRolePolicy: serviceTrustPolicy("glue.amazonaws.com"),
      tags: args.tags,
    },
    child,
  );
  const attachment = new aws.iam.RolePolicyAttachment(
    `${name}-glue-service`,
    {
      role: role.name,
      policyArn: pulumi.interpolate`arn:${args.partition}:iam::aws:policy/service-role/AWSGlueServiceRole`,
    },
    child,
  );
  const policy = new aws.iam.RolePolicy(
    `${name}-access`,
    { role: role.id, policy: policyDocument(args.statements) },
    child,
  );
  return { role, attachment, policy };
}

/**
 * The role a Glue job runs as: trusted by glue.amazonaws.com only, with the AWS Glue service
 * policy and an inline policy scoped to exactly this pipeline's buckets and prefixes.
 */
export class GlueJobRole extends pulumi.ComponentResource {
  public readonly role: aws.iam.Role;
  public readonly arn: pulumi.Output<string>;

  constructor(name: string, args: GlueJobRoleArgs, opts?: pulumi.ComponentResourceOptions) {
    super("glue-etl:role:GlueJobRole", name, {}, formerType("glue-etl:iam:GlueJobRole", opts));
    const { accountId, region, partition } = args.context;
    const statements: PolicyStatement[] = [
      {
        Sid: "ReadInputAndScripts",
        Effect: "Allow",
        Action: READ_ACTIONS,
        Resource: objectArns(args.read),
      },
      ...listStatements("ListInput", args.read),
      {
        Sid: "WriteOutputAndTemp",
        Effect: "Allow",
        Action: [...READ_ACTIONS, ...WRITE_ACTIONS],
        Resource: objectArns(args.readWrite),
      },
      ...listStatements("ListOutput", args.readWrite),
      {
        Sid: "UsePipelineKey",
        Effect: "Allow",
        Action: [
          "kms:Decrypt",
          "kms:Encrypt",
          "kms:GenerateDataKey",
          "kms:ReEncrypt*",
          "kms:DescribeKey",
        ],
        Resource: args.kmsKeyArn,
      },
      {
        // Needed for the security configuration's CloudWatch encryption.
        Sid: "EncryptGlueLogs",
        Effect: "Allow",
        Action: "logs:AssociateKmsKey",
        Resource: pulumi.interpolate`arn:${partition}:logs:${region}:${accountId}:log-group:/aws-glue/*`,
      },
      ...(args.extraStatements ?? []),
    ];
    this.role = glueServiceRole(this, name, {
      description: "Runs this pipeline's Glue job",
      partition,
      statements,
      tags: args.tags,
    }).role;
    this.arn = this.role.arn;
    this.registerOutputs({ roleArn: this.arn });
  }
}
