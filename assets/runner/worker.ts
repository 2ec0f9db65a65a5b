// The Python runner: a module Web Worker (static/dist runner-worker-[hash].js) that
// loads Pyodide from duet's own /static files and runs one program at a time.
//
// What a prototype of this runner taught:
//   - user code runs with synchronous runPython-like calls, never through asyncio
//     (an interrupt landing in asyncio's machinery wedged the worker);
//   - the interrupt buffer is armed only around user code, and zeroed before and after;
//   - time.sleep busy-waits in Emscripten, so it is replaced by one that sleeps on
//     shared memory and wakes for an interrupt;
//   - output uses Pyodide's `write` handlers (exact bytes: prompts and end="" survive),
//     into the shared output ring (ring.ts) or, without shared memory, coalesced
//     messages;
//   - input() blocks on shared memory (Atomics.wait) until the page answers.

import { lockdown } from "./lockdown";
import type { FromWorker, LoadStep, Status, TestCase, TestResult, TextStream as Stream, ToWorker } from "./protocol";
import { OutputSink, StdinState, maxLineBytes, sleepCell } from "./ring";

// The parts of Pyodide's API used here (the package's .d.ts is not importable from a
// URL loaded at run time).
interface PyProxy {
  (...args: unknown[]): unknown;
  get(key: string): unknown;
  destroy(): void;
}
interface Pyodide {
  version: string;
  globals: PyProxy;
  runPython(code: string, opts?: { globals?: PyProxy; filename?: string }): unknown;
  setStdout(o: { write: (b: Uint8Array) => number; isatty?: boolean }): void;
  setStderr(o: { write: (b: Uint8Array) => number; isatty?: boolean }): void;
  setStdin(o: { stdin: () => string | null; isatty?: boolean }): void;
  setInterruptBuffer(b: Uint8Array | undefined): void;
  checkInterrupt(): void;
  registerJsModule(name: string, module: object): void;
  makeMemorySnapshot(): Uint8Array;
}
type LoadPyodide = (opts: Record<string, unknown>) => Promise<Pyodide>;

let py: Pyodide | null = null;
let runCode: PyProxy | null = null;
let runTests: PyProxy | null = null;
let interrupt: Uint8Array | null = null;
let control: Int32Array | null = null;
let lineBytes: Uint8Array | null = null;
let sink: OutputSink;
let queue: Promise<void> = Promise.resolve();

function post(m: FromWorker, transfer: Transferable[] = []): void {
  self.postMessage(m, { transfer });
}

// stopTaken: the program took the interrupt, and the helper is telling how it ended.
// The page goes on asking for interrupts until the run is done; from here on they
// are not acted on, and what the helper prints (the traceback) is kept.
let stopTaken = false;
const interrupted = () => !stopTaken && interrupt !== null && interrupt[0] === 2;

/** stopped is called by the helper as soon as it caught the program's KeyboardInterrupt. */
function stopped(): void {
  stopTaken = true;
  py?.setInterruptBuffer(undefined);
}

self.onmessage = (e: MessageEvent<ToWorker>) => {
  const m = e.data;
  if (m?.type === "init") queue = queue.then(() => init(m));
  else if (m?.type === "run") queue = queue.then(() => run(m.id, m.code));
  else if (m?.type === "test") queue = queue.then(() => run(m.id, m.code, m.tests));
};

