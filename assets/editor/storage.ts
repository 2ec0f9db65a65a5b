// Persistence of unconfirmed edits in localStorage, so that closing or reloading the
// tab while offline loses nothing: the next page of the session restores them and
// delivers them when it can.
//
// A record belongs to one collab client id (one tab's editor). It holds what a client
// needs to resume exactly where it stopped: the version it had synced to, the
// authority's text at that version, and its unconfirmed updates in order. Restoring
// starts an editor from that text and version with the same client id and replays the
// updates as unconfirmed, so the server's deduplication by client id recognises any
// of them it had accepted before the connection dropped, and rebases the rest.
//
// Two tabs on one session must never share a client id (the server would take one
// tab's update as the confirmation of the other's). So each tab holds a lock named
// after its client id for as long as it lives (Web Locks; a lease in localStorage
// where the browser lacks them, as on plain-http LAN addresses), and a new page may
// adopt only a record whose lock is free: a tab that was closed, reloaded or crashed.

const prefix = "duet:pad:";
const leasePrefix = "duet:lease:";
const tabKey = "duet:tab:"; // sessionStorage: the client id this tab used last
const maxAge = 30 * 24 * 3600 * 1000; // records untouched this long are dropped
const leaseRefresh = 5_000;
const leaseStale = 15_000;

/** What is kept for one client with unconfirmed updates. */
export interface SavedClient {
  v: 1;
  sessionId: string;
  clientID: string;
  version: number; // the synced version
  base: string; // the authority's document at that version
  pending: unknown[]; // ChangeSet.toJSON() of each unconfirmed update, in order
  saved: number; // Date.now() of the write
}

function storage(): Storage | null {
  try {
    return window.localStorage;
  } catch {
    return null; // disabled storage, opaque origins
  }
}

function recordKey(sessionId: string, clientID: string): string {
  return `${prefix}${sessionId}:${clientID}`;
}

function parse(raw: string | null): SavedClient | null {
  if (!raw) return null;
  try {
    const r = JSON.parse(raw);
    if (
      r?.v === 1 &&
      typeof r.sessionId === "string" &&
      typeof r.clientID === "string" &&
      Number.isInteger(r.version) &&
      r.version >= 0 &&
      typeof r.base === "string" &&
      Array.isArray(r.pending)
    ) {
      return r as SavedClient;
    }
  } catch {
    // a damaged record is dropped below
  }
  return null;
}

/** Saves a client's state; false when storage refused (quota, disabled). */
export function saveClient(rec: Omit<SavedClient, "v" | "saved">): boolean {
  const ls = storage();
  if (!ls) return false;
  const full: SavedClient = { v: 1, ...rec, saved: Date.now() };
  try {
    ls.setItem(recordKey(rec.sessionId, rec.clientID), JSON.stringify(full));
    return true;
  } catch {
    return false;
  }
}

export function removeClient(sessionId: string, clientID: string): void {
  try {
    storage()?.removeItem(recordKey(sessionId, clientID));
  } catch {
    // nothing to do
  }
}

/** Every saved client of a session, newest first; damaged and stale records are removed. */
export function savedClients(sessionId: string): SavedClient[] {
  const ls = storage();
  if (!ls) return [];
  const out: SavedClient[] = [];
  const drop: string[] = [];
  const now = Date.now();
  try {
    for (let i = 0; i < ls.length; i++) {
      const key = ls.key(i);
      if (!key?.startsWith(prefix)) continue;
      const rec = parse(ls.getItem(key));
      if (!rec || now - rec.saved > maxAge || rec.pending.length === 0) {
        drop.push(key);
      } else if (rec.sessionId === sessionId && key === recordKey(sessionId, rec.clientID)) {
        out.push(rec);
      }
    }
    for (const key of drop) ls.removeItem(key);
  } catch {
    // storage went away meanwhile
  }
  return out.sort((a, b) => b.saved - a.saved);
}

/** Removes every record of a session (it was deleted). */
export function forgetSession(sessionId: string): void {
  for (const rec of savedClients(sessionId)) removeClient(sessionId, rec.clientID);
}

/** The client id this tab used last for the session (survives reloads, not tab close). */
export function lastTabClient(sessionId: string): string | null {
  try {
    return window.sessionStorage.getItem(tabKey + sessionId);
  } catch {
    return null;
  }
}

export function setLastTabClient(sessionId: string, clientID: string): void {
  try {
    window.sessionStorage.setItem(tabKey + sessionId, clientID);
  } catch {
    // only a preference
  }
}

/** A held claim on a client id; release it when the editor goes away. */
export interface Claim {
  release(): void;
}

type LockManagerLike = {
  request(name: string, opts: { ifAvailable?: boolean; signal?: AbortSignal }, cb: (lock: unknown) => Promise<void>): Promise<unknown>;
};

function locks(): LockManagerLike | null {
  const l = (navigator as Navigator & { locks?: LockManagerLike }).locks;
  return l && typeof l.request === "function" ? l : null;
}

/**
 * claim takes the client id for this tab. With wait > 0 it waits that long for the
 * lock (a reloaded page whose previous document is still letting go of it); otherwise
 * it fails at once when another tab holds it.
 */
export async function claim(sessionId: string, clientID: string, wait = 0): Promise<Claim | null> {
  const lm = locks();
  if (lm) return claimLock(lm, `duet:client:${sessionId}:${clientID}`, wait);
  return claimLease(sessionId, clientID);
}

function claimLock(lm: LockManagerLike, name: string, wait: number): Promise<Claim | null> {
  return new Promise((resolve) => {
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    const opts = wait > 0 ? { signal: AbortSignal.timeout(wait) } : { ifAvailable: true };
    lm.request(name, opts, async (lock) => {
      if (!lock) {
        resolve(null);
        return;
      }
      resolve({ release });
      await held;
    }).catch(() => resolve(null)); // timed out
  });
}

function claimLease(sessionId: string, clientID: string): Claim | null {
  const ls = storage();
  const key = `${leasePrefix}${sessionId}:${clientID}`;
  if (!ls) return { release() {} };
  try {
    const at = Number(ls.getItem(key));
    if (at && Date.now() - at < leaseStale) return null;
    ls.setItem(key, String(Date.now()));
  } catch {
    return { release() {} };
  }
  const timer = window.setInterval(() => {
    try {
      ls.setItem(key, String(Date.now()));
    } catch {
      // keep going
    }
  }, leaseRefresh);
  const release = () => {
    window.clearInterval(timer);
    window.removeEventListener("pagehide", release);
    try {
      ls.removeItem(key);
    } catch {
      // it goes stale by itself
    }
  };
  window.addEventListener("pagehide", release);
  return { release };
}

/** A new random client id, as @codemirror/collab makes them but longer. */
export function newClientID(): string {
  const bytes = new Uint8Array(9);
  crypto.getRandomValues(bytes);
  return Array.from(bytes, (b) => b.toString(36).padStart(2, "0")).join("");
}
