// The runner panel: Run/Stop, the time limit, loading progress and failures, and the
// log of runs (this page's and, through the hub, everyone else's).

import { type Engine, type RunHooks, type RunResult, isolated } from "./engine";
import { RunView, describeStatus, duration, el } from "./output";
import type { LoadStep, Status, Table, TestCase, TestResult, TextStream } from "./protocol";
import type { PythonEngine } from "./python";
import { type EditorBridge, Share } from "./share";
import type { SqlEngine } from "./sql";
import { decodeTable } from "./table";
import { type QuestionTests, TestTable, planLine, readTests, resultLine } from "./tests";

type Language = "python" | "javascript" | "typescript" | "sql";

const labels: Record<Language, string> = { python: "Python", javascript: "JavaScript", typescript: "TypeScript", sql: "SQL" };
const seedKey = "duet:sql-seed";
const maxRuns = 30; // runs kept in the log
const limitKey = "duet:run-limit";
const defaultLimit = 10;

const stepText: Record<LoadStep, [string, number]> = {
  fetch: ["downloading", 0.15],
  compile: ["compiling", 0.45],
  start: ["starting the interpreter", 0.75],
  snapshot: ["preparing fast restarts", 0.95],
};

interface Parts {
  run: HTMLButtonElement;
  stop: HTMLButtonElement;
  limit: HTMLSelectElement;
  status: HTMLElement;
  progress: HTMLProgressElement;
  log: HTMLElement;
  empty: HTMLElement | null;
  note: HTMLElement;
  failure: HTMLElement;
  sql: HTMLElement | null; // the SQL options, shown for SQL only
  seed: HTMLInputElement | null; // start from the example database
  tests: HTMLButtonElement | null; // only on a pad whose question has tests
}

function isLanguage(s: unknown): s is Language {
  return typeof s === "string" && Object.hasOwn(labels, s);
}

/** The run in progress; engine is null while the runners' chunk loads. */
interface Current {
  engine: Engine | null;
  view: RunView;
  id: string;
  cancelled: boolean;
}

export class RunnerPanel {
  private readonly p: Parts;
  private lang: Language;
  private bridge: EditorBridge | null = null;
  private unsubscribe: (() => void)[] = [];
  private readonly engines = new Map<Language, Engine>();
  private readonly share = new Share(() => this.bridge);
  private current: Current | null = null;
  private limitTimer = 0;
  private limitLeft = 0;
  private limitFrom = 0;
  private readonly names = new Map<string, { name: string; color: string }>();
  private readonly remote = new Map<string, { view: RunView; user: string }>();
  private runSeq = 0;
  private questionTests: QuestionTests | null = readTests();
  private readonly tables = new Map<string, TestTable>(); // others' test runs, by user/run
  private destroyed = false;

  constructor(readonly el: HTMLElement) {
    const q = <T extends Element>(sel: string) => el.querySelector<T>(sel);
    const run = q<HTMLButtonElement>("[data-runner-run]");
    const stop = q<HTMLButtonElement>("[data-runner-stop]");
    const limit = q<HTMLSelectElement>("[data-runner-limit]");
    const status = q<HTMLElement>("[data-runner-status]");
    const progress = q<HTMLProgressElement>("[data-runner-progress]");
    const log = q<HTMLElement>("[data-runner-log]");
    const note = q<HTMLElement>("[data-runner-note]");
    const failure = q<HTMLElement>("[data-runner-failure]");
    if (!run || !stop || !limit || !status || !progress || !log || !note || !failure) throw new Error("the runner panel markup is incomplete");
    this.p = {
      run, stop, limit, status, progress, log, note, failure,
      empty: q<HTMLElement>("[data-runner-empty]"),
      sql: q<HTMLElement>("[data-runner-sql]"),
      seed: q<HTMLInputElement>("[data-runner-seed]"),
      tests: q<HTMLButtonElement>("[data-runner-tests]"),
    };
    this.lang = isLanguage(el.dataset.language) ? el.dataset.language : "python";
  }

