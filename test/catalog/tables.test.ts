import { expect } from "chai";
import { JOBS, PIPELINES } from "../../pipelines";
import { createTableDdl, physicalTable, tableLocation } from "../../lib/schema";
import { CHROMOSOMES, GENOMIC_VARIANTS } from "../../pipelines/genomics";
import { NDJSON_BATCHES } from "../../pipelines/manifest";
import { SALES_PROCESSED } from "../../pipelines/sales";
import { USER_INFO_LARGE } from "../../pipelines/splitter";

describe("shipped catalog tables", () => {
  const all = PIPELINES.flatMap((p) => (p.tables ?? []).map((t) => ({ pipeline: p.name, ...t })));

  it("have unique names across the pipelines", () => {
    const names = all.map((t) => t.table.name);
    expect(new Set(names).size).to.equal(names.length);
  });

  it("all validate and produce DDL within Athena's named-query limit", () => {
    for (const { table } of all) {
      const ddl = createTableDdl(physicalTable(table, tableLocation("bucket", table)), "db");
      expect(ddl.length, table.name).to.be.below(262144);
    }
  });

  it("declare user_info_large as the 50 string columns the splitter reads, keyed by its first", () => {
    expect(USER_INFO_LARGE.columns).to.have.length(50);
    expect(USER_INFO_LARGE.columns.every((c) => c.type === "string")).to.equal(true);
    expect(USER_INFO_LARGE.format).to.deep.include({
      kind: "csv",
      quoting: "quoted",
      headerLines: 1,
    });
    // The splitter's default ID column is the first column.
    expect(USER_INFO_LARGE.columns[0].name).to.equal("user_id");
    expect(JOBS.splitter!.arguments).to.have.property("--TABLE_NAME");
  });

  it("project the genomics output over every normalised chromosome", () => {
    expect(CHROMOSOMES).to.have.length(25);
    expect(CHROMOSOMES).to.include.members(["1", "22", "X", "Y", "MT"]);
    const t = physicalTable(GENOMIC_VARIANTS, "s3://processed/genomics/");
    expect(t.parameters["storage.location.template"]).to.equal(
      "s3://processed/genomics/chromosome=${chromosome}/",
    );
    expect(t.parameters["projection.chromosome.values"].split(",")).to.deep.equal([...CHROMOSOMES]);
  });

  it("find NDJSON batches in merged-parquet-{date}/ and sales in date=YYYY-MM-DD/", () => {
    expect(
      physicalTable(NDJSON_BATCHES, "s3://p/batches/").parameters["storage.location.template"],
    ).to.equal("s3://p/batches/merged-parquet-${batch_date}/");
    expect(
      physicalTable(SALES_PROCESSED, "s3://p/sales/").parameters["storage.location.template"],
    ).to.equal("s3://p/sales/date=${date}/");
  });
});
