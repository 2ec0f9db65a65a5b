// The language runners' page sides, in a chunk of their own: the panel imports this
// when someone is about to run code (or runs it), so none of it counts against the
// pad's first load.

import type { Engine } from "./engine";
import { JavaScriptEngine } from "./javascript";
import { PythonEngine } from "./python";
import { SqlEngine } from "./sql";
import { TypeScriptEngine } from "./typescript";

/** Where the runners' files are: the output panel's data attributes (views/runner.templ). */
export interface EngineURLs {
  workerUrl?: string; // Pyodide's worker
  pyodideUrl?: string;
  restart?: string; // how a killed Python worker is replaced (measurements only)
  jsWorkerUrl?: string; // JavaScript's and TypeScript's worker
  sqlWorkerUrl?: string;
  sqlWasmUrl?: string;
}

/** newEngine makes the runner of a language; seed gives the SQL a run starts from. */
export function newEngine(lang: "python" | "javascript" | "typescript" | "sql", d: EngineURLs, seed: () => Promise<string>): Engine {
  switch (lang) {
    case "python":
      return new PythonEngine({
        workerURL: d.workerUrl ?? "",
        indexURL: d.pyodideUrl ?? "",
        restart: (d.restart as "snapshot" | "spare" | "cold" | undefined) ?? undefined,
      });
    case "javascript":
      return new JavaScriptEngine(d.jsWorkerUrl ?? "");
    case "typescript":
      return new TypeScriptEngine(d.jsWorkerUrl ?? "");
    case "sql":
      return new SqlEngine({ workerURL: d.sqlWorkerUrl ?? "", wasmURL: d.sqlWasmUrl ?? "", seed });
  }
}
