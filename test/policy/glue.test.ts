import { expect } from "chai";
import {
  glueJdbcSsl,
  glueJobBookmarkConcurrency,
  glueJobLoggingAndMetrics,
  glueJobRuntimeArguments,
  glueJobTimeout,
  glueJobVersion,
  glueJobWorkerCap,
  glueNoPlaintextSecrets,
  glueProdJobRetries,
  glueSecurityConfigurationAttached,
  glueSecurityConfigurationEncryption,
} from "../../policy/glue";
import { checkResource, checkStack, unknown, urnOf } from "./harness";
import { T, TAGS, job, spec } from "./fixtures";
import { MANAGED_ARGUMENTS, PRE_GLUE5_ARGUMENTS, validateJobArguments } from "../../lib/arguments";

const KEY = "arn:aws:kms:eu-west-1:123456789012:key/k";
const securityConfiguration = (modes: { s3?: string; cw?: string; bookmarks?: string } = {}) =>
  spec(T.securityConfiguration, "glue-sec", {
    name: "glue-etl-dev",
    encryptionConfiguration: {
      s3Encryption: { s3EncryptionMode: modes.s3 ?? "SSE-KMS", kmsKeyArn: KEY },
      cloudwatchEncryption: { cloudwatchEncryptionMode: modes.cw ?? "SSE-KMS", kmsKeyArn: KEY },
      jobBookmarksEncryption: {
        jobBookmarksEncryptionMode: modes.bookmarks ?? "CSE-KMS",
        kmsKeyArn: KEY,
      },
    },
  });
const messages = (o: { violations: { message: string }[] }) => o.violations.map((v) => v.message);

describe("glue-security-configuration-encryption", () => {
  it("passes SSE-KMS output and logs with CSE-KMS bookmarks", async () => {
    expect(
      (await checkResource(glueSecurityConfigurationEncryption, securityConfiguration()))
        .violations,
    ).to.deep.equal([]);
  });

  it("fails disabled CloudWatch and bookmark encryption, naming each field", async () => {
    const out = await checkResource(
      glueSecurityConfigurationEncryption,
      securityConfiguration({ cw: "DISABLED", bookmarks: "DISABLED" }),
    );
    expect(messages(out)).to.deep.equal([
      'Glue security configuration "glue-sec": encryptionConfiguration.cloudwatchEncryption.cloudwatchEncryptionMode is "DISABLED"; allowed: SSE-KMS.',
      'Glue security configuration "glue-sec": encryptionConfiguration.jobBookmarksEncryption.jobBookmarksEncryptionMode is "DISABLED"; allowed: CSE-KMS.',
    ]);
  });

  it("fails SSE-S3 output when the config requires KMS", async () => {
    const out = await checkResource(
      glueSecurityConfigurationEncryption,
      securityConfiguration({ s3: "SSE-S3" }),
      {
        config: { allowedS3EncryptionModes: ["SSE-KMS"] },
      },
    );
    expect(messages(out)).to.deep.equal([
      'Glue security configuration "glue-sec": encryptionConfiguration.s3Encryption.s3EncryptionMode is "SSE-S3"; allowed: SSE-KMS.',
    ]);
  });
});

describe("glue-security-configuration-attached", () => {
  const crawler = (securityConfigurationName?: unknown) =>
    spec(T.crawler, "raw-crawler", {
      name: "raw-crawler-dev",
      databaseName: "db",
      role: "r",
      securityConfiguration: securityConfigurationName,
    });

  it("passes a job and a crawler that name a security configuration of the stack", async () => {
    const out = await checkStack(glueSecurityConfigurationAttached, [
      securityConfiguration(),
      job("genomics"),
      crawler("glue-etl-dev"),
    ]);
    expect(out.violations).to.deep.equal([]);
  });

  it("joins by dependency while the name is unknown during a preview", async () => {
    const pending = {
      ...job("genomics", { securityConfiguration: unknown() }),
      propertyDependencies: { securityConfiguration: ["glue-sec"] },
    };
    expect(
      (await checkStack(glueSecurityConfigurationAttached, [securityConfiguration(), pending]))
        .violations,
    ).to.deep.equal([]);
  });

  it("fails a crawler without one", async () => {
    const out = await checkStack(glueSecurityConfigurationAttached, [
      securityConfiguration(),
      crawler(),
    ]);
    expect(out.violations).to.deep.equal([
      {
        policy: "glue-security-configuration-attached",
        urn: urnOf(T.crawler, "raw-crawler"),
        message:
          'Glue crawler "raw-crawler" (raw-crawler-dev) has no securityConfiguration: without one Glue writes its output, ' +
          "logs and bookmarks unencrypted by Glue. Name an aws.glue.SecurityConfiguration of this stack.",
      },
    ]);
  });

  it("fails a job naming a configuration outside the stack unless it is listed", async () => {
    const stack = [job("genomics", { securityConfiguration: "shared-config" })];
    expect(messages(await checkStack(glueSecurityConfigurationAttached, stack))).to.deep.equal([
      'Glue job "genomics" (genomics-dev) names securityConfiguration "shared-config", which is not in this stack, so ' +
        "its encryption cannot be checked; define it here or list it in externalSecurityConfigurations (now: none).",
    ]);
    const listed = await checkStack(glueSecurityConfigurationAttached, stack, {
      config: { externalSecurityConfigurations: ["shared-config"] },
    });
    expect(listed.violations).to.deep.equal([]);
  });
});

