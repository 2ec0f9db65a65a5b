// The collab sync with the authority, one socket at a time:
//
//  - push: unconfirmed updates go out one push at a time (the next waits for the
//    answer), spaced by pushSpacing while typing, and only once this socket's sync has
//    arrived and the peer has pulled up to the version the server had then;
//  - receive: the server's updates are applied in version order, and a peer with
//    unconfirmed updates takes them one at a time (peer.ts), which computes the same
//    transforms as the server's sequential rebase; an update with our client id
//    confirms ours;
//  - pull: a gap before a received update, a sync ahead of a peer, or a push the server
//    can no longer rebase asks for what is missing; an answer marked "more" (the server
//    answers a long pull a budget of bytes at a time) asks for the rest;
//  - resync: a state the server refuses, or a document that no longer matches the
//    authority's, starts over from the server's document on a new socket;
//  - verify: once things are quiet, the editor's document is compared with the
//    authority's, so that a bug shows as a resync rather than as silent divergence.
//
// The peers are the editor's (main) and the headless ones that deliver the saved
// updates of gone tabs; offline.ts keeps them, this file decides when they talk.

import type { Transaction, Text } from "@codemirror/state";
import { Divergence, type Peer } from "./peer";
import { Code, type ErrorMessage, type SyncMessage, type UpdateMessage, type WireUpdate } from "./protocol";

const pushSpacing = 50; // ms between pushes while typing

/** What the status line says when the server refuses a push for good. */
const refusedText = {
  [Code.docTooLarge]: "Your last changes were undone: the document would pass its size limit.",
  [Code.quotaExceeded]: "Your last changes were undone: this session has stored all it may, so nothing more can be saved.",
};
const verifyDelay = 1_500; // ms of quiet before the document is compared with the server's

/** The collab clients this tab speaks for (offline.ts keeps them). */
export interface PeerSet {
  /** The editor's peer. */
  readonly main: Peer;
  /** Every peer, main first; a new array each call. */
  all(): Peer[];
  /** drop forgets a peer other than main: its updates were delivered, or never can be. */
  drop(peer: Peer): void;
  /**
   * resetMain starts the editor over from the server's document at version with a new
   * client id; what was unconfirmed is lost.
   */
  resetMain(version: number, content: string): void;
}

/** The socket, as the sync uses it (link.ts). */
export interface Channel {
  readonly isOpen: boolean;
  send(msg: object): boolean;
  reconnect(reason: string): void;
}

export interface SyncEvents {
  /** A transaction of received updates reached the editor; u is its update when it holds one. */
  applied(tr: Transaction, u: WireUpdate | null): void;
  /** A sync or an update was taken in; ownMain: one of the editor's updates was confirmed. */
  received(ownMain: boolean): void;
  /** The person's changes were undone: text says why, for the status line. */
  refused(text: string): void;
}

export class Sync {
  private synced = false; // a sync arrived on the current socket
  private catchUp = 0; // the server's version at that sync: pull up to it before pushing
  private resetOnSync = false; // the next sync replaces the editor's state
  private ended = false;
  private inFlight: { peer: Peer; at: number } | null = null;
  private pullFrom: number | null = null;
  private pullAt = 0;
  private lastPush = 0;
  private pushTimer = 0;
  private verifyTimer = 0;

  constructor(
    private readonly peers: PeerSet,
    private readonly ch: Channel,
    private readonly ev: SyncEvents,
  ) {}

  /** A socket is open and its sync arrived: messages about the document may go out. */
  get connected(): boolean {
    return this.ch.isOpen && this.synced && !this.ended;
  }

  /** The editor has every update the server had when this socket joined. */
  get caughtUp(): boolean {
    return this.peers.main.version >= this.catchUp;
  }

  /** Connected and caught up: what the status line calls Live. */
  get live(): boolean {
    return this.connected && this.caughtUp;
  }

  /** send sends a message about the session (cursor, run) once connected; false otherwise. */
  send(msg: object): boolean {
    return this.connected && this.ch.send(msg);
  }

  /** opened: a new socket, on which nothing goes out before its sync. */
  opened(): void {
    this.synced = false;
  }

  /** closed: the socket went away, and with it any answer it owed. */
  closed(): void {
    this.synced = false;
    this.inFlight = null;
    this.pullFrom = null;
    clearTimeout(this.pushTimer);
  }

  /** end: the session was deleted; nothing is sent again. */
  end(): void {
    this.ended = true;
    this.synced = false;
    clearTimeout(this.pushTimer);
    clearTimeout(this.verifyTimer);
  }

  destroy(): void {
    clearTimeout(this.pushTimer);
    clearTimeout(this.verifyTimer);
  }

