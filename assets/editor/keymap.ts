// The editor's keys, chosen by each person for themselves and kept in this browser
// (localStorage), never shared: the editor's own keys (the default) or Vim's. Vim is a
// chunk of its own, loaded only when someone picks it, so nobody else pays for it.
// The picker is the footer's select#keymap, rendered disabled by the page and enabled
// here; the mount element's data-keymap tells which keys the editor has.

import type { Extension } from "@codemirror/state";

export type KeymapName = "default" | "vim";

const storageKey = "duet:keymap";

function isKeymap(s: unknown): s is KeymapName {
  return s === "default" || s === "vim";
}

function saved(): KeymapName {
  try {
    const v = localStorage.getItem(storageKey);
    return isKeymap(v) ? v : "default";
  } catch {
    return "default"; // storage blocked: the default keys
  }
}

/** Where the keys go: the editor's keymap compartment. */
export interface KeymapTarget {
  setKeymap(ext: Extension): void;
  focus(): void;
}

export class KeymapChoice {
  private select: HTMLSelectElement | null = null;
  private seq = 0; // the latest choice; an older load that finishes late is dropped
  private stopped = false;

  constructor(
    private readonly el: HTMLElement,
    private readonly target: KeymapTarget,
  ) {}

  /** start, once the editor shows: applies the saved choice and enables the picker. */
  start(): void {
    const name = saved();
    this.select = document.getElementById("keymap") as HTMLSelectElement | null;
    if (this.select) {
      this.select.value = name;
      this.select.disabled = false;
      this.select.addEventListener("change", this.onChange);
    }
    if (name === "default") this.el.dataset.keymap = name;
    else void this.set(name);
  }

  private onChange = (): void => {
    const name = this.select?.value;
    if (!isKeymap(name)) return;
    try {
      localStorage.setItem(storageKey, name);
    } catch {
      // kept for this page only
    }
    void this.set(name).then(() => this.target.focus());
  };

  /** set gives the editor the keys of name, loading Vim's on first use. */
  async set(name: KeymapName): Promise<void> {
    const seq = ++this.seq;
    let ext: Extension = [];
    if (name === "vim") {
      try {
        const { vim } = await import("@replit/codemirror-vim");
        ext = vim({ status: true });
      } catch (e) {
        console.warn("duet editor: could not load the Vim keys", e); // offline: the default keys
        return;
      }
    }
    if (seq !== this.seq || this.stopped) return;
    this.target.setKeymap(ext);
    this.el.dataset.keymap = name;
  }

  destroy(): void {
    this.stopped = true;
    this.select?.removeEventListener("change", this.onChange);
  }
}
