import { expect } from "chai";
import {
  lambdaDeadLetter,
  lambdaGlueStartIdempotent,
  lambdaLogGroupEncrypted,
  lambdaScopedRole,
  snsTopicEncrypted,
} from "../../policy/sns-lambda";
import { checkResource, checkStack, urnOf } from "./harness";
import { T, policyJson, spec, trust } from "./fixtures";

const ACCOUNT = "123456789012";
const roleArn = (name: string) => `arn:aws:iam::${ACCOUNT}:role/${name}`;
const messages = (o: { violations: { message: string }[] }) => o.violations.map((v) => v.message);

describe("sns-topic-encrypted", () => {
  it("passes a topic under a customer-managed key", async () => {
    const topic = spec(T.topic, "alerts", {
      kmsMasterKeyId: "arn:aws:kms:eu-west-1:123456789012:key/k",
    });
    expect((await checkResource(snsTopicEncrypted, topic)).violations).to.deep.equal([]);
  });

  it("fails an unencrypted topic", async () => {
    expect(
      messages(await checkResource(snsTopicEncrypted, spec(T.topic, "alerts", {}))),
    ).to.deep.equal([
      'SNS topic "alerts" has no kmsMasterKeyId: set it to a customer-managed KMS key.',
    ]);
  });

  it("fails the AWS managed key unless allowed", async () => {
    const topic = spec(T.topic, "alerts", { kmsMasterKeyId: "alias/aws/sns" });
    expect(messages(await checkResource(snsTopicEncrypted, topic))).to.deep.equal([
      'SNS topic "alerts" uses the AWS managed key "alias/aws/sns"; EventBridge alerts cannot be published to it. Use a customer-managed KMS key.',
    ]);
    expect(
      (await checkResource(snsTopicEncrypted, topic, { config: { allowAwsManagedKey: true } }))
        .violations,
    ).to.deep.equal([]);
  });
});

/** A function starting a Glue job, with its own scoped role. */
function scopedFunction(extra: Record<string, unknown> = {}) {
  return [
    spec(T.role, "start-role", {
      name: "start-role",
      arn: roleArn("start-role"),
      assumeRolePolicy: trust({ Service: "lambda.amazonaws.com" }),
    }),
    spec(T.attachment, "start-logs", {
      role: "start-role",
      policyArn: "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole",
    }),
    spec(T.rolePolicy, "start-access", {
      role: "start-role",
      policy: policyJson({
        Effect: "Allow",
        Action: "glue:StartJobRun",
        Resource: `arn:aws:glue:eu-west-1:${ACCOUNT}:job/genomics-dev`,
      }),
    }),
    spec(T.fn, "start", {
      name: "start-dev",
      role: roleArn("start-role"),
      deadLetterConfig: { targetArn: "arn:aws:sqs:eu-west-1:1:dlq" },
      ...extra,
    }),
  ];
}

describe("lambda-dead-letter", () => {
  it("passes a function with a dead-letter queue, or with an on-failure destination", async () => {
    expect((await checkStack(lambdaDeadLetter, scopedFunction())).violations).to.deep.equal([]);
    const invokeConfig = spec(T.invokeConfig, "start-async", {
      functionName: "start-dev",
      destinationConfig: { onFailure: { destination: "arn:aws:sqs:eu-west-1:1:dlq" } },
    });
    const stack = [...scopedFunction({ deadLetterConfig: undefined }), invokeConfig];
    expect((await checkStack(lambdaDeadLetter, stack)).violations).to.deep.equal([]);
  });

  it("fails a function that drops failed events", async () => {
    const out = await checkStack(lambdaDeadLetter, scopedFunction({ deadLetterConfig: undefined }));
    expect(out.violations).to.deep.equal([
      {
        policy: "lambda-dead-letter",
        urn: urnOf(T.fn, "start"),
        message:
          'Lambda function "start" (start-dev) has no dead-letter destination: set deadLetterConfig.targetArn (SQS or SNS) ' +
          "or add a FunctionEventInvokeConfig with destinationConfig.onFailure, so failed events are kept.",
      },
    ]);
    const exempt = await checkStack(
      lambdaDeadLetter,
      scopedFunction({ deadLetterConfig: undefined }),
      { config: { exemptFunctions: ["start-dev"] } },
    );
    expect(exempt.violations).to.deep.equal([]);
  });
});

