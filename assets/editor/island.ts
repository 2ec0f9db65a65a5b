// The editor island: a CodeMirror 6 editor on the pad page that speaks DESIGN §3 with
// the server, never loses an edit, and shows the other participants' cursors.
//
// Life of an edit: typing makes an unconfirmed update (collab), saved to localStorage
// within 200 ms and at once when the page hides; pushed within 50 ms while typing
// (at once when idle), with one push in flight; confirmed when the server's update
// with our client id comes back; then dropped from storage. If the socket drops, the
// island reconnects with backoff, pulls what it missed from its own synced version,
// and pushes again; the server deduplicates what it had accepted already.

import { getClientID } from "@codemirror/collab";
import { EditorSelection, EditorState, Compartment, Transaction, type Extension, type Text } from "@codemirror/state";
import { EditorView, placeholder, type ViewUpdate } from "@codemirror/view";
import { Connection } from "./connection";
import { cursorsIn, remoteCursorsExtension, remoteCursorsOf, removeRemoteCursor, setRemoteCursor, type RemoteRange } from "./cursors";
import { Divergence, Peer, StateHolder, collabExtension, replaySaved, textOf } from "./peer";
import {
  Close,
  Code,
  defaultMaxDocLength,
  type CursorMessage,
  type ErrorMessage,
  type Person,
  type ServerMessage,
  type SyncMessage,
  type UpdateMessage,
  type WireUpdate,
} from "./protocol";
import { type Language, baseSetup, colorScheme, isLanguage, languageSupport, pythonSupport } from "./setup";
import { StatusLine, type StatusState } from "./status";
import {
  type Claim,
  type SavedClient,
  claim,
  forgetSession,
  lastTabClient,
  newClientID,
  removeClient,
  saveClient,
  savedClients,
  setLastTabClient,
} from "./storage";

/** What the runner island (and tests) get: read the code, use the socket. */
export interface EditorBridge {
  getText(): string;
  /** Sends a message over the session's socket; false when it is not connected. */
  send(msg: object): boolean;
  /** Calls cb with every server message of that type; returns the unsubscribe. */
  on(type: string, cb: (msg: ServerMessage) => void): () => void;
  readonly userId: string;
  language(): string;
}

const pushSpacing = 50; // ms between pushes while typing
const cursorDelay = 60; // ms of coalescing for cursor messages
const persistDelay = 200; // ms of coalescing for localStorage writes
const answerTimeout = 20_000; // a push or pull unanswered this long means a dead socket
const heartbeat = 30_000; // silence after which a pull checks the socket
const maxPaste = 512 * 1024; // UTF-16 units inserted at once; keeps a push under the frame limit
const verifyDelay = 1_500; // ms of quiet before the document is compared with the server's
const offlineAfter = 8_000; // ms without a live connection before the status says "Offline"

/** The data attributes of the mount element (views/pad.templ). */
interface PageData {
  sessionId: string;
  version: number;
  language: Language;
  userId: string;
  userName: string;
  wsURL: string;
  text: string;
}

function readPage(el: HTMLElement): PageData | null {
  const d = el.dataset;
  const version = Number(d.version);
  if (!d.sessionId || !Number.isInteger(version) || version < 0) return null;
  const code = el.querySelector(".editor-fallback code") ?? el.querySelector("pre");
  return {
    sessionId: d.sessionId,
    version,
    language: isLanguage(d.language) ? d.language : "python",
    userId: d.userId ?? "",
    userName: d.userName ?? "",
    wsURL: d.wsUrl || `/ws/${d.sessionId}`,
    text: code?.textContent ?? "",
  };
}

export class Island {
  private view!: EditorView;
  private main!: Peer;
  private orphans: { peer: Peer; claim: Claim }[] = [];
  private mainClaim: Claim | null = null;
  private conn: Connection;
  private status: StatusLine;

  private users = new Map<string, Person>();
  private you: Person | null = null;
  private userName: string;
  private lang: Language;
  private langSeq = 0;
  private langExt: Extension = [];
  private loadedLang: Language | null = null; // the grammar in langExt
  private readonly langComp = new Compartment();
  private readonly editComp = new Compartment();

