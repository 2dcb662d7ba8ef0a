/**
 * Glue schedules: the six-field cron of Glue and EventBridge,
 * `cron(Minutes Hours Day-of-month Month Day-of-week Year)`, always in UTC. Pure: validated before
 * any resource is registered, and used for cost estimates.
 */

export const CRON_FORM = "cron(Minutes Hours Day-of-month Month Day-of-week Year)";
export const CRON_EXAMPLE = "cron(0 2 * * ? *)";

const MONTHS = ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"];
const WEEKDAYS = ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"];

interface FieldSpec {
  readonly name: string;
  readonly min: number;
  readonly max: number;
  /** Names standing for min, min+1, …; accepted in any case. */
  readonly names?: readonly string[];
  /** Wildcards Glue accepts in this field, as its documentation lists them. */
  readonly wildcards: string;
}

const FIELDS: readonly FieldSpec[] = [
  { name: "Minutes", min: 0, max: 59, wildcards: ", - * /" },
  { name: "Hours", min: 0, max: 23, wildcards: ", - * /" },
  { name: "Day-of-month", min: 1, max: 31, wildcards: ", - * ? / L W" },
  { name: "Month", min: 1, max: 12, names: MONTHS, wildcards: ", - * /" },
  { name: "Day-of-week", min: 1, max: 7, names: WEEKDAYS, wildcards: ", - * ? L #" },
  { name: "Year", min: 1970, max: 2199, wildcards: ", - * /" },
];
const [MINUTES, HOURS, DAY_OF_MONTH, MONTH, DAY_OF_WEEK, YEAR] = FIELDS;

export class CronError extends Error {
  constructor(
    readonly expression: string,
    /** The field at fault (e.g. "Hours"), or undefined when the overall form is wrong. */
    readonly field: string | undefined,
    detail: string,
  ) {
    super(
      `Invalid Glue schedule ${JSON.stringify(expression)}: ${detail}. ` +
        `Expected ${CRON_FORM} in UTC, e.g. ${CRON_EXAMPLE} for 02:00 every day.`,
    );
    this.name = "CronError";
  }
}

/** What a day looks like to the day-of-month and day-of-week fields. */
interface Day {
  readonly dom: number;
  /** 1 = Sunday … 7 = Saturday, as Glue counts. */
  readonly dow: number;
  readonly daysInMonth: number;
}
type DayTest = (d: Day) => boolean;

interface ParsedCron {
  readonly minutes: ReadonlySet<number>;
  readonly hours: ReadonlySet<number>;
  readonly months: ReadonlySet<number>;
  readonly years: ReadonlySet<number>;
  readonly dayOfMonth?: DayTest;
  readonly dayOfWeek?: DayTest;
}

class FieldParser {
  constructor(
    private readonly expr: string,
    private readonly spec: FieldSpec,
    private readonly text: string,
  ) {}

  fail(detail: string): never {
    const allowed = `${this.spec.min}-${this.spec.max}${this.spec.names ? ` or ${this.spec.names[0]}-${this.spec.names[this.spec.names.length - 1]}` : ""}`;
    throw new CronError(
      this.expr,
      this.spec.name,
      `${this.spec.name} field (${JSON.stringify(this.text)}): ${detail}; allowed: ${allowed} with wildcards ${this.spec.wildcards}`,
    );
  }

  value(token: string): number {
    const upper = token.toUpperCase();
    const named = this.spec.names?.indexOf(upper) ?? -1;
    if (named >= 0) return this.spec.min + named;
    if (!/^\d+$/.test(token)) this.fail(`${JSON.stringify(token)} is not a value`);
    const n = Number(token);
    if (n < this.spec.min || n > this.spec.max) this.fail(`${n} is out of range`);
    return n;
  }

