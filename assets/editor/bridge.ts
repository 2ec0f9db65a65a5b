// The editor's bridge: what the runner island (assets/runner) and the browser tests get
// from the editor island. It is set as the mount element's duetEditor property and
// announced with a duet:editor-ready event on document, so a runner that starts before
// or after the editor finds it either way.

import type { ServerMessage } from "./protocol";

/** What the runner island (and tests) get: read the code, use the socket. */
export interface EditorBridge {
  getText(): string;
  /** Sends a message over the session's socket; false when it is not connected. */
  send(msg: object): boolean;
  /** Calls cb with every server message of that type; returns the unsubscribe. */
  on(type: string, cb: (msg: ServerMessage) => void): () => void;
  /**
   * This tab's participant id as the server gave it in sync.you ("" before the first
   * sync): the public id that the others' messages (run, cursor, user_joined) carry,
   * never the browser's secret one.
   */
  readonly userId: string;
  language(): string;
}

/** What the bridge reads from the island's parts. */
export interface BridgeSource {
  getText(): string;
  send(msg: object): boolean;
  userId(): string;
  language(): string;
}

export class Bridge {
  private readonly listeners = new Map<string, Set<(m: ServerMessage) => void>>();

  constructor(private readonly src: BridgeSource) {}

  /** emit hands a server message to the listeners of its type; one failing stops none. */
  emit(m: ServerMessage): void {
    for (const cb of this.listeners.get(m.type) ?? []) {
      try {
        cb(m);
      } catch (e) {
        console.error("duet editor: a message listener failed", e);
      }
    }
  }

  /** announce hands the bridge to the runner island (event now, property for later). */
  announce(el: HTMLElement): void {
    const src = this.src;
    const bridge: EditorBridge = {
      getText: () => src.getText(),
      send: (msg) => src.send(msg),
      on: (type, cb) => {
        let set = this.listeners.get(type);
        if (!set) this.listeners.set(type, (set = new Set()));
        set.add(cb);
        return () => set.delete(cb);
      },
      get userId() {
        return src.userId();
      },
      language: () => src.language(),
    };
    (el as HTMLElement & { duetEditor?: EditorBridge }).duetEditor = bridge;
    document.dispatchEvent(new CustomEvent("duet:editor-ready", { detail: bridge }));
  }
}