  private synced = false; // a sync arrived on the current socket
  private catchUp = 0; // the server's version at that sync: pull up to it before pushing
  private everLive = false;
  private downSince = Date.now(); // when the island last stopped being live (or started)
  private ended = false;
  private full = false;
  private resetOnSync = false;
  private destroyed = false;

  private inFlight: { peer: Peer; at: number } | null = null;
  private pullFrom: number | null = null;
  private pullAt = 0;
  private lastPush = 0;
  private lastHeard = 0;
  private pushTimer = 0;
  private cursorTimer = 0;
  private persistTimer = 0;
  private verifyTimer = 0;
  private watchdog = 0;
  private lastCursor = "";
  private focused = false;
  private cursorStamp = 0;
  private waitingCursors = new Map<string, CursorMessage>();
  private listeners = new Map<string, Set<(m: ServerMessage) => void>>();
  private nameObserver: MutationObserver | null = null;

  private constructor(
    readonly el: HTMLElement,
    private page: PageData,
  ) {
    this.userName = page.userName;
    this.lang = page.language;
    this.status = new StatusLine(document.getElementById("connection-status"));
    this.conn = new Connection(() => this.socketURL(), {
      open: () => this.onOpen(),
      message: (m) => this.onMessage(m),
      close: (code, reason, opened) => this.onClose(code, reason, opened),
      change: () => this.renderStatus(),
    });
  }

  /**
   * mount replaces the fallback <pre> of el with the editor. It adopts the saved state
   * of a tab that is gone (this tab before a reload, preferably), so unconfirmed edits
   * survive, and delivers any other such state in the background.
   */
  static async mount(el: HTMLElement): Promise<Island | null> {
    const page = readPage(el);
    if (!page) {
      console.error("duet editor: the mount element lacks data-session-id or data-version");
      return null;
    }
    const island = new Island(el, page);
    await island.init();
    return island;
  }

  private async init(): Promise<void> {
    const { sessionId } = this.page;
    const hint = lastTabClient(sessionId);
    const saved = savedClients(sessionId).sort((a, b) => Number(b.clientID === hint) - Number(a.clientID === hint));
    let adopted: { rec: SavedClient; claim: Claim } | null = null;
    for (const rec of saved) {
      // This tab's own previous page may still be letting go of its lock.
      const c = await claim(sessionId, rec.clientID, rec.clientID === hint ? 1500 : 0);
      if (!c) continue;
      if (!adopted) adopted = { rec, claim: c };
      else this.adoptOrphan(rec, c);
    }
    if (this.page.language === "python") {
      this.langExt = pythonSupport();
      this.loadedLang = "python";
    }

    let state: EditorState | null = null;
    let synced: Text | null = null;
    if (adopted) {
      try {
        synced = textOf(adopted.rec.base);
        state = replaySaved(this.makeState(synced, adopted.rec.version, adopted.rec.clientID), adopted.rec);
        this.mainClaim = adopted.claim;
      } catch (e) {
        console.warn("duet editor: dropping a damaged saved state", e);
        removeClient(sessionId, adopted.rec.clientID);
        adopted.claim.release();
        state = null;
      }
    }
    if (!state || !synced) {
      synced = textOf(this.page.text);
      const { id, claim: c } = await this.freshClient();
      this.mainClaim = c;
      state = this.makeState(synced, this.page.version, id);
    }
    setLastTabClient(sessionId, getClientID(state));

    this.el.replaceChildren();
    this.view = new EditorView({ state, parent: this.el });
    this.main = new Peer(this.view, synced);
    this.el.dataset.syncedVersion = String(this.main.version);
    performance.mark("duet:editor-ready");
    this.el.dataset.ready = "true";
    if (this.loadedLang) this.el.dataset.languageLoaded = this.loadedLang;
    if (this.page.language !== "python") void this.setLanguage(this.page.language);

    window.addEventListener("pagehide", this.onPageHide);
    window.addEventListener("pageshow", this.onPageShow);
    document.addEventListener("visibilitychange", this.onVisibility);
    document.addEventListener("duet:renamed", this.onRenamed);
    this.nameObserver = new MutationObserver(() => {
      const name = this.el.dataset.userName ?? "";
      if (name !== this.userName) this.rename(name);
    });
    this.nameObserver.observe(this.el, { attributes: true, attributeFilter: ["data-user-name"] });
    this.watchdog = window.setInterval(() => this.checkAlive(), 5_000);

    this.renderStatus();
    this.conn.start();
    this.persistSoon();
    this.announce();
  }

