// The page's end of the Python runner: one Pyodide worker, loaded on demand, with
// Stop as an interrupt (re-asserted every 20 ms until the run ends) that escalates to
// restarting the worker after 2 s, for loops in C code that never look at it.
//
// A restart boots the new worker from a memory snapshot of a fresh interpreter, which
// the first worker takes right after loading (~40 ms, 31.5 MB kept by the page).
// Measured on the project machine (TestRunnerRestartStrategies): the run after a kill
// printed 0.85 s after the click with the snapshot, 4.0 s with a cold boot, and 0.09 s
// with a warm spare worker; but a spare is a second interpreter booted in the
// background (5–7 s of CPU on 2 cores, again after each use) and held in memory all
// the time, for a rare event. "spare" and "cold" stay selectable (data-restart) for
// that measurement.

import { type Engine, LoadError, type RunHooks, type RunResult, Shared, isolated } from "./engine";
import type { Fetched, FromWorker, LoadStep, Status, TestCase, ToWorker } from "./protocol";

export interface PythonOptions {
  workerURL: string; // runner-worker.js
  indexURL: string; // the pyodide/ directory
  /** How a killed worker is replaced; "cold" is a full boot (for measurements). */
  restart?: "snapshot" | "spare" | "cold";
}

const kickEvery = 20; // ms between re-asserted interrupts
const escalateAfter = 2000; // ms of ignored interrupts before the worker is restarted
const drainEvery = 30; // ms between reads of the output ring
const loadTimeout = 180_000; // a stalled download

interface Running {
  id: string;
  hooks: RunHooks;
  start: number;
  resolve: (r: RunResult) => void;
  drain: number;
  kick: number;
  escalate: number;
  stopAs: "stopped" | "timeout" | null;
}

interface Booted {
  worker: Worker;
  shared: Shared | null;
  version: string;
  loadMs: number;
}

let runSeq = 0;

export class PythonEngine implements Engine {
  readonly label = "Python";
  version = "";
  loadMs = 0;
  /** Figures of this page's loads, read by the browser tests (benchmarks). */
  readonly stats: { loads: { ms: number; how: string; fetched?: Fetched }[]; snapshotMs?: number; snapshotBytes?: number; spareMs?: number } = { loads: [] };

  private booted: Booted | null = null;
  private booting: Promise<Booted> | null = null;
  private spare: Promise<Booted> | null = null;
  private snapshot: Uint8Array | null = null;
  private running: Running | null = null;
  private disposed = false;
  private readonly restartHow: "snapshot" | "spare" | "cold";

  constructor(private readonly opts: PythonOptions) {
    this.restartHow = isolated() ? (opts.restart ?? "snapshot") : "cold";
  }

  get loaded(): boolean {
    return this.booted !== null;
  }

  async load(progress?: (step: LoadStep) => void): Promise<void> {
    if (this.booted) return;
    if (typeof WebAssembly !== "object") throw new LoadError("this browser cannot run WebAssembly, which Python needs");
    if (!this.booting) {
      const first = this.stats.loads.length === 0;
      const how = first ? "cold" : this.restartHow;
      this.booting = this.bootAs(how, first && this.restartHow === "snapshot", progress);
      this.booting.then(
        (b) => {
          this.booted = b;
          this.booting = null;
          if (this.restartHow === "spare" && !this.spare) this.prepareSpare();
        },
        () => (this.booting = null),
      );
    }
    await this.booting;
  }

  /** bootAs boots a worker the given way; the first boot also takes the snapshot. */
  private bootAs(how: string, makeSnapshot: boolean, progress?: (step: LoadStep) => void): Promise<Booted> {
    if (how === "spare" && this.spare) {
      const s = this.spare;
      this.spare = null;
      return s.then((b) => {
        this.prepareSpare();
        return b;
      });
    }
    const snapshot = how === "snapshot" && this.snapshot ? this.snapshot.slice() : undefined; // a copy: the next restart needs it too
    return this.boot({ makeSnapshot, snapshot }, progress, snapshot ? "snapshot" : "cold");
  }

  /** prepareSpare boots a second worker in the background, once the page is idle. */
  private prepareSpare(): void {
    this.spare = new Promise<void>((r) => setTimeout(r, 1000)).then(() => this.boot({}, undefined, "spare"));
    this.spare.then(
      (b) => (this.stats.spareMs = Math.round(b.loadMs)),
      () => (this.spare = null),
    );
  }

