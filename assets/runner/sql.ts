// The page's end of the SQL runner: SQLite in a worker (sqlworker.ts). The wasm file
// is fetched and compiled here, once; every worker gets the compiled module. One
// worker serves run after run (each run has a fresh database); Stop and the time limit
// terminate it, and a new one, ready in milliseconds, takes its place.

import { type Engine, LoadError, type RunHooks, type RunResult } from "./engine";
import type { FromWorker, LoadStep, Status, TestCase, ToWorker } from "./protocol";

export interface SqlOptions {
  workerURL: string; // runner-sql-worker.js
  wasmURL: string; // sql-wasm.wasm
  /** The SQL every run starts from: the example database, or "" for an empty one. */
  seed(): Promise<string>;
}

interface Running {
  id: string;
  hooks: RunHooks;
  start: number;
  resolve: (r: RunResult) => void;
}

let runSeq = 0;

export class SqlEngine implements Engine {
  readonly label = "SQL";
  version = "";
  private wasm: Promise<WebAssembly.Module> | null = null;
  private worker: Worker | null = null; // ready for a run
  private starting: Promise<Worker> | null = null;
  private running: (Running & { worker: Worker }) | null = null;
  private disposed = false;

  constructor(private readonly opts: SqlOptions) {}

  get loaded(): boolean {
    return this.worker !== null;
  }

  async load(progress?: (step: LoadStep) => void): Promise<void> {
    if (this.worker) return;
    if (typeof WebAssembly !== "object") throw new LoadError("this browser cannot run WebAssembly, which SQLite needs");
    this.starting ??= this.start(progress).finally(() => (this.starting = null));
    const worker = await this.starting;
    if (this.disposed) {
      worker.terminate();
      throw new LoadError("the runner was closed");
    }
    this.worker = worker;
  }

  /** module fetches and compiles sql.js's wasm, once per page. */
  private module(progress?: (step: LoadStep) => void): Promise<WebAssembly.Module> {
    if (!this.wasm) {
      progress?.("fetch");
      this.wasm = fetch(this.opts.wasmURL).then(
        (res) => {
          if (!res.ok) throw new LoadError(`${this.opts.wasmURL} answered ${res.status}`);
          progress?.("compile");
          return WebAssembly.compileStreaming(res);
        },
        () => {
          throw new LoadError("SQLite's WebAssembly file could not be downloaded (offline?)");
        },
      );
      this.wasm.catch(() => (this.wasm = null)); // Retry fetches again
    }
    return this.wasm;
  }

  private async start(progress?: (step: LoadStep) => void): Promise<Worker> {
    const wasm = await this.module(progress);
    progress?.("start");
    const worker = new Worker(this.opts.workerURL, { type: "module", name: "duet-sql" });
    await new Promise<void>((resolve, reject) => {
      worker.onerror = (e) => {
        e.preventDefault();
        worker.terminate();
        reject(new LoadError(e.message ? `the SQL worker failed: ${e.message}` : "the SQL worker script could not be loaded"));
      };
      worker.onmessage = (e: MessageEvent<FromWorker>) => {
        if (e.data?.type === "ready") {
          this.version = e.data.version;
          resolve();
        } else if (e.data?.type === "failed") {
          worker.terminate();
          reject(new LoadError(e.data.error));
        }
      };
      worker.postMessage({ type: "init", shared: null, wasm } satisfies ToWorker);
    });
    return worker;
  }

  /** runTests: questions have no SQL tests, so there is nothing to run but the program. */
  runTests(code: string, _tests: TestCase[], hooks: RunHooks): Promise<RunResult> {
    return this.run(code, hooks);
  }

  async run(code: string, hooks: RunHooks): Promise<RunResult> {
    let seed: string;
    try {
      seed = await this.opts.seed();
    } catch (e) {
      hooks.started();
      hooks.output("stderr", `The example database could not be loaded (${e instanceof Error ? e.message : String(e)}).\n`);
      return { status: "error", ms: 0 };
    }
    await this.load();
    const worker = this.worker!;
    this.worker = null;
    const id = `sql-${++runSeq}`;
    return new Promise<RunResult>((resolve) => {
      const r = { id, worker, hooks, start: performance.now(), resolve };
      this.running = r;
      worker.onmessage = (e: MessageEvent<FromWorker>) => this.onMessage(r, e.data);
      worker.onerror = (e) => {
        e.preventDefault();
        this.end(r, { status: "crashed", ms: performance.now() - r.start, note: `The SQL worker died (${e.message || "no reason given"}).` }, false);
      };
      hooks.started();
      worker.postMessage({ type: "run", id, code, seed } satisfies ToWorker);
    });
  }

  private onMessage(r: Running & { worker: Worker }, m: FromWorker): void {
    if (this.running !== r) return;
    switch (m.type) {
      case "out":
        for (const [s, t] of m.chunks) r.hooks.output(s, t);
        break;
      case "table":
        r.hooks.table(m.table);
        break;
      case "done":
        this.end(r, { status: m.status, ms: m.ms }, true);
        break;
    }
  }

  /** end finishes a run; the worker serves the next one if it finished on its own. */
  private end(r: Running & { worker: Worker }, res: RunResult, reuse: boolean): void {
    if (this.running !== r) return;
    this.running = null;
    if (reuse && !this.disposed) {
      this.worker = r.worker;
    } else {
      r.worker.terminate();
      if (!this.disposed) void this.load().catch(() => {}); // the next run's worker; a Run reports a failure
    }
    r.resolve(res);
  }

  stop(as: "stopped" | "timeout"): void {
    const r = this.running;
    if (!r) return;
    this.end(r, { status: as as Status, ms: performance.now() - r.start }, false);
  }

  answer(): void {
    // SQL reads no input
  }

  dispose(): void {
    this.disposed = true;
    this.stop("stopped");
    this.worker?.terminate();
    this.worker = null;
  }
}
