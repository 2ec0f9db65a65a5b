// Remote cursors over the socket. This tab's selection goes out, coalesced, in the
// server's positions: the document at our synced version, without our unconfirmed
// changes. The others' come in at a version, wait until we have caught up with it, and
// are shown through our unconfirmed changes; an author's caret follows the text they
// type. Drawing them is cursors.ts's business.

import type { Transaction } from "@codemirror/state";
import type { EditorView, ViewUpdate } from "@codemirror/view";
import { cursorsIn, remoteCursorsOf, removeRemoteCursor, setRemoteCursor, type RemoteRange } from "./cursors";
import type { Peer } from "./peer";
import type { CursorMessage, Person, WireUpdate } from "./protocol";

const cursorDelay = 60; // ms of coalescing for cursor messages

/** Where cursor messages go. */
export interface CursorChannel {
  /** Connected, synced and caught up: our positions mean something to the server. */
  readonly live: boolean;
  send(msg: object): boolean;
}

/** Who the cursors belong to (people.ts). */
export interface Names {
  get(userId: string): Person | undefined;
  has(userId: string): boolean;
  isMe(userId: string): boolean;
}

export class CursorSync {
  private timer = 0;
  private lastSent = ""; // the last cursor message sent on this socket
  private focused = false; // the person has been in the editor: before, the caret says nothing
  private stamp = 0;
  private readonly waiting = new Map<string, CursorMessage>(); // ahead of our version

  constructor(
    private readonly view: EditorView,
    private readonly peers: { readonly main: Peer },
    private readonly names: Names,
    private readonly ch: CursorChannel,
  ) {}

  viewUpdated(u: ViewUpdate): void {
    if (u.focusChanged && u.view.hasFocus) this.focused = true;
    if (u.selectionSet || u.docChanged) this.schedule();
  }

  /** synced: a new socket (send ours again) and a new list of people (drop the gone). */
  synced(): void {
    this.lastSent = "";
    for (const id of remoteCursorsOf(this.view).keys()) {
      if (!this.names.has(id)) this.view.dispatch({ effects: removeRemoteCursor.of(id) });
    }
  }

  /**
   * received: updates were taken in. Cursors that waited for them are shown; resend:
   * our position in the server's document may have moved, so send it again.
   */
  received(resend: boolean): void {
    const version = this.peers.main.version;
    for (const [id, c] of this.waiting) {
      if (c.version <= version) {
        this.waiting.delete(id);
        this.apply(c);
      }
    }
    if (resend) this.schedule();
  }

  onCursor(m: CursorMessage): void {
    if (this.names.isMe(m.userId)) return; // our own other tab
    if (m.version > this.peers.main.version) {
      this.waiting.set(m.userId, m); // shown once we have caught up
      return;
    }
    this.waiting.delete(m.userId);
    this.apply(m);
  }

  /** refresh updates the name and colour of a shown cursor (a rename). */
  refresh(userId: string): void {
    const c = remoteCursorsOf(this.view).get(userId);
    const who = this.names.get(userId);
    if (!c || !who) return;
    this.view.dispatch({ effects: setRemoteCursor.of({ ...c, name: who.name, color: who.color, stamp: ++this.stamp }) });
  }

  left(userId: string): void {
    this.waiting.delete(userId);
    this.view.dispatch({ effects: removeRemoteCursor.of(userId) });
  }

  /**
   * followAuthor moves the author's caret past the text they just typed, as on their
   * screen, instead of leaving it before until their next cursor message.
   */
  followAuthor(tr: Transaction, u: WireUpdate | null): void {
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

  /** clear removes every shown cursor (the session ended). */
  clear(): void {
    for (const id of remoteCursorsOf(this.view).keys()) this.view.dispatch({ effects: removeRemoteCursor.of(id) });
  }

  destroy(): void {
    clearTimeout(this.timer);
  }

  private schedule(): void {
    if (!this.focused || this.timer) return;
    this.timer = window.setTimeout(() => {
      this.timer = 0;
      this.send();
    }, cursorDelay);
  }

  /**
   * send tells the others where our selection is, in the document the server has at
   * our synced version: positions are mapped back through our unconfirmed changes
   * (text only we have maps to where it was inserted).
   */
  private send(): void {
    if (!this.ch.live) return;
    const main = this.peers.main;
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
    if (key === this.lastSent) return;
    if (this.ch.send(msg)) this.lastSent = key;
  }

  /** apply shows a cursor given at our synced version. */
  private apply(m: CursorMessage): void {
    const main = this.peers.main;
    if (m.version !== main.version || !Array.isArray(m.ranges)) return; // stale: a newer one follows
    const fwd = main.pendingChanges();
    const len = main.synced.length;
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
    const who = this.names.get(m.userId);
    this.view.dispatch({
      effects: setRemoteCursor.of({
        userId: m.userId,
        name: who?.name ?? "Someone",
        color: who?.color ?? "",
        ranges,
        stamp: ++this.stamp,
      }),
    });
  }
}
