/** Output for people: short durations, money and UTC timestamps (tables: lib/table.ts). */

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