  /** `*`, `v`, `a-b`, each optionally `/step`, comma-separated: the set of matching values. */
  values(): Set<number> {
    const out = new Set<number>();
    for (const item of this.text.split(",")) {
      if (item === "") this.fail("a list item is empty");
      const [range, step, extra] = item.split("/");
      if (extra !== undefined) this.fail(`${JSON.stringify(item)} has more than one "/"`);
      let lo = this.spec.min;
      let hi = this.spec.max;
      if (range !== "*") {
        const bounds = range.split("-");
        if (bounds.length > 2 || bounds.some((b) => b === ""))
          this.fail(`${JSON.stringify(range)} is not a range`);
        lo = this.value(bounds[0]);
        // "5/15" starts at 5 and runs to the end of the field, as in "5-59/15".
        hi = bounds.length === 2 ? this.value(bounds[1]) : step !== undefined ? this.spec.max : lo;
        if (lo > hi) this.fail(`the range ${range} starts after it ends`);
      }
      let by = 1;
      if (step !== undefined) {
        if (!/^\d+$/.test(step) || Number(step) < 1 || Number(step) > this.spec.max) {
          this.fail(
            `the increment ${JSON.stringify(step)} is not a whole number from 1 to ${this.spec.max}`,
          );
        }
        by = Number(step);
      }
      for (let v = lo; v <= hi; v += by) out.add(v);
    }
    return out;
  }
}

function nearestWeekday(target: number, d: Day): number {
  const day = Math.min(target, d.daysInMonth);
  const dow = (((d.dow - 1 + (day - d.dom)) % 7) + 7) % 7; // 0 = Sunday
  // Glue, like Quartz, never moves a W day into another month.
  if (dow === 6) return day === 1 ? day + 2 : day - 1;
  if (dow === 0) return day === d.daysInMonth ? day - 2 : day + 1;
  return day;
}

function dayOfMonthTest(p: FieldParser, text: string): DayTest {
  if (text === "L") return (d) => d.dom === d.daysInMonth;
  if (text === "LW") return (d) => d.dom === nearestWeekday(d.daysInMonth, d);
  const w = /^(\d+)W$/i.exec(text);
  if (w) {
    const target = p.value(w[1]);
    return (d) => d.dom === nearestWeekday(target, d);
  }
  if (/[LW]/i.test(text))
    p.fail(
      'uses L or W in a way Glue does not accept (use "L", "LW" or a single day such as "15W")',
    );
  const days = p.values();
  return (d) => days.has(d.dom);
}

