/** Output for people: aligned tables, short durations, money and UTC timestamps. */

export interface Column {
  readonly header: string;
  /** Numbers read best right-aligned. */
  readonly align?: "left" | "right";
  /** Longer cells are cut with an ellipsis. */
  readonly maxWidth?: number;
}

function clip(text: string, max: number | undefined): string {
  if (max === undefined || text.length <= max) return text;
  return `${text.slice(0, Math.max(max - 1, 0))}…`;
}

/** Columns separated by two spaces, padded to the widest cell; no trailing spaces. */
export function table(columns: readonly Column[], rows: readonly (readonly string[])[]): string {
  const cells = rows.map((r) =>
    columns.map((c, i) => clip((r[i] ?? "").replace(/\s+/g, " "), c.maxWidth)),
  );
  const widths = columns.map((c, i) => Math.max(c.header.length, ...cells.map((r) => r[i].length)));
  const line = (r: readonly string[]) =>
    r
      .map((cell, i) =>
        columns[i].align === "right" ? cell.padStart(widths[i]) : cell.padEnd(widths[i]),
      )
      .join("  ")
      .trimEnd();
  return [line(columns.map((c) => c.header)), ...cells.map(line)].join("\n");
}

/** 59s, 2m03s, 1h05m. */
export function duration(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, "0")}s`;
  const h = Math.floor(s / 3600);
  return `${h}h${String(Math.floor((s % 3600) / 60)).padStart(2, "0")}m`;
}

/** Dollars with cents, or a tenth of a cent below one cent so small runs do not read as free. */
export function money(dollars: number): string {
  if (dollars > 0 && dollars < 0.01) return `$${dollars.toFixed(4)}`;
  return `$${dollars.toFixed(2)}`;
}

/** 2026-11-21 02:00:13 (UTC, so every reader sees the same time as the console's API). */
export function utc(date: Date | undefined): string {
  if (!date) return "-";
  return date.toISOString().slice(0, 19).replace("T", " ");
}

export function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? "" : "s"}`;
}
