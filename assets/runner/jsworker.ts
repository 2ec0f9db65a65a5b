// The JavaScript runner: a module Web Worker (static/dist runner-js-worker-[hash].js)
// that runs ONE program and is then thrown away, so every run starts from clean
// globals and Stop is simply terminate(). The page keeps a fresh one ready.
//
// The program gets no DOM (it is a worker) and no network (lockdown.ts). Its console
// goes to the output; prompt() reads a line from the output panel as Python's input()
// does. Like Node, the run ends when the code has finished and no timer is pending;
// an uncaught error or unhandled rejection ends it with "error".
//
// The code is evaluated with indirect eval, which needs 'unsafe-eval' in THIS worker's
// Content-Security-Policy: a worker loaded from a URL gets the policy sent with its
// script, not the page's, so the server sends this one script with
// "default-src 'none'; script-src 'self' 'unsafe-eval'; worker-src 'none'" and the
// page keeps its policy without 'unsafe-eval'. Without it, the worker says so at once.

import { lockdown } from "./lockdown";
import type { FromWorker, Source, Status, TestCase, TestResult, TextStream as Stream, ToWorker } from "./protocol";
import { OutputSink, StdinState, maxLineBytes } from "./ring";

/** The program's name in stacks and, for TypeScript, how its columns map back. */
let source: Source = { name: "main.js" };

const realSetTimeout = setTimeout;
const realClearTimeout = clearTimeout;
const realSetInterval = setInterval;
const realClearInterval = clearInterval;
const evaluate = eval; // indirect: global scope, line numbers as in the editor

let sink: OutputSink;
let control: Int32Array | null = null;
let lineBytes: Uint8Array | null = null;
let runId = "";
let started = 0;
let finished = false;
let captured: string[] | null = null; // a test's console output, while it runs
const timers = new Set<number>();

function post(m: FromWorker): void {
  self.postMessage(m);
}

lockdown();

self.onmessage = (e: MessageEvent<ToWorker>) => {
  const m = e.data;
  if (m?.type === "init") {
    if (m.shared) {
      control = new Int32Array(m.shared.control, 0, 4);
      lineBytes = new Uint8Array(m.shared.control, 16, maxLineBytes);
    }
    sink = new OutputSink(m.shared?.output ?? null, () => false, (chunks) => post({ type: "out", id: runId, chunks }));
    try {
      evaluate("0");
    } catch {
      post({
        type: "failed",
        error:
          "the server's Content-Security-Policy for the JavaScript worker does not allow evaluating code " +
          "('unsafe-eval' is needed in that worker's policy only; see the runner's documentation)",
      });
      return;
    }
    post({ type: "ready", loadMs: 0, version: navigator.userAgent });
  } else if (m?.type === "run" && !runId) {
    if (m.source) source = m.source;
    void run(m.id, m.code);
  } else if (m?.type === "test" && !runId) {
    source = { name: "main.js" }; // questions' tests are JavaScript
    void run(m.id, m.code, m.tests);
  }
};

function finish(status: Status, syntaxError?: string): void {
  if (finished) return;
  finished = true;
  for (const t of timers) realClearTimeout(t);
  sink.flush();
  post({ type: "done", id: runId, status, ms: performance.now() - started, syntaxError });
}

/**
 * run evaluates a program; with tests, it then runs each test (docs/questions.md):
 * the tests are evaluated with the program as one script, each the body of an async
 * function, so that they see its top-level declarations (let and const included),
 * and run one after the other, their console output captured.
 */