function dayOfWeekTest(p: FieldParser, text: string): DayTest {
  if (text.includes("#")) {
    const m = /^([^#,]+)#(\d+)$/.exec(text);
    if (!m)
      p.fail(
        'uses "#" in a way Glue does not accept (one expression such as "3#2", the second Tuesday)',
      );
    const weekday = p.value(m[1]);
    const nth = Number(m[2]);
    if (nth < 1 || nth > 5)
      p.fail(`occurrence ${nth} of a weekday does not exist in a month (use 1-5)`);
    return (d) => d.dow === weekday && Math.ceil(d.dom / 7) === nth;
  }
  if (text === "L") return (d) => d.dow === 7;
  const last = /^(\w+)L$/i.exec(text);
  if (last && !/^L$/i.test(last[1])) {
    const weekday = p.value(last[1]);
    return (d) => d.dow === weekday && d.dom + 7 > d.daysInMonth;
  }
  if (/L/i.test(text.replace(/SUN|MON|TUE|WED|THU|FRI|SAT/gi, ""))) {
    p.fail(
      'uses L in a way Glue does not accept (use "L" or a weekday such as "6L", the last Friday)',
    );
  }
  const days = p.values();
  return (d) => days.has(d.dow);
}

function parseCron(expr: string): ParsedCron {
  const m = /^\s*cron\((.*)\)\s*$/.exec(expr);
  if (!m)
    throw new CronError(expr, undefined, 'a Glue schedule is written "cron(...)" with six fields');
  const parts = m[1]
    .trim()
    .split(/\s+/)
    .filter((s) => s !== "");
  if (parts.length !== 6) {
    throw new CronError(
      expr,
      undefined,
      `it has ${parts.length} field${parts.length === 1 ? "" : "s"}, Glue needs exactly 6`,
    );
  }
  const parser = (spec: FieldSpec, i: number) => new FieldParser(expr, spec, parts[i]);
  const setField = (spec: FieldSpec, i: number) => {
    const p = parser(spec, i);
    if (/[?LW#]/i.test(parts[i].replace(/JUL/gi, "")))
      p.fail(`uses a wildcard this field does not accept`);
    return p.values();
  };
  const dom = parts[2];
  const dow = parts[4];
  if (dom === "?" && dow === "?") {
    throw new CronError(
      expr,
      "Day-of-month",
      'Day-of-month and Day-of-week are both "?"; set one of them (e.g. * in Day-of-month for every day)',
    );
  }
  if (dom !== "?" && dow !== "?") {
    throw new CronError(
      expr,
      "Day-of-week",
      `Day-of-month (${JSON.stringify(dom)}) and Day-of-week (${JSON.stringify(dow)}) are both set; Glue needs "?" in one of them`,
    );
  }
  return {
    minutes: setField(MINUTES, 0),
    hours: setField(HOURS, 1),
    months: setField(MONTH, 3),
    years: setField(YEAR, 5),
    dayOfMonth: dom === "?" ? undefined : dayOfMonthTest(parser(DAY_OF_MONTH, 2), dom),
    dayOfWeek: dow === "?" ? undefined : dayOfWeekTest(parser(DAY_OF_WEEK, 4), dow),
  };
}

/**
 * Checks a Glue cron expression and returns it with its fields separated by single spaces.
 * Throws a CronError naming the field at fault, what it holds and what Glue accepts there.
 */
export function validateGlueCron(expr: string): string {
  parseCron(expr);
  const inner = /^\s*cron\((.*)\)\s*$/.exec(expr)![1];
  return `cron(${inner.trim().split(/\s+/).join(" ")})`;
}

// Four calendar years including one leap year: every weekday/month-length combination occurs.
const REFERENCE_START = Date.UTC(2025, 0, 1);
const REFERENCE_DAYS = 4 * 365 + 1;
const DAY_MS = 86_400_000;

/**
 * Average number of runs a schedule starts in a month, for cost estimates. The Year field is
 * ignored (the schedule is taken to be active), so `cron(0 2 * * ? 2030)` counts as daily.
 */
export function runsPerMonth(expr: string): number {
  const c = parseCron(expr);
  const perDay = c.minutes.size * c.hours.size;
  let days = 0;
  for (let i = 0; i < REFERENCE_DAYS; i++) {
    const date = new Date(REFERENCE_START + i * DAY_MS);
    if (!c.months.has(date.getUTCMonth() + 1)) continue;
    const day: Day = {
      dom: date.getUTCDate(),
      dow: date.getUTCDay() + 1,
      daysInMonth: new Date(
        Date.UTC(date.getUTCFullYear(), date.getUTCMonth() + 1, 0),
      ).getUTCDate(),
    };
    const test = c.dayOfMonth ?? c.dayOfWeek!;
    if (test(day)) days++;
  }
  return (days * perDay) / 48;
}

/**
 * The longest time between two consecutive runs of a schedule, in minutes (the Year field is
 * ignored, as in runsPerMonth). How long a missing run can go unnoticed is derived from it.
 */
export function longestGapMinutes(expr: string): number {
  const c = parseCron(expr);
  const times = [...c.hours]
    .flatMap((h) => [...c.minutes].map((m) => h * 60 + m))
    .sort((a, b) => a - b);
  let withinDay = 0;
  for (let i = 1; i < times.length; i++) withinDay = Math.max(withinDay, times[i] - times[i - 1]);
  const test = c.dayOfMonth ?? c.dayOfWeek!;
  let first: number | undefined;
  let last: number | undefined;
  let longest = withinDay;
  for (let i = 0; i < REFERENCE_DAYS; i++) {
    const date = new Date(REFERENCE_START + i * DAY_MS);
    if (!c.months.has(date.getUTCMonth() + 1)) continue;
    const day: Day = {
      dom: date.getUTCDate(),
      dow: date.getUTCDay() + 1,
      daysInMonth: new Date(
        Date.UTC(date.getUTCFullYear(), date.getUTCMonth() + 1, 0),
      ).getUTCDate(),
    };
    if (!test(day)) continue;
    const start = i * 1440 + times[0];
    if (last !== undefined) longest = Math.max(longest, start - last);
    first ??= start;
    last = i * 1440 + times[times.length - 1];
  }
  if (first === undefined || last === undefined) return Infinity;
  // From the last run of the reference years round to the first, as the calendar repeats.
  return Math.max(longest, first + REFERENCE_DAYS * 1440 - last);
}
