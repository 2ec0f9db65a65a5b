// Sharing runs through the hub (the socket's `run` message): this page's runs go out as start,
// output and end events, and the others' come in.
//
// Output is batched: at most one flush per 100 ms, each message up to 60 KiB of one
// stream, under a page-side budget of 20 messages a second (the socket's limit is 100
// a second, shared with edits and cursors). The server relays at most 1 MiB of a run,
// so nothing past that is sent. A result table is one message of its own, never cut
// or merged (table.ts), and is left out whole when it would pass the 1 MiB.

import type { SharedStream, Status, Table } from "./protocol";
import { encodeTable } from "./table";

/**
 * EditorBridge is what the editor island hands out (assets/editor/bridge.ts). userId is
 * this tab's public participant id from the server's sync message ("" before it), the
 * id that run messages about this participant carry.
 */
export interface EditorBridge {
  getText(): string;
  send(msg: object): boolean;
  on(type: string, cb: (msg: Record<string, unknown>) => void): () => void;
  readonly userId: string;
  language(): string;
}

const flushEvery = 100; // ms
const maxMessage = 60 << 10; // bytes (UTF-8) of text per output message, under the server's 64 KiB
const maxRun = 1 << 20; // bytes the server relays per run
const rate = 20; // messages a second
const burst = 20;

interface Outgoing {
  id: string;
  queue: [SharedStream, string][];
  queued: number; // bytes queued
  sent: number; // bytes sent or queued in total
}

export class Share {
  private out: Outgoing | null = null;
  private timer = 0;
  private tokens = burst;
  private refilled = performance.now();
  private readonly encoder = new TextEncoder();

  constructor(private readonly bridge: () => EditorBridge | null) {}

  private send(msg: object): void {
    this.bridge()?.send({ type: "run", ...msg });
  }

  start(id: string, title: string): void {
    this.end(null);
    this.out = { id, queue: [], queued: 0, sent: 0 };
    this.send({ runId: id, event: "start", text: title });
    this.tokens = Math.max(0, this.tokens - 1);
    this.timer = window.setInterval(() => this.flush(false), flushEvery);
  }

  output(stream: SharedStream, text: string): void {
    const o = this.out;
    if (!o || !text || o.sent >= maxRun) return;
    const n = this.encoder.encode(text).length;
    o.sent += n;
    o.queued += n;
    const last = o.queue[o.queue.length - 1];
    if (last && last[0] === stream) last[1] += text;
    else o.queue.push([stream, text]);
  }

  /** table queues a result table, as many of its rows as fit in one message. */
  table(t: Table): void {
    const o = this.out;
    const json = o ? encodeTable(t) : null;
    if (!o || json === null) return;
    const n = this.encoder.encode(json).length;
    // The first table past the run's 1 MiB is still sent: the server drops it whole and
    // marks the run truncated, so the others are told. Nothing is sent after it.
    o.sent = o.sent + n > maxRun ? maxRun : o.sent + n;
    o.queued += n;
    o.queue.push(["table", json]); // output() merges text streams only: this stays whole
  }

  /** end sends what is queued and the end event; null drops a run without ending it. */
  end(status: Status | null): void {
    const o = this.out;
    if (!o) return;
    clearInterval(this.timer);
    if (status !== null) {
      this.flush(true);
      this.send({ runId: o.id, event: "end", status });
    }
    this.out = null;
  }

  private flush(all: boolean): void {
    const o = this.out;
    if (!o) return;
    const now = performance.now();
    this.tokens = Math.min(burst, this.tokens + ((now - this.refilled) / 1000) * rate);
    this.refilled = now;
    while (o.queue.length > 0 && (all || this.tokens >= 1)) {
      const [stream, text] = o.queue[0];
      const piece = stream === "table" ? text : cutUTF8(text, maxMessage);
      if (piece.length === text.length) o.queue.shift();
      else o.queue[0][1] = text.slice(piece.length);
      this.send({ runId: o.id, event: "output", stream, text: piece });
      this.tokens -= 1;
    }
    if (o.queue.length === 0) o.queued = 0;
  }
}

/** cutUTF8 returns the longest prefix of s (whole characters) of at most max UTF-8 bytes. */
function cutUTF8(s: string, max: number): string {
  if (s.length * 3 <= max) return s;
  let bytes = 0;
  let i = 0;
  while (i < s.length) {
    const c = s.codePointAt(i)!;
    const n = c < 0x80 ? 1 : c < 0x800 ? 2 : c < 0x10000 ? 3 : 4;
    if (bytes + n > max) break;
    bytes += n;
    i += c > 0xffff ? 2 : 1;
  }
  return s.slice(0, Math.max(i, 1));
}
