// The TypeScript runner: the page takes the program's types out with sucrase (a chunk
// of its own, loaded on the first run or when the pointer reaches Run), and the
// JavaScript that remains runs in the JavaScript runner's worker with everything that
// runner does: console, errors, Stop, the time limit, prompt(). sucrase keeps every
// line where it was, and its source map gives the columns back, so an error points at
// the line and column of the TypeScript in the editor.
//
// Types are not checked (the TypeScript compiler would be ~1.6 MB gzip more): a program
// with a type error runs as its JavaScript would, which is what an interview mostly needs.

import { type Engine, LoadError, type RunHooks, type RunResult } from "./engine";
import { JavaScriptEngine } from "./javascript";
import type { Source, TestCase } from "./protocol";

export const sourceName = "main.ts";

type Transform = (code: string, opts: object) => { code: string; sourceMap?: { mappings: string } };

export class TypeScriptEngine implements Engine {
  readonly label = "TypeScript";
  private readonly js: JavaScriptEngine;
  private transform: Transform | null = null;
  private loading: Promise<Transform> | null = null;

  constructor(workerURL: string) {
    this.js = new JavaScriptEngine(workerURL);
  }

  get loaded(): boolean {
    return this.transform !== null && this.js.loaded;
  }

  async load(): Promise<void> {
    this.loading ??= import("sucrase").then((m) => m.transform as Transform);
    try {
      this.transform = await this.loading;
    } catch (e) {
      this.loading = null;
      throw new LoadError(`its compiler (sucrase) did not load: ${e instanceof Error ? e.message : String(e)}`);
    }
    await this.js.load();
  }

  run(code: string, hooks: RunHooks): Promise<RunResult> {
    return this.runWith(code, hooks);
  }

  /** runTests runs the program, then the tests (JavaScript, as questions give them). */
  runTests(code: string, tests: TestCase[], hooks: RunHooks): Promise<RunResult> {
    return this.runWith(code, hooks, tests);
  }

  private async runWith(code: string, hooks: RunHooks, tests?: TestCase[]): Promise<RunResult> {
    await this.load();
    const t0 = performance.now();
    let out: ReturnType<Transform>;
    try {
      out = this.transform!(code, {
        transforms: ["typescript"],
        disableESTransforms: true, // the browser runs modern JavaScript as it is
        filePath: sourceName,
        sourceMapOptions: { compiledFilename: "main.js" },
      });
    } catch (e) {
      hooks.started();
      hooks.output("stderr", syntaxError(e));
      return { status: "error", ms: performance.now() - t0 };
    }
    const source: Source = { name: sourceName, columns: out.sourceMap ? columnsOf(out.sourceMap.mappings) : undefined };
    return this.js.runAs(out.code, hooks, source, tests);
  }

  stop(as: "stopped" | "timeout"): void {
    this.js.stop(as);
  }

  answer(line: string | null): void {
    this.js.answer(line);
  }

  dispose(): void {
    this.js.dispose();
  }
}

/** syntaxError says where sucrase stopped parsing, as the JavaScript runner says it. */
function syntaxError(e: unknown): string {
  if (!(e instanceof Error)) return `Uncaught SyntaxError: ${String(e)}\n`;
  const loc = (e as Error & { loc?: { line: number; column: number } }).loc;
  // sucrase says "Error transforming main.ts: Unexpected token (2:8)"; the place is said below.
  const message = e.message.replace(/^Error transforming [^:]*: /, "").replace(/\s*\(\d+:\d+\)$/, "");
  return `Uncaught SyntaxError: ${message}\n` + (loc ? `    at ${sourceName}:${loc.line}:${loc.column}\n` : "");
}

const base64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/**
 * columnsOf decodes a source map's mappings into, per generated line, the pairs
 * [generated column, original column] (0-based) in order. Lines are the same on both
 * sides (sucrase keeps them), so the original line is not needed.
 */
export function columnsOf(mappings: string): [number, number][][] {
  const lines: [number, number][][] = [];
  let src = 0;
  for (const line of mappings.split(";")) {
    const segs: [number, number][] = [];
    let gen = 0;
    for (const seg of line.split(",")) {
      if (!seg) continue;
      const f = vlq(seg);
      gen += f[0];
      if (f.length >= 4) {
        src += f[3];
        segs.push([gen, src]);
      }
    }
    lines.push(segs);
  }
  return lines;
}

/** vlq decodes one segment of base64 VLQ numbers. */
function vlq(seg: string): number[] {
  const out: number[] = [];
  let value = 0;
  let shift = 0;
  for (const ch of seg) {
    const d = base64.indexOf(ch);
    value += (d & 31) << shift;
    if (d & 32) {
      shift += 5;
      continue;
    }
    out.push(value & 1 ? -(value >>> 1) : value >>> 1);
    value = 0;
    shift = 0;
  }
  return out;
}
