/**
 * Bad stack files as a new user writes them, run through the real program offline: each must
 * fail with the stack file's name and the exact key at fault, before any resource is registered.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { expect } from "chai";
import YAML from "yaml";
import { ConfigValidationError } from "../lib/config";
import { OfflineProgramError, StackFileError, runStackOffline, stackFile } from "../tools/offline";
import { runMinutesFrom } from "../tools/cost";
import { serialiseSnapshot, snapshotOf } from "../tools/snapshot";
import { named } from "./support/program";

type Config = Record<string, unknown>;
const SIZING = "glue-etl:sizing";
const PIPELINES = "glue-etl:pipelines";

const dir = fs.mkdtempSync(path.join(os.tmpdir(), "glue-etl-stacks-"));
after(() => fs.rmSync(dir, { recursive: true, force: true }));

/** The dev stack file's config, to break one thing at a time. */
function devConfig(): Config {
  return (YAML.parse(fs.readFileSync(stackFile("dev"), "utf8")) as { config: Config }).config;
}

function writeStack(stack: string, text: string): string {
  const file = path.join(dir, `Pulumi.${stack}.yaml`);
  fs.writeFileSync(file, text);
  return file;
}

/** Runs the program on a stack file; returns the error it fails with and what it registered. */
async function failure(stack: string, text: string): Promise<OfflineProgramError> {
  try {
    await runStackOffline(stack, {}, writeStack(stack, text));
  } catch (e) {
    expect(e, String(e)).to.be.instanceOf(OfflineProgramError);
    return e as OfflineProgramError;
  }
  throw new Error(`Pulumi.${stack}.yaml was accepted`);
}

const sizing = (c: Config, s: Config) => ({ ...(c[SIZING] as Config), ...s });
const pipelines = (c: Config, p: Config) => ({ ...((c[PIPELINES] as Config) ?? {}), ...p });
const rename = (c: Config, from: string, to: string) => {
  c[to] = c[from];
  delete c[from];
};

