import * as aws from "@pulumi/aws";
import * as awsx from "@pulumi/awsx";
import * as pulumi from "@pulumi/pulumi";

export interface JdbcConnectionArgs {
  /** Physical name of the Glue connection and the secret, e.g. `glue-etl-dev-tagging-jdbc`. */
  readonly physicalName: string;
  /** Region of the stack, for the S3 endpoint's service name. */
  readonly region: string;
  /** `jdbc:postgresql://host:5432/db` and the like. */
  readonly url: string;
  readonly username: string;
  /** The database password, kept as a Pulumi secret and stored only in Secrets Manager. */
  readonly password: pulumi.Input<string>;
  /** Key that encrypts the secret (the pipeline's key). */
  readonly kmsKeyArn: pulumi.Input<string>;
  readonly tags: Record<string, string>;
}

/**
 * A Glue JDBC connection whose credentials live in Secrets Manager and whose traffic must use
 * SSL, with the network Glue needs to reach a database: a VPC with private subnets in two zones,
 * one NAT gateway for egress, an S3 gateway endpoint (so job data never crosses the NAT), and a
 * security group that only lets the job's workers talk to each other.
 */
export class JdbcConnection extends pulumi.ComponentResource {
  public readonly connection: aws.glue.Connection;
  public readonly name: pulumi.Output<string>;
  public readonly secret: aws.secretsmanager.Secret;
  public readonly vpc: awsx.ec2.Vpc;

  constructor(name: string, args: JdbcConnectionArgs, opts?: pulumi.ComponentResourceOptions) {
    super("glue-etl:connection:JdbcConnection", name, {}, opts);
    const child = { parent: this };

    this.secret = new aws.secretsmanager.Secret(
      `${name}-secret`,
      {
        name: args.physicalName,
        description: `Credentials of the Glue connection ${args.physicalName}`,
        kmsKeyId: args.kmsKeyArn,
        recoveryWindowInDays: 7,
        tags: args.tags,
      },
      child,
    );
    new aws.secretsmanager.SecretVersion(
      `${name}-secret-value`,
      {
        secretId: this.secret.id,
        // Glue reads these two keys from the secret named by SECRET_ID.
        secretString: pulumi
          .secret(args.password)
          .apply((password) => JSON.stringify({ username: args.username, password })),
      },
      child,
    );

    this.vpc = new awsx.ec2.Vpc(
      `${name}-vpc`,
      {
        // The VPC the job's ENIs live in; private, so any range not peered elsewhere will do.
        cidrBlock: "10.42.0.0/16",
        numberOfAvailabilityZones: 2,
        subnetStrategy: "Auto",
        subnetSpecs: [
          { type: "Private", cidrMask: 20 },
          { type: "Public", cidrMask: 24 },
        ],
        natGateways: { strategy: "Single" },
        vpcEndpointStrategy: "Auto",
        vpcEndpointSpecs: [
          {
            serviceName: `com.amazonaws.${args.region}.s3`,
            vpcEndpointType: "Gateway",
          },
        ],
        tags: args.tags,
      },
      child,
    );

    const securityGroup = new aws.ec2.SecurityGroup(
      `${name}-sg`,
      {
        description: "Glue job workers: each other, and out to the database and AWS",
        vpcId: this.vpc.vpcId,
        // Glue requires a self-referencing rule so workers reach each other; nothing else comes in.
        ingress: [
          { protocol: "tcp", fromPort: 0, toPort: 65535, self: true, description: "Glue workers" },
        ],
        egress: [
          {
            protocol: "-1",
            fromPort: 0,
            toPort: 0,
            cidrBlocks: ["0.0.0.0/0"],
            description: "Database and AWS APIs",
          },
        ],
        tags: args.tags,
      },
      child,
    );
    const subnetId = this.vpc.privateSubnetIds.apply((ids) => {
      if (!ids[0]) throw new Error(`VPC ${name}-vpc has no private subnet for the Glue connection`);
      return ids[0];
    });
    const subnet = aws.ec2.getSubnetOutput({ id: subnetId }, child);

    this.connection = new aws.glue.Connection(
      `${name}-connection`,
      {
        name: args.physicalName,
        description: `JDBC to ${args.url.replace(/\?.*$/, "")}`,
        connectionType: "JDBC",
        connectionProperties: {
          JDBC_CONNECTION_URL: args.url,
          SECRET_ID: this.secret.name,
          JDBC_ENFORCE_SSL: "true",
        },
        physicalConnectionRequirements: {
          subnetId,
          availabilityZone: subnet.availabilityZone,
          securityGroupIdLists: [securityGroup.id],
        },
        tags: args.tags,
      },
      child,
    );
    this.name = this.connection.name;
    this.registerOutputs({
      connectionName: this.name,
      secretArn: this.secret.arn,
      vpcId: this.vpc.vpcId,
    });
  }
}
