// Test runs: the table of results in a run's entry of the log, the tests of the
// pad's question (a JSON script the server renders), and the "tests" stream that
// shares a test run with the others: one compact JSON object per line
// (docs/protocol.md), a plan first, then a result per test. A hidden test's result is
// shared without its name, code, values or output: only whether it passed.

import { duration, el } from "./output";
import type { TestCase, TestResult } from "./protocol";

/** QuestionTests is the pad's #runner-tests script: what "Run tests" runs here. */
export interface QuestionTests {
  language: string;
  tests: TestCase[]; // the hidden ones only for a browser that may see them
  hidden: number; // how many hidden tests the question has
}

/** readTests reads the pad's tests, or null when it has none. */
export function readTests(): QuestionTests | null {
  const script = document.getElementById("runner-tests");
  if (!script?.textContent) return null;
  try {
    const t = JSON.parse(script.textContent) as QuestionTests;
    return Array.isArray(t.tests) ? t : null;
  } catch {
    return null;
  }
}

/** Plan is the first line of a shared test run. */
interface Plan {
  type: "plan";
  tests: number; // tests that will run, hidden ones included
  hidden: number; // of which hidden
}

type Line = Plan | ({ type: "result" } & Partial<TestResult>);

/** planLine and resultLine are the lines of the tests stream. */
export function planLine(tests: TestCase[]): string {
  const p: Plan = { type: "plan", tests: tests.length, hidden: tests.filter((t) => t.hidden).length };
  return JSON.stringify(p) + "\n";
}

export function resultLine(r: TestResult): string {
  const shared: Line = r.hidden
    ? { type: "result", hidden: true, passed: r.passed, ms: r.ms }
    : { type: "result", ...r };
  return JSON.stringify(shared) + "\n";
}

/** TestTable shows the results of one test run, as they come. */
export class TestTable {
  readonly el: HTMLElement;
  private readonly summary: HTMLElement;
  private readonly table: HTMLTableElement;
  private planned = 0;
  private passed = 0;
  private done = 0;
  private hiddenSeen = 0;
  private partial = ""; // an incomplete line of the shared stream

  constructor() {
    this.el = el("div", "test-run");
    this.summary = el("p", "test-summary");
    this.summary.setAttribute("role", "status");
    this.table = el("table", "test-table");
    const head = this.table.createTHead().insertRow();
    for (const [text, cls] of [["Test", "test-col-name"], ["Result", "test-col-result"], ["Time", "test-col-time"]]) {
      const th = el("th", cls, text);
      th.scope = "col";
      head.append(th);
    }
    this.el.append(this.summary, this.table);
    this.show();
  }

  /** plan says how many tests will run. */
  plan(tests: number): void {
    this.planned = tests;
    this.show();
  }

  /** add shows one result. */
  add(r: Partial<TestResult>): void {
    this.done++;
    if (r.passed) this.passed++;
    const body = this.table.createTBody();
    body.dataset.passed = String(!!r.passed);
    const row = body.insertRow();
    const name = el("th", "test-name");
    name.scope = "row";
    if (r.hidden && !r.name) {
      name.append(`Hidden test ${++this.hiddenSeen}`); // shared without its name
    } else {
      name.append(r.name ?? "");
      if (r.hidden) name.append(" ", el("span", "badge hidden-badge", "hidden"));
    }
    const result = el("td", "test-result", r.passed ? "✓ passed" : "✗ failed");
    const time = el("td", "test-time", typeof r.ms === "number" ? duration(r.ms) : "");
    row.append(name, result, time);
    const details: HTMLElement[] = [];
    if (!r.passed && (r.expected !== undefined || r.got !== undefined)) {
      const dl = el("dl", "test-values");
      dl.append(el("dt", "", "expected"), code(r.expected ?? ""), el("dt", "", "got"), code(r.got ?? ""));
      details.push(dl);
    }
    if (r.error && r.got === undefined && r.expected === undefined) details.push(el("pre", "test-error", r.error));
    if (r.output) {
      details.push(el("p", "test-label", "output"), el("pre", "test-output", r.output));
    }
    if (details.length > 0) {
      const cell = el("td", "test-details");
      cell.colSpan = 3;
      cell.append(...details);
      body.insertRow().append(cell);
    }
    this.show();
  }

  /** feed takes text of the shared tests stream, in whatever pieces it came. */
  feed(text: string): void {
    const lines = (this.partial + text).split("\n");
    this.partial = lines.pop() ?? "";
    for (const line of lines) {
      let m: Line;
      try {
        m = JSON.parse(line) as Line;
      } catch {
        continue;
      }
      if (m.type === "plan") this.plan(Number(m.tests) || 0);
      else if (m.type === "result") this.add(m);
    }
  }

  /** failed says whether a test failed, or fewer ran than were planned. */
  failed(): boolean {
    return this.passed < Math.max(this.done, this.planned);
  }

  /** counts is "3 of 5 passed". */
  counts(): string {
    return `${this.passed} of ${Math.max(this.planned, this.done)} passed`;
  }

  private show(): void {
    const total = Math.max(this.planned, this.done);
    let text = `${this.passed} of ${total} passed`;
    if (this.done < total) text += ` · ${total - this.done} not run yet`;
    this.summary.textContent = text;
    this.el.dataset.state = this.done < total ? "running" : this.passed === total ? "passed" : "failed";
  }

  /** finish marks the tests that never ran (the run was stopped or failed first). */
  finish(): void {
    if (this.done < this.planned) {
      this.summary.textContent = `${this.passed} of ${this.planned} passed · ${this.planned - this.done} did not run`;
      this.el.dataset.state = "failed";
    }
  }
}

function code(text: string): HTMLElement {
  const dd = el("dd");
  dd.append(el("code", "", text));
  return dd;
}
