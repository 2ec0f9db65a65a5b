// One run in the output log: who ran what, its output (capped, so a flood never grows
// the page without bound), the input field while the program waits for a line, and
// how it ended.

import type { Status, Table, TextStream as Stream } from "./protocol";
import { tableElement } from "./table";

export const maxLines = 10_000; // kept per run; older lines are dropped
const maxTables = 100; // result tables shown per run; the rest are counted
const maxChars = 2_000_000; // and the text is cut to this many characters (long lines)

export interface RunInfo {
  who: string; // "You", "Ada"
  mine: boolean;
  title: string; // "Python · print(1)"
  color?: string; // the participant's colour
}

interface Piece {
  el: HTMLSpanElement;
  text: Text;
  stream: Stream;
  lines: number; // newlines in text
}

/** Block is a run of lines in its own element, so a change re-lays out only its block. */
interface Block {
  el: HTMLDivElement;
  pieces: Piece[];
  lines: number;
  chars: number;
}

const blockLines = 250; // lines per block before the next one starts (at a line end)
const renderEvery = 100; // ms between DOM updates while output streams

let seq = 0;

/** el builds an element with a class and optional text. */
export function el<K extends keyof HTMLElementTagNameMap>(tag: K, cls?: string, text?: string): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text !== undefined) e.textContent = text;
  return e;
}

export class RunView {
  readonly el: HTMLElement;
  readonly details: HTMLDetailsElement;
  private readonly state: HTMLElement;
  private readonly body: HTMLElement;
  private readonly pre: HTMLDivElement;
  private readonly dropped: HTMLElement;
  private blocks: Block[] = [];
  private lines = 0;
  private chars = 0;
  private droppedLines = 0;
  private tables = 0;
  private sealed = false; // the next text starts a new block (a table came after the last)
  private pending: [Stream, string][] = [];
  private renderTimer = 0;
  private rendered = 0; // when the DOM was last updated
  private stuck = true; // the output box follows new lines (the reader did not scroll up)
  private form: HTMLFormElement | null = null;
  private clock = 0;
  private readonly started = performance.now();
  status: Status | "running" | "loading" = "loading";

  constructor(info: RunInfo) {
    const n = ++seq;
    this.el = el("article", "run");
    this.el.dataset.mine = String(info.mine);
    this.details = el("details");
    this.details.open = true;
    const summary = el("summary", "run-head");
    const who = el("span", "run-who", info.who);
    if (info.color) who.style.setProperty("--who", info.color); // CSSOM: allowed by style-src 'self'
    // The language is in the shared title ("Python · print(1)"); the header shows the code.
    const title = el("span", "run-title", info.title.replace(/^(Python|JavaScript|TypeScript|SQL) · /, ""));
    title.title = info.title;
    this.state = el("span", "run-state", "loading…");
    summary.append(who, title, this.state);
    this.body = el("div", "run-body");
    this.dropped = el("p", "run-note run-dropped");
    this.dropped.hidden = true;
    this.pre = el("div", "run-out");
    this.pre.id = `run-out-${n}`;
    this.pre.tabIndex = 0; // scrollable by keyboard
    this.pre.addEventListener("scroll", () => {
      this.stuck = this.pre.scrollHeight - this.pre.scrollTop - this.pre.clientHeight < 24;
    }, { passive: true });
    this.pre.setAttribute("aria-label", `Output of ${info.who === "You" ? "your" : info.who + "’s"} run`);
    this.body.append(this.dropped, this.pre);
    this.details.append(summary, this.body);
    this.el.append(this.details);
    this.setState("loading");
  }

  /** running marks the start of execution (after loading). */
  running(): void {
    this.setState("running");
    clearInterval(this.clock);
    const t0 = performance.now();
    this.clock = window.setInterval(() => (this.state.textContent = `running · ${duration(performance.now() - t0)}`), 250);
  }

  private setState(s: Status | "running" | "loading", text?: string): void {
    this.status = s;
    this.el.dataset.status = s.startsWith("exit") ? "exit" : s;
    this.state.textContent = text ?? (s === "running" ? "running" : s === "loading" ? "loading…" : s);
  }

  /**
   * append adds output. It reaches the DOM at most every 100 ms (a flood costs one
   * layout per update, not one per print), keeping only the last maxLines lines.
   */
  append(stream: Stream, text: string): void {
    if (!text) return;
    const last = this.pending[this.pending.length - 1];
    if (last && last[0] === stream) last[1] += text;
    else this.pending.push([stream, text]);
    if (this.renderTimer) return;
    const wait = Math.max(0, this.rendered + renderEvery - performance.now());
    this.renderTimer = window.setTimeout(() => this.render(), wait);
  }

  /** flush puts pending output into the DOM now. */
  flush(): void {
    if (this.renderTimer) this.render();
  }

