import * as fs from "node:fs";
import * as path from "node:path";
import { expect } from "chai";
import YAML from "yaml";
import {
  ConfigValidationError,
  DEFAULT_TEMP_EXPIRATION_DAYS,
  NAMESPACE_KEYS,
  StackConfigValues,
  StackSettings,
  validateStackConfig,
} from "../lib/config";
import { PIPELINES, PIPELINE_NAMES } from "../pipelines";

const bookmarked = PIPELINES.filter((p) => p.job.bookmarks).map((p) => p.name);
const unbookmarked = PIPELINES.filter((p) => !p.job.bookmarks).map((p) => p.name);
import { JobArgumentsError, expandPlaceholders, validateJobArguments } from "../lib/arguments";
import { REPO_ROOT, loadStackConfig, projectConfigDefaults } from "../tools/offline";

/** Stack config values by short name (`region` is `aws:region`, the rest `glue-etl:<name>`). */
type RawStackConfig = Readonly<Record<string, unknown>>;

/** The flat strings Pulumi hands the program: text as written, lists and maps as JSON. */
function flat(raw: RawStackConfig): StackConfigValues {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(raw)) {
    if (v === undefined) continue;
    out[k === "region" ? "aws:region" : `glue-etl:${k}`] =
      typeof v === "string" ? v : JSON.stringify(v);
  }
  return out;
}

const validate = (raw: RawStackConfig): StackSettings =>
  validateStackConfig(flat(raw), "Pulumi.test.yaml");

const good: RawStackConfig = {
  region: "eu-west-1",
  environment: "dev",
  owner: "data-platform",
  costCenter: "CC-1",
  alertEmails: ["team@example.com"],
  sizing: {
    workerType: "G.1X",
    numberOfWorkers: 2,
    maxConcurrentRuns: 1,
    timeoutMinutes: 2880,
    maxRetries: 0,
    executionClass: "FLEX",
  },
};

function problemsOf(raw: RawStackConfig): string[] {
  try {
    validate(raw);
  } catch (e) {
    expect(e).to.be.instanceOf(ConfigValidationError);
    return (e as ConfigValidationError).message
      .split("\n")
      .slice(1)
      .map((l) => l.replace(/^\s*- /, ""));
  }
  throw new Error("expected the config to be rejected");
}

const withSizing = (s: Record<string, unknown>): RawStackConfig => ({
  ...good,
  sizing: { ...(good.sizing as object), ...s },
});

