// Shared memory between the page and a runner worker (needs cross-origin isolation).
//
// The output ring carries what a program prints, in order, as records
// [stream: u8][length: u32 LE][UTF-8 bytes]. The worker appends; the page drains it on
// a timer. Unlike postMessage, nothing can get stuck in the worker while a long
// computation keeps its event loop busy, and a full ring makes the program wait for
// the page (back-pressure), so `while True: print(1)` cannot flood the page.
// Positions are free-running int32 counters; the capacity is a power of two, so
// `pos & (cap - 1)` is the index even after the counters wrap.
//
// The control buffer: Int32 [0] stdin state, [1] stdin length, [2] a cell the worker
// sleeps on (time.sleep) and the page notifies to cut a sleep short; bytes of the
// answered line from offset 16.

import type { TextStream as Stream } from "./protocol";

export const ringCapacity = 1 << 20; // bytes of output in flight
const ringHeader = 16; // Int32 [0] write position, [1] read position
const W = 0;
const R = 1;
const recordHeader = 5;
const maxRecord = 64 << 10;

export const controlSize = 16 + (64 << 10);
export const maxLineBytes = 64 << 10;
/** Values of control[0]. */
export const StdinState = { waiting: 0, line: 1, eof: 2, interrupted: 3 } as const;
export const sleepCell = 2;

const streams: Stream[] = ["stdout", "stderr", "stdin", "system"];

export function newRing(): SharedArrayBuffer {
  return new SharedArrayBuffer(ringHeader + ringCapacity);
}

/** The worker's end: appends records, waiting while the ring is full. */
export class RingWriter {
  private readonly pos: Int32Array;
  private readonly data: Uint8Array;
  private readonly mask = ringCapacity - 1;

  /** abandoned says when to give up waiting for room (an interrupt, for one). */
  constructor(
    buf: SharedArrayBuffer,
    private readonly abandoned: () => boolean,
  ) {
    this.pos = new Int32Array(buf, 0, 2);
    this.data = new Uint8Array(buf, ringHeader, ringCapacity);
  }

  /** write appends bytes of a stream; it returns false if it gave up (abandoned). */
  write(stream: Stream, bytes: Uint8Array): boolean {
    const id = streams.indexOf(stream);
    let off = 0;
    while (off < bytes.length) {
      const w = Atomics.load(this.pos, W);
      let r = Atomics.load(this.pos, R);
      let free = ringCapacity - ((w - r) | 0);
      while (free < recordHeader + 1) {
        if (this.abandoned()) return false;
        Atomics.wait(this.pos, R, r, 50); // the page notifies R when it drains
        r = Atomics.load(this.pos, R);
        free = ringCapacity - ((w - r) | 0);
      }
      const n = Math.min(bytes.length - off, free - recordHeader, maxRecord);
      const head = [id, n & 0xff, (n >>> 8) & 0xff, (n >>> 16) & 0xff, (n >>> 24) & 0xff];
      for (let i = 0; i < recordHeader; i++) this.data[(w + i) & this.mask] = head[i];
      this.copyIn(bytes.subarray(off, off + n), (w + recordHeader) | 0);
      Atomics.store(this.pos, W, (w + recordHeader + n) | 0);
      off += n;
    }
    return true;
  }

  private copyIn(src: Uint8Array, at: number): void {
    const i = at & this.mask;
    const first = Math.min(src.length, ringCapacity - i);
    this.data.set(src.subarray(0, first), i);
    if (first < src.length) this.data.set(src.subarray(first), 0);
  }
}

/** The page's end: drains whole records. */
export class RingReader {
  private readonly pos: Int32Array;
  private readonly data: Uint8Array;
  private readonly mask = ringCapacity - 1;
  private readonly decoders = new Map<Stream, TextDecoder>();
  private scratch = new Uint8Array(256 << 10);

  constructor(buf: SharedArrayBuffer) {
    this.pos = new Int32Array(buf, 0, 2);
    this.data = new Uint8Array(buf, ringHeader, ringCapacity);
  }

  /** reset empties the ring; only while no worker writes to it. */
  reset(): void {
    Atomics.store(this.pos, W, 0);
    Atomics.store(this.pos, R, 0);
    this.decoders.clear();
  }