/** [what the user did, the change to the dev stack file, every key the error must name]. */
const CASES: [string, (c: Config) => void, string[]][] = [
  // The four mistakes that used to pass with exit 0.
  [
    "alertEmail for alertEmails",
    (c) => rename(c, "glue-etl:alertEmails", "glue-etl:alertEmail"),
    ["glue-etl:alertEmail"],
  ],
  [
    "tempExpirationDay for tempExpirationDays",
    (c) => rename(c, "glue-etl:tempExpirationDays", "glue-etl:tempExpirationDay"),
    ["glue-etl:tempExpirationDay"],
  ],
  [
    "pipeline for pipelines",
    (c) => rename(c, PIPELINES, "glue-etl:pipeline"),
    ["glue-etl:pipeline"],
  ],
  [
    "a schedule on event-started genomics",
    (c) => (c[PIPELINES] = pipelines(c, { genomics: { schedule: "cron(0 4 * * ? *)" } })),
    ["glue-etl:pipelines.genomics.schedule"],
  ],
  // Unknown keys at every level.
  [
    "a schedule on event-started manifest",
    (c) => (c[PIPELINES] = pipelines(c, { manifest: { schedule: "cron(0 4 * * ? *)" } })),
    ["glue-etl:pipelines.manifest.schedule"],
  ],
  [
    "a schedule on tagging while sales runs it",
    (c) => (c[PIPELINES] = pipelines(c, { tagging: { schedule: "cron(0 4 * * ? *)" } })),
    ["glue-etl:pipelines.tagging.schedule"],
  ],
  [
    "numberOfWorker for numberOfWorkers",
    (c) => (c[SIZING] = sizing(c, { numberOfWorker: 3 })),
    ["glue-etl:sizing.numberOfWorker"],
  ],
  [
    "typicalRunMinute in a pipeline",
    (c) => (c[PIPELINES] = pipelines(c, { sales: { typicalRunMinute: 5 } })),
    ["glue-etl:pipelines.sales.typicalRunMinute"],
  ],
  [
    "an unknown pipeline",
    (c) => (c[PIPELINES] = pipelines(c, { genomic: { typicalRunMinutes: 5 } })),
    ["glue-etl:pipelines.genomic"],
  ],
  [
    "a sizing key at the top level",
    (c) => (c["glue-etl:workerType"] = "G.2X"),
    ["glue-etl:workerType"],
  ],
  [
    "a pipeline key under sizing",
    (c) => (c[SIZING] = sizing(c, { schedule: "cron(0 2 * * ? *)" })),
    ["glue-etl:sizing.schedule"],
  ],
  [
    "a dotted path written as a key",
    (c) => (c["glue-etl:pipelines.genomics.typicalRunMinutes"] = 5),
    ["glue-etl:pipelines.genomics.typicalRunMinutes"],
  ],
  [
    "a misspelt namespace",
    (c) => rename(c, "glue-etl:owner", "glue_etl:owner"),
    ["glue_etl:owner", "glue-etl:owner"],
  ],
  [
    "an unknown JDBC key",
    (c) => {
      c[PIPELINES] = pipelines(c, {
        tagging: { jdbc: { url: "jdbc:postgresql://db:5432/a", table: "t", user: "etl" } },
      });
      c["glue-etl:jdbcPassword"] = { secure: "v1:c2VjcmV0" };
    },
    ["glue-etl:pipelines.tagging.jdbc.username", "glue-etl:pipelines.tagging.jdbc.user"],
  ],
  // Values out of range or of the wrong type.
  [
    "an unknown worker type",
    (c) => (c[SIZING] = sizing(c, { workerType: "G.3X" })),
    ["glue-etl:sizing.workerType"],
  ],
  [
    "one worker",
    (c) => (c[SIZING] = sizing(c, { numberOfWorkers: 1 })),
    ["glue-etl:sizing.numberOfWorkers"],
  ],
  [
    "workers in words",
    (c) => (c[SIZING] = sizing(c, { numberOfWorkers: "two" })),
    ["glue-etl:sizing.numberOfWorkers"],
  ],
  [
    "half a worker",
    (c) => (c[SIZING] = sizing(c, { numberOfWorkers: 2.5 })),
    ["glue-etl:sizing.numberOfWorkers"],
  ],
  [
    "no concurrent runs",
    (c) => (c[SIZING] = sizing(c, { maxConcurrentRuns: 0 })),
    ["glue-etl:sizing.maxConcurrentRuns"],
  ],
  [
    "a timeout above 7 days",
    (c) => (c[SIZING] = sizing(c, { timeoutMinutes: 10081 })),
    ["glue-etl:sizing.timeoutMinutes"],
  ],
  [
    "negative retries",
    (c) => (c[SIZING] = sizing(c, { maxRetries: -1 })),
    ["glue-etl:sizing.maxRetries"],
  ],
  [
    "an unknown execution class",
    (c) => (c[SIZING] = sizing(c, { executionClass: "SPOT" })),
    ["glue-etl:sizing.executionClass"],
  ],
  [
    "FLEX on G.4X",
    (c) => (c[SIZING] = sizing(c, { workerType: "G.4X" })),
    ["glue-etl:sizing.executionClass"],
  ],
  [
    "a pipeline worker type that FLEX cannot run",
    (c) => (c[PIPELINES] = pipelines(c, { manifest: { workerType: "R.2X" } })),
    ["glue-etl:pipelines.manifest.workerType"],
  ],
  ["no sizing", (c) => delete c[SIZING], ["glue-etl:sizing"]],
  ["sizing as a list", (c) => (c[SIZING] = ["G.1X", 2]), ["glue-etl:sizing"]],
  ["no owner", (c) => delete c["glue-etl:owner"], ["glue-etl:owner"]],
  ["an empty cost centre", (c) => (c["glue-etl:costCenter"] = ""), ["glue-etl:costCenter"]],
  [
    "an environment in capitals",
    (c) => (c["glue-etl:environment"] = "Dev"),
    ["glue-etl:environment"],
  ],
  ["a region name instead of a code", (c) => (c["aws:region"] = "Ireland"), ["aws:region"]],
  ["no region", (c) => delete c["aws:region"], ["aws:region"]],
  [
    "a bad alert address",
    (c) => (c["glue-etl:alertEmails"] = ["ops@example.com", "ops at example"]),
    ["glue-etl:alertEmails[1]"],
  ],
  [
    "one alert address not in a list",
    (c) => (c["glue-etl:alertEmails"] = "ops@example.com"),
    ["glue-etl:alertEmails"],
  ],
  [
    "temp objects kept 0 days",
    (c) => (c["glue-etl:tempExpirationDays"] = 0),
    ["glue-etl:tempExpirationDays"],
  ],
  [
    "temp expiry in words",
    (c) => (c["glue-etl:tempExpirationDays"] = "three"),
    ["glue-etl:tempExpirationDays"],
  ],
  [
    "an hour of 25 in a schedule",
    (c) => (c[PIPELINES] = pipelines(c, { sales: { schedule: "cron(0 25 * * ? *)" } })),
    ["glue-etl:pipelines.sales.schedule"],
  ],
  [
    "a five-field Unix cron",
    (c) => (c[PIPELINES] = pipelines(c, { sales: { schedule: "0 2 * * *" } })),
    ["glue-etl:pipelines.sales.schedule"],
  ],
  [
    "both day fields set",
    (c) => (c[PIPELINES] = pipelines(c, { splitter: { schedule: "cron(0 2 * * MON *)" } })),
    ["glue-etl:pipelines.splitter.schedule"],
  ],
  [
    "enabled: yes as a string",
    (c) => (c[PIPELINES] = pipelines(c, { tagging: { enabled: "yes" } })),
    ["glue-etl:pipelines.tagging.enabled"],
  ],
  [
    "a typical run of 0 minutes",
    (c) => (c[PIPELINES] = pipelines(c, { manifest: { typicalRunMinutes: 0 } })),
    ["glue-etl:pipelines.manifest.typicalRunMinutes"],
  ],
  ["pipelines as a list", (c) => (c[PIPELINES] = ["genomics"]), ["glue-etl:pipelines"]],
  [
    "a pipeline left empty",
    (c) => (c[PIPELINES] = pipelines(c, { splitter: null })),
    ["glue-etl:pipelines.splitter"],
  ],
  [
    "a reserved aws: tag",
    (c) => (c["glue-etl:tags"] = { "aws:team": "x" }),
    ["glue-etl:tags.aws:team"],
  ],
  [
    "a tag value that is a number",
    (c) => (c["glue-etl:tags"] = { team: 42 }),
    ["glue-etl:tags.team"],
  ],
  ["tags as a list", (c) => (c["glue-etl:tags"] = ["team=data"]), ["glue-etl:tags"]],
  // Keys that only make sense together.
  [
    "a JDBC target on a Parquet-only pipeline",
    (c) => {
      c[PIPELINES] = pipelines(c, {
        sales: { jdbc: { url: "jdbc:postgresql://db:5432/a", table: "t", username: "etl" } },
      });
    },
    ["glue-etl:pipelines.sales.jdbc"],
  ],
  [
    "a JDBC target without the password",
    (c) =>
      (c[PIPELINES] = pipelines(c, {
        tagging: { jdbc: { url: "jdbc:postgresql://db:5432/a", table: "t", username: "etl" } },
      })),
    ["glue-etl:jdbcPassword"],
  ],
  [
    "a JDBC URL without jdbc:",
    (c) => {
      c[PIPELINES] = pipelines(c, {
        tagging: { jdbc: { url: "postgres://db/a", table: "t", username: "etl" } },
      });
      c["glue-etl:jdbcPassword"] = { secure: "v1:c2VjcmV0" };
    },
    ["glue-etl:pipelines.tagging.jdbc.url"],
  ],
  [
    "a timeout shorter than the pipelines' runs",
    (c) => (c[SIZING] = sizing(c, { timeoutMinutes: 5 })),
    ["glue-etl:pipelines.sales.typicalRunMinutes", "glue-etl:sizing.timeoutMinutes"],
  ],
  [
    "a pipeline timeout shorter than its default run",
    (c) => (c[PIPELINES] = pipelines(c, { splitter: { timeoutMinutes: 5 } })),
    ["glue-etl:pipelines.splitter.timeoutMinutes"],
  ],
  [
    "a typical run longer than the pipeline's timeout",
    (c) => (c[PIPELINES] = pipelines(c, { sales: { timeoutMinutes: 30, typicalRunMinutes: 45 } })),
    ["glue-etl:pipelines.sales.typicalRunMinutes"],
  ],
];