  mount(): void {
    const { run, stop, limit } = this.p;
    run.addEventListener("click", () => void this.run());
    this.p.tests?.addEventListener("click", () => void this.runTests());
    stop.addEventListener("click", () => this.stop("stopped"));
    const saved = Number(localStorage.getItem(limitKey));
    if (saved > 0 && [...limit.options].some((o) => Number(o.value) === saved)) limit.value = String(saved);
    limit.addEventListener("change", () => localStorage.setItem(limitKey, limit.value));
    const seed = this.p.seed;
    if (seed) {
      if (localStorage.getItem(seedKey) === "empty") seed.checked = false;
      seed.disabled = false;
      seed.addEventListener("change", () => localStorage.setItem(seedKey, seed.checked ? "example" : "empty"));
    }
    window.addEventListener("keydown", this.onKey, true); // before the editor's Mod-Enter
    this.p.log.addEventListener("scroll", this.onScroll, { passive: true });
    document.addEventListener("duet:language", this.onLanguageEvent);
    document.addEventListener("htmx:afterSettle", this.onSettle);
    if (!isolated()) {
      this.p.note.hidden = false;
      this.p.note.textContent =
        "input() is unavailable and Stop restarts the runtime: this page is not cross-origin isolated " +
        "(it needs HTTPS, or localhost). Ask the operator to serve duet over HTTPS.";
    }
    this.showLanguage();
    run.disabled = false;
    this.enableTests();
    this.el.dataset.ready = "true";
  }

  /** attach connects the editor: the code to run, and the socket to share runs on. */
  attach(bridge: EditorBridge): void {
    if (this.bridge === bridge) return;
    for (const u of this.unsubscribe) u();
    this.bridge = bridge;
    const lang = bridge.language();
    if (isLanguage(lang)) this.setLanguage(lang);
    this.unsubscribe = [
      bridge.on("run", (m) => this.onRemote(m)),
      bridge.on("sync", (m) => {
        for (const u of (m.users as { id: string; name: string; color: string }[]) ?? []) this.names.set(u.id, { name: u.name, color: u.color });
      }),
      bridge.on("user_joined", (m) => this.names.set(String(m.userId), { name: String(m.userName), color: String(m.color) })),
      bridge.on("user_left", (m) => this.onLeft(String(m.userId))),
      bridge.on("language", (m) => {
        if (isLanguage(m.language)) this.setLanguage(m.language);
      }),
    ];
    this.scheduleWarmUp();
  }

  /**
   * onSettle reads the tests again when htmx has swapped the pad's question part
   * (the session was given another question): Run tests then runs the new ones.
   */
  private onSettle = (e: Event): void => {
    const target = e.target as Element | null;
    if (!target?.closest?.("#question-region")) return;
    this.questionTests = readTests();
    this.enableTests();
  };

  private onLanguageEvent = (e: Event): void => {
    const lang = (e as CustomEvent<{ language?: unknown }>).detail?.language;
    if (isLanguage(lang)) this.setLanguage(lang);
  };

  setLanguage(lang: Language): void {
    if (lang === this.lang) return;
    this.lang = lang;
    this.el.dataset.language = lang;
    this.enableTests();
    this.showLanguage();
    this.scheduleWarmUp();
  }

  private onKey = (e: KeyboardEvent): void => {
    if (e.key !== "Enter" || !(e.ctrlKey || e.metaKey) || e.altKey || e.shiftKey) return;
    e.preventDefault();
    e.stopPropagation();
    if (!this.current) void this.run();
  };

  /** engine is the runner of lang, made on first use from the runners' chunk. */
  private async engine(lang: Language): Promise<Engine> {
    const had = this.engines.get(lang);
    if (had) return had;
    const { newEngine } = await import("./engines");
    let e = this.engines.get(lang); // made meanwhile
    if (!e) {
      e = newEngine(lang, this.el.dataset, () => this.seed());
      this.engines.set(lang, e);
    }
    return e;
  }