  /**
   * drain returns the text written since the last call, at most about budget bytes.
   * Records of one stream in a row are copied into one buffer and decoded at once:
   * `print` in a loop writes one tiny record per line.
   */
  drain(budget = ringCapacity): [Stream, string][] {
    const out: [Stream, string][] = [];
    const w = Atomics.load(this.pos, W);
    let r = Atomics.load(this.pos, R);
    let taken = 0;
    let cur = -1;
    let len = 0;
    const emit = () => {
      if (cur < 0 || len === 0) return;
      const stream = streams[cur] ?? "stdout";
      let dec = this.decoders.get(stream);
      if (!dec) this.decoders.set(stream, (dec = new TextDecoder()));
      const text = dec.decode(this.scratch.subarray(0, len), { stream: true }); // a character may span records
      len = 0;
      if (!text) return;
      const last = out[out.length - 1];
      if (last && last[0] === stream) last[1] += text;
      else out.push([stream, text]);
    };
    while (r !== w && taken < budget) {
      const id = this.data[r & this.mask];
      let n = 0;
      for (let i = 0; i < 4; i++) n |= this.data[(r + 1 + i) & this.mask] << (8 * i);
      if (id !== cur) {
        emit();
        cur = id;
      }
      if (len + n > this.scratch.length) {
        emit();
        if (n > this.scratch.length) this.scratch = new Uint8Array(n);
      }
      this.copyOut((r + recordHeader) | 0, n, this.scratch, len);
      len += n;
      r = (r + recordHeader + n) | 0;
      taken += n;
    }
    emit();
    Atomics.store(this.pos, R, r);
    Atomics.notify(this.pos, R);
    return out;
  }

  /** pending reports whether unread records are left. */
  pending(): boolean {
    return Atomics.load(this.pos, W) !== Atomics.load(this.pos, R);
  }

  /** copyOut copies n bytes at ring position at into dst at off (not shared: TextDecoder refuses shared views). */
  private copyOut(at: number, n: number, dst: Uint8Array, off: number): void {
    if (n < 64) {
      for (let k = 0; k < n; k++) dst[off + k] = this.data[(at + k) & this.mask]; // a line of print: no views
      return;
    }
    const i = at & this.mask;
    const first = Math.min(n, ringCapacity - i);
    dst.set(this.data.subarray(i, i + first), off);
    if (first < n) dst.set(this.data.subarray(0, n - first), off + first);
  }
}

/**
 * OutputSink is a worker's output: the ring when there is shared memory, else
 * messages, coalesced (at most one per 20 ms or per 64 KiB, plus one at the end).
 */
export class OutputSink {
  private ring: RingWriter | null;
  private chunks: [Stream, string][] = [];
  private size = 0;
  private last = 0;
  private readonly decoders = new Map<Stream, TextDecoder>();
  runId = "";

  constructor(
    shared: SharedArrayBuffer | null,
    abandoned: () => boolean,
    private readonly post: (chunks: [Stream, string][]) => void,
  ) {
    this.ring = shared ? new RingWriter(shared, abandoned) : null;
  }

  /** bytes writes raw bytes of a stream (Pyodide's write handler). */
  bytes(stream: Stream, b: Uint8Array): void {
    if (this.ring) {
      this.ring.write(stream, b);
      return;
    }
    let dec = this.decoders.get(stream);
    if (!dec) this.decoders.set(stream, (dec = new TextDecoder()));
    this.text(stream, dec.decode(b, { stream: true }));
  }

  private readonly encoder = new TextEncoder();

  /** text writes a string of a stream (console.log). */
  text(stream: Stream, s: string): void {
    if (!s) return;
    if (this.ring) {
      this.ring.write(stream, this.encoder.encode(s));
      return;
    }
    const last = this.chunks[this.chunks.length - 1];
    if (last && last[0] === stream) last[1] += s;
    else this.chunks.push([stream, s]);
    this.size += s.length;
    const now = performance.now();
    if (this.size >= 64 << 10 || now - this.last >= 20) this.flush();
  }

  /** flush posts what is buffered (nothing to do with the ring). */
  flush(): void {
    if (this.chunks.length === 0) return;
    const chunks = this.chunks;
    this.chunks = [];
    this.size = 0;
    this.last = performance.now();
    this.post(chunks);
  }
}
