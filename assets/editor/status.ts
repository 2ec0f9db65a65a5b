// The connection status line (#connection-status, a polite live region): its
// data-state is live | connecting | reconnecting | offline | ended, its text says what
// a person needs to know, including edits not saved on the server yet.

export type StatusState = "live" | "connecting" | "reconnecting" | "offline" | "ended";

export interface StatusView {
  state: StatusState;
  text: string;
  pending: number; // unconfirmed updates (shown unless live)
  detail?: string; // longer explanation, as the element's title
}

/** How long a count-only change waits, so a screen reader is not told every keystroke. */
const countDelay = 600;

export class StatusLine {
  private shown: StatusView | null = null;
  private timer = 0;
  private flashText = "";
  private flashTimer = 0;

  constructor(private el: HTMLElement | null) {}

  render(v: StatusView): void {
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
