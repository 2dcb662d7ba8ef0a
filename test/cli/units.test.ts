/** The CLI's pure parts, in process: cost, argument parsing, resolution, formatting. */
import type { JobRun } from "@aws-sdk/client-glue";
import { expect } from "chai";
import { checkRange, manifestDate, parseS3Prefix } from "../../cli/glue/commands/backfill";
import { UsageError } from "../../cli/glue/errors";
import { duration, money } from "../../cli/glue/format";
import { checkArgumentKeys, parseArgPairs, suggest } from "../../cli/glue/jobargs";
import { parseStackOutputs, pipelineOfJob } from "../../cli/glue/resolve";
import { runUsage } from "../../cli/glue/runs";
import { table } from "../../lib/table";

const NOW = new Date("2026-11-21T10:00:00Z");
const started = new Date("2026-11-21T09:50:00Z");

describe("glue CLI: run cost", () => {
  it("uses workers x DPUs when Glue gives no MaxCapacity, at the FLEX price", () => {
    const run: JobRun = {
      JobRunState: "SUCCEEDED",
      ExecutionTime: 600,
      WorkerType: "G.2X",
      NumberOfWorkers: 20,
      ExecutionClass: "FLEX",
    };
    const u = runUsage(run, undefined, NOW);
    expect(u.dpuSeconds).to.equal(600 * 40);
    expect(u.cost).to.be.closeTo((24_000 / 3600) * 0.29, 1e-9);
  });

  it("prefers Glue's DPUSeconds (auto-scaling) over the full capacity", () => {
    const run: JobRun = {
      JobRunState: "SUCCEEDED",
      ExecutionTime: 600,
      MaxCapacity: 40,
      DPUSeconds: 5000,
    };
    expect(runUsage(run, undefined, NOW).dpuSeconds).to.equal(5000);
  });

  it("bills an ended run at least one minute, and a running one only what it used", () => {
    const short: JobRun = { JobRunState: "FAILED", ExecutionTime: 10, MaxCapacity: 2 };
    expect(runUsage(short, undefined, NOW).cost).to.be.closeTo((120 / 3600) * 0.44, 1e-9);
    const running: JobRun = {
      JobRunState: "RUNNING",
      StartedOn: new Date(NOW.getTime() - 10_000),
      MaxCapacity: 2,
    };
    const u = runUsage(running, undefined, NOW);
    expect(u.seconds).to.equal(10);
    expect(u.cost).to.be.closeTo((20 / 3600) * 0.44, 1e-9);
  });

  it("takes the capacity and execution class from the job when the run lacks them", () => {
    const run: JobRun = { JobRunState: "RUNNING", StartedOn: started };
    const u = runUsage(
      run,
      { WorkerType: "G.1X", NumberOfWorkers: 2, ExecutionClass: "FLEX" },
      NOW,
    );
    expect(u.seconds).to.equal(600);
    expect(u.cost).to.be.closeTo((1200 / 3600) * 0.29, 1e-9);
    expect(runUsage(run, undefined, NOW).cost).to.equal(undefined);
  });
});

describe("glue CLI: --arg parsing and checks", () => {
  it("accepts KEY=VALUE and --KEY=VALUE, keeping '=' inside values", () => {
    expect(parseArgPairs(["INPUT_PATH=s3://a/b", "--conf=spark.x=1"])).to.deep.equal({
      "--INPUT_PATH": "s3://a/b",
      "--conf": "spark.x=1",
    });
  });

  it("refuses malformed, empty and repeated arguments", () => {
    expect(() => parseArgPairs(["=x"])).to.throw(UsageError, "malformed --arg");
    expect(() => parseArgPairs(["1ABC=x"])).to.throw(UsageError, "malformed --arg");
    expect(() => parseArgPairs(["A="])).to.throw(UsageError, "--A has an empty value");
    expect(() => parseArgPairs(["A=1", "--A=2"])).to.throw(UsageError, 'given twice ("1" and "2")');
  });

  it("refuses stack-managed options but allows a per-run bookmark option with a valid value", () => {
    const ok = { "--INPUT_PATH": "s3://a", "--job-bookmark-option": "job-bookmark-disable" };
    expect(() => checkArgumentKeys("genomics", ok, "j")).not.to.throw();
    expect(() => checkArgumentKeys("genomics", { "--job-bookmark-option": "off" }, "j")).to.throw(
      UsageError,
      "use one of job-bookmark-enable, job-bookmark-disable, job-bookmark-pause",
    );
    expect(() => checkArgumentKeys("genomics", { "--TempDir": "s3://t/" }, "j")).to.throw(
      UsageError,
      "set by the stack",
    );
  });

  it("passes any non-reserved key for a job outside this program, but never a reserved one", () => {
    expect(() => checkArgumentKeys(undefined, { "--ANYTHING": "1" }, "other")).not.to.throw();
    expect(() => checkArgumentKeys(undefined, { "--mode": "x" }, "other")).to.throw(
      UsageError,
      "reserved by Glue",
    );
  });

  it("suggests only plausible typos", () => {
    expect(suggest("--OUTPUT_PTH", ["--INPUT_PATH", "--OUTPUT_PATH"])).to.equal("--OUTPUT_PATH");
    expect(suggest("--COMPLETELY_DIFFERENT", ["--INPUT_PATH"])).to.equal(undefined);
  });
});

