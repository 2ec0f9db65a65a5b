// What the pad reports beside the code, and what it keeps in step with the editor:
//
// - Signals: a paste's size (in UTF-16 units: what the edit itself already holds, no
//   more) and the tab being hidden or shown again go to the server as a "signal"
//   message. The server keeps them for the interviewers, and ignores an interviewer's
//   own, and an interviewer's tab does not send them. The candidate's pad says so
//   plainly (views/notes.templ, RecordedNotice).
//   Signals that cannot go out (the socket is down) wait, a few at most, for it.
// - The notes form's line: an interviewer's note is pinned to the line of their
//   cursor, so the form's line field follows it (unless they are typing in it).

import type { ViewUpdate } from "@codemirror/view";

const maxWaiting = 20; // signals kept while the socket is down; the oldest go first

export type SignalMessage = { type: "signal"; kind: "paste"; size: number } | { type: "signal"; kind: "hidden" | "visible" };

export class Signals {
  private waiting: SignalMessage[] = [];
  private readonly lineField = document.querySelector<HTMLInputElement>("input[data-note-line]");

  /** send sends a signal when the socket is up; watched says whether anyone watches
   * this tab's signals (the server ignores an interviewer's: they are not sent). */
  constructor(
    private readonly send: (msg: SignalMessage) => boolean,
    private readonly watched: () => boolean,
  ) {
    document.addEventListener("visibilitychange", this.onVisibility);
  }

  /** viewUpdated sees every editor update: pastes, and where the cursor is. */
  viewUpdated(u: ViewUpdate): void {
    for (const tr of u.transactions) {
      if (!tr.docChanged || !tr.isUserEvent("input.paste")) continue;
      let size = 0;
      tr.changes.iterChanges((_a, _b, _c, _d, text) => (size += text.length));
      if (size > 0) this.report({ type: "signal", kind: "paste", size });
    }
    const field = this.lineField;
    if (field && (u.selectionSet || u.docChanged) && document.activeElement !== field) {
      field.value = String(u.state.doc.lineAt(u.state.selection.main.head).number);
    }
  }

  /** flush sends what waited for the socket. */
  flush(): void {
    if (!this.watched()) {
      this.waiting = []; // they waited for the sync that says this tab is an interviewer's
      return;
    }
    while (this.waiting.length > 0 && this.send(this.waiting[0])) this.waiting.shift();
  }

  destroy(): void {
    document.removeEventListener("visibilitychange", this.onVisibility);
  }

  private report(msg: SignalMessage): void {
    if (!this.watched()) return;
    this.flush();
    if (this.waiting.length === 0 && this.send(msg)) return;
    this.waiting.push(msg);
    if (this.waiting.length > maxWaiting) this.waiting.shift();
  }

  private readonly onVisibility = (): void => {
    this.report({ type: "signal", kind: document.visibilityState === "hidden" ? "hidden" : "visible" });
  };
}
