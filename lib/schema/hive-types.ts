/** Hive column types: parsed, checked and written in Glue's canonical spelling. */
type HiveType =
  | { readonly kind: "primitive"; readonly name: string }
  | { readonly kind: "array"; readonly element: HiveType }
  | { readonly kind: "map"; readonly key: HiveType; readonly value: HiveType }
  | {
      readonly kind: "struct";
      readonly fields: readonly { readonly name: string; readonly type: HiveType }[];
    };

const SIMPLE_TYPES = [
  "boolean",
  "tinyint",
  "smallint",
  "int",
  "bigint",
  "float",
  "double",
  "string",
  "date",
  "timestamp",
  "binary",
] as const;
export const TYPE_RULE =
  `a Hive type: ${SIMPLE_TYPES.join(", ")}, decimal(p,s), char(n), varchar(n), ` +
  "array<T>, map<K,V>, struct<name:T,...>";
export const INTEGER_TYPES = new Set(["tinyint", "smallint", "int", "bigint"]);
export const STRING_TYPE_RE = /^(string|varchar\(\d+\)|char\(\d+\))$/;

class TypeParser {
  private pos = 0;
  constructor(private readonly src: string) {}

  parseAll(): HiveType {
    const t = this.parse();
    if (this.pos !== this.src.length) this.fail(`unexpected "${this.src.slice(this.pos)}"`);
    return t;
  }

  private fail(why: string): never {
    throw new TypeError(why);
  }

  private word(): string {
    const m = /^[a-z_][a-z0-9_]*/.exec(this.src.slice(this.pos));
    if (!m) this.fail(`expected a type name at "${this.src.slice(this.pos) || "the end"}"`);
    this.pos += m[0].length;
    return m[0];
  }

  private eat(ch: string): boolean {
    if (this.src[this.pos] !== ch) return false;
    this.pos++;
    return true;
  }

  private expect(ch: string): void {
    if (!this.eat(ch)) this.fail(`expected "${ch}" at "${this.src.slice(this.pos) || "the end"}"`);
  }

  private int(what: string, min: number, max: number): number {
    const m = /^\d+/.exec(this.src.slice(this.pos));
    const n = m ? Number(m[0]) : NaN;
    if (!m || n < min || n > max) this.fail(`${what} must be an integer from ${min} to ${max}`);
    this.pos += m[0].length;
    return n;
  }

  private parse(): HiveType {
    const name = this.word();
    if ((SIMPLE_TYPES as readonly string[]).includes(name)) return { kind: "primitive", name };
    switch (name) {
      case "integer":
        return this.fail('write "int": Hive DDL and Glue spell the 32-bit integer type "int"');
      case "decimal": {
        if (!this.eat("(")) return { kind: "primitive", name: "decimal(10,0)" };
        const p = this.int("decimal precision", 1, 38);
        const s = this.eat(",") ? this.int("decimal scale", 0, p) : 0;
        this.expect(")");
        return { kind: "primitive", name: `decimal(${p},${s})` };
      }
      case "char":
      case "varchar": {
        this.expect("(");
        const n = this.int(`${name} length`, 1, name === "char" ? 255 : 65535);
        this.expect(")");
        return { kind: "primitive", name: `${name}(${n})` };
      }
      case "array": {
        this.expect("<");
        const element = this.parse();
        this.expect(">");
        return { kind: "array", element };
      }
      case "map": {
        this.expect("<");
        const key = this.parse();
        if (key.kind !== "primitive") this.fail("map keys must be a primitive type");
        this.expect(",");
        const value = this.parse();
        this.expect(">");
        return { kind: "map", key, value };
      }
      case "struct": {
        this.expect("<");
        const fields: { name: string; type: HiveType }[] = [];
        do {
          const field = this.word();
          if (fields.some((f) => f.name === field))
            this.fail(`struct field "${field}" appears twice`);
          this.expect(":");
          fields.push({ name: field, type: this.parse() });
        } while (this.eat(","));
        this.expect(">");
        return { kind: "struct", fields };
      }
      default:
        return this.fail(`"${name}" is not a Hive type`);
    }
  }
}

export function parseHiveType(type: string): HiveType {
  return new TypeParser(type.toLowerCase().replace(/\s+/g, "")).parseAll();
}

export function renderType(t: HiveType, quote: (name: string) => string): string {
  switch (t.kind) {
    case "primitive":
      return t.name;
    case "array":
      return `array<${renderType(t.element, quote)}>`;
    case "map":
      return `map<${renderType(t.key, quote)},${renderType(t.value, quote)}>`;
    case "struct":
      return `struct<${t.fields.map((f) => `${quote(f.name)}:${renderType(f.type, quote)}`).join(",")}>`;
  }
}

/** The type in Glue's canonical spelling, or throws a TypeError saying what is wrong. */
export function canonicalType(type: string): string {
  return renderType(parseHiveType(type), (n) => n);
}