  private render(): void {
    clearTimeout(this.renderTimer);
    this.renderTimer = 0;
    this.rendered = performance.now();
    let pending = this.pending;
    this.pending = [];
    // What arrived alone passes the cap: keep its tail and drop everything shown.
    let total = 0;
    for (let i = pending.length - 1; i >= 0; i--) {
      const [stream, text] = pending[i];
      const n = countLines(text);
      if (total + n <= maxLines) {
        total += n;
        continue;
      }
      const cut = nthNewlineFromEnd(text, maxLines - total);
      this.droppedLines += countLines(text.slice(0, cut + 1)) + this.lines;
      for (const [, t] of pending.slice(0, i)) this.droppedLines += countLines(t);
      pending = [[stream, text.slice(cut + 1)], ...pending.slice(i + 1)];
      for (const b of this.blocks) b.el.remove();
      this.blocks = [];
      this.lines = 0;
      this.chars = 0;
      break;
    }
    for (const [stream, text] of pending) this.write(stream, text);
    this.trim();
    if (this.stuck) this.pre.scrollTop = this.pre.scrollHeight;
  }

  /** write appends text to the DOM, in blocks of about blockLines lines. */
  private write(stream: Stream, text: string): void {
    let rest = text.length > maxChars ? text.slice(text.length - maxChars) : text;
    while (rest) {
      let b = this.blocks[this.blocks.length - 1];
      if (!b || this.sealed || (b.lines >= blockLines && endsLine(b))) {
        this.sealed = false;
        b = { el: el("div", "out-block"), pieces: [], lines: 0, chars: 0 };
        this.pre.append(b.el);
        this.blocks.push(b);
      }
      const room = Math.max(1, blockLines - b.lines);
      const cut = nthNewline(rest, room);
      const piece = cut >= 0 && countLinesUpTo(rest, cut) >= room ? rest.slice(0, cut + 1) : rest;
      rest = rest.slice(piece.length);
      const nl = countLines(piece);
      const last = b.pieces[b.pieces.length - 1];
      if (last && last.stream === stream) {
        last.text.appendData(piece);
        last.lines += nl;
      } else {
        const span = el("span", `out-${stream}`);
        const t = document.createTextNode(piece);
        span.append(t);
        b.el.append(span);
        b.pieces.push({ el: span, text: t, stream, lines: nl });
      }
      b.lines += nl;
      b.chars += piece.length;
      this.lines += nl;
      this.chars += piece.length;
    }
  }

  private trim(): void {
    while (this.lines > maxLines || this.chars > maxChars) {
      const b = this.blocks[0];
      if (!b) break;
      const extraLines = this.lines - maxLines;
      const extraChars = this.chars - maxChars;
      if (this.blocks.length > 1 && b.lines <= extraLines) {
        this.blocks.shift();
        b.el.remove();
        this.lines -= b.lines;
        this.chars -= b.chars;
        this.droppedLines += b.lines;
        continue;
      }
      const first = b.pieces[0];
      if (!first) break;
      // Cut inside the first piece: whole lines, or characters for long lines.
      let cut = 0;
      if (extraLines > 0) cut = nthNewline(first.text.data, extraLines) + 1;
      cut = Math.min(Math.max(cut, extraChars), first.text.length);
      if (cut <= 0) break;
      const removedLines = countLines(first.text.data.slice(0, cut));
      first.text.deleteData(0, cut);
      first.lines -= removedLines;
      b.lines -= removedLines;
      b.chars -= cut;
      this.lines -= removedLines;
      this.chars -= cut;
      this.droppedLines += removedLines;
      if (first.text.length === 0) {
        b.pieces.shift();
        first.el.remove();
        if (b.pieces.length === 0) {
          this.blocks.shift();
          b.el.remove();
        }
      }
    }
    if (this.droppedLines > 0) {
      this.dropped.hidden = false;
      this.dropped.textContent = `Output truncated: ${this.droppedLines.toLocaleString("en")} earlier lines dropped; the last ${maxLines.toLocaleString("en")} are kept.`;
      this.el.dataset.truncated = "true";
    }
  }

  /**
   * table shows a result table after the output so far. Past maxTables tables, a
   * note counts the ones not shown.
   */
  table(t: Table): void {
    this.flush();
    this.tables++;
    if (this.tables > maxTables) {
      this.dropped.hidden = false;
      this.dropped.textContent = `${(this.tables - maxTables).toLocaleString("en")} more result tables not shown; the first ${maxTables} are.`;
      return;
    }
    this.pre.append(tableElement(t));
    this.sealed = true;
    if (this.stuck) this.pre.scrollTop = this.pre.scrollHeight;
  }

  /** addSection puts an element (a test table) above the program's output. */
  addSection(section: HTMLElement): void {
    this.body.insertBefore(section, this.dropped);
  }