async function run(id: string, code: string, tests?: TestCase[]): Promise<void> {
  runId = id;
  sink.runId = id;
  installGlobals();
  self.addEventListener("error", (e) => {
    e.preventDefault();
    fail(e.error ?? e.message);
  });
  self.addEventListener("unhandledrejection", (e) => {
    e.preventDefault();
    fail(e.reason, "Uncaught (in promise)");
  });
  const suite = tests ? testSuite(tests) : "";
  started = performance.now();
  try {
    let result: unknown;
    try {
      result = evaluate(`${code}${suite}\n//# sourceURL=${source.name}`);
    } catch (e) {
      // Top-level await: run the program as the body of an async function. The
      // wrapper opens on the first line, so line numbers do not move.
      if (!(e instanceof SyntaxError) || !/await is only valid/.test(e.message)) throw e;
      result = evaluate(`(async () => {${code}${suite}\n})()\n//# sourceURL=${source.name}`);
      await result;
    }
  } catch (e) {
    fail(e);
    return;
  }
  if (!tests) {
    idleCheck();
    return;
  }
  const fns = (globalThis as Record<string, unknown>)[suiteKey] as (() => Promise<unknown>)[];
  delete (globalThis as Record<string, unknown>)[suiteKey];
  for (let i = 0; i < tests.length && !finished; i++) {
    post({ type: "test", id, result: await oneTest(tests[i], fns[i]) });
  }
  finish("ok");
}

const suiteKey = "__duetTests";

/** testSuite is the script that follows the program: its tests, as async functions. */
function testSuite(tests: TestCase[]): string {
  const AsyncFunction = (async () => {}).constructor as new (body: string) => unknown;
  const bodies = tests.map((t) => {
    try {
      new AsyncFunction(t.code); // a test that does not parse must not stop the others
      return `async () => {\n${t.code}\n}`;
    } catch (e) {
      return `async () => { throw new SyntaxError(${JSON.stringify(e instanceof Error ? e.message : String(e))}); }`;
    }
  });
  return `\n;globalThis.${suiteKey} = [${bodies.join(",\n")}];`;
}

/** CheckFailure is a failed check(got, expected): the table shows both. */
class CheckFailure extends Error {
  constructor(
    readonly got: unknown,
    readonly expected: unknown,
  ) {
    super("check failed");
  }
}

const maxShown = 2000; // characters of a value, an error or a test's output

function cut(s: string): string {
  return s.length <= maxShown ? s : s.slice(0, maxShown - 1) + "…";
}

async function oneTest(t: TestCase, fn: (() => Promise<unknown>) | undefined): Promise<TestResult> {
  const r: TestResult = { name: t.name, hidden: t.hidden, passed: false, ms: 0 };
  captured = [];
  const t0 = performance.now();
  try {
    if (!fn) throw new Error("the test could not be loaded");
    await fn();
    r.passed = true;
  } catch (e) {
    if (e instanceof CheckFailure) {
      r.got = cut(inspect(e.got, 0, new Set(), false));
      r.expected = cut(inspect(e.expected, 0, new Set(), false));
      r.error = "check failed";
    } else {
      r.error = cut(e instanceof Error ? `${e.name}: ${e.message}` : `Uncaught ${inspect(e, 0, new Set(), true)}`);
    }
  }
  r.ms = Math.round((performance.now() - t0) * 1000) / 1000;
  r.output = cut(captured.join(""));
  captured = null;
  return r;
}

/** same is the equality of check(): values, arrays, plain objects, Maps and Sets, deeply. */
function same(a: unknown, b: unknown): boolean {
  if (a === b || (Number.isNaN(a) && Number.isNaN(b))) return true;
  if (typeof a !== "object" || typeof b !== "object" || a === null || b === null) return false;
  if (Object.getPrototypeOf(a) !== Object.getPrototypeOf(b)) return false;
  if (Array.isArray(a)) {
    const bb = b as unknown[];
    return a.length === bb.length && a.every((x, i) => same(x, bb[i]));
  }
  if (a instanceof Map) {
    const bm = b as Map<unknown, unknown>;
    return a.size === bm.size && [...a].every(([k, v]) => bm.has(k) && same(v, bm.get(k)));
  }
  if (a instanceof Set) {
    const bs = b as Set<unknown>;
    return a.size === bs.size && [...a].every((x) => bs.has(x));
  }
  if (a instanceof Date) return a.getTime() === (b as Date).getTime();
  const ka = Object.keys(a);
  const kb = Object.keys(b);
  return ka.length === kb.length && ka.every((k) => Object.prototype.hasOwnProperty.call(b, k) && same((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k]));
}

