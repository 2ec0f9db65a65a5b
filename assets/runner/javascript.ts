// The page's end of the JavaScript runner: every run gets a fresh worker (clean
// globals; Stop and the time limit terminate it at once), and the next one is started
// as soon as a run ends, so a run never waits for a worker to boot.

import { type Engine, LoadError, type RunHooks, type RunResult, Shared, isolated } from "./engine";
import type { FromWorker, Source, Status, TestCase, ToWorker } from "./protocol";

const drainEvery = 30;

interface Spawned {
  worker: Worker;
  shared: Shared | null;
  ready: Promise<void>;
}

interface Running {
  id: string;
  w: Spawned;
  hooks: RunHooks;
  start: number;
  resolve: (r: RunResult) => void;
  drain: number;
}

let runSeq = 0;

export class JavaScriptEngine implements Engine {
  readonly label = "JavaScript";
  private next: Spawned | null = null;
  private running: Running | null = null;
  private disposed = false;

  constructor(private readonly workerURL: string) {}

  get loaded(): boolean {
    return this.next !== null;
  }

  async load(): Promise<void> {
    if (!this.next) this.next = this.spawn();
    try {
      await this.next.ready;
    } catch (e) {
      this.next = null;
      throw e;
    }
  }

  private spawn(): Spawned {
    const shared = isolated() ? new Shared() : null;
    const worker = new Worker(this.workerURL, { type: "module", name: "duet-javascript" });
    const ready = new Promise<void>((resolve, reject) => {
      worker.onerror = (e) => {
        e.preventDefault();
        worker.terminate();
        reject(new LoadError(e.message ? `the JavaScript worker failed: ${e.message}` : "the JavaScript worker script could not be loaded (a missing file or a dropped connection)"));
      };
      worker.onmessage = (e: MessageEvent<FromWorker>) => {
        if (e.data?.type === "ready") resolve();
        else if (e.data?.type === "failed") {
          worker.terminate();
          reject(new LoadError(e.data.error));
        }
      };
    });
    worker.postMessage({ type: "init", shared: shared?.buffers ?? null } satisfies ToWorker);
    return { worker, shared, ready };
  }

  run(code: string, hooks: RunHooks): Promise<RunResult> {
    return this.runAs(code, hooks, { name: "main.js" });
  }

  runTests(code: string, tests: TestCase[], hooks: RunHooks): Promise<RunResult> {
    return this.runAs(code, hooks, { name: "main.js" }, tests);
  }

  /**
   * runAs runs code (JavaScript) named, in stacks and errors, as source says; with
   * tests, each test after it.
   */
  async runAs(code: string, hooks: RunHooks, source: Source, tests?: TestCase[]): Promise<RunResult> {
    await this.load();
    const w = this.next!;
    this.next = null;
    const id = `js-${++runSeq}`;
    return new Promise<RunResult>((resolve) => {
      const r: Running = { id, w, hooks, start: performance.now(), resolve, drain: 0 };
      this.running = r;
      if (w.shared) r.drain = window.setInterval(() => this.drain(r), drainEvery);
      w.worker.onmessage = (e: MessageEvent<FromWorker>) => this.onMessage(r, e.data, code, source.name);
      w.worker.onerror = (e) => {
        e.preventDefault();
        this.end(r, { status: "crashed", ms: performance.now() - r.start, note: `The JavaScript worker died (${e.message || "no reason given"}).` });
      };
      hooks.started();
      w.worker.postMessage((tests ? { type: "test", id, code, tests } : { type: "run", id, code, source }) satisfies ToWorker);
    });
  }

  private drain(r: Running, all = false): void {
    const s = r.w.shared;
    if (!s) return;
    do {
      for (const [stream, text] of s.reader.drain(all ? undefined : 128 << 10)) r.hooks.output(stream, text);
    } while (all && s.reader.pending());
  }

  private onMessage(r: Running, m: FromWorker, code: string, name: string): void {
    if (this.running !== r) return;
    switch (m.type) {
      case "out":
        if (Array.isArray(m.chunks)) for (const [s, t] of m.chunks) r.hooks.output(s, String(t));
        break;
      case "stdin":
        this.drain(r, true);
        r.hooks.input();
        break;
      case "test":
        r.hooks.result?.(m.result);
        break;
      case "done":
        this.drain(r, true);
        if (m.syntaxError !== undefined) {
          void syntaxErrorAt(code).then((at) => {
            r.hooks.output("stderr", `Uncaught SyntaxError: ${m.syntaxError}\n    at ${name}${at}\n`);
            this.end(r, { status: m.status, ms: m.ms });
          });
          return;
        }
        this.end(r, { status: m.status, ms: m.ms });
        break;
    }
  }

  private end(r: Running, res: RunResult): void {
    if (this.running !== r) return;
    this.running = null;
    clearInterval(r.drain);
    r.w.worker.terminate();
    r.resolve(res);
    if (!this.disposed) this.next = this.spawn(); // ready for the next run
  }

  stop(as: "stopped" | "timeout"): void {
    const r = this.running;
    if (!r) return;
    r.w.worker.terminate();
    this.drain(r, true);
    this.end(r, { status: as as Status, ms: performance.now() - r.start });
  }

  answer(line: string | null): void {
    this.running?.w.shared?.answer(line);
  }

  dispose(): void {
    this.disposed = true;
    if (this.running) this.stop("stopped");
    this.next?.worker.terminate();
    this.next = null;
  }
}

/**
 * syntaxErrorAt finds where a program stops parsing, as ":line:column" (V8 says what
 * is wrong with eval'd code but not where). It uses the Lezer JavaScript grammar that
 * the editor loads for JavaScript anyway (a shared chunk).
 */
async function syntaxErrorAt(code: string): Promise<string> {
  try {
    const { parser } = await import("@lezer/javascript");
    let pos = -1;
    parser.parse(code).iterate({
      enter: (n) => {
        if (pos >= 0) return false;
        if (n.type.isError) pos = n.from;
        return undefined;
      },
    });
    if (pos < 0) return "";
    const before = code.slice(0, pos);
    const line = before.split("\n").length;
    const col = pos - before.lastIndexOf("\n");
    return `:${line}:${col}`;
  } catch {
    return "";
  }
}

export { isolated };
