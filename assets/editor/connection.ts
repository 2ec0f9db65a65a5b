// A WebSocket that comes back: after any drop it reconnects with exponential backoff
// and full jitter, at once when the browser says it is online again, and never after
// stop(). What messages and closes mean is link.ts's business.

import { parseMessage, type ServerMessage } from "./protocol";

export type ConnState = "idle" | "connecting" | "open" | "waiting" | "stopped";

export interface ConnectionEvents {
  open(): void;
  message(m: ServerMessage): void;
  /** The socket closed, or never opened (opened false); return false to stay down. */
  close(code: number, reason: string, opened: boolean): boolean;
  /** Something the status line shows changed (state, attempts). */
  change(): void;
}

const minDelay = 400;
const maxDelay = 15_000;
const openTimeout = 10_000;

export class Connection {
  state: ConnState = "idle";
  /** Failed attempts since the last successful sync (reset by the island). */
  failures = 0;
  /** When the next attempt starts (waiting), for the status line. */
  retryAt = 0;

  private ws: WebSocket | null = null;
  private opened = false; // the current socket got to open
  private timer = 0;
  private openTimer = 0;

  constructor(
    private url: () => string,
    private ev: ConnectionEvents,
  ) {
    window.addEventListener("online", this.onOnline);
  }

  start(): void {
    if (this.state === "stopped" || this.ws) return;
    clearTimeout(this.timer);
    this.opened = false;
    this.setState("connecting");
    let ws: WebSocket;
    try {
      ws = new WebSocket(this.url());
    } catch {
      this.dropped(1006, "");
      return;
    }
    this.ws = ws;
    this.openTimer = window.setTimeout(() => {
      if (this.ws === ws && ws.readyState !== WebSocket.OPEN) ws.close();
      this.drop(ws, 1006, "timeout");
    }, openTimeout);
    ws.onopen = () => {
      if (this.ws !== ws) return;
      clearTimeout(this.openTimer);
      this.opened = true;
      this.setState("open");
      this.ev.open();
    };
    ws.onmessage = (e) => {
      if (this.ws !== ws) return;
      const m = parseMessage(e.data);
      if (m) this.ev.message(m);
    };
    ws.onclose = (e) => this.drop(ws, e.code, e.reason);
  }

  /** Sends one message; false when there is no open socket (nothing is queued). */
  send(msg: object): boolean {
    const ws = this.ws;
    if (!ws || ws.readyState !== WebSocket.OPEN) return false;
    ws.send(JSON.stringify(msg));
    return true;
  }

  get isOpen(): boolean {
    return this.state === "open";
  }

  /** Closes the current socket and reconnects after the usual backoff. */
  reconnect(reason = "reconnect"): void {
    const ws = this.ws;
    if (ws) {
      try {
        ws.close(4000, reason);
      } catch {
        // already closing
      }
      this.drop(ws, 4000, reason);
    } else if (this.state === "waiting") {
      this.retryNow();
    }
  }

  /** Skips the remaining wait. */
  retryNow(): void {
    if (this.state !== "waiting") return;
    clearTimeout(this.timer);
    this.start();
  }

  /** Closes for good (the island is torn down, or the session is over). */
  stop(): void {
    const ws = this.ws;
    this.ws = null;
    clearTimeout(this.timer);
    clearTimeout(this.openTimer);
    window.removeEventListener("online", this.onOnline);
    this.setState("stopped");
    if (ws) {
      ws.onopen = ws.onmessage = ws.onclose = null;
      try {
        ws.close(1000, "");
      } catch {
        // nothing to do
      }
    }
  }

  /** Closes the socket without reconnecting until start() (page hidden into bfcache). */
  pause(): void {
    const ws = this.ws;
    this.ws = null;
    clearTimeout(this.timer);
    clearTimeout(this.openTimer);
    if (this.state !== "stopped") this.setState("idle");
    if (ws) {
      ws.onopen = ws.onmessage = ws.onclose = null;
      try {
        ws.close(1000, "");
      } catch {
        // nothing to do
      }
    }
  }

  private drop(ws: WebSocket, code: number, reason: string): void {
    if (this.ws !== ws) return;
    ws.onopen = ws.onmessage = ws.onclose = null;
    this.ws = null;
    clearTimeout(this.openTimer);
    this.dropped(code, reason);
  }

  private dropped(code: number, reason: string): void {
    if (this.state === "stopped") return;
    this.failures++;
    if (!this.ev.close(code, reason, this.opened)) {
      this.stop();
      return;
    }
    // Full jitter: anywhere between half and all of the exponential delay.
    const exp = Math.min(maxDelay, minDelay * 2 ** Math.min(this.failures - 1, 10));
    const delay = exp / 2 + Math.random() * (exp / 2);
    this.retryAt = Date.now() + delay;
    this.setState("waiting");
    this.timer = window.setTimeout(() => this.start(), delay);
  }

  private onOnline = (): void => {
    this.failures = 0;
    this.retryNow();
  };

  private setState(s: ConnState): void {
    this.state = s;
    this.ev.change();
  }
}