/** idleCheck ends the run once nothing is left to run (after pending microtasks). */
function idleCheck(): void {
  realSetTimeout(() => {
    if (timers.size === 0) finish("ok");
  }, 0);
}

function fail(err: unknown, prefix = "Uncaught"): void {
  if (finished) return;
  if (err instanceof SyntaxError && !(err.stack ?? "").includes(source.name)) {
    // The program did not parse. V8 gives no position for eval'd code; the page
    // finds the line with a parser and prints the error.
    finish("error", err.message);
    return;
  }
  sink.text("stderr", `${prefix} ${formatError(err)}\n`);
  finish("error");
}

/** formatError shows an error as the browser console would, with only the program's frames. */
export function formatError(err: unknown): string {
  if (!(err instanceof Error)) return inspect(err, 0, new Set(), true);
  const stack = typeof err.stack === "string" ? err.stack : "";
  const head = `${err.name}: ${err.message}`;
  const frames = stack
    .split("\n")
    .filter((l) => /^\s+at /.test(l) && l.includes(source.name))
    .map((l) => "    " + originalColumns(l.trim().replace(/\(?eval at [^)]*\), /, "(")));
  return [head, ...frames].join("\n");
}

/**
 * originalColumns rewrites the positions in a stack line ("main.ts:4:9") from the
 * program that ran to the one in the editor. Lines are the same (sucrase keeps them);
 * columns move where types were taken out, and the source map says where to.
 */
function originalColumns(frame: string): string {
  const cols = source.columns;
  if (!cols) return frame;
  const at = new RegExp(`${source.name.replace(/\./g, "\\.")}:(\\d+):(\\d+)`, "g");
  return frame.replace(at, (whole, l: string, c: string) => {
    const segs = cols[Number(l) - 1];
    const col = Number(c) - 1;
    if (!segs) return whole;
    let best: [number, number] | null = null;
    for (const seg of segs) {
      if (seg[0] > col) break;
      best = seg;
    }
    return best ? `${source.name}:${l}:${best[1] + (col - best[0]) + 1}` : whole;
  });
}

// ---- what the program sees ----

function installGlobals(): void {
  const g0 = globalThis as Record<string, unknown>;
  const counts = new Map<string, number>();
  const times = new Map<string, number>();
  let group = "";
  const indent = (s: string) => (group ? s.replace(/^/gm, group) : s);
  const log = (stream: Stream) => (...args: unknown[]) => emit(stream, indent(format(args)) + "\n");
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  const c: Record<string, (...args: any[]) => unknown> = {
    log: log("stdout"),
    info: log("stdout"),
    debug: log("stdout"),
    warn: log("stderr"),
    error: log("stderr"),
    trace: (...args: unknown[]) => {
      const frames = (new Error().stack ?? "").split("\n").filter((l) => l.includes(source.name));
      emit("stderr", indent(["Trace: " + format(args), ...frames.map((l) => "    " + originalColumns(l.trim()))].join("\n")) + "\n");
    },
    dir: (v: unknown) => emit("stdout", indent(inspect(v, 0, new Set(), false)) + "\n"),
    table: (v: unknown) => emit("stdout", indent(inspect(v, 0, new Set(), false)) + "\n"),
    assert: (cond: unknown, ...args: unknown[]) => {
      if (!cond) emit("stderr", indent("Assertion failed" + (args.length ? ": " + format(args) : "")) + "\n");
    },
    count: (label = "default") => {
      const n = (counts.get(label) ?? 0) + 1;
      counts.set(label, n);
      emit("stdout", indent(`${label}: ${n}`) + "\n");
    },
    countReset: (label = "default") => counts.delete(label),
    time: (label = "default") => times.set(label, performance.now()),
    timeLog: (label = "default", ...args: unknown[]) => {
      const t = times.get(label);
      if (t !== undefined) emit("stdout", indent(`${label}: ${(performance.now() - t).toFixed(3)} ms ${format(args)}`.trimEnd()) + "\n");
    },
    timeEnd: (label = "default") => {
      const t = times.get(label);
      times.delete(label);
      if (t !== undefined) emit("stdout", indent(`${label}: ${(performance.now() - t).toFixed(3)} ms`) + "\n");
    },
    group: (...args: unknown[]) => {
      if (args.length) emit("stdout", indent(format(args)) + "\n");
      group += "  ";
    },
    groupEnd: () => {
      group = group.slice(2);
    },
    clear: () => {},
  };
  c.groupCollapsed = c.group;
  g0.check = (got: unknown, expected: unknown) => {
    if (!same(got, expected)) throw new CheckFailure(got, expected);
  };
  Object.defineProperty(globalThis, "console", { value: c, writable: true, configurable: true });

  const g = globalThis as Record<string, unknown>;
  g.setTimeout = (fn: unknown, ms?: number, ...args: unknown[]) => {
    const t = realSetTimeout(() => {
      timers.delete(t);
      call(fn, args);
      idleCheck();
    }, ms) as unknown as number;
    timers.add(t);
    return t;
  };
  g.clearTimeout = (t: number) => {
    realClearTimeout(t);
    if (timers.delete(t)) idleCheck();
  };
  g.setInterval = (fn: unknown, ms?: number, ...args: unknown[]) => {
    const t = realSetInterval(() => call(fn, args), ms) as unknown as number;
    timers.add(t);
    return t;
  };
  g.clearInterval = (t: number) => {
    realClearInterval(t);
    if (timers.delete(t)) idleCheck();
  };
  g.prompt = (message?: unknown) => {
    if (message !== undefined) emit("stdout", String(message) + " ");
    return readLine();
  };
  g.alert = (message?: unknown) => emit("stdout", String(message ?? "") + "\n");
}

