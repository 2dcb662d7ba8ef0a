/** The stack's CloudWatch dashboard: a row per declared pipeline, valid dashboard JSON. */
import { expect } from "chai";
import { PIPELINE_NAMES } from "../../pipelines";
import { ResolvedRow, dashboardBody } from "../../components/dashboard";
import { OfflineRun, runStackOffline } from "../../tools/offline";
import { named, ofType, stackRun } from "../support/program";

const DASHBOARD = "aws:cloudwatch/dashboard:Dashboard";
const ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm";

interface Widget {
  type: string;
  x: number;
  y: number;
  width: number;
  height: number;
  properties: Record<string, unknown>;
}

/** What CloudWatch's PutDashboard checks of each widget, as its body structure documents it. */
function checkWidgets(widgets: Widget[], region: string): void {
  for (const w of widgets) {
    expect(["metric", "text", "alarm"]).to.include(w.type);
    expect(w.x + w.width, JSON.stringify(w)).to.be.at.most(24);
    expect(w.width).to.be.within(1, 24);
    expect(w.height).to.be.within(1, 1000);
    if (w.type === "metric") {
      const p = w.properties;
      expect(p.region).to.equal(region);
      expect(["timeSeries", "singleValue", "gauge", "bar", "pie"]).to.include(p.view);
      for (const m of p.metrics as unknown[][]) {
        const last = m[m.length - 1];
        const parts = typeof last === "object" ? m.slice(0, -1) : m;
        // namespace, metric name, then dimension name/value pairs: at most 30 dimensions.
        expect(parts.length % 2, JSON.stringify(m)).to.equal(0);
        expect(parts.length).to.be.within(2, 62);
        for (const s of parts) expect(s).to.be.a("string").and.not.equal("");
      }
    }
    if (w.type === "alarm") {
      const alarms = w.properties.alarms as string[];
      expect(alarms.length).to.be.within(1, 100);
      for (const a of alarms) expect(a).to.match(/^arn:aws:cloudwatch:[a-z0-9-]+:\d{12}:alarm:.+$/);
    }
    if (w.type === "text") expect(w.properties.markdown).to.be.a("string");
  }
}

for (const stack of ["dev", "prod"] as const) {
  describe(`dashboard of the ${stack} stack`, () => {
    let run: OfflineRun;
    let widgets: Widget[];
    before(async () => {
      run = await stackRun(stack);
      const d = named(run, DASHBOARD, "dashboard-dashboard").inputs;
      expect(d.dashboardName).to.equal(`glue-etl-${stack}`);
      widgets = (JSON.parse(d.dashboardBody as string) as { widgets: Widget[] }).widgets;
    });

    it("is valid dashboard JSON with one row per pipeline", () => {
      expect(ofType(run, DASHBOARD)).to.have.length(1);
      checkWidgets(widgets, "eu-west-1");
      const titles = widgets.filter((w) => w.type === "text").map((w) => w.properties.markdown);
      expect(titles).to.deep.equal(
        PIPELINE_NAMES.map((p) => `### ${p} — \`${jobOf(p)}-${stack}\``),
      );
    });

    it("shows runs, rows, rejected share, run time and the pipeline's alarms", () => {
      const row = widgets.filter((w) => w.y >= 7 * 3 + 1 && w.y < 7 * 4); // sales
      expect(row.map((w) => w.properties.title)).to.deep.equal([
        "Runs",
        "Rows",
        "Rejected share (%)",
        "Run time (s)",
        "Alarms",
      ]);
      const dims = [
        "pipeline",
        "sales",
        "environment",
        stack,
        "job",
        `sales_raw_to_processed-${stack}`,
      ];
      const runs = row[0]!.properties.metrics as unknown[][];
      expect(runs[0]!.slice(0, 8)).to.deep.equal(["GlueETL", "RunsCompleted", ...dims]);
      const failedRule = named(run, "aws:cloudwatch/eventRule:EventRule", "sales-alerts-job-runs");
      expect(runs[1]!.slice(0, 4)).to.deep.equal([
        "AWS/Events",
        "TriggeredRules",
        "RuleName",
        failedRule.outputs.name,
      ]);
      const rows = row[1]!.properties.metrics as unknown[][];
      expect(rows.map((m) => m[1])).to.deep.equal(["RowsRead", "RowsWritten", "RowsRejected"]);
      expect((row[2]!.properties.metrics as unknown[][])[0]!.slice(0, 8)).to.deep.equal([
        "GlueETL",
        "RejectedShare",
        ...dims,
      ]);
      expect(row[2]!.properties.annotations).to.deep.equal({
        horizontal: [{ label: "alarm", value: stack === "dev" ? 10 : 2 }],
      });
      const salesAlarms = ofType(run, ALARM)
        .filter((a) => a.name.startsWith("sales-"))
        .map((a) => a.outputs.arn);
      expect([...(row[4]!.properties.alarms as string[])].sort()).to.deep.equal(salesAlarms.sort());
    });
  });
}

function jobOf(p: string): string {
  return {
    genomics: "csv_to_parquet_genomic_data",
    splitter: "split_table_rows",
    manifest: "ndjson_manifest_to_parquet",
    sales: "sales_raw_to_processed",
    tagging: "regex_tagging",
  }[p]!;
}

describe("dashboard rows follow the declared pipelines", () => {
  it("drops the row of a disabled pipeline with no edit to the dashboard", async () => {
    const run = await runStackOffline("dev", {
      "glue-etl:pipelines": {
        genomics: { typicalRunMinutes: 5 },
        sales: { schedule: "cron(0 2 * * ? *)", typicalRunMinutes: 10 },
        splitter: { enabled: false },
      },
    });
    const body = JSON.parse(
      named(run, DASHBOARD, "dashboard-dashboard").inputs.dashboardBody as string,
    ) as { widgets: Widget[] };
    const titles = body.widgets.filter((w) => w.type === "text").map((w) => w.properties.markdown);
    expect(titles).to.have.length(4);
    expect(titles.join()).not.to.include("splitter");
  });

  it("lays out any number of rows", () => {
    const rows: ResolvedRow[] = Array.from({ length: 7 }, (_, i) => ({
      pipeline: `p${i}`,
      jobName: `job${i}-dev`,
      alarmArns: [`arn:aws:cloudwatch:eu-west-1:123456789012:alarm:a${i}`],
    }));
    const body = JSON.parse(
      dashboardBody(rows, { environment: "dev", region: "eu-west-1", namespace: "GlueETL" }),
    ) as { widgets: Widget[] };
    checkWidgets(body.widgets, "eu-west-1");
    expect(body.widgets).to.have.length(7 * 6);
    // No two widgets overlap.
    const cells = new Set<string>();
    for (const w of body.widgets)
      for (let x = w.x; x < w.x + w.width; x++)
        for (let y = w.y; y < w.y + w.height; y++) {
          expect(cells.has(`${x},${y}`)).to.equal(false);
          cells.add(`${x},${y}`);
        }
  });
});