  /** note adds a line from the runner itself (not the program). */
  note(text: string, cls = ""): void {
    const p = el("p", `run-note ${cls}`.trim(), text);
    this.body.append(p);
  }

  /** sharedTruncated says that the runner's page shared only part of the output. */
  sharedTruncated(who: string): void {
    if (this.el.querySelector(".run-shared-cut")) return;
    this.note(`${who} shared only the first 1 MiB of this run’s output.`, "run-shared-cut");
  }

  /** ask shows the input field; onAnswer gets the line, or null for end of input. */
  ask(onAnswer: (line: string | null) => void): HTMLInputElement {
    this.flush();
    this.form?.remove();
    const form = el("form", "run-input");
    const id = `${this.pre.id}-input`;
    const label = el("label", "visually-hidden", "Input for the program");
    label.htmlFor = id;
    const caret = el("span", "run-input-caret", "›");
    caret.setAttribute("aria-hidden", "true");
    const input = el("input");
    input.id = id;
    input.type = "text";
    input.autocomplete = "off";
    input.spellcheck = false;
    input.enterKeyHint = "send";
    input.name = "line";
    const send = el("button", "button primary", "Send");
    send.type = "submit";
    const eof = el("button", "button subtle", "EOF");
    eof.type = "button";
    eof.title = "End of input (Ctrl+D): input() raises EOFError, prompt() returns null";
    eof.setAttribute("aria-label", "End of input");
    form.append(label, caret, input, send, eof);
    const answer = (line: string | null) => {
      form.remove();
      this.form = null;
      onAnswer(line);
    };
    form.addEventListener("submit", (e) => {
      e.preventDefault();
      answer(input.value);
    });
    eof.addEventListener("click", () => answer(null));
    input.addEventListener("keydown", (e) => {
      if (e.key === "d" && e.ctrlKey && !e.altKey && !e.metaKey) {
        e.preventDefault();
        answer(null);
      }
    });
    this.body.insertBefore(form, this.pre.nextSibling);
    this.form = form;
    this.details.open = true;
    return input;
  }

  /** finish shows how the run ended. */
  finish(status: Status, ms: number, detail?: string): void {
    this.flush();
    clearInterval(this.clock);
    this.form?.remove();
    this.form = null;
    this.setState(status, describeStatus(status, ms));
    if (detail) this.note(detail, "run-detail");
  }

  /** waitedMs is how long ago the run view was made (others' runs: start to end). */
  waitedMs(): number {
    return performance.now() - this.started;
  }

  collapse(): void {
    if (!this.form) this.details.open = false;
  }

  dispose(): void {
    clearInterval(this.clock);
    clearTimeout(this.renderTimer);
    this.el.remove();
  }

  /** text is the output shown (for tests and copying). */
  text(): string {
    return this.pre.textContent ?? "";
  }
}

/** describeStatus is the short text of a run's end, as shown in its header. */
export function describeStatus(status: Status, ms: number): string {
  const d = duration(ms);
  if (status === "ok") return `ok · ${d}`;
  if (status === "error") return `error · ${d}`;
  if (status === "stopped") return `stopped · ${d}`;
  if (status === "timeout") return `time limit · ${d}`;
  if (status === "crashed") return `crashed · ${d}`;
  if (status === "failed") return `tests failed · ${d}`;
  if (status.startsWith("exit ")) return `exit code ${status.slice(5)} · ${d}`;
  return `${status} · ${d}`;
}

export function duration(ms: number): string {
  if (ms < 1) return "<1 ms";
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(ms < 10_000 ? 2 : 1)} s`;
  const m = Math.floor(ms / 60_000);
  return `${m} min ${Math.round((ms % 60_000) / 1000)} s`;
}

function endsLine(b: Block): boolean {
  const last = b.pieces[b.pieces.length - 1];
  return !last || last.text.data.endsWith("\n");
}

function countLinesUpTo(s: string, end: number): number {
  return countLines(s.slice(0, end + 1));
}

function countLines(s: string): number {
  let n = 0;
  for (let i = s.indexOf("\n"); i >= 0; i = s.indexOf("\n", i + 1)) n++;
  return n;
}

/** nthNewline is the index of the n-th newline (1-based), or the last one. */
function nthNewline(s: string, n: number): number {
  let i = -1;
  for (let k = 0; k < n; k++) {
    const j = s.indexOf("\n", i + 1);
    if (j < 0) break;
    i = j;
  }
  return i;
}

/** nthNewlineFromEnd is the index of the newline that starts the last n lines. */
function nthNewlineFromEnd(s: string, n: number): number {
  let i = s.endsWith("\n") ? s.length - 1 : s.length;
  for (let k = 0; k < n; k++) {
    const j = s.lastIndexOf("\n", i - 1);
    if (j < 0) return -1;
    i = j;
  }
  return i;
}