describe("bad stack files: one error naming the file and every bad key, nothing registered", () => {
  CASES.forEach(([title, change, keys], i) => {
    it(`${title}: ${keys.join(", ")}`, async () => {
      const stack = `bad${i}`;
      const config = devConfig();
      change(config);
      const e = await failure(stack, YAML.stringify({ config }));
      expect(e.cause, e.message).to.be.instanceOf(ConfigValidationError);
      const err = e.cause as ConfigValidationError;
      expect(err.message.startsWith(`Pulumi.${stack}.yaml: Invalid stack configuration`)).to.equal(
        true,
        err.message,
      );
      expect(err.problems.map((p) => p.key).sort()).to.deep.equal([...keys].sort());
      for (const key of keys) expect(err.message).to.include(`  - ${key}: got `);
      expect(e.resources).to.deep.equal([]);
    });
  });

  it("says 'did you mean' for a close key, in its right place", async () => {
    const config = devConfig();
    rename(config, "glue-etl:alertEmails", "glue-etl:alertEmail");
    config["glue-etl:workerType"] = "G.2X";
    config[SIZING] = sizing(config, { numberOfWorker: 3, schedule: "cron(0 2 * * ? *)" });
    const e = await failure("typos", YAML.stringify({ config }));
    const said = Object.fromEntries(
      (e.cause as ConfigValidationError).problems.map((p) => [p.key, p.allowed]),
    );
    expect(said["glue-etl:alertEmail"]).to.match(
      /^no such key; did you mean glue-etl:alertEmails\?/,
    );
    expect(said["glue-etl:workerType"]).to.match(
      /did you mean glue-etl:sizing\.workerType or glue-etl:pipelines\.<pipeline>\.workerType\?/,
    );
    expect(said["glue-etl:sizing.numberOfWorker"]).to.match(
      /did you mean glue-etl:sizing\.numberOfWorkers\?/,
    );
    expect(said["glue-etl:sizing.schedule"]).to.match(
      /did you mean glue-etl:pipelines\.<pipeline>\.schedule\?/,
    );
  });

  it("blames the timeout the user wrote, once, not the defaults they did not write", async () => {
    const config = devConfig();
    config[SIZING] = sizing(config, { timeoutMinutes: 5 });
    delete (config[PIPELINES] as Config).sales;
    const e = await failure("short", YAML.stringify({ config }));
    expect((e.cause as ConfigValidationError).problems).to.deep.equal([
      {
        key: "glue-etl:sizing.timeoutMinutes",
        value: 5,
        allowed:
          "at least 10, the default typicalRunMinutes of splitter, manifest, sales, tagging; or set their typicalRunMinutes to 5 or less",
      },
    ]);
  });
});

