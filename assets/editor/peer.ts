// A collab peer: one @codemirror/collab client state and the authority's document at
// its synced version. It applies update messages in version order, and while it has
// unconfirmed updates, one update per receiveUpdates call: the server rebases a late
// push over each accepted update in turn, and only one update at a time makes the
// client compute the same transforms (mapping over a batch breaks ties differently,
// and the two sides would silently diverge).
//
// The state lives in a Holder: the EditorView for the editor, or a plain variable for a
// headless peer that only delivers the saved updates of a tab that is gone.

import { collab, getClientID, getSyncedVersion, receiveUpdates, sendableUpdates, type Update } from "@codemirror/collab";
import { ChangeSet, StateEffect, Text, Transaction, type EditorState, type Extension } from "@codemirror/state";
import { maxPushBytes, type UpdateMessage, type WireUpdate } from "./protocol";
import type { SavedClient } from "./storage";

/** Where a peer's state lives. */
export interface Holder {
  readonly state: EditorState;
  dispatch(tr: Transaction): void;
}

/** A plain holder for a peer without a view. */
export class StateHolder implements Holder {
  constructor(public state: EditorState) {}
  dispatch(tr: Transaction): void {
    this.state = tr.state;
  }
}

/** The peer's document no longer matches the server's: it must resync. */
export class Divergence extends Error {}

/**
 * restoredUpdate marks the replay of a saved unconfirmed update. collab() keeps an
 * update that carries it even when its changes are empty (an update can become empty
 * by mapping, e.g. a deletion of text someone else deleted too), so the replayed list
 * has exactly the saved length: the server's deduplication counts updates by position.
 */
const restoredUpdate = StateEffect.define<null>();

/** The collab extension of a peer that starts at version with clientID. */
export function collabExtension(version: number, clientID: string): Extension {
  return collab({
    startVersion: version,
    clientID,
    sharedEffects: (tr) => tr.effects.filter((e) => e.is(restoredUpdate)),
  });
}

export function textOf(s: string): Text {
  return Text.of(s.split("\n"));
}

/**
 * replaySaved applies a saved client's unconfirmed updates to a state made from its
 * base text and version; it throws when they do not fit (a damaged record).
 */
export function replaySaved(state: EditorState, rec: SavedClient): EditorState {
  for (const json of rec.pending) {
    const changes = ChangeSet.fromJSON(json);
    if (changes.length !== state.doc.length) throw new Error("saved update does not fit the saved text");
    state = state.update({
      changes,
      effects: restoredUpdate.of(null),
      annotations: Transaction.addToHistory.of(false),
    }).state;
  }
  return state;
}

/** What receive did. */
export interface Received {
  gap: boolean; // updates before this message are missing: pull
  own: boolean; // one of this peer's updates was confirmed
  applied: number; // how many updates were new to this peer
}

export class Peer {
  /** The authority's document at the synced version. */
  synced: Text;
  private baseCache: { version: number; text: string } | null = null;

  constructor(
    readonly holder: Holder,
    synced: Text,
  ) {
    this.synced = synced;
  }

  get state(): EditorState {
    return this.holder.state;
  }
  get clientID(): string {
    return getClientID(this.state);
  }
  get version(): number {
    return getSyncedVersion(this.state);
  }
  get pending(): readonly Update[] {
    return sendableUpdates(this.state);
  }

  /** The synced text as a string, cached per version (it is saved with every write). */
  baseText(): string {
    const v = this.version;
    if (this.baseCache?.version !== v) this.baseCache = { version: v, text: this.synced.toString() };
    return this.baseCache.text;
  }

  /**
   * receive applies the updates of msg that this peer has not seen. applied is called
   * after each transaction (for remote cursors) with the update it applied, or the
   * first of the updates when one person made them all, or null when it applied
   * several people's. It throws Divergence when an update does not fit the
   * authority's document.
   */
  receive(msg: UpdateMessage, applied?: (tr: Transaction, u: WireUpdate | null) => void): Received {
    const v = this.version;
    if (msg.version > v) return { gap: true, own: false, applied: 0 };
    const ups = msg.updates;
    let i = v - msg.version;
    let own = false;
    let count = 0;
    while (i < ups.length) {
      if (this.pending.length === 0) {
        // Nothing unconfirmed: the rest is only applied, never mapped, so one
        // receiveUpdates call may take them all.
        const batch: Update[] = [];
        const first = ups[i];
        let oneAuthor = true;
        for (; i < ups.length; i++) {
          batch.push({ changes: this.accept(ups[i]), clientID: ups[i].clientID });
          if (ups[i].clientID === this.clientID) own = true;
          if (ups[i].userId !== first.userId) oneAuthor = false;
        }
        const tr = receiveUpdates(this.state, batch);
        this.holder.dispatch(tr);
        // The server joins consecutive updates into one message: when they are all one
        // person's typing, that person's caret follows it as it would one update.
        applied?.(tr, oneAuthor ? first : null);
        count += batch.length;
        break;
      }
      const u = ups[i++];
      const changes = this.accept(u);
      if (u.clientID === this.clientID) own = true;
      const tr = receiveUpdates(this.state, [{ changes, clientID: u.clientID }]);
      this.holder.dispatch(tr);
      applied?.(tr, u);
      count++;
    }
    if (count > 0 && this.pending.length === 0 && this.state.doc.length !== this.synced.length) {
      throw new Divergence(`document length ${this.state.doc.length}, server's ${this.synced.length}`);
    }
    return { gap: false, own, applied: count };
  }

  /** accept parses one update and advances the authority's document with it. */
  private accept(u: WireUpdate): ChangeSet {
    let changes: ChangeSet;
    try {
      changes = ChangeSet.fromJSON(u.changes);
    } catch {
      throw new Divergence("the server sent changes that do not parse");
    }
    if (changes.length !== this.synced.length) {
      throw new Divergence(`an update for length ${changes.length} on a document of ${this.synced.length}`);
    }
    this.synced = changes.apply(this.synced);
    return changes;
  }

  /** Whether the document matches the authority's (only meaningful with nothing pending). */
  inSync(): boolean {
    return this.state.doc.eq(this.synced);
  }

  /**
   * pushMessage is the edit message for the unconfirmed updates, from the first, as
   * many as fit in about maxPushBytes (always at least one), or null with none.
   */
  pushMessage(): { type: "edit"; version: number; updates: { clientID: string; changes: unknown }[] } | null {
    const pending = this.pending;
    if (pending.length === 0) return null;
    const updates: { clientID: string; changes: unknown }[] = [];
    let size = 0;
    for (const u of pending) {
      const changes = u.changes.toJSON();
      const n = utf8Estimate(JSON.stringify(changes));
      if (updates.length > 0 && size + n > maxPushBytes) break;
      size += n;
      updates.push({ clientID: u.clientID, changes });
    }
    return { type: "edit", version: this.version, updates };
  }

  /** The unconfirmed updates composed: synced document → current document. */
  pendingChanges(): ChangeSet | null {
    const pending = this.pending;
    if (pending.length === 0) return null;
    let c = ChangeSet.empty(this.synced.length);
    for (const u of pending) c = c.compose(u.changes);
    return c;
  }
}

/** An upper bound of the UTF-8 length of s, exact for ASCII. */
function utf8Estimate(s: string): number {
  let n = s.length;
  for (let i = 0; i < s.length; i++) if (s.charCodeAt(i) > 0x7f) n += 2;
  return n;
}
