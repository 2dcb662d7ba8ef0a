import { expect } from "chai";
import {
  iamGlueRoleTrust,
  iamNoBroadManagedPolicies,
  iamNoWildcardActions,
} from "../../policy/iam";
import { checkResource, unknown } from "./harness";
import { T, policyJson, spec, trust } from "./fixtures";

const attach = (policyArn: string) =>
  spec(T.attachment, "glue-service", { role: "job-role", policyArn });

describe("iam-no-broad-managed-policies", () => {
  it("passes the Glue service role policy", async () => {
    const out = await checkResource(
      iamNoBroadManagedPolicies,
      attach("arn:aws:iam::aws:policy/service-role/AWSGlueServiceRole"),
    );
    expect(out.violations).to.deep.equal([]);
  });

  it("fails AmazonS3FullAccess, in any partition", async () => {
    const out = await checkResource(
      iamNoBroadManagedPolicies,
      attach("arn:aws-cn:iam::aws:policy/AmazonS3FullAccess"),
    );
    expect(out.violations.map((v) => v.message)).to.deep.equal([
      'RolePolicyAttachment "glue-service" attaches the AWS managed policy AmazonS3FullAccess ' +
        '(policyArn = "arn:aws-cn:iam::aws:policy/AmazonS3FullAccess"); forbidden: AdministratorAccess, ' +
        "AmazonS3FullAccess, PowerUserAccess, IAMFullAccess. Grant only the actions and resources needed.",
    ]);
  });

  it("fails AdministratorAccess in a role's managedPolicyArns", async () => {
    const role = spec(T.role, "job-role", {
      assumeRolePolicy: trust({ Service: "glue.amazonaws.com" }),
      managedPolicyArns: ["arn:aws:iam::aws:policy/AdministratorAccess"],
    });
    const out = await checkResource(iamNoBroadManagedPolicies, role, {
      config: { forbiddenManagedPolicies: ["AdministratorAccess"] },
    });
    expect(out.violations.map((v) => v.message)).to.deep.equal([
      'Role "job-role" attaches the AWS managed policy AdministratorAccess (managedPolicyArns = ' +
        '"arn:aws:iam::aws:policy/AdministratorAccess"); forbidden: AdministratorAccess. Grant only the actions and resources needed.',
    ]);
  });

  it("is not applicable to other resources", async () => {
    const out = await checkResource(iamNoBroadManagedPolicies, spec(T.topic, "alerts", {}));
    expect(out.notApplicable).to.match(/^applies only to aws:iam\/role:Role, /);
  });
});