  /**
   * seed is the SQL a run starts from: the example database (a chunk loaded with the
   * first SQL run), or nothing when the person unticked it. A session's or a
   * question's own schema would be given here.
   */
  private async seed(): Promise<string> {
    if (this.p.seed && !this.p.seed.checked) return "";
    const { default: example } = await import("./seed.sql");
    return example;
  }

  /** The code in the editor (or, without the editor island, the page's copy). */
  private code(): string {
    if (this.bridge) return this.bridge.getText();
    return document.querySelector("#editor .editor-fallback code")?.textContent ?? "";
  }

  // ---- status line ----

  private say(text: string, state = ""): void {
    this.p.status.textContent = text;
    this.p.status.dataset.state = state;
  }

  private showLanguage(): void {
    if (this.current) return;
    const e = this.engines.get(this.lang);
    if (this.p.sql) this.p.sql.hidden = this.lang !== "sql";
    switch (this.lang) {
      case "python":
        this.say(e?.loaded ? `Python ${(e as PythonEngine).version} is ready.` : "Python runs in your browser; it loads on the first run.");
        break;
      case "javascript":
        this.say("JavaScript runs in a worker in your browser (no DOM, no network).");
        break;
      case "typescript":
        this.say("TypeScript runs in a worker in your browser, as JavaScript once its types are taken out (types are not checked).");
        break;
      case "sql":
        this.say(e?.loaded ? `SQLite ${(e as SqlEngine).version} is ready.` : "SQL runs on SQLite in your browser; it loads on the first run.");
        break;
    }
  }

  private showProgress(step: LoadStep | null): void {
    const bar = this.p.progress;
    if (step === null) {
      bar.hidden = true;
      return;
    }
    const [text, value] = stepText[step];
    bar.hidden = false;
    bar.value = value;
    this.say(`Loading ${labels[this.lang]}… ${text}`, "loading");
  }

  private showFailure(message: string, retry: (() => void) | null): void {
    const f = this.p.failure;
    f.replaceChildren();
    f.hidden = false;
    f.append(el("p", "", message));
    if (retry) {
      const b = el("button", "button", "Retry");
      b.type = "button";
      b.addEventListener("click", () => {
        f.hidden = true;
        retry();
      });
      f.append(b);
      b.focus();
    }
  }

  // ---- warming up ----

  /**
   * scheduleWarmUp loads the runtime (Pyodide; sucrase for TypeScript; SQLite for SQL)
   * as soon as someone shows they are about to run code (the pointer on Run, or Run
   * focused), not before: the pad's budget is that no runtime loads until it is needed
   * (under 200 KB of JavaScript before Run; Pyodide alone is 5.1 MB). Loading while the
   * page was idle was measured too
   * (TestRunnerBrowser, two cold loads at load average ~15): the first Run then printed
   * in 84 ms instead of 8.4 s, at the cost of 5.1 MB and ~50 MB of memory for every
   * visitor, runs or not. Intent gives a head start of the time between pointing and
   * clicking, at no cost to anyone who never runs.
   */
  private scheduleWarmUp(): void {
    if (this.lang === "javascript" || this.destroyed || this.engines.get(this.lang)?.loaded) return;
    this.p.run.addEventListener("pointerenter", this.warmNow, { once: true });
    this.p.run.addEventListener("focus", this.warmNow, { once: true });
  }

  private warmNow = async (): Promise<void> => {
    const lang = this.lang;
    if (lang === "javascript" || this.destroyed || this.current) return;
    let e: Engine;
    try {
      e = await this.engine(lang);
    } catch {
      return; // offline: a Run says so
    }
    if (lang !== this.lang || this.destroyed || e.loaded || this.current) return;
    e.load().then(
      () => this.showLanguage(),
      () => this.showLanguage(), // says nothing now; a Run shows the failure and offers Retry
    );
  };

