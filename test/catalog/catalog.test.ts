import { expect } from "chai";
import { Catalog, CatalogArgs } from "../../components/catalog";
import { SALES_PROCESSED } from "../../pipelines/sales";
import { USER_INFO_LARGE } from "../../pipelines/splitter";
import { TableDeclaration } from "../../lib/schema";
import { OfflineRun, RecordedResource } from "../../tools/offline";
import { named, ofType } from "../support/program";
import { TAGS, offlineComponents, refusedOffline } from "./support";

const KEY = "arn:aws:kms:us-east-1:123456789012:key/catalog-test";

const CLICKS: TableDeclaration = {
  name: "clicks_raw",
  description: "Raw clickstream",
  columns: [
    { name: "user", type: "string" },
    { name: "page", type: "string" },
    { name: "ts", type: "timestamp" },
  ],
  partitionKeys: [{ name: "hour", type: "int" }],
  format: { kind: "json", compression: "gzip" },
  prefix: "landing/clicks/",
  projection: { keys: { hour: { type: "integer", range: [0, 23], digits: 2 } } },
};

const ARGS: CatalogArgs = {
  databaseName: "glue_etl_dev_sales",
  tables: [
    { table: USER_INFO_LARGE, bucket: "raw-bucket" },
    { table: SALES_PROCESSED, bucket: "processed-bucket" },
    { table: CLICKS, bucket: "raw-bucket" },
  ],
  athenaResultsBucket: "temp-bucket",
  kmsKeyArn: KEY,
  tags: TAGS,
};

const offline = (args: CatalogArgs) =>
  offlineComponents(() => {
    const catalog = new Catalog("sales-catalog", args);
    return { ddl: catalog.ddl, databaseName: catalog.databaseName };
  });

interface DdlColumn {
  name: string;
  type: string;
  comment?: string;
}

/** Reads a column list of the generated DDL back into names, types and comments. */
function ddlColumns(block: string): DdlColumn[] {
  return block.split(",\n").map((line) => {
    const m = /^ {2}(`?)([a-z0-9_]+)\1 (\S+)(?: COMMENT '((?:[^'\\]|\\.)*)')?$/.exec(line);
    if (!m) throw new Error(`unparsable DDL column line: ${line}`);
    const type = m[3].replace(/`/g, "");
    return m[4] === undefined
      ? { name: m[2], type }
      : { name: m[2], type, comment: m[4].replace(/\\(.)/g, "$1") };
  });
}

function ddlProperties(ddl: string, header: string): Record<string, string> {
  const m = new RegExp(`${header} \\(\\n([\\s\\S]*?)\\n\\)`).exec(ddl);
  if (!m) return {};
  return Object.fromEntries(
    m[1].split(",\n").map((line) => {
      const kv = /^ {2}'((?:[^'\\]|\\.)*)'='((?:[^'\\]|\\.)*)'$/.exec(line);
      if (!kv) throw new Error(`unparsable property line: ${line}`);
      return [kv[1], kv[2].replace(/\\(.)/g, "$1")];
    }),
  );
}