  /** A new client id for this tab, with its claim. */
  private async freshClient(): Promise<{ id: string; claim: Claim | null }> {
    for (let i = 0; i < 3; i++) {
      const id = newClientID();
      const c = await claim(this.page.sessionId, id);
      if (c) return { id, claim: c };
    }
    return { id: newClientID(), claim: null };
  }

  /** Delivers another gone tab's saved updates with a headless peer. */
  private adoptOrphan(rec: SavedClient, c: Claim): void {
    try {
      const base = textOf(rec.base);
      const state = replaySaved(EditorState.create({ doc: base, extensions: collabExtension(rec.version, rec.clientID) }), rec);
      this.orphans.push({ peer: new Peer(new StateHolder(state), base), claim: c });
    } catch (e) {
      console.warn("duet editor: dropping a damaged saved state", e);
      removeClient(this.page.sessionId, rec.clientID);
      c.release();
    }
  }

  private makeState(doc: Text, version: number, clientID: string): EditorState {
    return EditorState.create({
      doc,
      extensions: [
        baseSetup(),
        colorScheme(),
        this.langComp.of(this.langExt),
        this.editComp.of(this.ended ? readOnly : editable),
        collabExtension(version, clientID),
        remoteCursorsExtension(),
        EditorState.transactionFilter.of((tr) => this.guard(tr)),
        EditorView.updateListener.of((u) => this.onViewUpdate(u)),
      ],
    });
  }

  /** guard refuses local changes the server would refuse for size. */
  private guard(tr: Transaction): Transaction | readonly [] {
    if (!tr.docChanged) return tr;
    let inserted = 0;
    tr.changes.iterChanges((_a, _b, _c, _d, text) => (inserted += text.length));
    if (tr.newDoc.length > defaultMaxDocLength) {
      this.status.flash("Not added: the document would pass its size limit (1 MiB).");
      return [];
    }
    if (inserted > maxPaste) {
      this.status.flash("Not added: paste at most 512 KiB of text at once.");
      return [];
    }
    return tr;
  }

  private get peers(): Peer[] {
    return [this.main, ...this.orphans.map((o) => o.peer)];
  }

  private pendingCount(): number {
    return this.peers.reduce((n, p) => n + p.pending.length, 0);
  }

  // ---- the view ----

  private onViewUpdate(u: ViewUpdate): void {
    if (u.focusChanged && u.view.hasFocus) this.focused = true;
    const local = u.transactions.some((tr) => tr.docChanged && !tr.annotation(Transaction.remote));
    if (local) {
      this.persistSoon();
      this.maybePush();
      this.renderStatus();
    }
    if (u.selectionSet || u.docChanged) this.scheduleCursor();
  }

  // ---- the socket ----

  private socketURL(): string {
    const u = new URL(this.page.wsURL, location.href);
    u.protocol = u.protocol === "https:" ? "wss:" : "ws:";
    if (this.page.userId) u.searchParams.set("userId", this.page.userId);
    if (this.userName) u.searchParams.set("userName", this.userName);
    return u.toString();
  }

  private onOpen(): void {
    this.synced = false;
    this.lastHeard = Date.now();
  }