  // ---- running ----

  async run(): Promise<void> {
    const code = this.code();
    await this.execute(`${labels[this.lang]} · ${firstLine(code)}`, (engine, hooks) => engine.run(code, hooks));
  }

  /**
   * runTests runs the code, then the question's tests (the hidden ones too, on the
   * page of someone who may see them), and shows their table. The others get the
   * run as usual, with the results on the "tests" stream (tests.ts).
   */
  async runTests(): Promise<void> {
    const qt = this.questionTests;
    if (!qt || qt.language !== this.lang || qt.tests.length === 0) return;
    const code = this.code();
    // The title is short, as run headers are narrow: the table below counts the tests
    // and marks the hidden ones.
    await this.execute("Tests", (engine, hooks) => engine.runTests(code, qt.tests, hooks), qt.tests);
  }

  /** enableTests offers Run tests when the session is in the tests' language. */
  private enableTests(): void {
    const b = this.p.tests;
    if (!b) return;
    const qt = this.questionTests;
    b.hidden = !qt || qt.tests.length === 0;
    if (!qt) return;
    const same = qt.language === this.lang;
    b.disabled = !same || !!this.current || qt.tests.length === 0;
    b.title = same ? "Run the question's tests against the code" : `The tests are in ${labels[qt.language as Language] ?? qt.language}: switch the language to run them.`;
  }

  private async execute(title: string, exec: (engine: Engine, hooks: RunHooks) => Promise<RunResult>, tests?: TestCase[]): Promise<void> {
    if (this.current || this.destroyed) return;
    const lang = this.lang;
    const id = `${Date.now().toString(36)}-${++this.runSeq}`;
    const view = new RunView({ who: "You", mine: true, title });
    this.addRun(view);
    const table = tests ? new TestTable() : null;
    if (table && tests) {
      table.plan(tests.length);
      view.addSection(table.el);
    }
    const cur: Current = { engine: null, view, id, cancelled: false };
    this.current = cur;
    this.p.failure.hidden = true;
    this.setRunning(true);

    let engine: Engine | null = null;
    try {
      engine = await this.engine(lang);
      cur.engine = engine;
    } catch {
      // the runners' chunk did not load: said below, with Retry
    }
    if (!engine || !engine.loaded) {
      this.showProgress("fetch");
      try {
        if (!engine) throw new Error("the runner's script could not be downloaded (offline?)");
        await engine.load((s) => this.showProgress(s));
      } catch (e) {
        this.showProgress(null);
        this.current = null;
        this.setRunning(false);
        view.dispose();
        this.showEmpty();
        this.engines.delete(lang); // Retry starts afresh (and reads the page's URLs again)
        engine?.dispose();
        const why = e instanceof Error ? e.message : String(e);
        this.say("", "failed");
        this.showFailure(`${labels[lang]} could not be loaded: ${why}.`, () => void (tests ? this.runTests() : this.run()));
        return;
      }
      this.showProgress(null);
    }
    if (cur.cancelled) {
      this.current = null;
      this.setRunning(false);
      view.dispose();
      this.showEmpty();
      this.showLanguage();
      return;
    }

    const limit = Number(this.p.limit.value) || defaultLimit;
    const res = await exec(engine, {
      started: () => {
        view.running();
        this.share.start(id, title);
        if (tests) this.share.output("tests", planLine(tests));
        this.say(tests ? "Running the tests…" : "Running…", "running");
        this.startLimit(limit * 1000);
      },
      output: (stream: TextStream, text: string) => {
        view.append(stream, text);
        this.share.output(stream, text);
        this.stickToBottom();
      },
      table: (t: Table) => {
        view.table(t);
        this.share.table(t);
        this.stickToBottom();
      },
      result: (r: TestResult) => {
        table?.add(r);
        this.share.output("tests", resultLine(r));
        this.stickToBottom();
      },
      input: () => {
        this.pauseLimit();
        this.say("The program waits for input.", "input");
        this.stickToBottom(true);
        const field = view.ask((line) => {
          if (line !== null) {
            view.append("stdin", line + "\n");
            this.share.output("stdin", line + "\n");
          }
          engine.answer(line);
          this.resumeLimit();
          this.say("Running…", "running");
          if (this.el.contains(document.activeElement) || document.activeElement === document.body) this.p.stop.focus();
        });
        field.focus();
      },
    });
    this.stopLimit();
    if (table) {
      table.finish();
      if (res.status === "ok" && table.failed()) res.status = "failed";
    }
    if (res.status === "timeout") res.note ??= `Stopped: the time limit of ${duration(limit * 1000)} was reached.`;
    view.finish(res.status, res.ms, res.note);
    this.share.end(res.status);
    this.current = null;
    this.setRunning(false);
    this.say(table ? `Tests: ${table.counts()}.` + (res.status === "ok" || res.status === "failed" ? "" : ` ${sentence(res.status, res.ms)}`) : sentence(res.status, res.ms), `done-${res.status.split(" ")[0]}`);
    this.stickToBottom();
  }

