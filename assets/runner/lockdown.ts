// lockdown removes the network (and nested workers, and storage) from a runner
// worker's global scope once the worker has loaded what it needs. Whoever presses Run
// runs code that someone else may have written, in their own browser and with their
// own cookies: without this, a candidate's program could fetch("/s/…/end", {method:
// "POST"}) as the interviewer. The worker's Content-Security-Policy is the first
// line of defence; this is the second, and works whatever headers the server sends.

const names = [
  "fetch",
  "XMLHttpRequest",
  "WebSocket",
  "WebTransport",
  "EventSource",
  "Worker",
  "SharedWorker",
  "importScripts",
  "indexedDB",
  "caches",
  "BroadcastChannel",
  "cookieStore",
];

export function lockdown(): void {
  const g = globalThis as Record<string, unknown>;
  for (const name of names) {
    for (let o: object | null = g; o; o = Object.getPrototypeOf(o)) {
      if (Object.prototype.hasOwnProperty.call(o, name)) {
        try {
          delete (o as Record<string, unknown>)[name];
        } catch {
          // not configurable: shadowed below
        }
      }
    }
    if (name in g) {
      try {
        Object.defineProperty(g, name, { value: undefined, writable: false, configurable: false });
      } catch {
        // nothing more to do
      }
    }
  }
}