describe("stack config validation", () => {
  it("accepts the dev sizing and fills pipeline defaults", () => {
    const s = validate(good);
    expect(s.sizing).to.deep.equal(good.sizing);
    expect(s.tags).to.deep.equal({
      environment: "dev",
      owner: "data-platform",
      "cost-center": "CC-1",
    });
    expect(s.tempExpirationDays).to.equal(7);
    expect(s.pipelines.genomics).to.deep.equal({
      enabled: true,
      sizing: good.sizing,
      typicalRunMinutes: 10,
    });
  });

  it("applies per-pipeline overrides over the stack sizing, key by key", () => {
    const s = validate({
      ...good,
      pipelines: {
        splitter: { workerType: "G.2X", numberOfWorkers: 10, schedule: "cron(0  2 * * ? *)" },
      },
    });
    expect(s.pipelines.splitter.sizing).to.deep.equal({
      ...(good.sizing as object),
      workerType: "G.2X",
      numberOfWorkers: 10,
    });
    expect(s.pipelines.splitter.schedule).to.equal("cron(0 2 * * ? *)");
    expect(s.pipelines.genomics.sizing.workerType).to.equal("G.1X");
  });

  const cases: [string, RawStackConfig, string[]][] = [
    [
      "unknown worker type",
      withSizing({ workerType: "G.3X" }),
      [
        'glue-etl:sizing.workerType: got "G.3X"; allowed: one of G.1X, G.2X, G.4X, G.8X, G.12X, G.16X, R.1X, R.2X, R.4X, R.8X',
      ],
    ],
    [
      "fewer than 2 workers",
      withSizing({ numberOfWorkers: 1 }),
      ["glue-etl:sizing.numberOfWorkers: got 1; allowed: an integer from 2 to 1000"],
    ],
    [
      "fractional workers",
      withSizing({ numberOfWorkers: 2.5 }),
      ["glue-etl:sizing.numberOfWorkers: got 2.5; allowed: an integer from 2 to 1000"],
    ],
    [
      "workers given as text",
      withSizing({ numberOfWorkers: "two" }),
      ['glue-etl:sizing.numberOfWorkers: got "two"; allowed: an integer from 2 to 1000'],
    ],
    [
      "timeout above 7 days",
      withSizing({ timeoutMinutes: 10081 }),
      ["glue-etl:sizing.timeoutMinutes: got 10081; allowed: an integer from 1 to 10080"],
    ],
    [
      "timeout of zero",
      withSizing({ timeoutMinutes: 0 }),
      ["glue-etl:sizing.timeoutMinutes: got 0; allowed: an integer from 1 to 10080"],
    ],
    [
      "negative retries",
      withSizing({ maxRetries: -1 }),
      ["glue-etl:sizing.maxRetries: got -1; allowed: an integer from 0 to 10"],
    ],
    [
      "zero concurrent runs",
      withSizing({ maxConcurrentRuns: 0 }),
      ["glue-etl:sizing.maxConcurrentRuns: got 0; allowed: an integer from 1 to 1000"],
    ],
    [
      "unknown execution class",
      withSizing({ executionClass: "SPOT" }),
      ['glue-etl:sizing.executionClass: got "SPOT"; allowed: one of STANDARD, FLEX'],
    ],
    [
      "FLEX with an unsupported worker type",
      withSizing({ workerType: "G.4X" }),
      [
        'glue-etl:sizing.executionClass: got "FLEX with G.4X"; allowed: FLEX only with worker types G.1X, G.2X; use STANDARD for G.4X',
      ],
    ],
    [
      "a pipeline override that makes an inherited FLEX invalid",
      { ...good, pipelines: { genomics: { workerType: "R.2X" } } },
      [
        'glue-etl:pipelines.genomics.workerType: got "R.2X"; allowed: G.1X or G.2X while executionClass is FLEX (from glue-etl:sizing); or set executionClass: STANDARD here too',
      ],
    ],
    [
      "missing sizing block",
      { ...good, sizing: undefined },
      ["glue-etl:sizing: got nothing (missing); allowed: a map of keys to values"],
    ],
    [
      "misspelt sizing key",
      withSizing({ numberOfWorker: 3 }),
      [
        "glue-etl:sizing.numberOfWorker: got 3; allowed: no such key; did you mean glue-etl:sizing.numberOfWorkers? known keys: workerType, numberOfWorkers, maxConcurrentRuns, timeoutMinutes, maxRetries, executionClass",
      ],
    ],
    [
      "unknown pipeline",
      { ...good, pipelines: { genomic: { numberOfWorkers: 4 } } },
      [
        `glue-etl:pipelines.genomic: got {"numberOfWorkers":4}; allowed: no such pipeline; did you mean glue-etl:pipelines.genomics? pipelines of this program: ${PIPELINE_NAMES.join(", ")}`,
      ],
    ],
    [
      "bad region",
      { ...good, region: "europe" },
      ['aws:region: got "europe"; allowed: an AWS region code such as eu-west-1'],
    ],
    [
      "environment with capitals",
      { ...good, environment: "Prod" },
      [
        `glue-etl:environment: got "Prod"; allowed: lower-case letters, digits and '-', starting with a letter, at most 16 characters (e.g. dev, prod)`,
      ],
    ],
    [
      "missing owner",
      { ...good, owner: undefined },
      [
        "glue-etl:owner: got nothing (missing); allowed: a non-empty team or person, at most 256 characters",
      ],
    ],
    [
      "bad alert e-mail",
      { ...good, alertEmails: ["ops@example.com", "not-an-email"] },
      [
        'glue-etl:alertEmails[1]: got "not-an-email"; allowed: an e-mail address such as team@example.com',
      ],
    ],
    [
      "alert e-mails not a list",
      { ...good, alertEmails: "ops@example.com" },
      ['glue-etl:alertEmails: got "ops@example.com"; allowed: a list of e-mail addresses'],
    ],
    [
      "temp expiry out of range",
      { ...good, tempExpirationDays: 0 },
      ["glue-etl:tempExpirationDays: got 0; allowed: an integer from 1 to 365"],
    ],
    [
      "schedule that is not a Glue cron",
      { ...good, pipelines: { sales: { schedule: "0 2 * * *" } } },
      [
        'glue-etl:pipelines.sales.schedule: got "0 2 * * *"; allowed: a Glue schedule is written "cron(...)" with six fields. ' +
          "Expected cron(Minutes Hours Day-of-month Month Day-of-week Year) in UTC, e.g. cron(0 2 * * ? *) for 02:00 every day.",
      ],
    ],
    [
      "typical run longer than the timeout",
      { ...good, pipelines: { sales: { timeoutMinutes: 30, typicalRunMinutes: 45 } } },
      [
        "glue-etl:pipelines.sales.typicalRunMinutes: got 45; allowed: at most the job timeout (30 minutes)",
      ],
    ],
    [
      "enabled that is not a boolean",
      { ...good, pipelines: { tagging: { enabled: "yes" } } },
      ['glue-etl:pipelines.tagging.enabled: got "yes"; allowed: true or false'],
    ],
    [
      "reserved aws: tag key",
      { ...good, tags: { "aws:owner": "x" } },
      [
        'glue-etl:tags.aws:owner: got "aws:owner"; allowed: a tag key of 1-128 letters, digits, spaces or _.:/=+-@, not starting with aws:',
      ],
    ],
  ];

  for (const [title, raw, expected] of cases) {
    it(`rejects ${title}`, () => {
      expect(problemsOf(raw)).to.deep.equal(expected);
    });
  }

  it("names every bad key in one error", () => {
    const problems = problemsOf({
      ...good,
      environment: "",
      sizing: {
        workerType: "X",
        numberOfWorkers: 0,
        maxConcurrentRuns: 1,
        timeoutMinutes: 99999,
        maxRetries: 0,
        executionClass: "FLEX",
      },
    });
    expect(problems.map((p) => p.split(":").slice(0, 2).join(":"))).to.deep.equal([
      "glue-etl:environment",
      "glue-etl:sizing.workerType",
      "glue-etl:sizing.numberOfWorkers",
      "glue-etl:sizing.timeoutMinutes",
    ]);
    expect(() => validate({})).to.throw(ConfigValidationError, /^Pulumi\.test\.yaml: .*problems/);
  });

  it("refuses a production job that never retries, naming the key that set it", () => {
    const why = (env: string) =>
      `at least 1 in environment "${env}": a production job retries a failed run (policy glue-prod-job-retries)`;
    expect(problemsOf({ ...good, environment: "prod" })).to.deep.equal(
      PIPELINE_NAMES.map(
        (p) =>
          `glue-etl:sizing.maxRetries (inherited by pipelines.${p}): got 0; allowed: ${why("prod")}`,
      ),
    );
    expect(
      problemsOf({
        ...withSizing({ maxRetries: 2 }),
        environment: "production",
        pipelines: { splitter: { maxRetries: 0 } },
      }),
    ).to.deep.equal([
      `glue-etl:pipelines.splitter.maxRetries: got 0; allowed: ${why("production")}`,
    ]);
    expect(
      validate({ ...withSizing({ maxRetries: 1 }), environment: "prod" }).environment,
    ).to.equal("prod");
  });

  it("refuses overlapping runs of a bookmarked job, naming the key that set them", () => {
    const allowed = `set glue-etl:pipelines.PIPE.maxConcurrentRuns to 1, and raise it only for pipelines without bookmarks (${unbookmarked.join(", ")})`;
    const why = (p: string) =>
      `1 for ${p}, whose job uses bookmarks (overlapping runs would read the same new files twice); ${allowed.replace("PIPE", p)}`;
    expect(problemsOf(withSizing({ maxConcurrentRuns: 30 }))).to.deep.equal(
      bookmarked.map(
        (p) =>
          `glue-etl:sizing.maxConcurrentRuns (inherited by pipelines.${p}): got 30; allowed: ${why(p)}`,
      ),
    );
    expect(
      problemsOf({
        ...good,
        pipelines: { sales: { maxConcurrentRuns: 2 }, manifest: { maxConcurrentRuns: 50 } },
      }),
    ).to.deep.equal([
      `glue-etl:pipelines.sales.maxConcurrentRuns: got 2; allowed: ${why("sales")}`,
    ]);
  });

  it("lets pipelines without bookmarks run side by side, and ignores disabled pipelines", () => {
    const s = validate({
      ...withSizing({ maxConcurrentRuns: 30 }),
      pipelines: {
        genomics: { maxConcurrentRuns: 1 },
        sales: { enabled: false },
        tagging: { enabled: false },
      },
    });
    expect(s.pipelines.manifest.sizing.maxConcurrentRuns).to.equal(30);
    expect(s.pipelines.splitter.sizing.maxConcurrentRuns).to.equal(30);
    expect(s.pipelines.genomics.sizing.maxConcurrentRuns).to.equal(1);
  });
});