  stop(as: "stopped" | "timeout"): void {
    const c = this.current;
    if (!c) return;
    if (c.view.status === "loading") {
      c.cancelled = true; // nothing runs yet; the load goes on, for the next Run
      this.say("Cancelled; the runtime goes on loading for the next run.", "stopping");
      return;
    }
    this.say(as === "timeout" ? "Time limit reached; stopping…" : "Stopping…", "stopping");
    c.engine?.stop(as);
  }

  private setRunning(on: boolean): void {
    const { run, stop } = this.p;
    const hadFocus = document.activeElement === (on ? run : stop);
    run.disabled = on;
    stop.disabled = !on;
    this.el.dataset.running = String(on);
    this.enableTests();
    if (hadFocus) (on ? stop : run).focus();
  }

  // ---- the time limit (paused while the program waits for input) ----

  private startLimit(ms: number): void {
    this.limitLeft = ms;
    this.resumeLimit();
  }

  private resumeLimit(): void {
    clearTimeout(this.limitTimer);
    this.limitFrom = performance.now();
    this.limitTimer = window.setTimeout(() => this.stop("timeout"), this.limitLeft);
  }

  private pauseLimit(): void {
    clearTimeout(this.limitTimer);
    this.limitLeft = Math.max(0, this.limitLeft - (performance.now() - this.limitFrom));
  }

  private stopLimit(): void {
    clearTimeout(this.limitTimer);
  }

  // ---- the log ----

  private addRun(view: RunView): void {
    this.p.empty?.remove();
    this.p.empty = null;
    for (const r of this.p.log.querySelectorAll<HTMLElement>(".run")) {
      const d = r.querySelector("details");
      if (d && !r.querySelector(".run-input")) d.open = false;
    }
    this.p.log.append(view.el);
    const runs = this.p.log.querySelectorAll(".run");
    for (let i = 0; i < runs.length - maxRuns; i++) {
      const old = runs[i] as HTMLElement;
      for (const [k, v] of this.remote) if (v.view.el === old) this.remote.delete(k);
      old.remove();
    }
    this.stickToBottom(true);
  }

  private showEmpty(): void {
    if (this.p.log.querySelector(".run")) return;
    const p = el("p", "panel-empty", "Run your code to see its output here.");
    p.dataset.runnerEmpty = "";
    this.p.log.append(p);
    this.p.empty = p;
  }

  private stuck = true; // the log follows new output (the reader did not scroll up)
  private scrollQueued = false;

  private onScroll = (): void => {
    const log = this.p.log;
    this.stuck = log.scrollHeight - log.scrollTop - log.clientHeight < 40;
  };