describe("Catalog component under mocks", () => {
  let run: OfflineRun;
  let ddl: Record<string, string>;
  before(async () => {
    run = await offline(ARGS);
    ddl = run.outputs.ddl as Record<string, string>;
  });
  const table = (name: string): RecordedResource =>
    named(run, "aws:glue/catalogTable:CatalogTable", `sales-catalog-${name}`);
  const sd = (name: string) => table(name).inputs.storageDescriptor as Record<string, unknown>;

  it("registers a database, one Glue table per declaration, a workgroup and one named query per table", () => {
    const db = named(run, "aws:glue/catalogDatabase:CatalogDatabase", "sales-catalog-database");
    expect(db.inputs).to.include({ name: "glue_etl_dev_sales" });
    expect(db.inputs.tags).to.deep.equal(TAGS);
    expect(
      ofType(run, "aws:glue/catalogTable:CatalogTable").map((t) => t.inputs.name),
    ).to.deep.equal(["user_info_large", "sales_processed", "clicks_raw"]);
    expect(ofType(run, "aws:athena/workgroup:Workgroup")).to.have.length(1);
    expect(ofType(run, "aws:athena/namedQuery:NamedQuery")).to.have.length(3);
    const component = run.resources.find((r) => r.type === "glue-etl:catalog:Catalog");
    expect(component?.name).to.equal("sales-catalog");
    for (const r of run.resources.filter((x) => x.custom)) {
      expect(r.parent, r.name).to.equal("glue-etl:catalog:Catalog::sales-catalog");
      expect(r.name.startsWith("sales-catalog-"), r.name).to.equal(true);
    }
  });

  it("declares user_info_large as 50 string columns of quoted CSV with its header skipped", () => {
    const t = table("user_info_large");
    expect(t.inputs).to.include({
      databaseName: "glue_etl_dev_sales",
      tableType: "EXTERNAL_TABLE",
    });
    expect(t.inputs.parameters).to.deep.equal({
      EXTERNAL: "TRUE",
      classification: "csv",
      "skip.header.line.count": "1",
    });
    const columns = sd("user_info_large").columns as DdlColumn[];
    expect(columns).to.have.length(50);
    expect(columns.every((c) => c.type === "string")).to.equal(true);
    expect(columns[0].name).to.equal("user_id");
    expect(new Set(columns.map((c) => c.name)).size).to.equal(50);
    expect(sd("user_info_large")).to.deep.include({
      location: "s3://raw-bucket/user_info_large/",
      inputFormat: "org.apache.hadoop.mapred.TextInputFormat",
      outputFormat: "org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat",
      compressed: false,
      serDeInfo: {
        name: "OpenCSVSerde",
        serializationLibrary: "org.apache.hadoop.hive.serde2.OpenCSVSerde",
        parameters: { separatorChar: ",", quoteChar: '"', escapeChar: "\\" },
      },
    });
    expect(t.inputs.partitionKeys ?? []).to.deep.equal([]);
  });

  it("declares sales_processed as Parquet partitioned by date with date projection", () => {
    const t = table("sales_processed");
    expect(t.inputs.partitionKeys).to.deep.equal([
      { name: "date", type: "string", comment: "Event date (UTC), yyyy-MM-dd" },
    ]);
    expect(t.inputs.parameters).to.deep.equal({
      EXTERNAL: "TRUE",
      classification: "parquet",
      "parquet.compression": "SNAPPY",
      "projection.enabled": "true",
      "projection.date.type": "date",
      "projection.date.format": "yyyy-MM-dd",
      "projection.date.range": "2020-01-01,NOW",
      "projection.date.interval": "1",
      "projection.date.interval.unit": "DAYS",
      "storage.location.template": "s3://processed-bucket/sales/date=${date}/",
    });
    expect(sd("sales_processed")).to.deep.include({
      location: "s3://processed-bucket/sales/",
      inputFormat: "org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat",
      outputFormat: "org.apache.hadoop.hive.ql.io.parquet.MapredParquetOutputFormat",
      serDeInfo: {
        name: "ParquetHiveSerDe",
        serializationLibrary: "org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe",
        parameters: { "serialization.format": "1" },
      },
    });
    expect(
      (sd("sales_processed").columns as DdlColumn[]).find((c) => c.name === "amount"),
    ).to.deep.equal({
      name: "amount",
      type: "decimal(12,2)",
      comment: "Order amount in the currency below",
    });
  });

  it("declares a gzip JSON table with the OpenX SerDe and integer projection", () => {
    const t = table("clicks_raw");
    expect(sd("clicks_raw")).to.deep.include({
      compressed: true,
      serDeInfo: {
        name: "JsonSerDe",
        serializationLibrary: "org.openx.data.jsonserde.JsonSerDe",
        parameters: {},
      },
    });
    expect(t.inputs.parameters).to.deep.include({
      classification: "json",
      compressionType: "gzip",
      "projection.hour.type": "integer",
      "projection.hour.range": "0,23",
      "projection.hour.digits": "2",
      "storage.location.template": "s3://raw-bucket/landing/clicks/hour=${hour}/",
    });
  });

  it("generates DDL that matches each Glue table column by column, with the same SerDe, location and properties", () => {
    expect(Object.keys(ddl)).to.deep.equal(["user_info_large", "sales_processed", "clicks_raw"]);
    for (const name of Object.keys(ddl)) {
      const text = ddl[name];
      const t = table(name);
      expect(
        text.startsWith(`CREATE EXTERNAL TABLE glue_etl_dev_sales.${name} (\n`),
        name,
      ).to.equal(true);
      const columnsBlock = /^CREATE EXTERNAL TABLE \S+ \(\n([\s\S]*?)\n\)\n/.exec(text)?.[1] ?? "";
      expect(ddlColumns(columnsBlock), name).to.deep.equal(sd(name).columns);
      const partitions = /\nPARTITIONED BY \(\n([\s\S]*?)\n\)\n/.exec(text)?.[1];
      expect(partitions ? ddlColumns(partitions) : [], name).to.deep.equal(
        t.inputs.partitionKeys ?? [],
      );
      const serde = sd(name).serDeInfo as {
        serializationLibrary: string;
        parameters: Record<string, string>;
      };
      expect(text).to.contain(`\nROW FORMAT SERDE '${serde.serializationLibrary}'\n`);
      expect(ddlProperties(text, "WITH SERDEPROPERTIES")).to.deep.equal(serde.parameters);
      expect(text).to.contain(`\nSTORED AS INPUTFORMAT '${String(sd(name).inputFormat)}'\n`);
      expect(text).to.contain(`\nOUTPUTFORMAT '${String(sd(name).outputFormat)}'\n`);
      expect(text).to.contain(`\nLOCATION '${String(sd(name).location)}'\n`);
      const { EXTERNAL, ...properties } = t.inputs.parameters as Record<string, string>;
      expect(EXTERNAL).to.equal("TRUE");
      expect(ddlProperties(text, "TBLPROPERTIES"), name).to.deep.equal(properties);
    }
    expect(ddl.sales_processed).to.contain("PARTITIONED BY (\n  `date` string COMMENT");
  });

  it("stores each table's DDL as a named query in the catalog's workgroup", () => {
    for (const name of Object.keys(ddl)) {
      const q = named(run, "aws:athena/namedQuery:NamedQuery", `sales-catalog-${name}-ddl`);
      expect(q.inputs).to.include({
        name: `create_${name}`,
        database: "glue_etl_dev_sales",
        workgroup: "glue-etl-dev-sales",
        query: ddl[name],
      });
    }
  });

  it("encrypts query results with the given key and enforces the workgroup's settings", () => {
    const wg = named(run, "aws:athena/workgroup:Workgroup", "sales-catalog-workgroup");
    expect(wg.inputs.name).to.equal("glue-etl-dev-sales");
    expect(wg.inputs.tags).to.deep.equal(TAGS);
    expect(wg.inputs.configuration).to.deep.equal({
      enforceWorkgroupConfiguration: true,
      publishCloudwatchMetricsEnabled: true,
      bytesScannedCutoffPerQuery: 100 * 1024 ** 3,
      engineVersion: { selectedEngineVersion: "Athena engine version 3" },
      resultConfiguration: {
        outputLocation: "s3://temp-bucket/athena-results/",
        encryptionConfiguration: { encryptionOption: "SSE_KMS", kmsKeyArn: KEY },
      },
    });
  });

  it("exports the database name and the DDL texts", () => {
    expect(run.outputs.databaseName).to.equal("glue_etl_dev_sales");
    expect(
      ddl.user_info_large
        .split("\n")
        .filter((l) => l.endsWith(" string,") || l.endsWith(" string")),
    ).to.have.length(50);
  });
});

