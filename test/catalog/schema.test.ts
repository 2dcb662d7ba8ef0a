import { expect } from "chai";
import {
  PartitionProjection,
  SchemaValidationError,
  TableDeclaration,
  canonicalType,
  createTableDdl,
  physicalTable,
  quoteIdentifier,
  validateCatalogName,
  validateTable,
} from "../../lib/schema";

const ddlOf = (decl: TableDeclaration, bucket = "data-bucket", db = "analytics") =>
  createTableDdl(physicalTable(decl, `s3://${bucket}/${decl.prefix}`), db);

/** The problems of a declaration that must fail validation, as "field: allowed" lines. */
function problemsOf(decl: TableDeclaration): { field: string; value: unknown; allowed: string }[] {
  try {
    validateTable(decl);
  } catch (e) {
    expect(e).to.be.instanceOf(SchemaValidationError);
    return [...(e as SchemaValidationError).problems];
  }
  throw new Error(`expected ${decl.name} to be rejected`);
}

const orders: TableDeclaration = {
  name: "orders_raw",
  description: "Orders as exported by the shop",
  columns: [
    { name: "order_id", type: "string", comment: "Shop's order number" },
    { name: "customer", type: "string" },
    { name: "quantity", type: "int" },
    { name: "total", type: "double" },
  ],
  partitionKeys: [
    { name: "year", type: "int" },
    { name: "region", type: "string" },
  ],
  format: { kind: "csv" },
  prefix: "landing/orders/",
};

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