  /** stickToBottom keeps the newest output in view, unless the reader scrolled up. */
  private stickToBottom(force = false): void {
    if (force) this.stuck = true;
    if (!this.stuck || this.scrollQueued) return;
    this.scrollQueued = true;
    requestAnimationFrame(() => {
      this.scrollQueued = false;
      if (this.stuck) this.p.log.scrollTop = this.p.log.scrollHeight;
    });
  }

  // ---- the others' runs ----

  private who(userId: string): { name: string; color: string } {
    if (this.bridge && userId === this.bridge.userId) return { name: "You (another tab)", color: "" };
    return this.names.get(userId) ?? { name: "Someone", color: "" };
  }

  private onRemote(m: Record<string, unknown>): void {
    const user = String(m.userId ?? "");
    const runId = String(m.runId ?? "");
    if (!user || !runId) return;
    const key = `${user}/${runId}`;
    let r = this.remote.get(key);
    const event = m.event;
    if (!r || event === "start") {
      if (r && event === "start") return;
      const w = this.who(user);
      const title = typeof m.text === "string" && event === "start" ? m.text : "a run";
      const view = new RunView({ who: w.name, mine: false, title, color: w.color });
      view.el.dataset.user = user;
      view.running();
      r = { view, user };
      this.remote.set(key, r);
      this.addRun(view);
      if (event === "start") return;
    }
    if (event === "output" && m.stream === "tests" && typeof m.text === "string") {
      let table = this.tables.get(key);
      if (!table) {
        table = new TestTable();
        this.tables.set(key, table);
        r.view.addSection(table.el);
      }
      table.feed(m.text);
      this.stickToBottom();
    } else if (event === "output") {
      const stream = m.stream;
      if ((stream === "stdout" || stream === "stderr" || stream === "stdin" || stream === "system") && typeof m.text === "string") {
        r.view.append(stream, m.text);
        this.stickToBottom();
      } else if (stream === "table" && typeof m.text === "string") {
        const t = decodeTable(m.text);
        if (t) r.view.table(t);
        this.stickToBottom();
      }
      if (m.truncated === true) r.view.sharedTruncated(this.who(user).name);
    } else if (event === "end") {
      if (m.truncated === true) r.view.sharedTruncated(this.who(user).name);
      r.view.finish(String(m.status || "ok") as Status, r.view.waitedMs());
      this.tables.get(key)?.finish();
      this.tables.delete(key);
      this.remote.delete(key);
      this.stickToBottom();
    }
  }

  private onLeft(userId: string): void {
    for (const [k, r] of this.remote) {
      if (r.user !== userId) continue;
      r.view.finish("stopped", r.view.waitedMs(), `${this.who(userId).name} left before the run ended.`);
      this.remote.delete(k);
    }
  }

  destroy(): void {
    this.destroyed = true;
    this.stopLimit();
    for (const u of this.unsubscribe) u();
    window.removeEventListener("keydown", this.onKey, true);
    document.removeEventListener("duet:language", this.onLanguageEvent);
    document.removeEventListener("htmx:afterSettle", this.onSettle);
    for (const e of this.engines.values()) e.dispose();
    this.share.end(null);
  }
}

function firstLine(code: string): string {
  const line = code.split("\n").find((l) => l.trim() !== "" && !/^\s*(#|\/\/|--)/.test(l))?.trim() ?? "";
  if (!line) return "(empty)";
  return line.length > 60 ? line.slice(0, 59) + "…" : line;
}

function sentence(status: Status, ms: number): string {
  const d = duration(ms);
  switch (status) {
    case "ok":
      return `Finished in ${d}.`;
    case "error":
      return `Failed after ${d}: see the error in the output.`;
    case "stopped":
      return `Stopped after ${d}.`;
    case "timeout":
      return `Stopped by the time limit after ${d}.`;
    case "crashed":
      return `The runtime crashed after ${d}; it was restarted.`;
    case "failed":
      return `Some tests failed (${d}).`;
    default:
      return `Finished (${describeStatus(status, ms)}).`;
  }
}