describe("YAML syntax errors name the stack file and the line where the mistake is", () => {
  const good = fs.readFileSync(stackFile("dev"), "utf8");
  const lineOf = (text: string, needle: string) =>
    text.split("\n").findIndex((l) => l.includes(needle)) + 1;
  const SYNTAX: [string, (t: string) => string, string][] = [
    [
      "an unclosed quote",
      (t) => t.replace("owner: data-platform", 'owner: "data-platform'),
      "owner:",
    ],
    [
      "an unclosed list",
      (t) => t.replace(/alertEmails:\n\s+- (\S+)/, "alertEmails: [$1"),
      "alertEmails:",
    ],
    [
      "a tab for indentation",
      (t) => t.replace("  glue-etl:owner", "\tglue-etl:owner"),
      "glue-etl:owner",
    ],
    [
      "a key indented one space less",
      (t) => t.replace("    numberOfWorkers", "   numberOfWorkers"),
      "numberOfWorkers",
    ],
    [
      "a key written twice",
      (t) => t.replace("  glue-etl:costCenter", "  glue-etl:owner: x\n  glue-etl:costCenter"),
      "glue-etl:owner: x",
    ],
  ];
  SYNTAX.forEach(([title, breakIt, marker], i) => {
    it(title, async () => {
      const text = breakIt(good);
      expect(text).to.not.equal(good);
      const stack = `syntax${i}`;
      let err: unknown;
      try {
        await runStackOffline(stack, {}, writeStack(stack, text));
      } catch (e) {
        err = e;
      }
      expect(err).to.be.instanceOf(StackFileError);
      const line = lineOf(text, marker);
      expect((err as Error).message).to.match(
        new RegExp(`^Pulumi\\.${stack}\\.yaml, line ${line}, column \\d+: `),
      );
      expect((err as Error).message).to.include(`${line} | ${text.split("\n")[line - 1]}`);
    });
  });
});

describe("the README's JDBC setup, with a secure: password in the stack file", () => {
  it("previews offline, costed from the program's own settings, the secret masked", async () => {
    const text =
      fs.readFileSync(stackFile("prod"), "utf8") +
      ["  glue-etl:jdbcPassword:", "    secure: v1:AAAAAAAAAAAAAAAA:c2VjcmV0LXBhc3N3b3Jk", ""].join(
        "\n",
      );
    const doc = YAML.parseDocument(text);
    doc.setIn(["config", PIPELINES, "tagging", "jdbc"], {
      url: "jdbc:postgresql://db.example.com:5432/analytics",
      table: "public.tagged_sales",
      username: "etl",
    });
    const run = await runStackOffline("jdbc", {}, writeStack("jdbc", doc.toString()));
    expect(run.settings.pipelines.tagging.jdbc?.username).to.equal("etl");
    const version = named(
      run,
      "aws:secretsmanager/secretVersion:SecretVersion",
      "tagging-jdbc-secret-value",
    );
    expect(version.secretInputs).to.include("secretString");
    const json = serialiseSnapshot(await snapshotOf(run, runMinutesFrom(run.settings)));
    const parsed = JSON.parse(json) as { resources: { name: string; inputs: Config }[] };
    const masked = parsed.resources.find((r) => r.name === "tagging-jdbc-secret-value");
    expect(masked?.inputs.secretString).to.equal("[secret]");
    expect(json).to.not.include("c2VjcmV0LXBhc3N3b3Jk");
  });
});