describe("Catalog component argument checks", () => {
  const refused = (args: CatalogArgs) => refusedOffline(() => new Catalog("bad", args));

  it("refuses a database name Athena cannot use, before registering any resource", async () => {
    const message = await refused({ ...ARGS, databaseName: "glue-etl-dev" });
    expect(message).to.contain(
      'Catalog databaseName: got "glue-etl-dev"; allowed: lower-case letters',
    );
  });

  it("refuses a table declared twice", async () => {
    const message = await refused({
      ...ARGS,
      tables: [
        { table: CLICKS, bucket: "a" },
        { table: CLICKS, bucket: "b" },
      ],
    });
    expect(message).to.contain('table "clicks_raw" is declared twice');
  });

  it("refuses an invalid table declaration with the schema's error", async () => {
    const message = await refused({
      ...ARGS,
      tables: [{ table: { ...CLICKS, columns: [{ name: "x", type: "text" }] }, bucket: "a" }],
    });
    expect(message).to.match(
      /Table "clicks_raw" is invalid \(1 problem\):\n {2}- columns\[0\]\.type: got "text"/,
    );
  });

  it("refuses a query cutoff below Athena's 10 MB minimum and a bad results prefix", async () => {
    expect(await refused({ ...ARGS, bytesScannedCutoffPerQuery: 1000 })).to.contain(
      "bytesScannedCutoffPerQuery: got 1000",
    );
    expect(await refused({ ...ARGS, athenaResultsPrefix: "/results" })).to.contain(
      'athenaResultsPrefix: got "/results"',
    );
  });
});
