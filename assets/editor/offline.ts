// Offline storage of the collab clients this tab speaks for, so that closing or
// reloading the tab loses no edit (storage.ts keeps the records and the claims):
//
//  - restore, at start, adopts the saved clients of tabs that are gone: this tab's own
//    previous page first, whose record becomes the editor's state, the others as
//    orphans, headless peers that only deliver their saved updates, then go;
//  - every client's unconfirmed updates are saved within persistDelay of a change and
//    at once when the page hides; a record is removed as soon as nothing in it is
//    unconfirmed;
//  - each client id is held by a claim for as long as this tab uses it, so that no
//    other tab adopts it meanwhile.

import { EditorState, type Text } from "@codemirror/state";
import { Peer, StateHolder, collabExtension, replaySaved, textOf, type Holder } from "./peer";
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
import type { PeerSet } from "./sync";

const persistDelay = 200; // ms of coalescing for localStorage writes

/** What offline storage needs from the editor (editor.ts). */
export interface MainEditor {
  /** A state of the editor's client clientID, synced at version on doc. */
  state(doc: Text, version: number, clientID: string): EditorState;
  /** Where the editor's state lives once it shows: the view. */
  readonly holder: Holder;
  /** restart puts a new client's state in the editor. */
  restart(doc: Text, version: number, clientID: string): void;
}

interface Orphan {
  peer: Peer;
  claim: Claim;
}

/** What restore found: the editor's first state, and the orphans to deliver. */
export interface Restored {
  state: EditorState;
  synced: Text; // the authority's document at the state's synced version
  claim: Claim | null; // null: no claim could be had (the id is random all the same)
  orphans: Orphan[];
}

/**
 * restore adopts the saved state of tabs that are gone (this tab before a reload,
 * preferably), so that unconfirmed edits survive; the others become orphans (headless:
 * their own state, no view). Without one, the editor starts from the page's text at
 * the page's version, as a new client.
 */
export async function restore(
  sessionId: string,
  page: { text: string; version: number },
  editor: Pick<MainEditor, "state">,
): Promise<Restored> {
  const hint = lastTabClient(sessionId);
  const saved = savedClients(sessionId).sort((a, b) => Number(b.clientID === hint) - Number(a.clientID === hint));
  let adopted: { rec: SavedClient; claim: Claim } | null = null;
  const orphans: Orphan[] = [];
  for (const rec of saved) {
    // This tab's own previous page may still be letting go of its lock.
    const c = await claim(sessionId, rec.clientID, rec.clientID === hint ? 1500 : 0);
    if (!c) continue;
    if (!adopted) {
      adopted = { rec, claim: c };
      continue;
    }
    const headless = (base: Text) => EditorState.create({ doc: base, extensions: collabExtension(rec.version, rec.clientID) });
    const r = replay(sessionId, rec, c, headless);
    if (r) orphans.push({ peer: new Peer(new StateHolder(r.state), r.base), claim: c });
  }
  if (adopted) {
    const { rec, claim: c } = adopted;
    const r = replay(sessionId, rec, c, (base) => editor.state(base, rec.version, rec.clientID));
    if (r) {
      setLastTabClient(sessionId, rec.clientID);
      return { state: r.state, synced: r.base, claim: c, orphans };
    }
  }
  const synced = textOf(page.text);
  const { id, claim: c } = await freshClient(sessionId);
  setLastTabClient(sessionId, id);
  return { state: editor.state(synced, page.version, id), synced, claim: c, orphans };
}

/** A new client id for this tab, with its claim. */
async function freshClient(sessionId: string): Promise<{ id: string; claim: Claim | null }> {
  for (let i = 0; i < 3; i++) {
    const id = newClientID();
    const c = await claim(sessionId, id);
    if (c) return { id, claim: c };
  }
  return { id: newClientID(), claim: null };
}

/**
 * replay rebuilds a saved client's state: its unconfirmed updates on top of start(base),
 * base being the authority's text at its version. A damaged record is removed and its
 * claim let go: null.
 */