  private onClose(code: number, reason: string, opened: boolean): boolean {
    this.synced = false;
    this.inFlight = null;
    this.pullFrom = null;
    clearTimeout(this.pushTimer);
    if (code === Close.sessionDeleted || reason === Code.sessionDeleted) {
      this.end();
      return false;
    }
    this.full = code === Close.policy && reason === Code.sessionFull;
    // A socket refused before opening hides its HTTP status (404 for a session that
    // was deleted while we were away); the API tells.
    if (!opened && this.conn.failures >= 2) void this.probeSession();
    this.renderStatus();
    return !this.destroyed;
  }

  /** probeSession ends the island if the session no longer exists. */
  private async probeSession(): Promise<void> {
    try {
      const res = await fetch(`/sessions/${encodeURIComponent(this.page.sessionId)}`, {
        headers: { Accept: "application/json" },
        cache: "no-store",
      });
      if ((res.status === 404 || res.status === 410) && !this.ended && !this.destroyed) {
        this.conn.stop();
        this.end();
      }
    } catch {
      // offline: the next attempt asks again
    }
  }

  private onMessage(m: ServerMessage): void {
    this.lastHeard = Date.now();
    try {
      switch (m.type) {
        case "sync":
          this.onSync(m);
          break;
        case "update":
          this.onUpdate(m);
          break;
        case "cursor":
          this.onCursor(m);
          break;
        case "user_joined":
          this.users.set(m.userId, { id: m.userId, name: m.userName, color: m.color });
          this.refreshCursor(m.userId);
          break;
        case "user_left":
          this.users.delete(m.userId);
          this.waitingCursors.delete(m.userId);
          this.view.dispatch({ effects: removeRemoteCursor.of(m.userId) });
          break;
        case "language":
          void this.setLanguage(m.language);
          break;
        case "error":
          this.onError(m);
          break;
      }
    } finally {
      this.emit(m);
    }
  }

  private onSync(m: SyncMessage): void {
    this.synced = true;
    this.full = false;
    this.conn.failures = 0;
    this.you = m.you;
    this.users = new Map(m.users.map((p) => [p.id, p]));
    this.catchUp = m.version;
    this.inFlight = null;
    this.pullFrom = null;
    this.lastCursor = "";
    void this.setLanguage(m.language);
    for (const id of remoteCursorsOf(this.view).keys()) {
      if (!this.users.has(id)) this.view.dispatch({ effects: removeRemoteCursor.of(id) });
    }

    const main = this.main;
    if (this.resetOnSync || main.version > m.version) {
      // Our document cannot be reconciled (a bug, or a server that lost history):
      // the server's wins. What was unconfirmed is lost, so say so in the console.
      this.resetOnSync = false;
      this.resetMain(m.version, m.content);
    } else if (main.pending.length === 0 && main.version === m.version && !docIs(main.state.doc, m.content)) {
      // Same version, other text: the page's copy lost something (lone surrogates
      // do not survive HTML). The server's copy is exact.
      this.resetMain(m.version, m.content);
    }
    this.orphans = this.orphans.filter((o) => {
      if (o.peer.version <= m.version) return true;
      this.dropOrphan(o);
      return false;
    });
    if (this.peers.some((p) => p.version < m.version)) this.requestPull();
    this.afterReceive(false);
  }

  private onUpdate(m: UpdateMessage): void {
    if (this.pullFrom !== null && m.version === this.pullFrom) this.pullFrom = null;
    if (m.updates.length === 0) this.inFlight = null; // the answer to a resend (or a pull)
    let gap = false;
    let ownMain = false;
    for (const peer of this.peers) {
      const isMain = peer === this.main;
      let r;
      try {
        r = peer.receive(m, isMain ? (tr, u) => this.followAuthor(tr, u) : undefined);
      } catch (e) {
        if (!(e instanceof Divergence)) throw e;
        console.error("duet editor: out of step with the server, resyncing:", e.message);
        if (isMain) this.resync();
        else this.dropOrphan(this.orphans.find((o) => o.peer === peer)!);
        return;
      }
      gap ||= r.gap;
      if (r.own && this.inFlight?.peer === peer) this.inFlight = null;
      if (r.own && isMain) ownMain = true;
    }
    if (gap && this.pullFrom === null) this.requestPull();
    this.afterReceive(ownMain);
  }

