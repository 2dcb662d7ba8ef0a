/** Glue catalog names and Athena identifiers. */
import { show } from "../config";

const NAME_RE = /^[a-z0-9_]+$/;
const MAX_NAME = 255;
export const NAME_RULE =
  "lower-case letters, digits and underscores, at most 255 characters " +
  "(Athena and Hive lower-case every name, so any other spelling cannot be queried as declared)";

/** Problem text for a Glue database or table name, or undefined when it is valid. */
export function catalogNameProblem(name: unknown): string | undefined {
  if (typeof name !== "string" || !NAME_RE.test(name) || name.length > MAX_NAME) return NAME_RULE;
  return undefined;
}

/** Throws a clear error unless `name` is a valid Glue database or table name. */
export function validateCatalogName(kind: string, name: string): string {
  if (catalogNameProblem(name))
    throw new Error(`${kind}: got ${show(name)}; allowed: ${NAME_RULE}`);
  return name;
}

/** Athena's reserved words in DDL; as identifiers they need backticks. */
export const DDL_RESERVED_WORDS: ReadonlySet<string> = new Set(
  (
    "all alter and array as authorization between bigint binary boolean both by case cashe cast char " +
    "column conf constraint commit create cross cube current current_date current_timestamp cursor " +
    "database date dayofweek decimal delete describe distinct div double drop else end exchange exists " +
    "extended external extract false fetch float floor following for foreign from full function grant " +
    "group grouping having if import in inner insert int integer intersect interval into is join lateral " +
    "left less like local macro map more none not null numeric of on only or order out outer over " +
    "partialscan partition percent preceding precision preserve primary procedure range reads reduce " +
    "regexp references revoke right rlike rollback rollup row rows select set smallint start table " +
    "tablesample then time timestamp to transform trigger true truncate unbounded union uniquejoin " +
    "update user using utc_timestamp values varchar views when where window with"
  ).split(" "),
);

/** An identifier as Athena DDL needs it: backticks for reserved words and names not starting with a letter. */
export function quoteIdentifier(name: string): string {
  return DDL_RESERVED_WORDS.has(name.toLowerCase()) || !/^[a-z][a-z0-9_]*$/.test(name)
    ? `\`${name}\``
    : name;
}