/** emit writes the program's console output, or keeps it for the test that runs. */
function emit(stream: Stream, text: string): void {
  if (captured) captured.push(text);
  else sink.text(stream, text);
}

function call(fn: unknown, args: unknown[]): void {
  if (finished) return;
  try {
    if (typeof fn === "function") fn(...args);
    else evaluate(String(fn));
  } catch (e) {
    fail(e);
  }
}

function readLine(): string | null {
  if (!control || !lineBytes) return null;
  sink.flush();
  Atomics.store(control, 0, StdinState.waiting);
  post({ type: "stdin", id: runId });
  while (Atomics.load(control, 0) === StdinState.waiting) Atomics.wait(control, 0, StdinState.waiting, 1000);
  if (Atomics.load(control, 0) !== StdinState.line) return null;
  const n = Math.min(Atomics.load(control, 1), maxLineBytes);
  return new TextDecoder().decode(lineBytes.slice(0, n)).replace(/\r?\n$/, "");
}

// ---- formatting, close to what Node and the browser console print ----

/** format joins console arguments, honouring %s %d %i %f %o %O %j %c in a first string. */
export function format(args: unknown[]): string {
  const parts: string[] = [];
  let rest = args;
  if (typeof args[0] === "string" && args.length > 1 && args[0].includes("%")) {
    let i = 1;
    const first = args[0].replace(/%([sdifoOjc%])/g, (m, k: string) => {
      if (k === "%") return "%";
      if (i >= args.length) return m;
      const v = args[i++];
      switch (k) {
        case "s":
          return typeof v === "string" ? v : inspect(v, 1, new Set(), false);
        case "d":
        case "i":
          return typeof v === "bigint" ? `${v}n` : String(k === "i" ? Math.trunc(Number(v)) : Number(v));
        case "f":
          return String(Number(v));
        case "j":
          try {
            return JSON.stringify(v);
          } catch {
            return "[Circular]";
          }
        case "c":
          return "";
        default:
          return inspect(v, 0, new Set(), false);
      }
    });
    parts.push(first);
    rest = args.slice(i);
  } else if (typeof args[0] === "string") {
    parts.push(args[0]);
    rest = args.slice(1);
  }
  for (const v of rest) parts.push(typeof v === "string" ? v : inspect(v, 0, new Set(), false));
  return parts.join(" ");
}

