/**
 * Glue schedules: the six-field cron of Glue and EventBridge,
 * `cron(Minutes Hours Day-of-month Month Day-of-week Year)`, always in UTC. Pure: validated before
 * any resource is registered, and used for cost estimates.
 *
 * Croner parses and evaluates the fields (ranges, steps, names, `L`, `W`, `#`) in its Quartz mode
 * (Sunday = 1, a year field). The few rules below are Glue's where croner differs; each has a
 * test showing what croner alone would accept or refuse.
 */
import { Cron, CronOptions } from "croner";

export const CRON_FORM = "cron(Minutes Hours Day-of-month Month Day-of-week Year)";
export const CRON_EXAMPLE = "cron(0 2 * * ? *)";

interface FieldSpec {
  readonly name: string;
  /** Values Glue accepts, as its documentation lists them. */
  readonly values: string;
  readonly wildcards: string;
  /** Numeric bounds where croner's are wider than Glue's. */
  readonly bounds?: { readonly min: number; readonly max: number };
}

const FIELDS: readonly FieldSpec[] = [
  { name: "Minutes", values: "0-59", wildcards: ", - * /" },
  { name: "Hours", values: "0-23", wildcards: ", - * /" },
  { name: "Day-of-month", values: "1-31", wildcards: ", - * ? / L W" },
  { name: "Month", values: "1-12 or JAN-DEC", wildcards: ", - * /" },
  // Croner takes 0 and 8 as Sunday too; Glue counts 1-7 only.
  {
    name: "Day-of-week",
    values: "1-7 or SUN-SAT",
    wildcards: ", - * ? L #",
    bounds: { min: 1, max: 7 },
  },
  // Croner takes years 1-9999.
  { name: "Year", values: "1970-2199", wildcards: ", - * /", bounds: { min: 1970, max: 2199 } },
];
const DAY_OF_MONTH = 2;
const DAY_OF_WEEK = 4;

/** How croner reads Glue fields (exported for the tests that show where Glue differs). */
export const CRONER_OPTIONS: CronOptions = {
  mode: "7-part",
  alternativeWeekdays: true,
  // Glue writes `0/15` for "from 0, every 15".
  sloppyRanges: true,
  domAndDow: false,
  timezone: "UTC",
  paused: true,
};

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

function fieldError(expr: string, i: number, text: string, detail: string): CronError {
  const f = FIELDS[i]!;
  return new CronError(
    expr,
    f.name,
    `${f.name} field (${JSON.stringify(text)}): ${detail}; allowed: ${f.values} with wildcards ${f.wildcards}`,
  );
}

/** The six fields of `cron(...)`, or a CronError about the form. */
function fieldsOf(expr: string): string[] {
  const m = /^\s*cron\((.*)\)\s*$/.exec(expr);
  if (!m)
    throw new CronError(expr, undefined, 'a Glue schedule is written "cron(...)" with six fields');
  const parts = m[1]!.trim().split(/\s+/).filter(Boolean);
  if (parts.length !== 6) {
    throw new CronError(
      expr,
      undefined,
      `it has ${parts.length} field${parts.length === 1 ? "" : "s"}, Glue needs exactly 6`,
    );
  }
  return parts;
}

/** Croner's pattern for Glue fields: a seconds field first; a lone `L` weekday is Saturday. */
function cronerPattern(parts: readonly string[]): string {
  const fields = [...parts];
  // Glue reads `L` in Day-of-week as the last day of the week; croner refuses it alone.
  if (fields[DAY_OF_WEEK] === "L") fields[DAY_OF_WEEK] = "7";
  return `0 ${fields.join(" ")}`;
}

/** Glue's rules where croner is more lenient or stricter; see the module comment. */
function checkGlueRules(expr: string, parts: readonly string[]): void {
  const dom = parts[DAY_OF_MONTH]!;
  const dow = parts[DAY_OF_WEEK]!;
  parts.forEach((text, i) => {
    if (text.includes("?") && (text !== "?" || (i !== DAY_OF_MONTH && i !== DAY_OF_WEEK)))
      throw fieldError(expr, i, text, '"?" stands alone, in Day-of-month or Day-of-week only');
    const bounds = FIELDS[i]!.bounds;
    // Numbers after "#" or "/" are occurrences and steps, not values.
    for (const m of bounds ? text.matchAll(/(^|[,-])(\d+)/g) : []) {
      const n = Number(m[2]);
      if (n < bounds!.min || n > bounds!.max)
        throw fieldError(expr, i, text, `${n} is out of range`);
    }
  });
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
}

/**
 * Croner's message in the words of the field the user wrote: its entry numbers count a seconds
 * field the user never wrote, and it reports a day of month one below the value given.
 */