describe("catalog schema: validation", () => {
  it("accepts a good declaration and canonicalises its types", () => {
    const { columns } = validateTable({
      ...orders,
      format: { kind: "parquet" },
      columns: [{ name: "a", type: " Array< Decimal(5) > " }],
    });
    expect(columns[0].type).to.equal("array<decimal(5,0)>");
    expect(canonicalType("decimal")).to.equal("decimal(10,0)");
    expect(canonicalType("VARCHAR(20)")).to.equal("varchar(20)");
  });

  it("rejects duplicate and empty column names, naming the field and the value", () => {
    const problems = problemsOf({
      ...orders,
      columns: [
        { name: "id", type: "string" },
        { name: "", type: "string" },
        { name: "id", type: "int" },
      ],
    });
    expect(problems.map((p) => p.field)).to.deep.equal(["columns[1].name", "columns[2].name"]);
    expect(problems[0].allowed).to.contain("non-empty");
    expect(problems[1]).to.include({ value: "id" });
    expect(problems[1].allowed).to.contain("also columns[0]");
  });

  it("rejects a table without columns", () => {
    expect(problemsOf({ ...orders, columns: [] }).map((p) => p.field)).to.deep.equal(["columns"]);
  });

  it("rejects a partition key that is also a column", () => {
    const problems = problemsOf({
      ...orders,
      partitionKeys: [{ name: "customer", type: "string" }],
    });
    expect(problems).to.have.length(1);
    expect(problems[0].field).to.equal("partitionKeys[0].name");
    expect(problems[0].allowed).to.contain("also columns[1]");
  });

  it("rejects bad types with what Hive allows", () => {
    const problems = problemsOf({
      ...orders,
      format: { kind: "parquet" },
      columns: [
        { name: "a", type: "strin" },
        { name: "b", type: "integer" },
        { name: "c", type: "decimal(40,2)" },
        { name: "d", type: "map<array<int>,string>" },
        { name: "e", type: "array<string" },
        { name: "f", type: "struct<x:int,x:int>" },
      ],
      partitionKeys: [{ name: "g", type: "array<string>" }],
    });
    expect(problems.map((p) => p.field)).to.deep.equal([
      "columns[0].type",
      "columns[1].type",
      "columns[2].type",
      "columns[3].type",
      "columns[4].type",
      "columns[5].type",
      "partitionKeys[0].type",
    ]);
    expect(problems[0].allowed).to.contain('"strin" is not a Hive type');
    expect(problems[1].allowed).to.contain('write "int"');
    expect(problems[2].allowed).to.contain("precision must be an integer from 1 to 38");
    expect(problems[3].allowed).to.contain("map keys must be a primitive type");
    expect(problems[4].allowed).to.contain('expected ">"');
    expect(problems[5].allowed).to.contain('"x" appears twice');
    expect(problems[6].allowed).to.contain("primitive type");
  });

  it("rejects names Athena cannot query as declared, and explains why", () => {
    const problems = problemsOf({
      ...orders,
      name: "Orders-Raw",
      columns: [{ name: "OrderId", type: "string" }],
    });
    expect(problems.map((p) => p.field)).to.deep.equal(["name", "columns[0].name"]);
    expect(problems[0].allowed).to.contain("lower-case letters, digits and underscores");
    expect(problems[0].allowed).to.contain("Athena and Hive lower-case every name");
    expect(() => validateCatalogName("databaseName", "glue-etl")).to.throw(
      /databaseName: got "glue-etl"; allowed: lower-case letters/,
    );
    expect(validateCatalogName("databaseName", "glue_etl_dev")).to.equal("glue_etl_dev");
  });

  it("rejects types that quoted CSV (OpenCSVSerde) cannot parse, and bad CSV characters", () => {
    const problems = problemsOf({
      ...orders,
      columns: [
        { name: "id", type: "string" },
        { name: "at", type: "timestamp" },
      ],
      format: { kind: "csv", separator: "||", headerLines: -1 },
    });
    expect(problems.map((p) => p.field)).to.deep.equal([
      "format.separator",
      "format.headerLines",
      "columns[1].type",
    ]);
    expect(problems[2].allowed).to.contain("OpenCSVSerde");
    // The same column is fine when the data is never quoted.
    expect(() =>
      validateTable({
        ...orders,
        columns: [{ name: "at", type: "timestamp" }],
        format: { kind: "csv", quoting: "none" },
      }),
    ).not.to.throw();
  });

  it("rejects a prefix that is not a folder, and a location outside S3", () => {
    expect(problemsOf({ ...orders, prefix: "/landing/orders" }).map((p) => p.field)).to.deep.equal([
      "prefix",
    ]);
    expect(() => physicalTable(orders, "https://example.com/x/")).to.throw(/location got/);
  });

  it("reports every problem in one error message with field, value and what is allowed", () => {
    const decl = { ...orders, name: "Bad", columns: [{ name: "", type: "nope" }] };
    expect(() => validateTable(decl)).to.throw(
      SchemaValidationError,
      /Table "Bad" is invalid \(3 problems\):\n {2}- name: got "Bad"; allowed: .*\n {2}- columns\[0\]\.name: got ""; allowed: a non-empty column name\n {2}- columns\[0\]\.type: got "nope"; allowed: a Hive type/,
    );
  });
});

