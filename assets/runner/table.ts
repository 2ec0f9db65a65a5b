// Result tables (SQL): how one is shown in a run's output, and how it travels to the
// others' pages and the replay. On the wire a table is the `text` of an output event
// of the stream "table": compact JSON {"c": columns, "r": rows, "n": rows in all},
// at most maxTableBytes, so that it is always relayed whole (the server drops a table
// that does not fit in what is left of the run's output cap, instead of cutting it).
// views/runtable.go reads the same JSON for the replay.

import { el } from "./output";
import type { Cell, Table } from "./protocol";

/** maxTableBytes keeps a shared table under the server's 64 KiB per output message. */
export const maxTableBytes = 60 << 10;

interface Wire {
  c: string[];
  r: Cell[][];
  n: number;
}

/**
 * encodeTable returns the JSON of t, with as many of its first rows as fit in max
 * bytes (UTF-8), or null when not even the column names do.
 */
export function encodeTable(t: Table, max = maxTableBytes): string | null {
  const enc = new TextEncoder();
  const json = (rows: number) => JSON.stringify({ c: t.columns, r: t.rows.slice(0, rows), n: t.total } satisfies Wire);
  const fits = (rows: number) => enc.encode(json(rows)).length <= max;
  if (fits(t.rows.length)) return json(t.rows.length);
  if (!fits(0)) return null;
  let lo = 0; // fits
  let hi = t.rows.length; // does not
  while (hi - lo > 1) {
    const mid = (lo + hi) >> 1;
    if (fits(mid)) lo = mid;
    else hi = mid;
  }
  return json(lo);
}

function isCell(v: unknown): v is Cell {
  return v === null || typeof v === "number" || typeof v === "string" || (typeof v === "object" && typeof (v as { x?: unknown }).x === "string");
}

/** decodeTable reads a shared table, or returns null for anything else. */
export function decodeTable(text: string): Table | null {
  let w: Partial<Wire>;
  try {
    w = JSON.parse(text);
  } catch {
    return null;
  }
  if (!w || !Array.isArray(w.c) || !Array.isArray(w.r) || typeof w.n !== "number") return null;
  if (!w.c.every((c) => typeof c === "string")) return null;
  if (!w.r.every((row) => Array.isArray(row) && row.every(isCell))) return null;
  return { columns: w.c as string[], rows: w.r as Cell[][], total: Math.max(w.n, w.r.length) };
}

/** tableElement renders t: a scrollable table and a line saying how many rows it has. */
export function tableElement(t: Table): HTMLElement {
  const box = el("div", "run-table");
  const scroll = el("div", "run-table-scroll");
  scroll.tabIndex = 0; // scrollable by keyboard
  const table = el("table");
  const head = el("tr");
  for (const c of t.columns) head.append(el("th", "", c));
  const thead = el("thead");
  thead.append(head);
  table.append(thead);
  const body = el("tbody");
  for (const row of t.rows) {
    const tr = el("tr");
    for (let i = 0; i < t.columns.length; i++) tr.append(cellElement(row[i] ?? null));
    body.append(tr);
  }
  table.append(body);
  scroll.append(table);
  box.append(scroll, el("p", "run-table-count", rowCount(t)));
  return box;
}

function cellElement(v: Cell): HTMLTableCellElement {
  if (v === null) return el("td", "cell-null", "NULL");
  if (typeof v === "number") return el("td", "cell-num", String(v));
  if (typeof v === "object") return el("td", "cell-blob", `x'${v.x}'`);
  return el("td", "", v);
}

/** rowCount says how many rows a table has, and how many are shown. */
export function rowCount(t: Table): string {
  const n = (k: number) => k.toLocaleString("en");
  if (t.total === 0) return "No rows.";
  if (t.rows.length < t.total) return `Showing the first ${n(t.rows.length)} of ${n(t.total)} rows.`;
  return t.total === 1 ? "1 row." : `${n(t.total)} rows.`;
}