describe("job argument validation", () => {
  it("leaves Hadoop glob braces alone, so *.{csv,csv.gz} reaches the job as written", () => {
    expect(
      validateJobArguments("genomics", { "--INPUT_PATH": "{raw}/csv/*.{csv,csv.gz}" }),
    ).to.deep.equal({ "--INPUT_PATH": "{raw}/csv/*.{csv,csv.gz}" });
    expect(
      expandPlaceholders("{raw}/csv/*.{csv,csv.gz}", {
        raw: "s3://r",
        processed: "s3://p",
        scripts: "s3://s",
        temp: "s3://t",
        database: "d",
      }),
    ).to.equal("s3://r/csv/*.{csv,csv.gz}");
  });

  it("accepts the pipeline's own arguments with bucket placeholders", () => {
    expect(validateJobArguments("p", { "--INPUT_PATH": "{raw}/csv/", "--X": "1" })).to.deep.equal({
      "--INPUT_PATH": "{raw}/csv/",
      "--X": "1",
    });
  });

  it("refuses reserved, managed, malformed and unknown-placeholder arguments in one error", () => {
    let err: JobArgumentsError | undefined;
    try {
      validateJobArguments("genomics", {
        "--JOB_NAME": "x",
        "--debug": "true",
        "--TempDir": "s3://x/",
        INPUT_PATH: "s3://x/",
        "--OUTPUT_PATH": "{output}/x/",
      });
    } catch (e) {
      err = e as JobArgumentsError;
    }
    expect(err).to.be.instanceOf(JobArgumentsError);
    expect(err!.problems).to.deep.equal([
      "--JOB_NAME: reserved by Glue and must not be set; drop it (Glue passes --JOB_NAME itself where it applies)",
      "--debug: reserved by Glue and must not be set; drop it (Glue passes --debug itself where it applies)",
      "--TempDir: set by the job component; change it through the pipeline's settings instead of its arguments",
      '"INPUT_PATH": an argument name must start with "--" then a letter, e.g. --INPUT_PATH',
      '--OUTPUT_PATH: unknown placeholder {output} in "{output}/x/"; allowed: {raw}, {processed}, {scripts}, {temp}, {database}',
    ]);
  });
});