  onSync(m: SyncMessage): void {
    this.synced = true;
    this.catchUp = m.version;
    this.inFlight = null;
    this.pullFrom = null;
    const main = this.peers.main;
    if (this.resetOnSync || main.version > m.version) {
      // Our document cannot be reconciled (a bug, or a server that lost history):
      // the server's wins. What was unconfirmed is lost, so say so in the console.
      this.resetOnSync = false;
      this.peers.resetMain(m.version, m.content);
    } else if (main.pending.length === 0 && main.version === m.version && !docIs(main.state.doc, m.content)) {
      // Same version, other text: the page's copy lost something (lone surrogates
      // do not survive HTML). The server's copy is exact.
      this.peers.resetMain(m.version, m.content);
    }
    for (const p of this.peers.all()) {
      if (p !== this.peers.main && p.version > m.version) this.peers.drop(p);
    }
    if (this.peers.all().some((p) => p.version < m.version)) this.requestPull();
    this.afterReceive(false);
  }

  onUpdate(m: UpdateMessage): void {
    if (this.pullFrom !== null && m.version === this.pullFrom) this.pullFrom = null;
    if (m.updates.length === 0) this.inFlight = null; // the answer to a resend (or a pull)
    let gap = false;
    let ownMain = false;
    for (const peer of this.peers.all()) {
      const isMain = peer === this.peers.main;
      let r;
      try {
        r = peer.receive(m, isMain ? (tr, u) => this.ev.applied(tr, u) : undefined);
      } catch (e) {
        if (!(e instanceof Divergence)) throw e;
        console.error("duet editor: out of step with the server, resyncing:", e.message);
        if (isMain) this.resync();
        else this.peers.drop(peer);
        return;
      }
      gap ||= r.gap;
      if (r.own && this.inFlight?.peer === peer) this.inFlight = null;
      if (r.own && isMain) ownMain = true;
    }
    if ((gap || m.more) && this.pullFrom === null) this.requestPull();
    this.afterReceive(ownMain);
  }

  onError(m: ErrorMessage): void {
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
      case Code.quotaExceeded:
        if (this.inFlight) {
          // The push can never be accepted: undo what was not confirmed, so that it
          // is not pushed again and again.
          const peer = this.inFlight.peer;
          this.inFlight = null;
          this.ev.refused(refusedText[m.code]);
          if (peer === this.peers.main) this.peers.resetMain(peer.version, peer.synced.toString());
          else this.peers.drop(peer);
        }
        return;
      default:
        console.warn(`duet editor: the server refused a message (${m.code}): ${m.message}`);
    }
  }

  /** push sends the first peer's unconfirmed updates when nothing else is in the way. */
  push(): void {
    clearTimeout(this.pushTimer);
    if (!this.connected || this.inFlight || this.pullFrom !== null) return;
    const peer = this.peers.all().find((p) => p.pending.length > 0 && p.version >= this.catchUp);
    if (!peer) return;
    const wait = this.lastPush + pushSpacing - Date.now();
    if (wait > 0) {
      this.pushTimer = window.setTimeout(() => this.push(), wait);
      return;
    }
    const msg = peer.pushMessage();
    if (msg && this.ch.send(msg)) {
      this.inFlight = { peer, at: Date.now() };
      this.lastPush = Date.now();
    }
  }

  /** awaitingSince is when the oldest push or pull still unanswered went out; null: none. */
  awaitingSince(): number | null {
    const sent = [];
    if (this.inFlight) sent.push(this.inFlight.at);
    if (this.pullFrom !== null) sent.push(this.pullAt);
    return sent.length > 0 ? Math.min(...sent) : null;
  }

  /** ping asks for what we lack (unless a pull is out already): the answer proves the socket alive. */
  ping(): void {
    if (this.pullFrom === null) this.requestPull();
  }

  /** Work after updates arrived: finished orphans, the island's share, verify, the next push. */
  private afterReceive(ownMain: boolean): void {
    for (const p of this.peers.all()) {
      if (p !== this.peers.main && p.pending.length === 0) this.peers.drop(p);
    }
    this.ev.received(ownMain);
    this.scheduleVerify();
    this.push();
  }

  /**
   * scheduleVerify compares, once things are quiet, the editor's document with the
   * authority's: with nothing unconfirmed they must be equal. A difference is a bug
   * somewhere; resyncing beats silently diverging.
   */
  private scheduleVerify(): void {
    clearTimeout(this.verifyTimer);
    this.verifyTimer = window.setTimeout(() => {
      const main = this.peers.main;
      if (this.live && main.pending.length === 0 && !main.inSync()) {
        console.error("duet editor: the document differs from the server's; resyncing");
        this.resync();
      }
    }, verifyDelay);
  }

  private requestPull(): void {
    const from = Math.min(...this.peers.all().map((p) => p.version));
    if (this.ch.send({ type: "pull", version: from })) {
      this.pullFrom = from;
      this.pullAt = Date.now();
    }
  }

  /** resync starts over from the server's document on a new connection. */
  private resync(): void {
    this.resetOnSync = true;
    this.inFlight = null;
    this.ch.reconnect("resync");
  }
}

/** docIs compares a document with a string without building the string when lengths differ. */
function docIs(doc: Text, s: string): boolean {
  return doc.length === s.length && doc.toString() === s;
}