  /** Work after updates arrived: cursors, finished orphans, storage, the next push. */
  private afterReceive(ownMain: boolean): void {
    for (const [id, c] of this.waitingCursors) {
      if (c.version <= this.main.version) {
        this.waitingCursors.delete(id);
        this.applyCursor(c);
      }
    }
    for (const o of [...this.orphans]) {
      if (o.peer.pending.length === 0) this.dropOrphan(o);
    }
    this.el.dataset.syncedVersion = String(this.main.version);
    if (!this.everLive && this.isLive()) {
      this.everLive = true;
      performance.mark("duet:editor-live");
    }
    if (ownMain || this.main.version >= this.catchUp) this.scheduleCursor();
    this.scheduleVerify();
    this.persistSoon();
    this.maybePush();
    this.renderStatus();
  }

  private onError(m: ErrorMessage): void {
    switch (m.code) {
      case Code.versionTooOld:
        this.inFlight = null;
        this.requestPull();
        return;
      case Code.invalidChanges:
      case Code.versionAhead:
        console.error(`duet editor: the server refused our state (${m.code}: ${m.message}); resyncing`);
        this.resync();
        return;
      case Code.docTooLarge:
        if (this.inFlight) {
          // The push can never be accepted: undo what was not confirmed.
          const peer = this.inFlight.peer;
          this.inFlight = null;
          this.status.flash("Your last changes were undone: the document would pass its size limit.");
          if (peer === this.main) this.resetMain(peer.version, peer.synced.toString());
          else this.dropOrphan(this.orphans.find((o) => o.peer === peer)!);
        }
        return;
      default:
        console.warn(`duet editor: the server refused a message (${m.code}): ${m.message}`);
    }
  }

  /**
   * scheduleVerify compares, once things are quiet, the editor's document with the
   * authority's: with nothing unconfirmed they must be equal. A difference is a bug
   * somewhere; resyncing beats silently diverging.
   */
  private scheduleVerify(): void {
    clearTimeout(this.verifyTimer);
    this.verifyTimer = window.setTimeout(() => {
      if (this.isLive() && this.main.pending.length === 0 && !this.main.inSync()) {
        console.error("duet editor: the document differs from the server's; resyncing");
        this.resync();
      }
    }, verifyDelay);
  }

  private requestPull(): void {
    const from = Math.min(...this.peers.map((p) => p.version));
    if (this.conn.send({ type: "pull", version: from })) {
      this.pullFrom = from;
      this.pullAt = Date.now();
    }
  }

  /** resync starts over from the server's document on a new connection. */
  private resync(): void {
    this.resetOnSync = true;
    this.inFlight = null;
    this.conn.reconnect("resync");
  }

  /**
   * resetMain replaces the editor's state by the server's document at version, with
   * a new client id. Unconfirmed updates are dropped (logged for the record).
   */
  private resetMain(version: number, content: string): void {
    const old = this.main;
    if (old.pending.length > 0) {
      console.warn(`duet editor: dropping ${old.pending.length} unconfirmed updates; the text was:\n${old.state.doc}`);
    }
    removeClient(this.page.sessionId, old.clientID);
    const id = newClientID();
    void claim(this.page.sessionId, id).then((c) => {
      this.mainClaim?.release();
      this.mainClaim = c;
    });
    setLastTabClient(this.page.sessionId, id);
    const sel = this.view.state.selection.main;
    const doc = textOf(content);
    const state = this.makeState(doc, version, id);
    this.view.setState(state);
    const head = Math.min(sel.head, doc.length);
    this.view.dispatch({ selection: EditorSelection.cursor(head), annotations: Transaction.addToHistory.of(false) });
    this.main = new Peer(this.view, doc);
  }