async function init(m: Extract<ToWorker, { type: "init" }>): Promise<void> {
  const start = performance.now();
  if (m.shared) {
    interrupt = new Uint8Array(m.shared.interrupt);
    control = new Int32Array(m.shared.control, 0, 4);
    lineBytes = new Uint8Array(m.shared.control, 16, maxLineBytes);
  }
  sink = new OutputSink(m.shared?.output ?? null, interrupted, (chunks) => post({ type: "out", id: sink.runId, chunks }));
  const restore = watchLoading();
  try {
    const indexURL = new URL(m.indexURL ?? "", self.location.href).href;
    progress("fetch");
    const mod = (await import(/* the pinned copy under /static */ indexURL + "pyodide.mjs")) as { loadPyodide: LoadPyodide };
    const opts: Record<string, unknown> = { indexURL, stdout: () => {}, stderr: () => {} };
    if (m.snapshot) opts._loadSnapshot = m.snapshot;
    if (m.makeSnapshot) opts._makeSnapshot = true;
    py = await mod.loadPyodide(opts);
    let snapshot: Uint8Array | undefined;
    let snapshotMs: number | undefined;
    if (m.makeSnapshot) {
      // Before anything of ours is registered: a snapshot holds the bare interpreter.
      progress("snapshot");
      const t = performance.now();
      snapshot = py.makeMemorySnapshot();
      snapshotMs = performance.now() - t;
    }
    setUp(py);
    restore();
    lockdown();
    const resources = performance.getEntriesByType("resource") as PerformanceResourceTiming[];
    const fetched = {
      files: resources.length,
      transfer: resources.reduce((n, r) => n + r.transferSize, 0), // 0 for what came from the HTTP cache
      decoded: resources.reduce((n, r) => n + r.decodedBodySize, 0),
    };
    const version = String(py.runPython("import sys; '%d.%d.%d' % sys.version_info[:3]"));
    post({ type: "ready", loadMs: performance.now() - start, version, snapshot, snapshotMs, fetched }, snapshot ? [snapshot.buffer] : []);
  } catch (e) {
    restore();
    const why = describe(e);
    post({
      type: "failed",
      error: /fetch|network/i.test(why) ? `a file of the runtime could not be downloaded (${why})` : why,
    });
  }
}

function progress(step: LoadStep, detail?: string): void {
  post({ type: "progress", step, detail });
}

/**
 * watchLoading reports the loading steps as Pyodide takes them: the WebAssembly
 * download and compilation, then the interpreter's start. It wraps the functions
 * Pyodide calls and returns what undoes that. The responses themselves are left
 * alone: a wrapped body would lose the browser's cache of compiled WebAssembly.
 */
function watchLoading(): () => void {
  const wasm = WebAssembly as unknown as Record<string, unknown>;
  const saved = { instantiateStreaming: wasm.instantiateStreaming, instantiate: wasm.instantiate };
  for (const name of ["instantiateStreaming", "instantiate"] as const) {
    const orig = saved[name] as (...a: unknown[]) => Promise<unknown>;
    if (typeof orig !== "function") continue;
    wasm[name] = async (...args: unknown[]) => {
      const source = args[0];
      if (source instanceof Promise) void source.then(() => progress("compile"), () => {});
      else progress("compile");
      const r = await orig.apply(WebAssembly, args);
      progress("start");
      return r;
    };
  }
  return () => Object.assign(wasm, saved);
}

const decoder = new TextDecoder();

/** setUp connects Pyodide's streams to the page and installs the run helper. */
function setUp(py: Pyodide): void {
  const writer = (stream: Stream) => ({
    isatty: false,
    write: (b: Uint8Array) => {
      if (!interrupted()) sink.bytes(stream, b); // after Stop, output is dropped, not waited for
      return b.length;
    },
  });
  py.setStdout(writer("stdout"));
  py.setStderr(writer("stderr"));
  py.setStdin({ stdin: readLine, isatty: false });
  py.registerJsModule("_duet_host", { sleep: hostSleep, shared: control !== null, report: reportTest, stopped });
  const ns = (py.globals.get("dict") as PyProxy)() as PyProxy;
  py.runPython(helper, { globals: ns, filename: "<duet-runner>" });
  runCode = ns.get("run") as PyProxy;
  runTests = ns.get("run_tests") as PyProxy;
  ns.destroy();
}

