import { expect } from "chai";
import {
  PartitionProjection,
  TableDeclaration,
  physicalTable,
  validateTable,
} from "../../../lib/schema";
import { orders, problemsOf } from "./support";

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
