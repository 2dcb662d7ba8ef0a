import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { AwsContext, PolicyStatement, policyDocument } from "../lib/aws";

/**
 * A key policy statement that lets CloudWatch Logs in the deployment's region use the key for
 * the log groups `condition` admits (by the `kms:EncryptionContext:aws:logs:arn` context).
 */
export function cloudWatchLogsKeyStatement(
  ctx: Pick<AwsContext, "region">,
  sid: string,
  condition: NonNullable<PolicyStatement["Condition"]>,
): PolicyStatement {
  return {
    Sid: sid,
    Effect: "Allow",
    Principal: { Service: pulumi.interpolate`logs.${ctx.region}.amazonaws.com` },
    Action: [
      "kms:Encrypt*",
      "kms:Decrypt*",
      "kms:ReEncrypt*",
      "kms:GenerateDataKey*",
      "kms:Describe*",
    ],
    Resource: "*",
    Condition: condition,
  };
}

export interface PipelineSecurityArgs {
  /** Physical name of the Glue security configuration and the key alias, e.g. `glue-etl-dev-genomics`. */
  readonly physicalName: string;
  readonly context: AwsContext;
  /** Extra key policy statements, e.g. for a service that publishes with the key. Default none. */
  readonly extraKeyStatements?: PolicyStatement[];
  readonly tags: Record<string, string>;
}

/**
 * The pipeline's customer-managed KMS key (rotated yearly) and the Glue security configuration
 * that uses it for S3 output (SSE-KMS), CloudWatch logs (SSE-KMS) and job bookmarks (CSE-KMS).
 */
export class PipelineSecurity extends pulumi.ComponentResource {
  public readonly key: aws.kms.Key;
  public readonly securityConfiguration: aws.glue.SecurityConfiguration;

  constructor(name: string, args: PipelineSecurityArgs, opts?: pulumi.ComponentResourceOptions) {
    super("glue-etl:security:PipelineSecurity", name, {}, opts);
    const { accountId, region, partition } = args.context;
    const logGroups = pulumi.interpolate`arn:${partition}:logs:${region}:${accountId}:log-group:/aws-glue/*`;

    this.key = new aws.kms.Key(
      `${name}-key`,
      {
        description: `Encrypts data, logs and job bookmarks of ${args.physicalName}`,
        enableKeyRotation: true,
        deletionWindowInDays: 30,
        policy: policyDocument([
          {
            Sid: "AccountAdministersKeyThroughIam",
            Effect: "Allow",
            Principal: { AWS: pulumi.interpolate`arn:${partition}:iam::${accountId}:root` },
            Action: "kms:*",
            Resource: "*",
          },
          // Glue's security configuration encrypts its CloudWatch log groups with this key.
          cloudWatchLogsKeyStatement(args.context, "CloudWatchLogsForGlueLogGroups", {
            ArnLike: { "kms:EncryptionContext:aws:logs:arn": logGroups },
          }),
          ...(args.extraKeyStatements ?? []),
        ]),
        tags: args.tags,
      },
      { parent: this },
    );
    new aws.kms.Alias(
      `${name}-key-alias`,
      { name: `alias/${args.physicalName}`, targetKeyId: this.key.keyId },
      { parent: this },
    );
    this.securityConfiguration = new aws.glue.SecurityConfiguration(
      `${name}-security-configuration`,
      {
        name: args.physicalName,
        encryptionConfiguration: {
          s3Encryption: { s3EncryptionMode: "SSE-KMS", kmsKeyArn: this.key.arn },
          cloudwatchEncryption: { cloudwatchEncryptionMode: "SSE-KMS", kmsKeyArn: this.key.arn },
          jobBookmarksEncryption: {
            jobBookmarksEncryptionMode: "CSE-KMS",
            kmsKeyArn: this.key.arn,
          },
        },
      },
      { parent: this },
    );
    this.registerOutputs({
      kmsKeyArn: this.key.arn,
      securityConfigurationName: this.securityConfiguration.name,
    });
  }
}