describe("iam-no-wildcard-actions", () => {
  const scoped = policyJson({
    Effect: "Allow",
    Action: ["s3:GetObject"],
    Resource: "arn:aws:s3:::raw/*",
  });

  it("passes actions scoped to the pipeline's objects, and s3:* denies", async () => {
    const doc = policyJson(
      {
        Effect: "Allow",
        Action: ["s3:GetObject", "s3:PutObject"],
        Resource: ["arn:aws:s3:::raw/csv/*"],
      },
      { Effect: "Deny", Action: "s3:*", Resource: "*" },
    );
    const out = await checkResource(
      iamNoWildcardActions,
      spec(T.rolePolicy, "access", { role: "r", policy: doc }),
    );
    expect(out.violations).to.deep.equal([]);
  });

  it('fails s3:* on "*" in a RolePolicy, whatever the letter case', async () => {
    const doc = policyJson({ Sid: "All", Effect: "Allow", Action: ["S3:*"], Resource: "*" });
    const out = await checkResource(
      iamNoWildcardActions,
      spec(T.rolePolicy, "access", { role: "r", policy: doc }),
    );
    expect(out.violations.map((v) => v.message)).to.deep.equal([
      'RolePolicy "access": policy: statement "All" allows "S3:*" on all resources; forbidden on "*": *, s3:*, iam:*, kms:*, glue:*.',
    ]);
  });

  it('fails "*" on every S3 ARN in a role\'s inline policy, and NotAction', async () => {
    const role = spec(T.role, "job-role", {
      assumeRolePolicy: trust({ Service: "glue.amazonaws.com" }),
      inlinePolicies: [
        { name: "ok", policy: scoped },
        {
          name: "broad",
          policy: policyJson(
            { Effect: "Allow", Action: "*", Resource: "arn:aws:s3:::*" },
            { Effect: "Allow", NotAction: "iam:*", Resource: "*" },
          ),
        },
      ],
    });
    const out = await checkResource(iamNoWildcardActions, role, {
      config: { forbiddenActions: ["*"] },
    });
    expect(out.violations.map((v) => v.message)).to.deep.equal([
      'Role "job-role": inlinePolicies[1] (broad): a statement allows "*" on all resources; forbidden on "*": *.',
      'Role "job-role": inlinePolicies[1] (broad): a statement allows every action except iam:* on all resources; forbidden on "*": *.',
    ]);
  });

  it("fails s3:* on every object of every bucket", async () => {
    const doc = policyJson({
      Effect: "Allow",
      Action: "s3:*",
      Resource: ["arn:aws:s3:::raw/*", "arn:aws:s3:::*/*"],
    });
    const out = await checkResource(iamNoWildcardActions, spec(T.iamPolicy, "p", { policy: doc }));
    expect(out.violations.map((v) => v.message)).to.deep.equal([
      'Policy "p": policy: a statement allows "s3:*" on all resources; forbidden on "*": *, s3:*, iam:*, kms:*, glue:*.',
    ]);
  });

  it("fails a document that is not JSON", async () => {
    const out = await checkResource(
      iamNoWildcardActions,
      spec(T.iamPolicy, "p", { policy: "{not json" }),
    );
    expect(out.violations.map((v) => v.message)).to.deep.equal([
      'Policy "p": policy is not valid JSON, so it cannot be checked.',
    ]);
  });

  it("skips a document still being computed during a preview", async () => {
    const out = await checkResource(
      iamNoWildcardActions,
      spec(T.rolePolicy, "access", { role: unknown(), policy: unknown() }),
    );
    expect(out).to.deep.equal({ violations: [] });
  });
});

describe("iam-glue-role-trust", () => {
  it("passes a role trusted by glue.amazonaws.com only", async () => {
    const out = await checkResource(
      iamGlueRoleTrust,
      spec(T.role, "job-role", { assumeRolePolicy: trust({ Service: "glue.amazonaws.com" }) }),
    );
    expect(out.violations).to.deep.equal([]);
  });

  it("ignores roles Glue cannot assume", async () => {
    const out = await checkResource(
      iamGlueRoleTrust,
      spec(T.role, "fn-role", { assumeRolePolicy: trust({ Service: "lambda.amazonaws.com" }) }),
    );
    expect(out.violations).to.deep.equal([]);
  });

  it("fails a Glue role that another service or an account can also assume", async () => {
    const role = spec(T.role, "job-role", {
      assumeRolePolicy: trust(
        { Service: ["glue.amazonaws.com", "ec2.amazonaws.com"] },
        { AWS: "arn:aws:iam::999999999999:root" },
      ),
    });
    const out = await checkResource(iamGlueRoleTrust, role);
    expect(out.violations.map((v) => v.message)).to.deep.equal([
      'Role "job-role" is a Glue role but its assumeRolePolicy also trusts Service "ec2.amazonaws.com", ' +
        'AWS "arn:aws:iam::999999999999:root"; only Service "glue.amazonaws.com" may assume it.',
    ]);
  });

  it("optionally requires an aws:SourceAccount condition", async () => {
    const role = spec(T.role, "job-role", {
      assumeRolePolicy: trust({ Service: "glue.amazonaws.com" }),
    });
    const out = await checkResource(iamGlueRoleTrust, role, {
      config: { requireSourceAccount: true },
    });
    expect(out.violations.map((v) => v.message)).to.deep.equal([
      'Role "job-role": its trust statement for glue.amazonaws.com has no aws:SourceAccount condition.',
    ]);
    const guarded = spec(T.role, "job-role", {
      assumeRolePolicy: policyJson({
        Effect: "Allow",
        Principal: { Service: "glue.amazonaws.com" },
        Action: "sts:AssumeRole",
        Condition: { StringEquals: { "aws:SourceAccount": "123456789012" } },
      }),
    });
    expect(
      (await checkResource(iamGlueRoleTrust, guarded, { config: { requireSourceAccount: true } }))
        .violations,
    ).to.deep.equal([]);
  });
});