describe("glue-job-logging-and-metrics", () => {
  it("passes a Glue 5.0 job with metrics and Spark UI, which logs in real time without flags", async () => {
    expect(
      (await checkResource(glueJobLoggingAndMetrics, job("genomics"))).violations,
    ).to.deep.equal([]);
  });

  it("fails a Glue 4.0 job that turns continuous logging off and has no metrics", async () => {
    const out = await checkResource(
      glueJobLoggingAndMetrics,
      job("genomics", {
        glueVersion: "4.0",
        defaultArguments: {
          "--enable-continuous-cloudwatch-log": "false",
          "--enable-spark-ui": "true",
          "--spark-event-logs-path": "s3://t/ui/",
        },
      }),
    );
    expect(messages(out)).to.deep.equal([
      'Glue job "genomics" (genomics-dev): defaultArguments["--enable-continuous-cloudwatch-log"] is "false"; it must be "true".',
      'Glue job "genomics" (genomics-dev): defaultArguments["--enable-metrics"] is not set; it must be present (e.g. "true").',
    ]);
  });

  it("accepts arguments locked as non-overridable, and skips Python shell jobs", async () => {
    const locked = job("genomics", {
      glueVersion: "4.0",
      defaultArguments: {},
      nonOverridableArguments: {
        "--enable-continuous-cloudwatch-log": "true",
        "--enable-metrics": "",
        "--enable-spark-ui": "true",
        "--spark-event-logs-path": "s3://t/ui/",
      },
    });
    expect((await checkResource(glueJobLoggingAndMetrics, locked)).violations).to.deep.equal([]);
    const shell = job("small", {
      command: { name: "pythonshell", scriptLocation: "s3://s/x.py" },
      defaultArguments: {},
    });
    expect((await checkResource(glueJobLoggingAndMetrics, shell)).violations).to.deep.equal([]);
  });
});

describe("glue-job-runtime-arguments", () => {
  it("passes a Glue 5.0 job without Glue 4.0 logging arguments, and a Glue 4.0 job with them", async () => {
    expect(
      (await checkResource(glueJobRuntimeArguments, job("genomics"))).violations,
    ).to.deep.equal([]);
    const old = job("genomics", {
      glueVersion: "4.0",
      defaultArguments: { "--enable-continuous-cloudwatch-log": "true" },
    });
    expect((await checkResource(glueJobRuntimeArguments, old)).violations).to.deep.equal([]);
  });

  it("fails a Glue 5.0 job that sets continuous-logging arguments, wherever it sets them", async () => {
    const out = await checkResource(
      glueJobRuntimeArguments,
      job("genomics", {
        defaultArguments: {
          "--enable-metrics": "true",
          "--enable-continuous-cloudwatch-log": "true",
          "--enable-continuous-log-filter": "true",
        },
        nonOverridableArguments: { "--continuous-log-logGroup": "/custom" },
      }),
    );
    expect(messages(out)).to.deep.equal(
      [
        'defaultArguments["--enable-continuous-cloudwatch-log"]',
        'defaultArguments["--enable-continuous-log-filter"]',
        'nonOverridableArguments["--continuous-log-logGroup"]',
      ].map(
        (where) =>
          `Glue job "genomics" (genomics-dev) runs glueVersion 5.0 but sets ${where}, which only Glue 4.0 and ` +
          `earlier read; drop it (Glue 5.0 logs to CloudWatch in real time; --custom-logGroup-prefix / ` +
          `--custom-logStream-prefix name the log groups and streams).`,
      ),
    );
  });

  it("refuses in the program exactly the arguments the policy flags", () => {
    const flagged = glueJobRuntimeArguments.configSchema!.properties.pre5Arguments as {
      default: string[];
    };
    expect([...PRE_GLUE5_ARGUMENTS]).to.deep.equal(flagged.default);
    for (const key of PRE_GLUE5_ARGUMENTS) {
      expect(() => validateJobArguments("p", { [key]: "true" }), key).to.throw(
        /Glue 4\.0 logging argument that Glue 5\.0 ignores/,
      );
      expect(MANAGED_ARGUMENTS as readonly string[]).not.to.include(key);
    }
  });
});