const maxDepth = 2;
const maxItems = 100;

/** inspect renders a value as Node's util.inspect does, roughly. */
export function inspect(v: unknown, depth: number, seen: Set<unknown>, top: boolean): string {
  switch (typeof v) {
    case "string":
      return top ? v : quote(v);
    case "number":
      return Object.is(v, -0) ? "-0" : String(v);
    case "bigint":
      return `${v}n`;
    case "undefined":
      return "undefined";
    case "boolean":
      return String(v);
    case "symbol":
      return v.toString();
    case "function": {
      const name = v.name ? `: ${v.name}` : " (anonymous)";
      return /^class\s/.test(Function.prototype.toString.call(v)) ? `[class ${v.name || "(anonymous)"}]` : `[Function${name}]`;
    }
  }
  if (v === null) return "null";
  const o = v as object;
  if (seen.has(o)) return "[Circular *]";
  if (o instanceof Error) return formatError(o);
  if (o instanceof Date) return isNaN(o.getTime()) ? "Invalid Date" : o.toISOString();
  if (o instanceof RegExp) return String(o);
  if (o instanceof Promise) return "Promise { <pending> }";
  if (o instanceof WeakMap || o instanceof WeakSet) return `${o.constructor.name} { <items unknown> }`;
  if (depth > maxDepth) return Array.isArray(o) ? "[Array]" : `[${ctorName(o) || "Object"}]`;
  seen.add(o);
  try {
    const inner = (x: unknown) => inspect(x, depth + 1, seen, false);
    let items: string[];
    let open: string;
    let close: string;
    if (Array.isArray(o)) {
      items = o.slice(0, maxItems).map(inner);
      if (o.length > maxItems) items.push(`... ${o.length - maxItems} more items`);
      [open, close] = ["[", "]"];
    } else if (ArrayBuffer.isView(o) && !(o instanceof DataView)) {
      const arr = Array.from(o as unknown as ArrayLike<number>).slice(0, maxItems);
      items = arr.map((x) => inner(x));
      [open, close] = [`${ctorName(o)}(${(o as unknown as ArrayLike<number>).length}) [`, "]"];
    } else if (o instanceof Map) {
      items = [...o].slice(0, maxItems).map(([k, x]) => `${inner(k)} => ${inner(x)}`);
      [open, close] = [`Map(${o.size}) {`, "}"];
    } else if (o instanceof Set) {
      items = [...o].slice(0, maxItems).map(inner);
      [open, close] = [`Set(${o.size}) {`, "}"];
    } else {
      items = Object.keys(o)
        .slice(0, maxItems)
        .map((k) => `${/^[A-Za-z_$][\w$]*$/.test(k) ? k : quote(k)}: ${inner((o as Record<string, unknown>)[k])}`);
      const name = ctorName(o);
      [open, close] = [name && name !== "Object" ? `${name} {` : "{", "}"];
      if (items.length === 0) return open === "{" ? "{}" : `${open}}`;
    }
    if (items.length === 0) return open.endsWith("[") ? `${open}]` : `${open}}`;
    const one = `${open}${open.endsWith("[") ? " " : " "}${items.join(", ")} ${close}`;
    if (one.length <= 72 && !one.includes("\n")) return one;
    const pad = "  ".repeat(depth + 1);
    return `${open}\n${items.map((s) => pad + s).join(",\n")}\n${"  ".repeat(depth)}${close}`;
  } finally {
    seen.delete(o);
  }
}

function ctorName(o: object): string {
  const p = Object.getPrototypeOf(o);
  if (p === null) return "[Object: null prototype]";
  return typeof p.constructor === "function" ? p.constructor.name : "";
}

function quote(s: string): string {
  const q = s.includes("'") && !s.includes('"') ? '"' : "'";
  return q + s.replace(/\\/g, "\\\\").replace(/\n/g, "\\n").replace(new RegExp(q, "g"), "\\" + q) + q;
}
