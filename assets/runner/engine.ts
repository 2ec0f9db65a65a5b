// What the panel needs from a language runner, and the page-side plumbing both
// runners share: the shared memory with their worker, and answering input().

import type { LoadStep, SharedBuffers, Status, Table, TestCase, TestResult, TextStream } from "./protocol";
import { RingReader, StdinState, controlSize, maxLineBytes, newRing, sleepCell } from "./ring";

/** The panel's side of one run. */
export interface RunHooks {
  /** The code starts executing (the runtime is loaded). */
  started(): void;
  output(stream: TextStream, text: string): void;
  /** A result table (SQL). */
  table(t: Table): void;
  /** The program waits for a line of input (answer with Engine.answer). */
  input(): void;
  /** A test of a test run is done. */
  result?(r: TestResult): void;
}

export interface RunResult {
  status: Status;
  ms: number; // execution time, loading excluded
  note?: string; // said by the runner, e.g. why it restarted
}

export interface Engine {
  readonly label: string; // "Python", "JavaScript", "TypeScript", "SQL"
  /** Whether load() would return at once. */
  readonly loaded: boolean;
  /** load makes the runtime ready; it rejects with a LoadError. */
  load(progress?: (step: LoadStep) => void): Promise<void>;
  run(code: string, hooks: RunHooks): Promise<RunResult>;
  /** runTests runs code, then each test (hooks.result gets each result). */
  runTests(code: string, tests: TestCase[], hooks: RunHooks): Promise<RunResult>;
  /** stop ends the current run; its result gets this status. */
  stop(status: "stopped" | "timeout"): void;
  /** answer gives the waiting program a line, or null for end of input. */
  answer(line: string | null): void;
  dispose(): void;
}

/** LoadError is a runtime that could not load; message says what failed. */
export class LoadError extends Error {}

/** isolated reports whether the page may share memory with workers. */
export function isolated(): boolean {
  return typeof SharedArrayBuffer === "function" && globalThis.crossOriginIsolated === true;
}

/** Shared is the page's end of the memory shared with a runner's worker. */
export class Shared {
  readonly buffers: SharedBuffers;
  readonly interrupt: Uint8Array;
  readonly control: Int32Array;
  readonly reader: RingReader;
  private readonly bytes: Uint8Array;

  constructor() {
    this.buffers = { interrupt: new SharedArrayBuffer(1), control: new SharedArrayBuffer(controlSize), output: newRing() };
    this.interrupt = new Uint8Array(this.buffers.interrupt);
    this.control = new Int32Array(this.buffers.control, 0, 4);
    this.bytes = new Uint8Array(this.buffers.control, 16, maxLineBytes);
    this.reader = new RingReader(this.buffers.output);
  }

  /** reset zeroes everything, for a new worker (a stale interrupt would kill its start). */
  reset(): void {
    this.interrupt[0] = 0;
    for (let i = 0; i < 4; i++) Atomics.store(this.control, i, 0);
    this.reader.reset();
  }

  /** answer hands a line (or end of input) to a worker blocked in readLine. */
  answer(line: string | null): void {
    if (line === null) {
      Atomics.store(this.control, 0, StdinState.eof);
    } else {
      let b = new TextEncoder().encode(line + "\n");
      if (b.length > maxLineBytes) b = b.slice(0, maxLineBytes);
      this.bytes.set(b);
      Atomics.store(this.control, 1, b.length);
      Atomics.store(this.control, 0, StdinState.line);
    }
    Atomics.notify(this.control, 0);
  }

  /** kick interrupts: SIGINT for Python, and wakes a blocked input() or sleep(). */
  kick(): void {
    if (this.interrupt[0] === 0) this.interrupt[0] = 2;
    Atomics.store(this.control, 0, StdinState.interrupted);
    Atomics.notify(this.control, 0);
    Atomics.notify(this.control, sleepCell);
  }
}
