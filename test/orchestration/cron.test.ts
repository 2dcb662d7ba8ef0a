import { expect } from "chai";
import { Cron } from "croner";
import { CRONER_OPTIONS, CronError, runsPerMonth, validateGlueCron } from "../../lib/cron";

const TAIL =
  ". Expected cron(Minutes Hours Day-of-month Month Day-of-week Year) in UTC, e.g. cron(0 2 * * ? *) for 02:00 every day.";

function errorOf(expr: string): CronError {
  try {
    validateGlueCron(expr);
  } catch (e) {
    expect(e).to.be.instanceOf(CronError);
    return e as CronError;
  }
  throw new Error(`${expr} was accepted`);
}

describe("validateGlueCron", () => {
  it("accepts what Glue accepts and normalises spacing", () => {
    const good = [
      "cron(0 2 * * ? *)",
      "cron(15 10 ? * 6L 2026-2030)",
      "cron(0/15 * * * ? *)",
      "cron(*/5 8-18 ? * MON-FRI *)",
      "cron(0 18 ? * mon-fri *)",
      "cron(0 0 1,15 JAN,JUL ? *)",
      "cron(0 3 L * ? *)",
      "cron(0 3 LW * ? *)",
      "cron(0 3 15W * ? *)",
      "cron(30 6 ? * 3#2 *)",
      "cron(0 12 ? * L *)",
      "cron(0 0 1-7/2 * ? *)",
    ];
    for (const g of good) expect(validateGlueCron(g), g).to.equal(g);
    expect(validateGlueCron("  cron( 0  2 * *  ? * ) ")).to.equal("cron(0 2 * * ? *)");
  });

  it("names the field, the value and what is allowed", () => {
    const cases: [string, string | undefined, string][] = [
      [
        "cron(0 25 * * ? *)",
        "Hours",
        'Invalid Glue schedule "cron(0 25 * * ? *)": Hours field ("25"): "25" is out of range; allowed: 0-23 with wildcards , - * /',
      ],
      [
        "cron(60 2 * * ? *)",
        "Minutes",
        'Invalid Glue schedule "cron(60 2 * * ? *)": Minutes field ("60"): "60" is out of range; allowed: 0-59 with wildcards , - * /',
      ],
      [
        "cron(0 2 * FOO ? *)",
        "Month",
        'Invalid Glue schedule "cron(0 2 * FOO ? *)": Month field ("FOO"): FOO is not a value or wildcard of this field; allowed: 1-12 or JAN-DEC with wildcards , - * /',
      ],
      [
        "cron(0 2 ? * 8 *)",
        "Day-of-week",
        'Invalid Glue schedule "cron(0 2 ? * 8 *)": Day-of-week field ("8"): 8 is out of range; allowed: 1-7 or SUN-SAT with wildcards , - * ? L #',
      ],
      [
        "cron(0 2 32 * ? *)",
        "Day-of-month",
        'Invalid Glue schedule "cron(0 2 32 * ? *)": Day-of-month field ("32"): "32" is out of range; allowed: 1-31 with wildcards , - * ? / L W',
      ],
      [
        "cron(0 2 * * ? 1969)",
        "Year",
        'Invalid Glue schedule "cron(0 2 * * ? 1969)": Year field ("1969"): 1969 is out of range; allowed: 1970-2199 with wildcards , - * /',
      ],
      [
        "cron(0 2 * * MON *)",
        "Day-of-week",
        'Invalid Glue schedule "cron(0 2 * * MON *)": Day-of-month ("*") and Day-of-week ("MON") are both set; Glue needs "?" in one of them',
      ],
      [
        "cron(0 2 ? * ? *)",
        "Day-of-month",
        'Invalid Glue schedule "cron(0 2 ? * ? *)": Day-of-month and Day-of-week are both "?"; set one of them (e.g. * in Day-of-month for every day)',
      ],
      [
        "cron(0 2 * * ?)",
        undefined,
        'Invalid Glue schedule "cron(0 2 * * ?)": it has 5 fields, Glue needs exactly 6',
      ],
      [
        "0 2 * * ? *",
        undefined,
        'Invalid Glue schedule "0 2 * * ? *": a Glue schedule is written "cron(...)" with six fields',
      ],
      [
        "cron(0 ? * * ? *)",
        "Hours",
        'Invalid Glue schedule "cron(0 ? * * ? *)": Hours field ("?"): "?" stands alone, in Day-of-month or Day-of-week only; allowed: 0-23 with wildcards , - * /',
      ],
      [
        "cron(0 2 ? * 3#6 *)",
        "Day-of-week",
        'Invalid Glue schedule "cron(0 2 ? * 3#6 *)": Day-of-week field ("3#6"): nth weekday out of range, should be 1-5 or L. Value: 6; allowed: 1-7 or SUN-SAT with wildcards , - * ? L #',
      ],
      [
        "cron(0 2 1W-5 * ? *)",
        "Day-of-month",
        'Invalid Glue schedule "cron(0 2 1W-5 * ? *)": Day-of-month field ("1W-5"): Syntax error, W is not allowed in a range; allowed: 1-31 with wildcards , - * ? / L W',
      ],
      [
        "cron(0 20-4 * * ? *)",
        "Hours",
        'Invalid Glue schedule "cron(0 20-4 * * ? *)": Hours field ("20-4"): From value is larger than to value: \'20-4\'; allowed: 0-23 with wildcards , - * /',
      ],
      [
        "cron(0/0 2 * * ? *)",
        "Minutes",
        'Invalid Glue schedule "cron(0/0 2 * * ? *)": Minutes field ("0/0"): Syntax error, illegal stepping: 0; allowed: 0-59 with wildcards , - * /',
      ],
      [
        "cron(0 L * * ? *)",
        "Hours",
        'Invalid Glue schedule "cron(0 L * * ? *)": Hours field ("L"): L is not a value or wildcard of this field; allowed: 0-23 with wildcards , - * /',
      ],
      [
        "cron(0 2 3#2 * ? *)",
        "Day-of-month",
        'Invalid Glue schedule "cron(0 2 3#2 * ? *)": Day-of-month field ("3#2"): 3#2 is not a value or wildcard of this field; allowed: 1-31 with wildcards , - * ? / L W',
      ],
    ];
    for (const [expr, field, message] of cases) {
      const e = errorOf(expr);
      expect(e.message, expr).to.equal(message + TAIL);
      expect(e.field, expr).to.equal(field);
    }
  });
});