describe("glue-job-bookmark-concurrency", () => {
  const bookmarked = (maxConcurrentRuns: number | undefined, option = "job-bookmark-enable") =>
    job("sales", {
      executionProperty: maxConcurrentRuns === undefined ? undefined : { maxConcurrentRuns },
      defaultArguments: { "--enable-metrics": "true", "--job-bookmark-option": option },
    });

  it("passes a bookmarked job that runs one at a time, and overlapping runs without bookmarks", async () => {
    for (const spec of [
      bookmarked(1),
      bookmarked(undefined),
      bookmarked(30, "job-bookmark-disable"),
      job("manifest", { executionProperty: { maxConcurrentRuns: 30 }, defaultArguments: {} }),
    ]) {
      expect((await checkResource(glueJobBookmarkConcurrency, spec)).violations).to.deep.equal([]);
    }
  });

  it("fails bookmarks (enabled or paused) with more than one concurrent run", async () => {
    expect(messages(await checkResource(glueJobBookmarkConcurrency, bookmarked(30)))).to.deep.equal(
      [
        'Glue job "sales" (sales-dev) has "--job-bookmark-option" "job-bookmark-enable" with executionProperty.maxConcurrentRuns 30; ' +
          "allowed: at most 1 with bookmarks. Overlapping runs start from the same bookmark and read the same new files " +
          "twice: lower maxConcurrentRuns or disable bookmarks.",
      ],
    );
    const paused = await checkResource(
      glueJobBookmarkConcurrency,
      bookmarked(2, "job-bookmark-pause"),
    );
    expect(messages(paused)).to.have.length(1);
  });

  it("skips values unknown during a preview", async () => {
    const spec = job("sales", {
      executionProperty: { maxConcurrentRuns: unknown("number") },
      defaultArguments: { "--job-bookmark-option": "job-bookmark-enable" },
    });
    expect((await checkResource(glueJobBookmarkConcurrency, spec)).violations).to.deep.equal([]);
  });
});

describe("glue-job-timeout", () => {
  it("passes a timeout at the cap", async () => {
    expect(
      (await checkResource(glueJobTimeout, job("genomics", { timeout: 2880 }))).violations,
    ).to.deep.equal([]);
  });

  it("fails a missing timeout and one above the configured cap", async () => {
    expect(
      messages(await checkResource(glueJobTimeout, job("genomics", { timeout: undefined }))),
    ).to.deep.equal([
      'Glue job "genomics" (genomics-dev) has no timeout: set timeout (minutes) to at most 10080 so a hung run is stopped.',
    ]);
    const out = await checkResource(glueJobTimeout, job("genomics", { timeout: 600 }), {
      config: { maxTimeoutMinutes: 480 },
    });
    expect(messages(out)).to.deep.equal([
      'Glue job "genomics" (genomics-dev) has timeout 600 minutes; allowed: 1 to 480.',
    ]);
  });
});

describe("glue-job-version", () => {
  it("passes Glue 4.0 and 5.0, and Python shell 3.0", async () => {
    for (const glueVersion of ["4.0", "5.0"]) {
      expect(
        (await checkResource(glueJobVersion, job("genomics", { glueVersion }))).violations,
      ).to.deep.equal([]);
    }
    const shell = job("small", { command: { name: "pythonshell" }, glueVersion: "3.0" });
    expect((await checkResource(glueJobVersion, shell)).violations).to.deep.equal([]);
  });

  it("fails Glue 3.0 and an unset version", async () => {
    expect(
      messages(await checkResource(glueJobVersion, job("genomics", { glueVersion: "3.0" }))),
    ).to.deep.equal([
      'Glue job "genomics" (genomics-dev) has glueVersion "3.0"; set "4.0" or later.',
    ]);
    expect(
      messages(await checkResource(glueJobVersion, job("genomics", { glueVersion: undefined }))),
    ).to.deep.equal([
      'Glue job "genomics" (genomics-dev) has glueVersion unset (Glue then picks an old default); set "4.0" or later.',
    ]);
  });
});

