// Messages between the runner island (page) and its workers, and the run events shared
// through the hub (the `run` message of docs/protocol.md). Types only, plus the status vocabulary.

/**
 * A stream of a run's output. "system" is the runner's own notes (not the program's);
 * "table" is a result table (SQL), shared as the compact JSON of table.ts.
 */
export type Stream = "stdout" | "stderr" | "stdin" | "system" | "table";

/** TextStream is a stream whose output is text. */
export type TextStream = Exclude<Stream, "table">;

/**
 * Table is a result table: column names, the first rows, and how many rows there were
 * in all (more than rows.length when the rows were cut). A cell is a number, a string,
 * null (SQL NULL) or { x: hex } for a blob.
 */
export interface Table {
  columns: string[];
  rows: Cell[][];
  total: number;
}

export type Cell = number | string | null | { x: string };

/** How the program is named in its errors, and how its columns map back (TypeScript). */
export interface Source {
  name: string; // "main.js", "main.ts"
  /** Per line of the program run, [generated column, original column] pairs, sorted. */
  columns?: [number, number][][];
}

/** A stream shared through the hub: the output's, and "tests", a test run's results. */
export type SharedStream = Stream | "tests";

/**
 * How a run ended; the `status` of the hub's `end` event. "exit N" is a program that
 * called sys.exit(N) with N ≠ 0; "crashed" a worker that died on its own; "failed" a
 * test run in which a test failed.
 */
export type Status = "ok" | "error" | "stopped" | "timeout" | "crashed" | "failed" | `exit ${number}`;

/** One test of a question: code that raises (throws) when the answer is wrong. */
export interface TestCase {
  name: string;
  code: string;
  hidden: boolean;
}

/**
 * TestResult is how one test went, as the worker reports it. got and expected are
 * set when the runner could tell them apart: a Python test that is one
 * `assert X == Y`, or a failed check(got, expected) in either language.
 */
export interface TestResult {
  name: string;
  hidden: boolean;
  passed: boolean;
  ms: number;
  got?: string;
  expected?: string;
  error?: string; // why it failed: the exception, one line
  output?: string; // what the test printed, capped
}

/** Shared memory handed to a worker when the page is cross-origin isolated. */
export interface SharedBuffers {
  interrupt: SharedArrayBuffer; // 1 byte: Pyodide's interrupt buffer (2 = SIGINT)
  control: SharedArrayBuffer; // stdin handshake and sleep wake-ups, see ring.ts
  output: SharedArrayBuffer; // the output ring, see ring.ts
}

/** page → worker */
export type ToWorker =
  | { type: "init"; indexURL?: string; shared: SharedBuffers | null; snapshot?: Uint8Array; makeSnapshot?: boolean; wasm?: WebAssembly.Module }
  | { type: "run"; id: string; code: string; source?: Source; seed?: string }
  | { type: "test"; id: string; code: string; tests: TestCase[] }; // run code, then each test

/** worker → page */
export type FromWorker =
  | { type: "progress"; step: LoadStep; detail?: string }
  | { type: "ready"; loadMs: number; version: string; snapshot?: Uint8Array; snapshotMs?: number; fetched?: Fetched }
  | { type: "failed"; error: string }
  | { type: "out"; id: string; chunks: [TextStream, string][] } // without shared memory only (and SQL's)
  | { type: "table"; id: string; table: Table } // SQL
  | { type: "stdin"; id: string } // the worker now waits for a line (control buffer)
  | { type: "test"; id: string; result: TestResult } // one test of a test run is done
  | { type: "done"; id: string; status: Status; ms: number; syntaxError?: string }; // syntaxError: a JS program that did not parse

/** The steps of loading Pyodide, in order, for the progress bar. */
export type LoadStep = "fetch" | "compile" | "start" | "snapshot";

/** What a worker fetched while loading (Resource Timing), for the benchmarks. */
export interface Fetched {
  files: number;
  transfer: number; // bytes over the network (0 from the HTTP cache)
  decoded: number; // bytes after decompression
}
