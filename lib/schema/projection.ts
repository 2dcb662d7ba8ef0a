/** Athena partition projection: checks a declaration's projection and derives its table parameters. */
import {
  ColumnDeclaration,
  DATE_UNITS,
  DateProjection,
  DateUnit,
  EnumProjection,
  IntegerProjection,
  PartitionProjection,
  Problems,
  ProjectionSpec,
} from "./declaration";
import { INTEGER_TYPES, STRING_TYPE_RE } from "./hive-types";

const NOW_RE = /^NOW(?:([+-])(\d+)(YEARS|MONTHS|WEEKS|DAYS|HOURS|MINUTES|SECONDS))?$/;
const DATE_FIELDS = ["y", "M", "d", "H", "m", "s", "S"] as const;
type DateField = (typeof DATE_FIELDS)[number];
/** Finest unit each format letter shows, as the interval unit Athena would step by. */
const FIELD_UNIT: Record<DateField, DateUnit> = {
  y: "YEARS",
  M: "MONTHS",
  d: "DAYS",
  H: "HOURS",
  m: "MINUTES",
  s: "SECONDS",
  S: "MILLIS",
};
const UNIT_ORDER: readonly DateUnit[] = [
  "MILLIS",
  "SECONDS",
  "MINUTES",
  "HOURS",
  "DAYS",
  "WEEKS",
  "MONTHS",
  "YEARS",
];
const FIELD_RANGE: Record<DateField, [number, number]> = {
  y: [0, 9999],
  M: [1, 12],
  d: [1, 31],
  H: [0, 23],
  m: [0, 59],
  s: [0, 59],
  S: [0, 999],
};

interface DatePattern {
  readonly regex: RegExp;
  readonly fields: DateField[];
  readonly finest: DateUnit;
}

/** Compiles the supported subset of Java date patterns; throws a TypeError naming the bad part. */
function compileDatePattern(format: string): DatePattern {
  let re = "";
  const fields: DateField[] = [];
  for (let i = 0; i < format.length;) {
    const ch = format[i];
    if (ch === "'") {
      const end = format.indexOf("'", i + 1);
      if (end < 0) throw new TypeError("an opening ' has no closing '");
      re += (format.slice(i + 1, end) || "'").replace(/[.*+?^${}()|[\]\\/]/g, "\\$&");
      i = end + 1;
      continue;
    }
    if (/[A-Za-z]/.test(ch)) {
      let n = 1;
      while (format[i + n] === ch) n++;
      if (!(DATE_FIELDS as readonly string[]).includes(ch)) {
        throw new TypeError(
          `letter "${ch}" is not supported; use y, M, d, H, m, s, S and 'quoted' text`,
        );
      }
      const f = ch as DateField;
      if (fields.includes(f)) throw new TypeError(`letter "${ch}" appears twice`);
      if (f === "M" && n > 2) throw new TypeError("month names (MMM) are not supported; use MM");
      fields.push(f);
      re += f === "y" && n !== 2 ? "(\\d{4})" : n === 1 ? "(\\d{1,2})" : `(\\d{${n}})`;
      i += n;
      continue;
    }
    re += ch.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&");
    i++;
  }
  if (fields.length === 0) throw new TypeError("it names no date field (y, M, d, ...)");
  const finest = UNIT_ORDER.find((u) => fields.some((f) => FIELD_UNIT[f] === u)) as DateUnit;
  return { regex: new RegExp(`^${re}$`), fields, finest };
}

/** Sortable key of an absolute date in `pattern`, or undefined when it does not match. */
function dateKey(pattern: DatePattern, value: string): number[] | undefined {
  const m = pattern.regex.exec(value);
  if (!m) return undefined;
  const byField: Partial<Record<DateField, number>> = {};
  pattern.fields.forEach((f, i) => (byField[f] = Number(m[i + 1])));
  for (const f of pattern.fields) {
    const [lo, hi] = FIELD_RANGE[f];
    if ((byField[f] as number) < lo || (byField[f] as number) > hi) return undefined;
  }
  return DATE_FIELDS.map((f) => byField[f] ?? 0);
}

// Average lengths: enough to order two relative bounds.
const UNIT_MS: Record<string, number> = {
  SECONDS: 1e3,
  MINUTES: 6e4,
  HOURS: 3.6e6,
  DAYS: 8.64e7,
  WEEKS: 6.048e8,
  MONTHS: 2.6298e9,
  YEARS: 3.15576e10,
};

function relativeOffset(m: RegExpExecArray): number {
  if (!m[1]) return 0;
  return (m[1] === "-" ? -1 : 1) * Number(m[2]) * UNIT_MS[m[3]];
}