describe("glue-prod-job-retries", () => {
  const prodTags = { ...TAGS, environment: "prod" };

  it("passes a prod job with retries and a dev job without", async () => {
    expect(
      (await checkResource(glueProdJobRetries, job("genomics", { tags: prodTags, maxRetries: 2 })))
        .violations,
    ).to.deep.equal([]);
    expect(
      (await checkResource(glueProdJobRetries, job("genomics", { maxRetries: 0 }))).violations,
    ).to.deep.equal([]);
  });

  it("fails a job tagged prod with maxRetries 0", async () => {
    const out = await checkResource(
      glueProdJobRetries,
      job("genomics", { tags: prodTags, maxRetries: 0 }),
    );
    expect(messages(out)).to.deep.equal([
      'Glue job "genomics" (genomics-dev) runs in environment "prod" with maxRetries 0; production jobs need at least 1.',
    ]);
  });

  it("takes the environment from the stack tags, then the stack name", async () => {
    const untagged = job("genomics", { tags: {}, maxRetries: undefined });
    const byStackTag = await checkResource(glueProdJobRetries, untagged, {
      stackTags: { environment: "production" },
    });
    expect(messages(byStackTag)).to.deep.equal([
      'Glue job "genomics" (genomics-dev) runs in environment "production" with maxRetries 0; production jobs need at least 1.',
    ]);
    expect(
      (await checkResource(glueProdJobRetries, untagged, { stack: "prod" })).violations,
    ).to.have.length(1);
    expect(
      (await checkResource(glueProdJobRetries, untagged, { stack: "staging" })).violations,
    ).to.deep.equal([]);
  });
});

describe("glue-job-worker-cap", () => {
  it("passes workers within the environment's cap", async () => {
    const prod = job("genomics", {
      tags: { ...TAGS, environment: "prod" },
      workerType: "G.2X",
      numberOfWorkers: 20,
    });
    expect((await checkResource(glueJobWorkerCap, prod)).violations).to.deep.equal([]);
  });

  it("passes, by default, every worker count the stack config accepts", async () => {
    const most = job("genomics", { workerType: "G.16X", numberOfWorkers: 1000 });
    expect((await checkResource(glueJobWorkerCap, most)).violations).to.deep.equal([]);
    const over = job("genomics", { numberOfWorkers: 1001 });
    expect(messages(await checkResource(glueJobWorkerCap, over))).to.deep.equal([
      'Glue job "genomics" (genomics-dev) has numberOfWorkers 1001 in environment "dev"; the cap there is 1000 (policy config maxWorkersByEnvironment).',
    ]);
  });

  it("fails more workers than the cap, per environment", async () => {
    const out = await checkResource(glueJobWorkerCap, job("genomics", { numberOfWorkers: 20 }), {
      config: { maxWorkersByEnvironment: { dev: 10, prod: 40 } },
    });
    expect(messages(out)).to.deep.equal([
      'Glue job "genomics" (genomics-dev) has numberOfWorkers 20 in environment "dev"; the cap there is 10 (policy config maxWorkersByEnvironment).',
    ]);
    const staging = job("genomics", {
      tags: { ...TAGS, environment: "staging" },
      numberOfWorkers: 6,
    });
    const configured = await checkResource(glueJobWorkerCap, staging, {
      config: { defaultMaxWorkers: 5 },
    });
    expect(messages(configured)).to.deep.equal([
      'Glue job "genomics" (genomics-dev) has numberOfWorkers 6 in environment "staging"; the cap there is 5 (policy config maxWorkersByEnvironment).',
    ]);
  });

  it("counts maxCapacity DPUs when no worker count is given", async () => {
    const legacy = job("genomics", {
      workerType: undefined,
      numberOfWorkers: undefined,
      maxCapacity: 50,
    });
    const config = { config: { maxWorkersByEnvironment: { dev: 10 } } };
    expect(messages(await checkResource(glueJobWorkerCap, legacy, config))[0]).to.contain(
      "has maxCapacity 50",
    );
  });
});