  private maybePush(): void {
    clearTimeout(this.pushTimer);
    if (!this.isConnected() || this.inFlight || this.pullFrom !== null) return;
    const peer = this.peers.find((p) => p.pending.length > 0 && p.version >= this.catchUp);
    if (!peer) return;
    const wait = this.lastPush + pushSpacing - Date.now();
    if (wait > 0) {
      this.pushTimer = window.setTimeout(() => this.maybePush(), wait);
      return;
    }
    const msg = peer.pushMessage();
    if (msg && this.conn.send(msg)) {
      this.inFlight = { peer, at: Date.now() };
      this.lastPush = Date.now();
    }
  }

  private isConnected(): boolean {
    return this.conn.isOpen && this.synced && !this.ended;
  }

  private isLive(): boolean {
    return this.isConnected() && this.main.version >= this.catchUp;
  }

  /** checkAlive reconnects a socket that stopped answering, and probes a quiet one. */
  private checkAlive(): void {
    if (!this.isConnected()) return;
    const now = Date.now();
    if ((this.inFlight && now - this.inFlight.at > answerTimeout) || (this.pullFrom !== null && now - this.pullAt > answerTimeout)) {
      console.warn("duet editor: no answer from the server; reconnecting");
      this.conn.reconnect("no answer");
      return;
    }
    if (now - this.lastHeard > heartbeat && this.pullFrom === null) this.requestPull();
  }

  // ---- cursors ----

  private scheduleCursor(): void {
    if (!this.focused || this.cursorTimer) return;
    this.cursorTimer = window.setTimeout(() => {
      this.cursorTimer = 0;
      this.sendCursor();
    }, cursorDelay);
  }

  /**
   * sendCursor tells the others where our selection is, in the document the server
   * has at our synced version: positions are mapped back through our unconfirmed
   * changes (text only we have maps to where it was inserted).
   */
  private sendCursor(): void {
    if (!this.isLive()) return;
    const main = this.main;
    const back = main.pendingChanges()?.invertedDesc ?? null;
    const map = (pos: number, assoc: -1 | 1) => (back ? back.mapPos(pos, assoc) : pos);
    const ranges = this.view.state.selection.ranges.map((r) => {
      if (r.empty) {
        const p = map(r.head, -1);
        return { anchor: p, head: p };
      }
      const fwd = r.anchor < r.head;
      return { anchor: map(r.anchor, fwd ? 1 : -1), head: map(r.head, fwd ? -1 : 1) };
    });
    const msg = { type: "cursor", version: main.version, ranges };
    const key = JSON.stringify(msg);
    if (key === this.lastCursor) return;
    if (this.conn.send(msg)) this.lastCursor = key;
  }

  private onCursor(m: CursorMessage): void {
    if (m.userId === (this.you?.id ?? this.page.userId)) return; // our own other tab
    if (m.version > this.main.version) {
      this.waitingCursors.set(m.userId, m); // shown once we have caught up
      return;
    }
    this.waitingCursors.delete(m.userId);
    this.applyCursor(m);
  }

  /** applyCursor shows a cursor given at our synced version. */
  private applyCursor(m: CursorMessage): void {
    if (m.version !== this.main.version || !Array.isArray(m.ranges)) return; // stale: a newer one follows
    const fwd = this.main.pendingChanges();
    const len = this.main.synced.length;
    const map = (pos: number, assoc: -1 | 1) => {
      const p = Math.max(0, Math.min(pos, len));
      return fwd ? fwd.mapPos(p, assoc) : p;
    };
    const ranges: RemoteRange[] = m.ranges.map(({ anchor, head }) => {
      if (anchor === head) {
        const p = map(head, -1);
        return { anchor: p, head: p };
      }
      const f = anchor < head;
      return { anchor: map(anchor, f ? 1 : -1), head: map(head, f ? -1 : 1) };
    });
    const who = this.users.get(m.userId);
    this.view.dispatch({
      effects: setRemoteCursor.of({
        userId: m.userId,
        name: who?.name ?? "Someone",
        color: who?.color ?? "",
        ranges,
        stamp: ++this.cursorStamp,
      }),
    });
  }