describe("Pulumi.yaml's typed config declarations", () => {
  type Declaration = { type?: string; description?: string; default?: unknown; value?: unknown };
  const declared = (
    YAML.parse(fs.readFileSync(path.join(REPO_ROOT, "Pulumi.yaml"), "utf8")) as {
      config: Record<string, Declaration>;
    }
  ).config;
  const typed = Object.entries(declared).filter(([, d]) => d.type !== undefined);

  it("declare only keys the program knows, each with a type Pulumi checks and a description", () => {
    expect(typed.map(([k]) => k).sort()).to.deep.equal(
      ["alertEmails", "costCenter", "environment", "owner", "tempExpirationDays"].sort(),
    );
    for (const [key, d] of typed) {
      expect(NAMESPACE_KEYS, key).to.include(key);
      expect(["string", "integer", "boolean", "array"], key).to.include(d.type);
      expect(d.description, key).to.be.a("string").and.not.equal("");
    }
  });

  it("require (no default) exactly the keys the program requires, and default like the code", () => {
    const required = typed.filter(([, d]) => !("default" in d)).map(([k]) => k);
    expect(required.sort()).to.deep.equal(["costCenter", "environment", "owner"]);
    const requiredOnly = { ...good, tempExpirationDays: undefined, alertEmails: undefined };
    expect(() => validate(requiredOnly)).to.not.throw();
    for (const key of required) {
      expect(() => validate({ ...requiredOnly, [key]: undefined }), key).to.throw(
        ConfigValidationError,
        `glue-etl:${key}: got nothing (missing)`,
      );
    }
    expect(declared.tempExpirationDays!.default).to.equal(DEFAULT_TEMP_EXPIRATION_DAYS);
    expect(declared.alertEmails!.default).to.deep.equal([]);
  });

  it("reach the program offline as the CLI passes them: defaults under the stack file's values", () => {
    expect(projectConfigDefaults()).to.deep.include({
      "glue-etl:tempExpirationDays": 7,
      "glue-etl:alertEmails": [],
    });
    // dev sets 3 days itself; the default applies only where the stack file says nothing.
    expect(loadStackConfig("dev").config["glue-etl:tempExpirationDays"]).to.equal("3");
    const s = validateStackConfig(
      { ...flat(good), "glue-etl:tempExpirationDays": "7", "glue-etl:alertEmails": "[]" },
      "Pulumi.test.yaml",
    );
    expect([s.tempExpirationDays, s.alertEmails]).to.deep.equal([7, []]);
  });
});