function replay(
  sessionId: string,
  rec: SavedClient,
  c: Claim,
  start: (base: Text) => EditorState,
): { state: EditorState; base: Text } | null {
  try {
    const base = textOf(rec.base);
    return { state: replaySaved(start(base), rec), base };
  } catch (e) {
    console.warn("duet editor: dropping a damaged saved state", e);
    removeClient(sessionId, rec.clientID);
    c.release();
    return null;
  }
}

export class Offline implements PeerSet {
  private mainPeer: Peer;
  private mainClaim: Claim | null;
  private orphans: Orphan[];
  private timer = 0;
  private ended = false;
  private destroyed = false;

  /** The editor shows restored.state already. */
  constructor(
    private readonly sessionId: string,
    private readonly editor: MainEditor,
    restored: Restored,
  ) {
    this.mainPeer = new Peer(editor.holder, restored.synced);
    this.mainClaim = restored.claim;
    this.orphans = restored.orphans;
    window.addEventListener("pagehide", this.save);
    document.addEventListener("visibilitychange", this.onVisibility);
  }

  get main(): Peer {
    return this.mainPeer;
  }

  all(): Peer[] {
    return [this.mainPeer, ...this.orphans.map((o) => o.peer)];
  }

  /** pendingCount is the number of unconfirmed updates of every client. */
  pendingCount(): number {
    return this.all().reduce((n, p) => n + p.pending.length, 0);
  }

  drop(peer: Peer): void {
    const o = this.orphans.find((x) => x.peer === peer);
    if (!o) return;
    removeClient(this.sessionId, peer.clientID);
    o.claim.release();
    this.orphans = this.orphans.filter((x) => x !== o);
  }

  resetMain(version: number, content: string): void {
    const old = this.mainPeer;
    if (old.pending.length > 0) {
      console.warn(`duet editor: dropping ${old.pending.length} unconfirmed updates; the text was:\n${old.state.doc}`);
    }
    removeClient(this.sessionId, old.clientID);
    const id = newClientID();
    void claim(this.sessionId, id).then((c) => {
      if (this.destroyed) {
        c?.release();
        return;
      }
      this.mainClaim?.release();
      this.mainClaim = c;
    });
    setLastTabClient(this.sessionId, id);
    const doc = textOf(content);
    this.editor.restart(doc, version, id);
    this.mainPeer = new Peer(this.editor.holder, doc);
  }

  /** persistSoon saves within persistDelay; removals (nothing unconfirmed) at once. */
  persistSoon(): void {
    if (this.ended) return;
    if (this.pendingCount() === 0) {
      this.persistNow(); // only removals: cheap, and no record outlives its confirmation
      return;
    }
    if (this.timer) return;
    this.timer = window.setTimeout(() => this.persistNow(), persistDelay);
  }

  /** persistNow writes every client's unconfirmed updates, or removes its record. */
  persistNow(): void {
    clearTimeout(this.timer);
    this.timer = 0;
    if (this.ended) return;
    for (const p of this.all()) {
      if (p.pending.length === 0) {
        removeClient(this.sessionId, p.clientID);
        continue;
      }
      const ok = saveClient({
        sessionId: this.sessionId,
        clientID: p.clientID,
        version: p.version,
        base: p.baseText(),
        pending: p.pending.map((u) => u.changes.toJSON()),
      });
      if (!ok) console.warn("duet editor: could not save unconfirmed edits in this browser (storage full or disabled)");
    }
  }

  /** end: the session was deleted, and every record of it goes. */
  end(): void {
    this.ended = true;
    clearTimeout(this.timer);
    forgetSession(this.sessionId);
  }

  /** destroy saves what is unconfirmed and lets go of the claims. */
  destroy(): void {
    this.persistNow();
    this.destroyed = true;
    window.removeEventListener("pagehide", this.save);
    document.removeEventListener("visibilitychange", this.onVisibility);
    this.mainClaim?.release();
    for (const o of this.orphans) o.claim.release();
  }

  private save = (): void => this.persistNow();

  private onVisibility = (): void => {
    if (document.visibilityState === "hidden") this.persistNow();
  };
}