  /** boot starts a worker and resolves when its interpreter is ready. */
  private boot(extra: { makeSnapshot?: boolean; snapshot?: Uint8Array }, progress: ((s: LoadStep) => void) | undefined, how: string): Promise<Booted> {
    const t0 = performance.now();
    const shared = isolated() ? new Shared() : null;
    let worker: Worker;
    try {
      worker = new Worker(this.opts.workerURL, { type: "module", name: "duet-python" });
    } catch (e) {
      return Promise.reject(new LoadError(`the Python worker could not start (${String(e)})`));
    }
    const init: ToWorker = { type: "init", indexURL: this.opts.indexURL, shared: shared?.buffers ?? null, ...extra };
    return new Promise<Booted>((resolve, reject) => {
      const fail = (why: string) => {
        clearTimeout(timer);
        worker.terminate();
        reject(new LoadError(why));
      };
      const timer = setTimeout(() => fail("loading took longer than 3 minutes (is the connection to the server slow or gone?)"), loadTimeout);
      worker.onerror = (e) => {
        e.preventDefault();
        fail(e.message ? `the Python worker failed: ${e.message}` : "the Python worker script could not be loaded (a missing file or a dropped connection)");
      };
      worker.onmessage = (e: MessageEvent<FromWorker>) => {
        const m = e.data;
        if (m.type === "progress") progress?.(m.step);
        else if (m.type === "failed") fail(m.error);
        else if (m.type === "ready") {
          clearTimeout(timer);
          if (m.snapshot) {
            this.snapshot = m.snapshot;
            this.stats.snapshotMs = m.snapshotMs;
            this.stats.snapshotBytes = m.snapshot.byteLength;
          }
          const b: Booted = { worker, shared, version: m.version, loadMs: performance.now() - t0 };
          this.stats.loads.push({ ms: Math.round(b.loadMs), how, fetched: m.fetched });
          this.version = m.version;
          this.loadMs = b.loadMs;
          worker.onmessage = (ev: MessageEvent<FromWorker>) => this.onMessage(b, ev.data);
          worker.onerror = (ev) => {
            ev.preventDefault();
            this.onCrash(b, ev.message);
          };
          if (this.disposed) worker.terminate();
          resolve(b);
        }
      };
      worker.postMessage(init);
    });
  }

  run(code: string, hooks: RunHooks): Promise<RunResult> {
    return this.start((id) => ({ type: "run", id, code }), hooks);
  }

  runTests(code: string, tests: TestCase[], hooks: RunHooks): Promise<RunResult> {
    return this.start((id) => ({ type: "test", id, code, tests }), hooks);
  }

  private async start(msg: (id: string) => ToWorker, hooks: RunHooks): Promise<RunResult> {
    await this.load();
    const b = this.booted!;
    const id = `py-${++runSeq}`;
    b.shared?.reader.reset();
    return new Promise<RunResult>((resolve) => {
      const r: Running = { id, hooks, start: performance.now(), resolve, drain: 0, kick: 0, escalate: 0, stopAs: null };
      if (b.shared) r.drain = window.setInterval(() => this.drain(b), drainEvery);
      this.running = r;
      hooks.started();
      b.worker.postMessage(msg(id));
    });
  }

  private drain(b: Booted, all = false): void {
    const r = this.running;
    if (!r || !b.shared) return;
    do {
      for (const [stream, text] of b.shared.reader.drain(all ? undefined : 128 << 10)) r.hooks.output(stream, text);
    } while (all && b.shared.reader.pending());
  }

  private onMessage(b: Booted, m: FromWorker): void {
    const r = this.running;
    if (!r || b !== this.booted) return;
    switch (m.type) {
      case "out":
        if (m.id === r.id && Array.isArray(m.chunks)) for (const [s, t] of m.chunks) r.hooks.output(s, String(t));
        break;
      case "stdin":
        if (m.id !== r.id) break;
        this.drain(b, true);
        r.hooks.input();
        break;
      case "test":
        if (m.id === r.id) r.hooks.result?.(m.result);
        break;
      case "done": {
        if (m.id !== r.id) break;
        this.drain(b, true);
        let status: Status = m.status;
        if (status === "stopped" && r.stopAs) status = r.stopAs;
        this.finish({ status, ms: m.ms });
        if (status === "crashed") this.restart();
        break;
      }
    }
  }

  private finish(res: RunResult): void {
    const r = this.running;
    if (!r) return;
    this.running = null;
    clearInterval(r.drain);
    clearInterval(r.kick);
    clearTimeout(r.escalate);
    r.resolve(res);
  }

  stop(as: "stopped" | "timeout"): void {
    const r = this.running;
    const b = this.booted;
    if (!r || !b || r.stopAs) return;
    r.stopAs = as;
    const shared = b.shared;
    if (!shared) {
      this.kill(as, "Python was restarted to stop it: this page is not cross-origin isolated, so it cannot be interrupted.");
      return;
    }
    shared.kick();
    r.kick = window.setInterval(() => shared.kick(), kickEvery);
    r.escalate = window.setTimeout(
      () => this.kill(as, "Python did not respond to the interrupt within 2 s (a long computation inside a C function ignores it), so it was restarted."),
      escalateAfter,
    );
  }

  /** kill ends the run by terminating the worker, and starts its replacement. */
  private kill(status: Status, note: string): void {
    const r = this.running;
    const b = this.booted;
    if (!r || !b) return;
    b.worker.terminate();
    this.drain(b, true); // what it printed before it died is still in the ring
    this.finish({ status, ms: performance.now() - r.start, note });
    this.restart();
  }

  private onCrash(b: Booted, message: string): void {
    if (b !== this.booted) return;
    const r = this.running;
    b.worker.terminate();
    if (r) {
      this.drain(b, true);
      this.finish({ status: "crashed", ms: performance.now() - r.start, note: `Python stopped working (${message || "the worker died"}) and was restarted.` });
    }
    this.restart();
  }

  /** restart replaces the worker; the next load() waits for the new one. */
  private restart(): void {
    const old = this.booted;
    this.booted = null;
    old?.worker.terminate();
    if (!this.disposed) void this.load().catch(() => {}); // a failure shows on the next Run
  }

  answer(line: string | null): void {
    this.booted?.shared?.answer(line);
  }

  dispose(): void {
    this.disposed = true;
    if (this.running) this.finish({ status: "stopped", ms: performance.now() - this.running.start });
    this.booted?.worker.terminate();
    this.booted = null;
    void this.spare?.then((s) => s.worker.terminate());
    void this.booting?.then((s) => s.worker.terminate(), () => {});
  }
}