/** readLine answers Python's stdin: one line from the page, or null for end of input. */
function readLine(): string | null {
  if (!control || !lineBytes) return null; // no shared memory: input() raises EOFError
  sink.flush();
  Atomics.store(control, 0, StdinState.waiting);
  post({ type: "stdin", id: sink.runId });
  while (Atomics.load(control, 0) === StdinState.waiting) Atomics.wait(control, 0, StdinState.waiting, 1000);
  const state = Atomics.load(control, 0);
  if (state === StdinState.line) {
    const n = Math.min(Atomics.load(control, 1), maxLineBytes);
    return decoder.decode(lineBytes.slice(0, n)); // slice: TextDecoder refuses shared memory
  }
  if (state === StdinState.interrupted && interrupt) {
    interrupt[0] = 2;
    py!.checkInterrupt(); // the GIL is released around reads: this throws EINTR, and Python raises KeyboardInterrupt
  }
  return null;
}

/** reportTest passes the result of one test (JSON from the helper) to the page. */
function reportTest(json: string): void {
  sink.flush();
  post({ type: "test", id: sink.runId, result: JSON.parse(json) as TestResult });
}

/** hostSleep replaces time.sleep: it sleeps on shared memory and wakes for Stop. */
function hostSleep(secs: number): void {
  sink.flush();
  const end = performance.now() + secs * 1000;
  for (;;) {
    const left = end - performance.now();
    if (left <= 0) return;
    if (interrupted()) {
      py!.checkInterrupt(); // raises KeyboardInterrupt in the sleeping program
      return;
    }
    if (control) Atomics.wait(control, sleepCell, 0, Math.min(left, 100));
    // without shared memory there is nothing to sleep on: spin, as Emscripten does
  }
}

/** run runs a program, or, with tests, a program and then each test. */
function run(id: string, code: string, tests?: TestCase[]): void {
  const start = performance.now();
  sink.runId = id;
  stopTaken = false;
  let status: Status = "error";
  if (!py || !runCode || !runTests) {
    post({ type: "done", id, status: "crashed", ms: 0 });
    return;
  }
  if (interrupt) {
    interrupt[0] = 0;
    py.setInterruptBuffer(interrupt);
  }
  try {
    status = (tests ? runTests(code, JSON.stringify(tests)) : runCode(code)) as Status;
  } catch (e) {
    // Only what escaped the helper: an interrupt between the call and its try.
    const type = (e as { type?: string })?.type;
    if (type === "KeyboardInterrupt") status = "stopped";
    else sink.text("stderr", `Internal error of the Python runner: ${describe(e)}\n`);
  } finally {
    if (interrupt) {
      py.setInterruptBuffer(undefined);
      interrupt[0] = 0;
      try {
        py.checkInterrupt(); // clears a signal CPython noted but did not act on
      } catch {
        // that signal, dropped
      }
    }
  }
  sink.flush();
  post({ type: "done", id, status, ms: performance.now() - start });
}

function describe(e: unknown): string {
  if (e instanceof Error) return e.message || String(e);
  return String(e);
}

