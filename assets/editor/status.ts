// The connection status line (#connection-status, a polite live region): its
// data-state is live | connecting | reconnecting | offline | ended, its text says what
// a person needs to know, including edits not saved on the server yet. update decides
// what to say from the link's and the sync's facts; render paints it.

import type { Refusal } from "./protocol";

export type StatusState = "live" | "connecting" | "reconnecting" | "offline" | "ended";

export interface StatusView {
  state: StatusState;
  text: string;
  pending: number; // unconfirmed updates (shown unless live)
  detail?: string; // longer explanation, as the element's title
}

/** What the line is about (link.ts, sync.ts, offline.ts). */
export interface StatusFacts {
  ended: boolean; // the session was deleted
  live: boolean; // connected, synced and caught up
  refused: Refusal | ""; // why the last attempt was refused for now ("" if it was not)
  pending: number; // unconfirmed updates
}

/** What the line says when the server refuses the connection for now. */
const refusalText: Record<Refusal, string> = {
  session_full: "This session is full",
  too_many_connections: "This session is open in too many of your tabs: close one",
  too_many_joins: "Too many people are joining this session right now",
};

/** How long a count-only change waits, so a screen reader is not told every keystroke. */
const countDelay = 600;
/** How long the island may be down before the line says Offline rather than Reconnecting. */
const offlineAfter = 8_000;

export class StatusLine {
  private shown: StatusView | null = null;
  private timer = 0;
  private flashText = "";
  private flashTimer = 0;
  private everLive = false;
  private downSince = Date.now(); // when the island last stopped being live (or started)

  constructor(private el: HTMLElement | null) {}

  /** update shows what the facts mean to a person. */
  update(f: StatusFacts): void {
    if (f.live) {
      this.downSince = 0;
      if (!this.everLive) {
        this.everLive = true;
        performance.mark("duet:editor-live"); // the load-time measurements end here
      }
    } else if (!this.downSince) {
      this.downSince = Date.now();
    }
    let state: StatusState;
    let text: string;
    let detail: string | undefined;
    if (f.ended) {
      [state, text] = ["ended", "This interview has ended"];
    } else if (f.live) {
      [state, text] = ["live", "Live"];
    } else if (f.refused) {
      [state, text, detail] = ["offline", refusalText[f.refused], "Trying again from time to time."];
    } else if (navigator.onLine === false || Date.now() - this.downSince > offlineAfter) {
      [state, text] = ["offline", "Offline"];
      detail = "Your changes are kept in this browser and sent when the connection is back.";
    } else if (!this.everLive) {
      [state, text] = ["connecting", "Connecting…"];
    } else {
      [state, text] = ["reconnecting", "Reconnecting…"];
    }
    this.render({ state, text, pending: f.pending, detail });
  }

  private render(v: StatusView): void {
    if (!this.el) return;
    const prev = this.shown;
    this.shown = v;
    const sameState = prev && prev.state === v.state && prev.text === v.text && !this.flashText;
    if (sameState && (this.timer || this.textOf(prev) !== this.textOf(v))) {
      // Only the count in the text changed: coalesce, so a screen reader is not
      // told about every keystroke.
      if (!this.timer) this.timer = window.setTimeout(() => this.paint(), countDelay);
      return;
    }
    this.paint();
  }

  /** Shows a message in place of the text for a while (a refused change). */
  flash(text: string, ms = 6000): void {
    this.flashText = text;
    clearTimeout(this.flashTimer);
    this.flashTimer = window.setTimeout(() => {
      this.flashText = "";
      this.paint();
    }, ms);
    this.paint();
  }

  private textOf(v: StatusView): string {
    if (v.state === "live" || v.state === "ended" || v.pending === 0) return v.text;
    return `${v.text} · ${v.pending} ${v.pending === 1 ? "change" : "changes"} not saved yet`;
  }

  private paint(): void {
    clearTimeout(this.timer);
    this.timer = 0;
    const v = this.shown;
    if (!this.el || !v) return;
    const text = this.flashText || this.textOf(v);
    if (this.el.dataset.state !== v.state) this.el.dataset.state = v.state;
    if (this.el.textContent !== text) this.el.textContent = text;
    this.el.dataset.pending = String(v.pending);
    if (v.detail) this.el.title = v.detail;
    else this.el.removeAttribute("title");
  }

  destroy(): void {
    clearTimeout(this.timer);
    clearTimeout(this.flashTimer);
  }
}
