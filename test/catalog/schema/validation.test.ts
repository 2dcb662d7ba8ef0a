import { expect } from "chai";
import {
  SchemaValidationError,
  canonicalType,
  physicalTable,
  validateCatalogName,
  validateTable,
} from "../../../lib/schema";
import { orders, problemsOf } from "./support";

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