// The Python side. run() executes a program the way `python main.py` would, under the
// file name "<main>" so that tracebacks show the editor's line numbers, and prints
// tracebacks without its own frames. Every run gets fresh globals.
const helper = `
import ast, builtins, contextlib, io, json, linecache, sys, time, traceback
import _duet_host

if _duet_host.shared:
    def _sleep(secs, /):
        secs = float(secs)
        if secs < 0:
            raise ValueError("sleep length must be non-negative")
        _duet_host.sleep(secs)
    _sleep.__doc__ = time.sleep.__doc__
    time.sleep = _sleep

for _s in (sys.stdout, sys.stderr):
    try:
        _s.reconfigure(line_buffering=True)  # like a terminal: each line shows when printed
    except Exception:
        pass

_OFFLINE = ("duet runs Python in your browser with the standard library only: "
            "third-party packages (numpy, pandas, requests…) cannot be installed here.")
_FILE = "<main>"

def _print_exception(e):
    tb = e.__traceback__
    while tb is not None and tb.tb_frame.f_code.co_filename == "<duet-runner>":
        tb = tb.tb_next
    traceback.print_exception(type(e), e, tb, file=sys.stderr)

def _flush():
    for s in (sys.stdout, sys.stderr):
        try:
            s.flush()
        except Exception:
            pass

def _main(code, name):
    """Run a program as "python main.py" would; None when it ended well, else its status."""
    linecache.cache[_FILE] = (len(code), None, code.splitlines(True), _FILE)
    ns = {"__name__": name, "__builtins__": builtins}
    try:
        try:
            exec(compile(code, _FILE, "exec", dont_inherit=True), ns)
        finally:
            _flush()
        return None, ns
    except SystemExit as e:
        c = e.code
        if c is None or c == 0:
            return None, ns
        if isinstance(c, int) and not isinstance(c, bool):
            return f"exit {c}", ns
        print(c, file=sys.stderr)
        return "exit 1", ns
    except KeyboardInterrupt as e:
        _duet_host.stopped()
        _print_exception(e)
        return "stopped", ns
    except BaseException as e:
        if isinstance(e, ModuleNotFoundError) and e.name and e.name.partition(".")[0] not in sys.stdlib_module_names:
            e.msg = f"No module named {e.name!r}"  # Pyodide's hint suggests micropip, which cannot work offline
            e.add_note(_OFFLINE)
        _print_exception(e)
        return "error", ns

def run(code):
    status, ns = _main(code, "__main__")
    try:
        return status or "ok"
    finally:
        _flush()
        ns.clear()

# Tests (docs/questions.md). The program runs as a module named "solution" (so code
# under if __name__ == "__main__": does not), then each test runs in a copy of its
# globals, with check() at hand, its output captured.

class _CheckFailed(AssertionError):
    def __init__(self, got, expected):
        super().__init__(f"got {got!r}, expected {expected!r}")
        self.got, self.expected = got, expected

def check(got, expected):
    """Fail the test unless got == expected; the table shows both."""
    if not (got == expected):
        raise _CheckFailed(got, expected)

_MAX_SHOWN = 2000  # characters of a value, an error or a test's output

def _cut(s):
    return s if len(s) <= _MAX_SHOWN else s[:_MAX_SHOWN - 1] + "…"

def _equality(tree):
    """The two sides of a test that is one assert X == Y, else None."""
    node = tree.body[0] if len(tree.body) == 1 else None
    if (isinstance(node, ast.Assert) and node.msg is None and isinstance(node.test, ast.Compare)
            and len(node.test.ops) == 1 and isinstance(node.test.ops[0], ast.Eq)):
        return node.test.left, node.test.comparators[0]
    return None

def _one_test(test, ns):
    r = {"name": test["name"], "hidden": bool(test.get("hidden")), "passed": False}
    env = dict(ns)
    env["check"] = check
    out = io.StringIO()
    t0 = time.perf_counter()
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(out):
            tree = ast.parse(test["code"], "<test>", "exec")
            sides = _equality(tree)
            if sides:
                got, expected = (eval(compile(ast.Expression(e), "<test>", "eval"), env) for e in sides)
                r["got"], r["expected"] = _cut(repr(got)), _cut(repr(expected))
                r["passed"] = bool(got == expected)
                if not r["passed"]:
                    r["error"] = "AssertionError"
            else:
                exec(compile(tree, "<test>", "exec"), env)
                r["passed"] = True
    except _CheckFailed as e:
        r["got"], r["expected"], r["error"] = _cut(repr(e.got)), _cut(repr(e.expected)), "check failed"
    except KeyboardInterrupt:
        raise
    except BaseException as e:
        r["error"] = _cut("".join(traceback.format_exception_only(type(e), e)).strip())
    r["ms"] = round((time.perf_counter() - t0) * 1000, 3)
    r["output"] = _cut(out.getvalue())
    return r

def run_tests(code, tests_json):
    tests = json.loads(tests_json)
    status, ns = _main(code, "solution")
    try:
        if status:
            return status
        for test in tests:
            _duet_host.report(json.dumps(_one_test(test, ns)))
        return "ok"
    except KeyboardInterrupt:
        _duet_host.stopped()
        return "stopped"
    finally:
        _flush()
        ns.clear()
`;