describe("glue-no-plaintext-secrets", () => {
  it("passes secret names and ARNs", async () => {
    const j = job("tagging", {
      defaultArguments: {
        "--DB_SECRET_ID": "glue-etl/dev/db",
        "--DB_PASSWORD": "arn:aws:secretsmanager:eu-west-1:123456789012:secret:db-AbCdEf",
      },
    });
    expect((await checkResource(glueNoPlaintextSecrets, j)).violations).to.deep.equal([]);
  });

  it("fails a password argument and an access key, without echoing either", async () => {
    const j = job("tagging", {
      defaultArguments: {
        "--DB_PASSWORD": "hunter2",
        "--SOURCE": "AKIAABCDEFGHIJKLMNOP",
        "--conf": "spark.hadoop.fs.s3a.secret.key=wJalrXUtnFEMI",
        "--enable-token-refresh": "true",
      },
    });
    const out = messages(await checkResource(glueNoPlaintextSecrets, j));
    expect(out).to.deep.equal([
      'Glue job "tagging" (tagging-dev): defaultArguments["--DB_PASSWORD"] is named like a secret; Glue stores it in plaintext. ' +
        "Keep it in Secrets Manager and pass the secret's name or ARN.",
      'Glue job "tagging" (tagging-dev): defaultArguments["--SOURCE"] holds an AWS access key id; Glue stores it in plaintext. ' +
        "Keep it in Secrets Manager and pass the secret's name or ARN.",
      'Glue job "tagging" (tagging-dev): defaultArguments["--conf"] holds a setting with a secret value; Glue stores it in plaintext. ' +
        "Keep it in Secrets Manager and pass the secret's name or ARN.",
    ]);
    expect(out.join()).not.to.match(/hunter2|wJalr/);
  });

  it("fails PASSWORD in connection properties and a URL with credentials in trigger arguments", async () => {
    const conn = spec(T.connection, "pg", {
      name: "pg-dev",
      connectionProperties: {
        JDBC_CONNECTION_URL: "jdbc:postgresql://db:5432/x",
        USERNAME: "etl",
        PASSWORD: "s3cret",
        JDBC_ENFORCE_SSL: "true",
      },
    });
    expect(messages(await checkResource(glueNoPlaintextSecrets, conn))).to.deep.equal([
      'Glue connection "pg" (pg-dev): connectionProperties["PASSWORD"] is named like a secret; Glue stores it in plaintext. ' +
        "Keep it in Secrets Manager and pass the secret's name or ARN.",
    ]);
    const trigger = spec(T.trigger, "nightly", {
      actions: [{ jobName: "j", arguments: { "--SOURCE_URL": "https://etl:pw@example.com/x" } }],
    });
    expect(messages(await checkResource(glueNoPlaintextSecrets, trigger))).to.deep.equal([
      'Glue trigger "nightly": actions[0].arguments["--SOURCE_URL"] holds a URL with a password; Glue stores it in plaintext. ' +
        "Keep it in Secrets Manager and pass the secret's name or ARN.",
    ]);
  });
});

describe("glue-jdbc-ssl", () => {
  const conn = (props: Record<string, unknown>) =>
    spec(T.connection, "pg", {
      name: "pg-dev",
      connectionProperties: {
        JDBC_CONNECTION_URL: "jdbc:postgresql://db:5432/x",
        SECRET_ID: "db",
        ...props,
      },
    });

  it("passes a JDBC connection that enforces SSL, and non-JDBC connections", async () => {
    expect(
      (await checkResource(glueJdbcSsl, conn({ JDBC_ENFORCE_SSL: "true" }))).violations,
    ).to.deep.equal([]);
    const network = spec(T.connection, "net", {
      connectionType: "NETWORK",
      connectionProperties: {},
    });
    expect((await checkResource(glueJdbcSsl, network)).violations).to.deep.equal([]);
  });

  it("fails a JDBC connection (the default type) without JDBC_ENFORCE_SSL", async () => {
    expect(messages(await checkResource(glueJdbcSsl, conn({})))).to.deep.equal([
      'Glue connection "pg" (pg-dev): connectionProperties.JDBC_ENFORCE_SSL is not set; JDBC connections must set it to "true".',
    ]);
    expect(
      messages(await checkResource(glueJdbcSsl, conn({ JDBC_ENFORCE_SSL: "false" }))),
    ).to.deep.equal([
      'Glue connection "pg" (pg-dev): connectionProperties.JDBC_ENFORCE_SSL is "false"; JDBC connections must set it to "true".',
    ]);
  });
});
