/**
 * Aligned, borderless text tables for people (cli-table3), shared by the offline preview and the
 * job-run CLI: columns two spaces apart, padded to the widest cell, no trailing spaces.
 */
import Table from "cli-table3";

export interface Column {
  readonly header: string;
  /** Numbers read best right-aligned. */
  readonly align?: "left" | "right";
  /** Longer cells are cut with an ellipsis. */
  readonly maxWidth?: number;
}

const BORDERLESS = {
  top: "",
  "top-mid": "",
  "top-left": "",
  "top-right": "",
  bottom: "",
  "bottom-mid": "",
  "bottom-left": "",
  "bottom-right": "",
  left: "",
  "left-mid": "",
  mid: "",
  "mid-mid": "",
  right: "",
  "right-mid": "",
  middle: "  ",
};

export interface TableOptions {
  /** Spaces before every line, e.g. to nest a table under a heading. */
  readonly indent?: number;
  /** Print the header row (default true). */
  readonly head?: boolean;
}

export function table(
  columns: readonly Column[],
  rows: readonly (readonly string[])[],
  o: TableOptions = {},
): string {
  // A line break or tab inside a cell would break the row or its alignment.
  const cells = rows.map((r) =>
    columns.map((_, i) => (r[i] ?? "").replace(/\s*[\r\n\t]\s*/g, " ")),
  );
  const t = new Table({
    head: o.head === false ? [] : columns.map((c) => c.header),
    chars: BORDERLESS,
    style: { head: [], border: [], "padding-left": 0, "padding-right": 0, compact: true },
    colAligns: columns.map((c) => c.align ?? "left"),
    // cli-table3 sizes a column without a width to its widest cell; a width clips with "…".
    colWidths: columns.map((c, i) =>
      c.maxWidth !== undefined && cells.some((r) => r[i].length > c.maxWidth!) ? c.maxWidth : null,
    ),
    wordWrap: false,
    truncate: "…",
  });
  t.push(...cells);
  const pad = " ".repeat(o.indent ?? 0);
  return t
    .toString()
    .split("\n")
    .map((line) => `${pad}${line}`.trimEnd())
    .join("\n");
}
