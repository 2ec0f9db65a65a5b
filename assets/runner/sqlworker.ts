// The SQL runner: a module Web Worker (static/dist runner-sql-worker-[hash].js) with
// SQLite compiled to WebAssembly (sql.js). The page compiles sql.js's wasm once and
// hands the module to every worker it starts, so the file is fetched once and a new
// worker (after Stop) is ready in milliseconds.
//
// Each run gets a fresh in-memory database, filled first with the seed SQL that the
// run message carries ("" for an empty database): this is the seam for a session's
// or a question's own schema. The statements then run one by one; each that returns
// columns becomes a result table (the first maxRows rows, and the count of all), an
// INSERT, UPDATE or DELETE says how many rows it changed, and the first error ends the
// run with the statement's line. Stop and the time limit terminate the worker.

import initSqlJs from "sql.js";
import { lockdown } from "./lockdown";
import type { Cell, FromWorker, Status, TextStream, ToWorker } from "./protocol";

export const sourceName = "main.sql";
const maxRows = 1000; // rows of a result kept (all are counted)
const maxCell = 1000; // characters of a text cell kept
const maxBlob = 64; // bytes of a blob shown

interface Statement {
  step(): boolean;
  get(): unknown[];
  getColumnNames(): string[];
  free(): void;
}
interface Database {
  exec(sql: string): unknown;
  iterateStatements(sql: string): Iterator<Statement> & { getRemainingSQL(): string };
  getRowsModified(): number;
  close(): void;
}
interface SqlJs {
  Database: new () => Database;
}

let SQL: SqlJs | null = null;
let version = "";

function post(m: FromWorker): void {
  self.postMessage(m);
}

self.onmessage = (e: MessageEvent<ToWorker>) => {
  const m = e.data;
  if (m?.type === "init") void init(m.wasm);
  else if (m?.type === "run" && SQL) run(m.id, m.code, m.seed ?? "");
};

async function init(wasm: WebAssembly.Module | undefined): Promise<void> {
  const t0 = performance.now();
  try {
    if (!wasm) throw new Error("no WebAssembly module was given");
    SQL = (await initSqlJs({
      instantiateWasm: (imports: WebAssembly.Imports, done: (i: WebAssembly.Instance) => void) => {
        void WebAssembly.instantiate(wasm, imports).then(done);
        return {};
      },
    })) as SqlJs;
    const db = new SQL.Database();
    version = String((db.exec("select sqlite_version()") as { values: unknown[][] }[])[0]?.values[0]?.[0] ?? "");
    db.close();
  } catch (e) {
    post({ type: "failed", error: `SQLite did not start: ${e instanceof Error ? e.message : String(e)}` });
    return;
  }
  lockdown(); // the program is SQL, but the worker needs no network from here on
  post({ type: "ready", loadMs: performance.now() - t0, version });
}

function out(id: string, stream: TextStream, text: string): void {
  post({ type: "out", id, chunks: [[stream, text]] });
}

function run(id: string, code: string, seed: string): void {
  const t0 = performance.now();
  const db = new SQL!.Database();
  let status: Status = "ok";
  try {
    if (seed) {
      try {
        db.exec(seed);
      } catch (e) {
        out(id, "stderr", `The starting database could not be made: ${message(e)}\n`);
        status = "error";
        return;
      }
    }
    status = runStatements(id, db, code);
  } finally {
    db.close();
    post({ type: "done", id, status, ms: performance.now() - t0 });
  }
}

/** runStatements runs the program's statements in order, up to the first error. */
function runStatements(id: string, db: Database, code: string): Status {
  const it = db.iterateStatements(code);
  for (;;) {
    const start = code.length - it.getRemainingSQL().length;
    let stmt: Statement | undefined;
    try {
      const r = it.next();
      if (r.done) return "ok";
      stmt = r.value;
      const columns = stmt.getColumnNames();
      if (columns.length > 0) {
        post({ type: "table", id, table: collect(stmt, columns) });
      } else {
        while (stmt.step()) {
          // a statement without columns returns no rows
        }
        const changed = changeNote(code.slice(start), db.getRowsModified());
        if (changed) out(id, "system", changed);
      }
    } catch (e) {
      out(id, "stderr", errorText(code, start, message(e)));
      return "error";
    } finally {
      stmt?.free();
    }
  }
}

/** collect reads a statement's rows: the first maxRows kept, all of them counted. */
function collect(stmt: Statement, columns: string[]): { columns: string[]; rows: Cell[][]; total: number } {
  const rows: Cell[][] = [];
  let total = 0;
  while (stmt.step()) {
    if (total < maxRows) rows.push(stmt.get().map(cell));
    total++;
  }
  return { columns, rows, total };
}

function cell(v: unknown): Cell {
  if (v === null || v === undefined) return null;
  if (typeof v === "number") return v;
  if (v instanceof Uint8Array) {
    let hex = "";
    for (const b of v.subarray(0, maxBlob)) hex += b.toString(16).padStart(2, "0");
    return { x: v.length > maxBlob ? hex + "…" : hex };
  }
  const s = String(v);
  return s.length > maxCell ? s.slice(0, maxCell) + "…" : s;
}

/** changeNote says what an INSERT, UPDATE or DELETE did: "3 rows inserted.". */
function changeNote(sql: string, n: number): string {
  const verb = firstWord(sql);
  const done = { insert: "inserted", replace: "inserted", update: "updated", delete: "deleted" }[verb];
  if (!done) return "";
  return `${n.toLocaleString("en")} ${n === 1 ? "row" : "rows"} ${done}.\n`;
}

/** tokenStart is the position of the first token at or after i (after blanks and comments). */
function tokenStart(sql: string, i: number): number {
  for (;;) {
    while (i < sql.length && /\s/.test(sql[i])) i++;
    if (sql.startsWith("--", i)) {
      const nl = sql.indexOf("\n", i);
      i = nl < 0 ? sql.length : nl + 1;
    } else if (sql.startsWith("/*", i)) {
      const end = sql.indexOf("*/", i + 2);
      i = end < 0 ? sql.length : end + 2;
    } else {
      return i;
    }
  }
}

function firstWord(sql: string): string {
  const i = tokenStart(sql, 0);
  return (/^[A-Za-z]+/.exec(sql.slice(i))?.[0] ?? "").toLowerCase();
}

/**
 * errorText says what failed and where: the line of the statement, or of the token a
 * syntax error names (SQLite says `near "SELEC": syntax error`), with that line quoted.
 */
function errorText(code: string, start: number, msg: string): string {
  let at = tokenStart(code, start);
  const near = /^near "(.+)": /.exec(msg)?.[1];
  if (near) {
    const i = code.indexOf(near, at);
    if (i >= 0) at = i;
  }
  const lineStart = code.lastIndexOf("\n", at - 1) + 1;
  const lineEnd = code.indexOf("\n", at);
  const line = code.slice(0, at).split("\n").length;
  const col = at - lineStart + 1;
  const text = code.slice(lineStart, lineEnd < 0 ? code.length : lineEnd);
  return `Error: ${msg}\n    at ${sourceName}:${line}:${col}\n${String(line).padStart(5)} | ${text}\n`;
}

function message(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