function keyKind(type: string): "string" | "integer" | "date" | "other" {
  if (STRING_TYPE_RE.test(type)) return "string";
  if (INTEGER_TYPES.has(type)) return "integer";
  return type === "date" ? "date" : "other";
}

function checkEnum(p: Problems, at: string, spec: EnumProjection, kind: string): void {
  if (!Array.isArray(spec.values) || spec.values.length === 0) {
    p.add(`${at}.values`, spec.values, "a non-empty list of the values the key takes");
    return;
  }
  const seen = new Set<string>();
  spec.values.forEach((v, i) => {
    if (typeof v !== "string" || v === "" || v.includes(",")) {
      p.add(
        `${at}.values[${i}]`,
        v,
        "a non-empty value without commas (Athena joins the values with commas)",
      );
    } else if (seen.has(v)) {
      p.add(`${at}.values[${i}]`, v, "each value once");
    } else if (kind === "integer" && !/^-?\d+$/.test(v)) {
      p.add(`${at}.values[${i}]`, v, "an integer, because the partition key has an integer type");
    }
    seen.add(v);
  });
}

function checkInteger(p: Problems, at: string, spec: IntegerProjection): void {
  const r = spec.range;
  if (!Array.isArray(r) || r.length !== 2 || !r.every((x) => Number.isSafeInteger(x))) {
    p.add(`${at}.range`, r, "[min, max], two integers");
  } else if (r[0] > r[1]) {
    p.add(`${at}.range`, r, "[min, max] with min <= max");
  }
  if (spec.interval !== undefined && !(Number.isInteger(spec.interval) && spec.interval > 0)) {
    p.add(`${at}.interval`, spec.interval, "a positive integer");
  }
  if (
    spec.digits !== undefined &&
    !(Number.isInteger(spec.digits) && spec.digits >= 1 && spec.digits <= 19)
  ) {
    p.add(`${at}.digits`, spec.digits, "an integer from 1 to 19");
  }
}

function checkDate(p: Problems, at: string, spec: DateProjection, keyType: string): void {
  let pattern: DatePattern | undefined;
  try {
    pattern = compileDatePattern(typeof spec.format === "string" ? spec.format : "");
  } catch (e) {
    p.add(
      `${at}.format`,
      spec.format,
      `a Java date pattern such as yyyy-MM-dd (${(e as Error).message})`,
    );
  }
  if (keyType === "date" && spec.format !== "yyyy-MM-dd") {
    p.add(
      `${at}.format`,
      spec.format,
      "yyyy-MM-dd for a key of type date, or declare the key as string",
    );
  }
  const r = spec.range;
  if (!Array.isArray(r) || r.length !== 2) {
    p.add(`${at}.range`, r, '[first, last], e.g. ["2024-01-01", "NOW"]');
  } else if (pattern) {
    const bounds = r.map((v) => {
      const rel = typeof v === "string" ? NOW_RE.exec(v) : null;
      if (rel) return { rel: relativeOffset(rel) };
      const key = typeof v === "string" ? dateKey(pattern, v) : undefined;
      if (!key) {
        p.add(
          `${at}.range`,
          v,
          `a date in the format ${spec.format}, or NOW with an optional offset such as NOW-3YEARS`,
        );
      }
      return { abs: key };
    });
    const [lo, hi] = bounds;
    const absBackwards = lo.abs && hi.abs && compareKeys(lo.abs, hi.abs) > 0;
    const relBackwards = lo.rel !== undefined && hi.rel !== undefined && lo.rel > hi.rel;
    if (absBackwards || relBackwards)
      p.add(`${at}.range`, r, "[first, last] with first not after last");
  }
  if (spec.interval !== undefined && !(Number.isInteger(spec.interval) && spec.interval > 0)) {
    p.add(`${at}.interval`, spec.interval, "a positive integer");
  }
  const unit = spec.intervalUnit;
  if (unit !== undefined && !DATE_UNITS.includes(unit)) {
    p.add(`${at}.intervalUnit`, unit, `one of ${DATE_UNITS.join(", ")}`);
  } else if (pattern) {
    const subDay = UNIT_ORDER.indexOf(pattern.finest) < UNIT_ORDER.indexOf("DAYS");
    if (unit === undefined && subDay) {
      p.add(
        `${at}.intervalUnit`,
        unit,
        `a unit (e.g. ${pattern.finest}): Athena needs one when the format shows time of day`,
      );
    } else if (
      unit !== undefined &&
      UNIT_ORDER.indexOf(unit) < UNIT_ORDER.indexOf(pattern.finest)
    ) {
      p.add(
        `${at}.intervalUnit`,
        unit,
        `${pattern.finest} or coarser: the format ${spec.format} cannot tell ${unit.toLowerCase()} apart`,
      );
    }
  }
}