/** Croner on its own, as lib/cron.ts calls it: what it would get wrong without Glue's rules. */
function cronerAccepts(fields: string): boolean {
  try {
    new Cron(`0 ${fields}`, CRONER_OPTIONS);
    return true;
  } catch {
    return false;
  }
}

describe("Glue's cron rules kept beside croner, each where croner alone differs", () => {
  const rules: [string, string, boolean][] = [
    ["Day-of-month and Day-of-week both set", "2 * * MON *", false],
    ["Day-of-month and Day-of-week both ?", "2 ? * ? *", false],
    ["? outside the day fields", "? * * ? *", false],
    ["Day-of-week 8", "2 ? * 8 *", false],
    ["year 1969", "2 * * ? 1969", false],
    ["year 2200", "2 * * ? 2200", false],
    ["L alone in Day-of-week (Saturday)", "12 ? * L *", true],
  ];
  for (const [rule, fields, glue] of rules) {
    it(`${rule}: Glue ${glue ? "accepts" : "refuses"}, croner alone does not`, () => {
      expect(cronerAccepts(`0 ${fields}`), "croner alone").to.equal(!glue);
      const ours = (() => {
        try {
          validateGlueCron(`cron(0 ${fields})`);
          return true;
        } catch (e) {
          expect(e).to.be.instanceOf(CronError);
          return false;
        }
      })();
      expect(ours, "lib/cron.ts").to.equal(glue);
    });
  }

  it("counts a lone L weekday as every Saturday", () => {
    // 2025-2028 hold 209 Saturdays.
    expect(runsPerMonth("cron(0 12 ? * L *)")).to.be.closeTo(209 / 48, 1e-9);
  });
});

describe("runsPerMonth", () => {
  it("averages runs over leap and common years", () => {
    expect(runsPerMonth("cron(0 2 * * ? *)")).to.be.closeTo(365.25 / 12, 1e-9);
    expect(runsPerMonth("cron(0/15 * * * ? *)")).to.be.closeTo((365.25 / 12) * 96, 1e-9);
    expect(runsPerMonth("cron(0 0 1 * ? *)")).to.equal(1);
    expect(runsPerMonth("cron(0 0 L * ? *)")).to.equal(1);
    expect(runsPerMonth("cron(0 0 15W * ? *)")).to.equal(1);
    expect(runsPerMonth("cron(30 6 ? * 3#2 *)")).to.equal(1);
    expect(runsPerMonth("cron(0 0 1 JAN,JUL ? *)")).to.be.closeTo(2 / 12, 1e-9);
  });

  it("counts weekdays and hour ranges", () => {
    // 2025-2028 hold 1043 weekdays; 11 runs on each (08:00-18:00).
    expect(runsPerMonth("cron(0 8-18 ? * MON-FRI *)")).to.be.closeTo((1043 * 11) / 48, 1e-9);
    // Every Sunday: 209 in 2025-2028.
    expect(runsPerMonth("cron(0 4 ? * SUN *)")).to.be.closeTo(209 / 48, 1e-9);
    // 31st of the month: 7 months a year.
    expect(runsPerMonth("cron(0 4 31 * ? *)")).to.be.closeTo(7 / 12, 1e-9);
    // 29 February: once in four years.
    expect(runsPerMonth("cron(0 4 29 2 ? *)")).to.be.closeTo(1 / 48, 1e-9);
  });

  it("refuses what validateGlueCron refuses", () => {
    expect(() => runsPerMonth("cron(0 2 * * MON *)")).to.throw(CronError);
  });
});
