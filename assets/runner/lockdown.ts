// lockdown removes the network (and nested workers, and storage) from a runner
// worker's global scope once the worker has loaded what it needs. Whoever presses Run
// runs code that someone else may have written, in their own browser and with their
// own cookies: without this, a candidate's program could fetch("/s/…/end", {method:
// "POST"}) as the interviewer. The worker's Content-Security-Policy is the first
// line of defence; this is the second, and works whatever headers the server sends.
//
// The list is every API of a dedicated worker's scope that opens a connection or
// loads a URL (checked against Chromium's worker globals; the browser test
// TestRunnerLockdown in cmd/duet runs a program that looks for each of them). What
// cannot be taken away, dynamic import(), is left to the CSP.

const names = [
  "fetch",
  "XMLHttpRequest",
  "WebSocket",
  "WebSocketStream", // the streams flavour of WebSocket (Chromium 124+)
  "WebTransport",
  "EventSource",
  "FontFace", // new FontFace(name, "url(…)").load() fetches the URL
  "fonts", // the worker's FontFaceSet, which loads FontFaces
  "Worker",
  "SharedWorker",
  "importScripts",
  "indexedDB",
  "caches",
  "BroadcastChannel",
  "cookieStore",
];

// navigatorNames are taken from the worker's navigator: storage buckets hand out an
// indexedDB and caches of their own.
const navigatorNames = ["storageBuckets"];

export function lockdown(): void {
  const g = globalThis as Record<string, unknown>;
  for (const name of names) remove(g, name);
  if (typeof navigator === "object" && navigator) {
    for (const name of navigatorNames) remove(navigator as unknown as Record<string, unknown>, name);
  }
}

// remove deletes name from o and everything o inherits from, and shadows it with
// undefined where it cannot be deleted.
function remove(target: Record<string, unknown>, name: string): void {
  for (let o: object | null = target; o; o = Object.getPrototypeOf(o)) {
    if (Object.prototype.hasOwnProperty.call(o, name)) {
      try {
        delete (o as Record<string, unknown>)[name];
      } catch {
        // not configurable: shadowed below
      }
    }
  }
  if (name in target) {
    try {
      Object.defineProperty(target, name, { value: undefined, writable: false, configurable: false });
    } catch {
      // nothing more to do
    }
  }
}