function compareKeys(a: number[], b: number[]): number {
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return a[i] - b[i];
  return 0;
}

const PROJECTION_TYPES = ["enum", "integer", "date", "injected"];
/** Partition key types each projection type can fill. */
const KEY_KINDS: Record<ProjectionSpec["type"], readonly string[]> = {
  enum: ["string", "integer"],
  integer: ["string", "integer"],
  date: ["string", "date"],
  injected: ["string", "integer"],
};
const KIND_TEXT: Record<string, string> = {
  string: "string, varchar(n) or char(n)",
  integer: "tinyint, smallint, int or bigint",
  date: "date",
};

export function checkProjection(
  p: Problems,
  proj: PartitionProjection,
  partitionKeys: readonly ColumnDeclaration[],
): void {
  const keyNames = partitionKeys.map((k) => k.name);
  if (keyNames.length === 0) {
    p.add(
      "projection",
      "projection without partition keys",
      "projection only on a table with partition keys",
    );
    return;
  }
  const specs = proj.keys ?? {};
  for (const name of Object.keys(specs)) {
    if (!keyNames.includes(name)) {
      p.add(
        `projection.keys.${name}`,
        name,
        `a partition key of this table: ${keyNames.join(", ")}`,
      );
    }
  }
  for (const key of partitionKeys) {
    const at = `projection.keys.${key.name}`;
    const spec = specs[key.name];
    if (spec === undefined) {
      p.add(
        at,
        undefined,
        "a projection for every partition key: with projection on, Athena ignores catalog partitions",
      );
      continue;
    }
    if (!PROJECTION_TYPES.includes(spec.type)) {
      p.add(`${at}.type`, spec.type, `one of ${PROJECTION_TYPES.join(", ")}`);
      continue;
    }
    const kind = keyKind(key.type);
    if (key.type !== "" && !KEY_KINDS[spec.type].includes(kind)) {
      p.add(
        `partitionKeys.${key.name}.type`,
        key.type,
        `for ${spec.type} projection a key of type ${KEY_KINDS[spec.type].map((k) => KIND_TEXT[k]).join(", or ")}`,
      );
    }
    if (spec.type === "enum") checkEnum(p, at, spec, kind);
    if (spec.type === "integer") checkInteger(p, at, spec);
    if (spec.type === "date") checkDate(p, at, spec, key.type);
  }
  checkTemplate(p, proj.locationTemplate, keyNames);
}

function checkTemplate(
  p: Problems,
  template: string | undefined,
  keyNames: readonly string[],
): void {
  if (template === undefined) return;
  const at = "projection.locationTemplate";
  if (
    typeof template !== "string" ||
    template === "" ||
    /^[a-z0-9]+:\/\//i.test(template) ||
    template.startsWith("/")
  ) {
    p.add(
      at,
      template,
      'a path relative to the table location, e.g. "day=${day}/" (the bucket differs per stack)',
    );
    return;
  }
  const named = [...template.matchAll(/\$\{([^}]*)\}/g)].map((m) => m[1]);
  for (const name of named) {
    if (!keyNames.includes(name)) {
      p.add(
        at,
        template,
        `placeholders naming partition keys only (${keyNames.join(", ")}); "\${${name}}" names none`,
      );
    }
  }
  for (const name of keyNames) {
    if (!named.includes(name))
      p.add(at, template, `a "\${${name}}" placeholder: every partition key must appear`);
  }
}

export function projectionParameters(
  proj: PartitionProjection,
  keys: readonly ColumnDeclaration[],
): Record<string, string> {
  const out: Record<string, string> = { "projection.enabled": "true" };
  for (const key of keys) {
    const spec = proj.keys[key.name];
    const k = `projection.${key.name}`;
    out[`${k}.type`] = spec.type;
    switch (spec.type) {
      case "enum":
        out[`${k}.values`] = spec.values.join(",");
        break;
      case "integer":
        out[`${k}.range`] = spec.range.join(",");
        if (spec.interval !== undefined) out[`${k}.interval`] = String(spec.interval);
        if (spec.digits !== undefined) out[`${k}.digits`] = String(spec.digits);
        break;
      case "date":
        out[`${k}.format`] = spec.format;
        out[`${k}.range`] = spec.range.join(",");
        if (spec.interval !== undefined) out[`${k}.interval`] = String(spec.interval);
        if (spec.intervalUnit !== undefined) out[`${k}.interval.unit`] = spec.intervalUnit;
        break;
      case "injected":
        break;
    }
  }
  return out;
}

/** The projection's location template, relative to the table location. */
export function locationTemplate(
  proj: PartitionProjection,
  keys: readonly ColumnDeclaration[],
): string {
  return proj.locationTemplate ?? keys.map((k) => `${k.name}=\${${k.name}}/`).join("");
}
