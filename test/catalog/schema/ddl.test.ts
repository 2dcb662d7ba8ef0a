import { expect } from "chai";
import { TableDeclaration, quoteIdentifier } from "../../../lib/schema";
import { ddlOf, orders } from "./support";

describe("catalog schema: Athena DDL", () => {
  it("generates the exact DDL of a quoted CSV table with partitions", () => {
    expect(ddlOf(orders)).to.equal(
      [
        "CREATE EXTERNAL TABLE analytics.orders_raw (",
        "  order_id string COMMENT 'Shop\\'s order number',",
        "  customer string,",
        "  quantity int,",
        "  total double",
        ")",
        "COMMENT 'Orders as exported by the shop'",
        "PARTITIONED BY (",
        "  year int,",
        "  region string",
        ")",
        "ROW FORMAT SERDE 'org.apache.hadoop.hive.serde2.OpenCSVSerde'",
        "WITH SERDEPROPERTIES (",
        "  'separatorChar'=',',",
        "  'quoteChar'='\"',",
        "  'escapeChar'='\\\\'",
        ")",
        "STORED AS INPUTFORMAT 'org.apache.hadoop.mapred.TextInputFormat'",
        "OUTPUTFORMAT 'org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat'",
        "LOCATION 's3://data-bucket/landing/orders/'",
        "TBLPROPERTIES (",
        "  'classification'='csv',",
        "  'skip.header.line.count'='1'",
        ")",
      ].join("\n"),
    );
  });

  it("uses LazySimpleSerDe for unquoted CSV, with its delimiter and compression", () => {
    const ddl = ddlOf({
      ...orders,
      partitionKeys: [],
      format: { kind: "csv", quoting: "none", separator: "|", headerLines: 0, compression: "gzip" },
    });
    expect(ddl).to.contain(
      [
        "ROW FORMAT SERDE 'org.apache.hadoop.hive.serde2.lazy.LazySimpleSerDe'",
        "WITH SERDEPROPERTIES (",
        "  'field.delim'='|',",
        "  'serialization.format'='|'",
        ")",
      ].join("\n"),
    );
    expect(ddl).to.contain(
      "TBLPROPERTIES (\n  'classification'='csv',\n  'compressionType'='gzip'\n)",
    );
    expect(ddl).not.to.contain("skip.header");
    expect(ddl).not.to.contain("PARTITIONED BY");
  });

  it("generates the exact DDL of a Parquet table with date projection", () => {
    const decl: TableDeclaration = {
      name: "sales_daily",
      description: "Cleaned sales",
      columns: [
        { name: "sale_id", type: "string" },
        { name: "amount", type: "DECIMAL(12, 2)" },
        { name: "items", type: "array<struct<sku:string, qty:int>>" },
      ],
      partitionKeys: [{ name: "date", type: "string" }],
      format: { kind: "parquet" },
      prefix: "sales/",
      projection: {
        keys: { date: { type: "date", format: "yyyy-MM-dd", range: ["2020-01-01", "NOW"] } },
      },
    };
    expect(ddlOf(decl, "processed-bucket", "shop")).to.equal(
      [
        "CREATE EXTERNAL TABLE shop.sales_daily (",
        "  sale_id string,",
        "  amount decimal(12,2),",
        "  items array<struct<sku:string,qty:int>>",
        ")",
        "COMMENT 'Cleaned sales'",
        "PARTITIONED BY (",
        "  `date` string",
        ")",
        "ROW FORMAT SERDE 'org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe'",
        "WITH SERDEPROPERTIES (",
        "  'serialization.format'='1'",
        ")",
        "STORED AS INPUTFORMAT 'org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat'",
        "OUTPUTFORMAT 'org.apache.hadoop.hive.ql.io.parquet.MapredParquetOutputFormat'",
        "LOCATION 's3://processed-bucket/sales/'",
        "TBLPROPERTIES (",
        "  'classification'='parquet',",
        "  'parquet.compression'='SNAPPY',",
        "  'projection.enabled'='true',",
        "  'projection.date.type'='date',",
        "  'projection.date.format'='yyyy-MM-dd',",
        "  'projection.date.range'='2020-01-01,NOW',",
        "  'storage.location.template'='s3://processed-bucket/sales/date=${date}/'",
        ")",
      ].join("\n"),
    );
  });

  it("generates the exact DDL of a JSON table", () => {
    const decl: TableDeclaration = {
      name: "clicks",
      description: "",
      columns: [
        { name: "user", type: "string" },
        { name: "ts", type: "timestamp" },
        { name: "attrs", type: "map<string,string>" },
      ],
      format: { kind: "json", ignoreMalformed: true },
      prefix: "raw/clicks/",
    };
    expect(ddlOf(decl)).to.equal(
      [
        "CREATE EXTERNAL TABLE analytics.clicks (",
        "  `user` string,",
        "  ts timestamp,",
        "  attrs map<string,string>",
        ")",
        "ROW FORMAT SERDE 'org.openx.data.jsonserde.JsonSerDe'",
        "WITH SERDEPROPERTIES (",
        "  'ignore.malformed.json'='true'",
        ")",
        "STORED AS INPUTFORMAT 'org.apache.hadoop.mapred.TextInputFormat'",
        "OUTPUTFORMAT 'org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat'",
        "LOCATION 's3://data-bucket/raw/clicks/'",
        "TBLPROPERTIES (",
        "  'classification'='json'",
        ")",
      ].join("\n"),
    );
  });

  it("quotes reserved words and names that do not start with a letter, in names and struct fields", () => {
    expect(quoteIdentifier("date")).to.equal("`date`");
    expect(quoteIdentifier("TABLE")).to.equal("`TABLE`");
    expect(quoteIdentifier("_source_file")).to.equal("`_source_file`");
    expect(quoteIdentifier("1st_value")).to.equal("`1st_value`");
    expect(quoteIdentifier("order_id")).to.equal("order_id");
    expect(quoteIdentifier("dates")).to.equal("dates");
    const ddl = ddlOf(
      {
        name: "select",
        description: "",
        columns: [
          { name: "from", type: "string" },
          { name: "payload", type: "struct<timestamp:bigint,value:string>" },
        ],
        format: { kind: "parquet" },
        prefix: "x/",
      },
      "b",
      "_staging",
    );
    expect(ddl).to.match(/^CREATE EXTERNAL TABLE `_staging`\.`select` \(\n {2}`from` string,\n/);
    expect(ddl).to.contain("  payload struct<`timestamp`:bigint,value:string>\n)");
  });
});