describe("lambda-scoped-role", () => {
  it("passes a dedicated role with the basic execution policy and one job's StartJobRun", async () => {
    expect((await checkStack(lambdaScopedRole, scopedFunction())).violations).to.deep.equal([]);
  });

  it('fails a role with a broad managed policy, a wildcard action and Resource "*"', async () => {
    const stack = [
      ...scopedFunction(),
      spec(T.attachment, "start-s3", {
        role: "start-role",
        policyArn: "arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess",
      }),
      spec(T.rolePolicy, "start-more", {
        role: "start-role",
        policy: policyJson({
          Effect: "Allow",
          Action: ["glue:*", "sqs:SendMessage"],
          Resource: "*",
        }),
      }),
    ];
    expect(messages(await checkStack(lambdaScopedRole, stack))).to.deep.equal([
      'Lambda function "start" (start-dev): its role "start-role" is not scoped to it: it has the AWS managed policy ' +
        "AmazonS3ReadOnlyAccess (allowed: service-role/AWSLambdaBasicExecutionRole, service-role/AWSLambdaVPCAccessExecutionRole, " +
        'AWSXRayDaemonWriteAccess); RolePolicy "start-more" allows wildcard actions glue:*; RolePolicy "start-more" allows ' +
        'sqs:SendMessage on Resource "*".',
    ]);
  });

  it("fails a role shared with a Glue job and trusted by Glue as well", async () => {
    const stack = scopedFunction().map((s) =>
      s.type === T.role
        ? {
            ...s,
            props: {
              ...s.props,
              assumeRolePolicy: trust({ Service: ["lambda.amazonaws.com", "glue.amazonaws.com"] }),
            },
          }
        : s,
    );
    stack.push(spec(T.job, "genomics", { roleArn: roleArn("start-role") }));
    expect(messages(await checkStack(lambdaScopedRole, stack))).to.deep.equal([
      'Lambda function "start" (start-dev): its role "start-role" is not scoped to it: it is also trusted by Service ' +
        '"glue.amazonaws.com"; it is shared with "genomics".',
    ]);
  });

  it("fails a role from outside the stack unless listed", async () => {
    const fn = spec(T.fn, "start", {
      role: roleArn("admin"),
      deadLetterConfig: { targetArn: "q" },
    });
    expect(messages(await checkStack(lambdaScopedRole, [fn]))).to.deep.equal([
      `Lambda function "start" runs as role "${roleArn("admin")}", which is not in this stack, so its scope cannot be checked; ` +
        "define the role here or list it in externalRoleArns.",
    ]);
    expect(
      (
        await checkStack(lambdaScopedRole, [fn], {
          config: { externalRoleArns: [roleArn("admin")] },
        })
      ).violations,
    ).to.deep.equal([]);
  });
});

describe("lambda-log-group-encrypted", () => {
  const KEY = `arn:aws:kms:eu-west-1:${ACCOUNT}:key/k`;
  const group = (props: Record<string, unknown> = {}) =>
    spec(T.logGroup, "start-logs", {
      name: "/aws/lambda/start-dev",
      kmsKeyId: KEY,
      retentionInDays: 30,
      ...props,
    });

  it("passes a function whose log group is declared with a customer key and a retention", async () => {
    expect(
      (await checkStack(lambdaLogGroupEncrypted, [...scopedFunction(), group()])).violations,
    ).to.deep.equal([]);
    const custom = [
      ...scopedFunction({ loggingConfig: { logFormat: "JSON", logGroup: "/custom/start" } }),
      group({ name: "/custom/start" }),
    ];
    expect((await checkStack(lambdaLogGroupEncrypted, custom)).violations).to.deep.equal([]);
  });

  it("fails a log group without a key, and a function whose log group Lambda would create", async () => {
    const plain = await checkStack(lambdaLogGroupEncrypted, [
      ...scopedFunction(),
      group({ kmsKeyId: undefined }),
    ]);
    expect(messages(plain)).to.deep.equal([
      'Lambda function "start" (start-dev): its log group "/aws/lambda/start-dev" has no kmsKeyId (a customer-managed KMS key).',
    ]);
    const missing = await checkStack(lambdaLogGroupEncrypted, scopedFunction());
    expect(missing.violations).to.deep.equal([
      {
        policy: "lambda-log-group-encrypted",
        urn: urnOf(T.fn, "start"),
        message:
          'Lambda function "start" (start-dev) writes to log group "/aws/lambda/start-dev", which is not declared in ' +
          "this stack, so Lambda creates it without a customer-managed key or retention; declare it with kmsKeyId and retentionInDays.",
      },
    ]);
  });
});

describe("lambda-glue-start-idempotent", () => {
  const TABLE_ARN = `arn:aws:dynamodb:eu-west-1:${ACCOUNT}:table/starts`;
  const table = spec(T.table, "starts", { name: "starts", arn: TABLE_ARN });
  const claims = (actions: string[] = ["dynamodb:PutItem", "dynamodb:DeleteItem"]) =>
    spec(T.rolePolicy, "start-claims", {
      role: "start-role",
      policy: policyJson({ Effect: "Allow", Action: actions, Resource: TABLE_ARN }),
    });
  const withTable = { environment: { variables: { IDEMPOTENCY_TABLE: "starts" } } };

  it("passes a starter that may claim and release items of a stack table its environment names", async () => {
    const stack = [...scopedFunction(withTable), claims(), table];
    expect((await checkStack(lambdaGlueStartIdempotent, stack)).violations).to.deep.equal([]);
  });

  it("ignores functions that start no Glue runs", async () => {
    const other = scopedFunction().map((s) =>
      s.name === "start-access"
        ? {
            ...s,
            props: {
              ...s.props,
              policy: policyJson({ Effect: "Allow", Action: "sqs:SendMessage", Resource: "q" }),
            },
          }
        : s,
    );
    expect((await checkStack(lambdaGlueStartIdempotent, other)).violations).to.deep.equal([]);
  });

  it("fails a starter without a table, without DeleteItem, or whose environment does not name it", async () => {
    const message =
      'Lambda function "start" (start-dev) may start Glue job runs (glue:StartJobRun) but has no idempotency store: ' +
      'no DynamoDB table of this stack that its role "start-role" may PutItem and DeleteItem on and its environment ' +
      "names. Copies of one event would start two runs.";
    for (const stack of [
      scopedFunction(withTable),
      [...scopedFunction(withTable), claims(["dynamodb:PutItem"]), table],
      [...scopedFunction(), claims(), table],
    ]) {
      const out = await checkStack(lambdaGlueStartIdempotent, stack);
      expect(out.violations).to.deep.equal([
        { policy: "lambda-glue-start-idempotent", urn: urnOf(T.fn, "start"), message },
      ]);
    }
  });
});
