import { expect } from "chai";
import { policies } from "../policy/policies";
import { ConfigValidationError } from "../lib/config";
import { OfflineProgramError, OfflineRun, runStackOffline } from "../tools/offline";
import { fromOfflineRun, runPolicies } from "./policy/harness";
import { named, ofType, policyOf } from "./support/program";

const JDBC = {
  url: "jdbc:postgresql://db.example.com:5432/analytics",
  table: "public.tagged_sales",
  username: "etl",
};

async function configError(overrides: Record<string, unknown>): Promise<string[]> {
  try {
    await runStackOffline("prod", overrides);
  } catch (e) {
    const cause = (e as OfflineProgramError).cause;
    expect(cause).to.be.instanceOf(ConfigValidationError);
    expect((e as OfflineProgramError).resources).to.deep.equal([]);
    return (cause as ConfigValidationError).problems.map((p) => `${p.key}: ${p.allowed}`);
  }
  throw new Error("expected a config error");
}

describe("tagging pipeline writing through a Glue JDBC connection", () => {
  let run: OfflineRun;
  before(async () => {
    run = await runStackOffline("prod", {
      "glue-etl:pipelines": { tagging: { jdbc: JDBC } },
      "glue-etl:jdbcPassword": "correct-horse-battery",
    });
  });

  it("keeps the credentials in a KMS-encrypted secret, as a Pulumi secret", () => {
    const secret = named(run, "aws:secretsmanager/secret:Secret", "tagging-jdbc-secret");
    expect(secret.inputs).to.include({
      name: "glue-etl-prod-tagging-jdbc",
      kmsKeyId: "arn:aws:kms:eu-west-1:123456789012:key/tagging-key-mock-key-id",
    });
    const version = named(
      run,
      "aws:secretsmanager/secretVersion:SecretVersion",
      "tagging-jdbc-secret-value",
    );
    expect(version.secretInputs).to.include("secretString");
    expect(JSON.parse(version.inputs.secretString as string)).to.deep.equal({
      username: "etl",
      password: "correct-horse-battery",
    });
  });

  it("creates a connection that enforces SSL and names the secret, not the password", () => {
    const conn = named(run, "aws:glue/connection:Connection", "tagging-jdbc-connection").inputs;
    expect(conn.connectionType).to.equal("JDBC");
    expect(conn.connectionProperties).to.deep.equal({
      JDBC_CONNECTION_URL: JDBC.url,
      JDBC_ENFORCE_SSL: "true",
      SECRET_ID: "glue-etl-prod-tagging-jdbc",
    });
    expect(JSON.stringify(conn)).not.to.include("correct-horse-battery");
    expect(conn.physicalConnectionRequirements).to.deep.equal({
      availabilityZone: "eu-west-1a",
      subnetId: "tagging-jdbc-vpc-private-a",
      securityGroupIdLists: ["tagging-jdbc-sg-id"],
    });
  });

  it("puts the workers in an awsx VPC with private subnets, one NAT and an S3 gateway endpoint", () => {
    const vpc = named(run, "awsx:ec2:Vpc", "tagging-jdbc-vpc").inputs;
    expect(vpc).to.deep.include({
      natGateways: { strategy: "Single" },
      vpcEndpointSpecs: [{ serviceName: "com.amazonaws.eu-west-1.s3", vpcEndpointType: "Gateway" }],
    });
    const sg = named(run, "aws:ec2/securityGroup:SecurityGroup", "tagging-jdbc-sg").inputs;
    expect(sg.ingress).to.deep.equal([
      { protocol: "tcp", fromPort: 0, toPort: 65535, self: true, description: "Glue workers" },
    ]);
  });

  it("gives the job the connection, the JDBC arguments and read access to that one secret", () => {
    const job = named(run, "aws:glue/job:Job", "tagging-job").inputs;
    expect(job.connections).to.deep.equal(["glue-etl-prod-tagging-jdbc"]);
    const args = job.defaultArguments as Record<string, string>;
    expect(args).to.include({
      "--JDBC_CONNECTION_NAME": "glue-etl-prod-tagging-jdbc",
      "--JDBC_TABLE": "public.tagged_sales",
    });
    expect(args).not.to.have.property("--OUTPUT_PATH");
    const statement = policyOf(
      named(run, "aws:iam/rolePolicy:RolePolicy", "tagging-access"),
    ).Statement.find((s) => s.Sid === "ReadConnectionSecret");
    expect(statement).to.deep.include({
      Action: "secretsmanager:GetSecretValue",
      Resource:
        "arn:aws:secretsmanager:eu-west-1:123456789012:secret:glue-etl-prod-tagging-jdbc-AbCdEf",
    });
    expect(ofType(run, "aws:glue/connection:Connection")).to.have.length(1);
  });

  it("passes every policy, including JDBC SSL and plaintext-secret checks", async () => {
    const violations = await runPolicies(policies, fromOfflineRun(run), { stack: "prod" });
    expect(violations.map((v) => `${v.policy}: ${v.message}`)).to.deep.equal([]);
  });

  it("refuses a JDBC target without the password secret", async () => {
    expect(await configError({ "glue-etl:pipelines": { tagging: { jdbc: JDBC } } })).to.deep.equal([
      "glue-etl:jdbcPassword: a secret, required with a jdbc target: pulumi config set --secret glue-etl:jdbcPassword <password>",
    ]);
  });

  it("refuses a bad URL, a bad table and a JDBC target on a pipeline that cannot write one", async () => {
    expect(
      await configError({
        "glue-etl:pipelines": {
          tagging: { jdbc: { url: "postgres://db/x", table: "drop table;", username: "etl" } },
          genomics: { jdbc: JDBC },
        },
        "glue-etl:jdbcPassword": "x",
      }),
    ).to.deep.equal([
      "glue-etl:pipelines.genomics.jdbc: only for pipelines that write through JDBC: tagging",
      "glue-etl:pipelines.tagging.jdbc.url: a JDBC URL such as jdbc:postgresql://db.example.com:5432/analytics (postgresql, mysql, sqlserver, oracle:thin, redshift)",
      "glue-etl:pipelines.tagging.jdbc.table: a table name, optionally schema-qualified, e.g. public.tagged_sales",
    ]);
  });
});