describe("catalog schema: partition projection", () => {
  const events = (
    projection: PartitionProjection,
    keys = orders.partitionKeys,
  ): TableDeclaration => ({
    ...orders,
    format: { kind: "parquet" },
    partitionKeys: keys,
    projection,
  });
  const fieldsOf = (decl: TableDeclaration) => problemsOf(decl).map((p) => p.field);

  it("writes the table properties of enum, integer and injected projection", () => {
    const t = physicalTable(
      events(
        {
          keys: {
            year: { type: "integer", range: [2020, 2030], interval: 1, digits: 4 },
            region: { type: "enum", values: ["eu", "us"] },
          },
        },
        orders.partitionKeys,
      ),
      "s3://b/landing/orders/",
    );
    expect(t.parameters).to.deep.include({
      "projection.enabled": "true",
      "projection.year.type": "integer",
      "projection.year.range": "2020,2030",
      "projection.year.interval": "1",
      "projection.year.digits": "4",
      "projection.region.type": "enum",
      "projection.region.values": "eu,us",
      "storage.location.template": "s3://b/landing/orders/year=${year}/region=${region}/",
    });
    const injected = physicalTable(
      events({ keys: { device: { type: "injected" } }, locationTemplate: "devices/${device}/" }, [
        { name: "device", type: "string" },
      ]),
      "s3://b/landing/orders/",
    );
    expect(injected.parameters["projection.device.type"]).to.equal("injected");
    expect(injected.parameters["storage.location.template"]).to.equal(
      "s3://b/landing/orders/devices/${device}/",
    );
  });

  it("accepts dates with time of day, relative ranges and a custom template", () => {
    const t = physicalTable(
      events(
        {
          keys: {
            hour: {
              type: "date",
              format: "yyyy/MM/dd/HH",
              range: ["NOW-2YEARS", "NOW+1HOURS"],
              interval: 1,
              intervalUnit: "HOURS",
            },
          },
          locationTemplate: "${hour}/",
        },
        [{ name: "hour", type: "string" }],
      ),
      "s3://b/x/",
    );
    expect(t.parameters["projection.hour.range"]).to.equal("NOW-2YEARS,NOW+1HOURS");
    expect(t.parameters["projection.hour.interval.unit"]).to.equal("HOURS");
    expect(t.parameters["storage.location.template"]).to.equal("s3://b/x/${hour}/");
  });

  it("rejects a projection type that does not fit the partition key's type", () => {
    const problems = problemsOf(
      events(
        {
          keys: {
            year: { type: "date", format: "yyyy", range: ["2020", "NOW"] },
            region: { type: "integer", range: [1, 5] },
          },
        },
        [
          { name: "year", type: "int" },
          { name: "region", type: "double" },
        ],
      ),
    );
    expect(problems.map((p) => p.field)).to.deep.equal([
      "partitionKeys.year.type",
      "partitionKeys.region.type",
    ]);
    expect(problems[0]).to.include({ value: "int" });
    expect(problems[0].allowed).to.contain("for date projection a key of type string");
    expect(problems[1].allowed).to.contain("tinyint, smallint, int or bigint");
  });

  it("rejects enum values that do not fit an integer key, and empty or repeated values", () => {
    expect(
      fieldsOf(
        events({
          keys: {
            year: { type: "enum", values: ["2024", "last"] },
            region: { type: "enum", values: ["eu", "eu", "a,b", ""] },
          },
        }),
      ),
    ).to.deep.equal([
      "projection.keys.year.values[1]",
      "projection.keys.region.values[1]",
      "projection.keys.region.values[2]",
      "projection.keys.region.values[3]",
    ]);
    expect(
      fieldsOf(
        events({ keys: { year: { type: "enum", values: [] }, region: { type: "injected" } } }),
      ),
    ).to.deep.equal(["projection.keys.year.values"]);
  });

  it("rejects a partition key without projection config, and config for an unknown key", () => {
    const problems = problemsOf(
      events({
        keys: { year: { type: "integer", range: [2020, 2030] }, regoin: { type: "injected" } },
      }),
    );
    expect(problems.map((p) => p.field)).to.deep.equal([
      "projection.keys.regoin",
      "projection.keys.region",
    ]);
    expect(problems[0].allowed).to.equal("a partition key of this table: year, region");
    expect(problems[1].allowed).to.contain("a projection for every partition key");
  });

  it("rejects projection on a table without partition keys", () => {
    expect(fieldsOf(events({ keys: {} }, []))).to.deep.equal(["projection"]);
  });

  it("rejects a template naming an unknown key or missing a key, and absolute templates", () => {
    const keys = {
      year: { type: "integer", range: [2020, 2030] },
      region: { type: "injected" },
    } as const;
    const problems = problemsOf(events({ keys, locationTemplate: "${year}/${day}/" }));
    expect(problems.map((p) => p.field)).to.deep.equal([
      "projection.locationTemplate",
      "projection.locationTemplate",
    ]);
    expect(problems[0].allowed).to.contain('"${day}" names none');
    expect(problems[1].allowed).to.contain('a "${region}" placeholder');
    expect(
      problemsOf(events({ keys, locationTemplate: "s3://other/${year}/${region}/" }))[0].allowed,
    ).to.contain("relative to the table location");
  });

  it("rejects bad integer ranges, intervals and digits", () => {
    const region = { type: "injected" } as const;
    expect(
      fieldsOf(
        events({
          keys: { year: { type: "integer", range: [2030, 2020], interval: 0, digits: 40 }, region },
        }),
      ),
    ).to.deep.equal([
      "projection.keys.year.range",
      "projection.keys.year.interval",
      "projection.keys.year.digits",
    ]);
    expect(
      fieldsOf(
        events({
          keys: {
            year: { type: "integer", range: [1.5, 3] as unknown as [number, number] },
            region,
          },
        }),
      ),
    ).to.deep.equal(["projection.keys.year.range"]);
  });

  describe("date projection", () => {
    const day = (spec: object, keyType = "string") =>
      problemsOf(
        events({ keys: { day: { type: "date", ...spec } as never } }, [
          { name: "day", type: keyType },
        ]),
      );

    it("rejects a date format with unsupported or repeated letters", () => {
      const [bad] = day({ format: "yyyy-MMM-dd", range: ["2020-Jan-01", "NOW"] });
      expect(bad.field).to.equal("projection.keys.day.format");
      expect(bad.allowed).to.contain("MMM");
      expect(day({ format: "yyyy-ww", range: ["2020-01", "NOW"] })[0].allowed).to.contain(
        'letter "w" is not supported',
      );
      expect(day({ format: "", range: ["NOW", "NOW"] })[0].field).to.equal(
        "projection.keys.day.format",
      );
    });

    it("rejects range bounds that do not match the format, impossible dates and NOW typos", () => {
      const problems = day({ format: "yyyy-MM-dd", range: ["2020/01/01", "NOW-3YEAR"] });
      expect(problems.map((p) => p.value)).to.deep.equal(["2020/01/01", "NOW-3YEAR"]);
      expect(problems[0].allowed).to.contain("a date in the format yyyy-MM-dd");
      expect(day({ format: "yyyy-MM-dd", range: ["2020-13-01", "NOW"] })[0].value).to.equal(
        "2020-13-01",
      );
    });

    it("rejects a range that runs backwards", () => {
      expect(
        day({ format: "yyyy-MM-dd", range: ["2024-02-01", "2024-01-31"] })[0].allowed,
      ).to.contain("first not after last");
      expect(day({ format: "yyyy-MM-dd", range: ["NOW", "NOW-1DAYS"] })[0].field).to.equal(
        "projection.keys.day.range",
      );
    });

    it("needs an interval unit for time of day and refuses one finer than the format", () => {
      expect(day({ format: "yyyy-MM-dd-HH", range: ["NOW-1DAYS", "NOW"] })[0]).to.include({
        field: "projection.keys.day.intervalUnit",
      });
      const [tooFine] = day({ format: "yyyy-MM", range: ["2020-01", "NOW"], intervalUnit: "DAYS" });
      expect(tooFine.allowed).to.contain("MONTHS or coarser");
      expect(
        day({ format: "yyyy-MM-dd", range: ["2020-01-01", "NOW"], intervalUnit: "FORTNIGHTS" })[0],
      ).to.include({ field: "projection.keys.day.intervalUnit" });
    });

    it("accepts a date-typed key only with the yyyy-MM-dd format", () => {
      expect(day({ format: "yyyyMMdd", range: ["20200101", "NOW"] }, "date")[0]).to.include({
        field: "projection.keys.day.format",
      });
      expect(() =>
        validateTable(
          events(
            { keys: { day: { type: "date", format: "yyyy-MM-dd", range: ["2020-01-01", "NOW"] } } },
            [{ name: "day", type: "date" }],
          ),
        ),
      ).not.to.throw();
    });
  });
});