  /** refreshCursor updates the name and colour of a shown cursor (a rename). */
  private refreshCursor(userId: string): void {
    const c = remoteCursorsOf(this.view).get(userId);
    const who = this.users.get(userId);
    if (!c || !who) return;
    this.view.dispatch({ effects: setRemoteCursor.of({ ...c, name: who.name, color: who.color, stamp: ++this.cursorStamp }) });
  }

  /**
   * followAuthor moves the author's caret past the text they just typed, as on their
   * screen, instead of leaving it before until their next cursor message.
   */
  private followAuthor(tr: Transaction, u: WireUpdate | null): void {
    if (!u?.userId || !tr.docChanged) return;
    const c = remoteCursorsOf(this.view).get(u.userId);
    if (!c || c.ranges.length !== 1 || c.ranges[0].anchor !== c.ranges[0].head) return;
    // The field mapped the caret with assoc -1; redo it with 1 from where it was.
    const before = cursorsIn(tr.startState).get(u.userId);
    if (!before) return;
    const pos = tr.changes.mapPos(before.ranges[0].head, 1);
    if (pos === c.ranges[0].head) return;
    this.view.dispatch({ effects: setRemoteCursor.of({ ...c, ranges: [{ anchor: pos, head: pos }] }) });
  }

  // ---- language ----

  private async setLanguage(lang: string): Promise<void> {
    if (!isLanguage(lang)) return;
    const changed = lang !== this.lang;
    this.lang = lang;
    this.el.dataset.language = lang;
    if (changed) document.dispatchEvent(new CustomEvent("duet:language", { detail: { language: lang } }));
    if (lang === this.loadedLang) return;
    const seq = ++this.langSeq;
    let ext: Extension;
    try {
      ext = lang === "python" ? pythonSupport() : await languageSupport(lang);
    } catch (e) {
      console.warn(`duet editor: could not load the ${lang} grammar`, e); // offline: plain text until the next switch
      return;
    }
    if (seq !== this.langSeq || this.destroyed) return;
    this.langExt = ext;
    this.loadedLang = lang;
    this.view.dispatch({ effects: this.langComp.reconfigure(ext) });
    this.el.dataset.languageLoaded = lang;
  }

  // ---- persistence ----

  private persistSoon(): void {
    if (this.ended) return;
    if (this.pendingCount() === 0) {
      this.persistNow(); // only removals: cheap, and no record outlives its confirmation
      return;
    }
    if (this.persistTimer) return;
    this.persistTimer = window.setTimeout(() => this.persistNow(), persistDelay);
  }

  /** persistNow writes every peer's unconfirmed updates, or removes its record. */
  private persistNow(): void {
    clearTimeout(this.persistTimer);
    this.persistTimer = 0;
    if (this.ended || !this.main) return;
    for (const p of this.peers) {
      if (p.pending.length === 0) {
        removeClient(this.page.sessionId, p.clientID);
        continue;
      }
      const ok = saveClient({
        sessionId: this.page.sessionId,
        clientID: p.clientID,
        version: p.version,
        base: p.baseText(),
        pending: p.pending.map((u) => u.changes.toJSON()),
      });
      if (!ok) console.warn("duet editor: could not save unconfirmed edits in this browser (storage full or disabled)");
    }
  }

  private dropOrphan(o: { peer: Peer; claim: Claim } | undefined): void {
    if (!o) return;
    removeClient(this.page.sessionId, o.peer.clientID);
    o.claim.release();
    this.orphans = this.orphans.filter((x) => x !== o);
  }

  // ---- page life ----

  private onPageHide = (e: PageTransitionEvent): void => {
    this.persistNow();
    if (e.persisted) this.conn.pause(); // back/forward cache: an open socket would evict us
  };

  private onPageShow = (e: PageTransitionEvent): void => {
    if (e.persisted && !this.ended) this.conn.start();
  };

  private onVisibility = (): void => {
    if (document.visibilityState === "hidden") this.persistNow();
  };

  private onRenamed = (e: Event): void => {
    const name = (e as CustomEvent<{ name?: unknown }>).detail?.name;
    if (typeof name === "string") this.rename(name);
  };