describe("glue CLI: job resolution and stack outputs", () => {
  it("maps a job name that follows the convention back to its pipeline", () => {
    expect(pipelineOfJob("csv_to_parquet_genomic_data-prod")).to.equal("genomics");
    expect(pipelineOfJob("ndjson_manifest_to_parquet-dev")).to.equal("manifest");
    expect(pipelineOfJob("someone_elses_job")).to.equal(undefined);
  });

  it("reads the outputs shape and names the bad field", () => {
    const ok = parseStackOutputs(
      '{"environment":"dev","pipelines":{"sales":{"jobName":"s-dev","maxConcurrentRuns":1}}}',
      "f",
    );
    expect(ok.pipelines.sales).to.deep.equal({ jobName: "s-dev", maxConcurrentRuns: 1 });
    expect(() => parseStackOutputs("{", "f")).to.throw(UsageError, "f is not JSON");
    expect(() => parseStackOutputs('{"pipelines":{"sales":{}}}', "f")).to.throw(
      UsageError,
      "pipelines.sales.jobName is missing",
    );
    expect(() =>
      parseStackOutputs('{"pipelines":{"sales":{"jobName":"x","maxConcurrentRuns":0}}}', "f"),
    ).to.throw(UsageError, "maxConcurrentRuns is 0; expected a positive integer");
  });
});

describe("glue CLI: backfill inputs", () => {
  it("finds the date in a manifest key and rejects impossible dates", () => {
    expect(manifestDate("manifests/2026-11-01/manifest.json")).to.equal("2026-11-01");
    expect(manifestDate("manifests/batch-2026-02-30-manifest.json")).to.equal(undefined);
  });

  it("checks the range", () => {
    expect(checkRange("2026-11-01", "2026-11-01")).to.deep.equal(["2026-11-01", "2026-11-01"]);
    expect(() => checkRange("2026-11-02", "2026-11-01")).to.throw(UsageError, "is after --to");
    expect(() => checkRange("2026-13-01", "2026-12-01")).to.throw(
      UsageError,
      "expected YYYY-MM-DD",
    );
    expect(() => checkRange(undefined, "2026-12-01")).to.throw(UsageError, "--from is required");
  });

  it("parses an S3 prefix, adding the trailing slash", () => {
    expect(parseS3Prefix("s3://raw-bucket/manifests", "--p")).to.deep.equal({
      bucket: "raw-bucket",
      prefix: "manifests/",
    });
    expect(() => parseS3Prefix("raw-bucket/manifests/", "--p")).to.throw(
      UsageError,
      "not an S3 location",
    );
  });
});

describe("glue CLI: formatting (the table renderer shared with the offline preview)", () => {
  it("aligns columns, right-aligns numbers and clips long cells", () => {
    const out = table(
      [{ header: "ID" }, { header: "COST", align: "right" }, { header: "ERROR", maxWidth: 8 }],
      [
        ["a", "$1.00", "short"],
        ["bbbb", "$10.50", "a very long message"],
      ],
    );
    expect(out.split("\n")).to.deep.equal([
      "ID      COST  ERROR",
      "a      $1.00  short",
      "bbbb  $10.50  a very …",
    ]);
  });

  it("formats durations and small costs", () => {
    expect([duration(59), duration(123), duration(3900)]).to.deep.equal(["59s", "2m03s", "1h05m"]);
    expect([money(0.0042), money(1.5)]).to.deep.equal(["$0.0042", "$1.50"]);
  });

  it("keeps the tree's spacing, puts a line break in a cell on one line, and indents", () => {
    const out = table(
      [{ header: "TYPE" }, { header: "NAME" }],
      [
        ["├─ a", "x"],
        ["│  └─ b", "two\nlines"],
      ],
      { indent: 2 },
    );
    expect(out.split("\n")).to.deep.equal([
      "  TYPE     NAME",
      "  ├─ a     x",
      "  │  └─ b  two lines",
    ]);
    expect(table([{ header: "K" }, { header: "V" }], [["a", "1"]], { head: false })).to.equal(
      "a  1",
    );
  });
});