describe("the README's example error", () => {
  it("is what the program says", () => {
    const readme = fs.readFileSync(path.join(REPO_ROOT, "README.md"), "utf8");
    const example = [...readme.matchAll(/```\nerror: (Pulumi\.dev\.yaml: [\s\S]*?)\n```/g)]
      .map((m) => m[1]!)
      .find((m) => m.includes("glue-etl:alertEmail:"))!;
    const { alertEmails, ...rest } = good;
    expect(() =>
      validateStackConfig(
        flat({
          ...rest,
          alertEmail: ["ops@example.com"],
          pipelines: { genomics: { schedule: "cron(0 4 * * ? *)" } },
        }),
        "Pulumi.dev.yaml",
      ),
    ).to.throw(ConfigValidationError, example);
    expect(alertEmails).to.be.an("array");
  });
});

describe("secrets in config problems", () => {
  it("never show a secret's value, even under a misspelt key", () => {
    const values = { ...flat(good), "glue-etl:jdbcPasword": "hunter2-plaintext" };
    let message = "";
    try {
      validateStackConfig(values, "Pulumi.test.yaml", ["glue-etl:jdbcPasword"]);
    } catch (e) {
      message = (e as Error).message;
    }
    expect(message).to.include(
      'glue-etl:jdbcPasword: got "[secret]"; allowed: no such key; did you mean glue-etl:jdbcPassword?',
    );
    expect(message).to.not.include("hunter2");
  });
});