  /** rename reconnects under the new name: the server learns names when joining. */
  private rename(name: string): void {
    if (name === this.userName) return;
    this.userName = name;
    this.el.dataset.userName = name;
    this.conn.reconnect("rename");
  }

  /** end: the session was deleted. The editor stays readable; nothing is sent again. */
  private end(): void {
    this.ended = true;
    this.synced = false;
    clearTimeout(this.persistTimer);
    clearInterval(this.watchdog);
    forgetSession(this.page.sessionId);
    this.view.dispatch({ effects: this.editComp.reconfigure(readOnly) });
    for (const id of remoteCursorsOf(this.view).keys()) this.view.dispatch({ effects: removeRemoteCursor.of(id) });
    this.renderStatus();
  }

  /** destroy tears the island down (htmx removed it): saves, closes, releases. */
  destroy(): void {
    if (this.destroyed) return;
    this.persistNow();
    this.destroyed = true;
    this.conn.stop();
    clearTimeout(this.pushTimer);
    clearTimeout(this.cursorTimer);
    clearTimeout(this.verifyTimer);
    clearInterval(this.watchdog);
    this.nameObserver?.disconnect();
    window.removeEventListener("pagehide", this.onPageHide);
    window.removeEventListener("pageshow", this.onPageShow);
    document.removeEventListener("visibilitychange", this.onVisibility);
    document.removeEventListener("duet:renamed", this.onRenamed);
    this.status.destroy();
    this.mainClaim?.release();
    for (const o of this.orphans) o.claim.release();
    this.view.destroy();
  }

  // ---- status and bridge ----

  private renderStatus(): void {
    if (!this.main) return;
    const live = this.isLive();
    if (live) this.downSince = 0;
    else if (!this.downSince) this.downSince = Date.now();
    let state: StatusState;
    let text: string;
    let detail: string | undefined;
    if (this.ended) {
      [state, text] = ["ended", "This session was ended"];
    } else if (live) {
      [state, text] = ["live", "Live"];
    } else if (this.full) {
      [state, text, detail] = ["offline", "This session is full", "Trying again from time to time."];
    } else if (navigator.onLine === false || Date.now() - this.downSince > offlineAfter) {
      [state, text] = ["offline", "Offline"];
      detail = "Your changes are kept in this browser and sent when the connection is back.";
    } else if (!this.everLive) {
      [state, text] = ["connecting", "Connecting…"];
    } else {
      [state, text] = ["reconnecting", "Reconnecting…"];
    }
    this.status.render({ state, text, pending: this.pendingCount(), detail });
  }

  private emit(m: ServerMessage): void {
    for (const cb of this.listeners.get(m.type) ?? []) {
      try {
        cb(m);
      } catch (e) {
        console.error("duet editor: a message listener failed", e);
      }
    }
  }

  /** announce hands the bridge to the runner island (event now, property for later). */
  private announce(): void {
    const island = this;
    const bridge: EditorBridge = {
      getText: () => this.view.state.doc.toString(),
      send: (msg) => (this.isConnected() ? this.conn.send(msg) : false),
      on: (type, cb) => {
        let set = this.listeners.get(type);
        if (!set) this.listeners.set(type, (set = new Set()));
        set.add(cb);
        return () => set.delete(cb);
      },
      get userId() {
        return island.you?.id ?? island.page.userId;
      },
      language: () => this.lang,
    };
    (this.el as HTMLElement & { duetEditor?: EditorBridge }).duetEditor = bridge;
    document.dispatchEvent(new CustomEvent("duet:editor-ready", { detail: bridge }));
  }
}

/** While the session lives: an empty document invites typing. */
const editable: Extension = placeholder("Start typing. Everyone on this link sees it live.");
/** After the session ended: readable, not editable, no invitation. */
const readOnly: Extension = [EditorState.readOnly.of(true), EditorView.editable.of(false)];

/** docIs compares a document with a string without building the string when lengths differ. */
function docIs(doc: Text, s: string): boolean {
  return doc.length === s.length && doc.toString() === s;
}