function cronerDetail(message: string, text: string): string {
  return message
    .replace(/^CronPattern: /, "")
    .replace(/^Invalid value for \w+: -?\d+$/, `${JSON.stringify(text)} is out of range`)
    .replace(
      /^configuration entry \d+ \((.*)\) contains illegal characters\.?$/,
      "$1 is not a value or wildcard of this field",
    )
    .replace(/, Type: \w+$/, "")
    .replace(/\.$/, "");
}

/** Parses with croner; an error names the field at fault, found by parsing each one alone. */
function parse(expr: string, parts: readonly string[]): Cron {
  try {
    return new Cron(cronerPattern(parts), CRONER_OPTIONS);
  } catch (whole) {
    for (let i = 0; i < parts.length; i++) {
      const alone = ["0", "0", "*", "*", "?", "*"];
      alone[i] = parts[i]!;
      if (i === DAY_OF_WEEK) alone[DAY_OF_MONTH] = "?";
      try {
        new Cron(cronerPattern(alone), CRONER_OPTIONS);
      } catch (e) {
        throw fieldError(expr, i, parts[i]!, cronerDetail((e as Error).message, parts[i]!));
      }
    }
    throw new CronError(expr, undefined, cronerDetail((whole as Error).message, expr));
  }
}

/**
 * Checks a Glue cron expression and returns it with its fields separated by single spaces.
 * Throws a CronError naming the field at fault, what it holds and what Glue accepts there.
 */
export function validateGlueCron(expr: string): string {
  const parts = fieldsOf(expr);
  checkGlueRules(expr, parts);
  parse(expr, parts);
  return `cron(${parts.join(" ")})`;
}

// Four calendar years including one leap year: every weekday/month-length combination occurs.
const REFERENCE_START = Date.UTC(2025, 0, 1);
const REFERENCE_END = Date.UTC(2029, 0, 1);
const DAY_MS = 86_400_000;

/** Days in [from, to) at whose midnight `cron` fires. */
function matchingDays(cron: Cron, from: number, to: number): number {
  let n = 0;
  for (let t = from; t < to; t += DAY_MS) if (cron.match(new Date(t))) n++;
  return n;
}

/**
 * Average number of runs a schedule starts in a month, for cost estimates. The Year field is
 * ignored (the schedule is taken to be active), so `cron(0 2 * * ? 2030)` counts as daily.
 */
export function runsPerMonth(expr: string): number {
  let runs = RUNS_PER_MONTH.get(expr);
  if (runs === undefined) {
    runs = countRunsPerMonth(expr);
    RUNS_PER_MONTH.set(expr, runs);
  }
  return runs;
}

// A preview costs the same few schedules many times; the count is pure, so it is kept.
const RUNS_PER_MONTH = new Map<string, number>();

function countRunsPerMonth(expr: string): number {
  const parts = fieldsOf(expr);
  checkGlueRules(expr, parts);
  parse(expr, parts);
  // Runs on one day times matching days: two small walks instead of one over every minute.
  const [minutes, hours, dom, month, dow] = parts as [string, string, string, string, string];
  const day = parse(expr, [minutes, hours, "*", "*", "?", "*"]);
  let perDay = 0;
  for (let m = 0; m < 24 * 60; m++) if (day.match(new Date(REFERENCE_START + m * 60_000))) perDay++;
  const days = matchingDays(
    parse(expr, ["0", "0", dom, month, dow, "*"]),
    REFERENCE_START,
    REFERENCE_END,
  );
  return (days * perDay) / 48;
}

/**
 * The longest time between two consecutive runs of a schedule, in minutes (the Year field is
 * ignored, as in runsPerMonth). How long a missing run can go unnoticed is derived from it.
 */
export function longestGapMinutes(expr: string): number {
  const parts = fieldsOf(expr);
  checkGlueRules(expr, parts);
  parse(expr, parts);
  const [minutes, hours, dom, month, dow] = parts as [string, string, string, string, string];
  const day = parse(expr, [minutes, hours, "*", "*", "?", "*"]);
  const times: number[] = [];
  for (let m = 0; m < 24 * 60; m++)
    if (day.match(new Date(REFERENCE_START + m * 60_000))) times.push(m);
  const days = parse(expr, ["0", "0", dom, month, dow, "*"]);
  const referenceDays = (REFERENCE_END - REFERENCE_START) / DAY_MS;
  let longest = 0;
  for (let i = 1; i < times.length; i++) longest = Math.max(longest, times[i]! - times[i - 1]!);
  let first: number | undefined;
  let last: number | undefined;
  for (let i = 0; i < referenceDays && times.length > 0; i++) {
    if (!days.match(new Date(REFERENCE_START + i * DAY_MS))) continue;
    const start = i * 1440 + times[0]!;
    if (last !== undefined) longest = Math.max(longest, start - last);
    first ??= start;
    last = i * 1440 + times[times.length - 1]!;
  }
  if (first === undefined || last === undefined) return Infinity;
  // From the last run of the reference years round to the first, as the calendar repeats.
  return Math.max(longest, first + referenceDays * 1440 - last);
}
