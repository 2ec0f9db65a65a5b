// The island's link to the session's socket, over its whole life:
//
//  - connecting and reconnecting with backoff (connection.ts);
//  - what a close means: the session was deleted (stop for good), or it refused us
//    for now, being full or this person having too many tabs open (say so, and keep
//    trying now and then);
//  - a probe of the HTTP API when sockets keep failing before they open: the browser
//    hides a refused upgrade's status, and a 404 there means the session is gone;
//  - a watchdog that replaces a socket whose push or pull stays unanswered, and sends a
//    pull on one that has been quiet for long, since a dead TCP connection can look
//    open for minutes;
//  - the back/forward cache, which keeps no page that holds an open socket.

import { Connection } from "./connection";
import { Close, Code, isRefusal, type Refusal, type ServerMessage } from "./protocol";

const answerTimeout = 20_000; // a push or pull unanswered this long means a dead socket
const heartbeat = 30_000; // silence after which a pull checks the socket
const watchEvery = 5_000;

export interface LinkEvents {
  /** A socket opened; its sync comes next. */
  opened(): void;
  message(m: ServerMessage): void;
  /** The socket closed, or never opened; the link tries again unless the session ended. */
  closed(): void;
  /** The session was deleted: the link is down for good. */
  ended(): void;
  /** Something the status line shows may have changed. */
  changed(): void;
}

/** What the watchdog asks the collab sync (sync.ts). */
export interface Watched {
  readonly connected: boolean;
  awaitingSince(): number | null;
  ping(): void;
}

export class Link {
  private readonly conn: Connection;
  private watched: Watched | null = null;
  private lastHeard = 0;
  private watchdog = 0;
  private isEnded = false;
  private refusal: Refusal | "" = "";
  private destroyed = false;

  constructor(
    private readonly sessionId: string,
    url: () => string,
    private readonly ev: LinkEvents,
  ) {
    this.conn = new Connection(url, {
      open: () => this.onOpen(),
      message: (m) => this.onMessage(m),
      close: (code, reason, opened) => this.onClose(code, reason, opened),
      change: () => ev.changed(),
    });
  }

  /** The session was deleted. */
  get ended(): boolean {
    return this.isEnded;
  }

  /** Why the last attempt was refused for now ("" when it was not). */
  get refused(): Refusal | "" {
    return this.refusal;
  }

  get isOpen(): boolean {
    return this.conn.isOpen;
  }

  send(msg: object): boolean {
    return this.conn.send(msg);
  }

  reconnect(reason: string): void {
    this.conn.reconnect(reason);
  }

  /** start connects, and watches the answers that watched waits for. */
  start(watched: Watched): void {
    this.watched = watched;
    window.addEventListener("pagehide", this.onPageHide);
    window.addEventListener("pageshow", this.onPageShow);
    this.watchdog = window.setInterval(() => this.check(), watchEvery);
    this.conn.start();
  }

  destroy(): void {
    this.destroyed = true;
    this.conn.stop();
    clearInterval(this.watchdog);
    window.removeEventListener("pagehide", this.onPageHide);
    window.removeEventListener("pageshow", this.onPageShow);
  }

  private onOpen(): void {
    this.lastHeard = Date.now();
    this.ev.opened();
  }

  private onMessage(m: ServerMessage): void {
    this.lastHeard = Date.now();
    if (m.type === "sync") {
      // Joined: whatever refused us before is over.
      this.refusal = "";
      this.conn.failures = 0;
    }
    this.ev.message(m);
  }

  private onClose(code: number, reason: string, opened: boolean): boolean {
    this.ev.closed();
    if (code === Close.sessionDeleted || reason === Code.sessionDeleted || reason === Code.sessionEnded) {
      this.end();
      return false;
    }
    this.refusal = code === Close.policy && isRefusal(reason) ? reason : "";
    if (!opened && this.conn.failures >= 2) void this.probe();
    this.ev.changed();
    return !this.destroyed;
  }

  /** probe ends the link if the session no longer exists. */
  private async probe(): Promise<void> {
    try {
      const res = await fetch(`/sessions/${encodeURIComponent(this.sessionId)}`, {
        headers: { Accept: "application/json" },
        cache: "no-store",
      });
      if ((res.status === 404 || res.status === 410) && !this.isEnded && !this.destroyed) {
        this.conn.stop();
        this.end();
      }
    } catch {
      // offline: the next attempt asks again
    }
  }

  private end(): void {
    this.isEnded = true;
    clearInterval(this.watchdog);
    this.ev.ended();
  }

  /** check reconnects a socket that stopped answering, and probes a quiet one. */
  private check(): void {
    const w = this.watched;
    if (!w?.connected) return;
    const now = Date.now();
    const since = w.awaitingSince();
    if (since !== null && now - since > answerTimeout) {
      console.warn("duet editor: no answer from the server; reconnecting");
      this.conn.reconnect("no answer");
      return;
    }
    if (now - this.lastHeard > heartbeat) w.ping();
  }

  private onPageHide = (e: PageTransitionEvent): void => {
    if (e.persisted) this.conn.pause(); // back/forward cache: an open socket would evict us
  };

  private onPageShow = (e: PageTransitionEvent): void => {
    if (e.persisted && !this.isEnded) this.conn.start();
  };
}
