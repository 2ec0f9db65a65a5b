// Remote cursors and selections: each participant's selection in their colour, their
// caret with a name label that fades after a few seconds without movement (CSS), all
// mapped through every change so they stay put while anyone types.
//
// They are drawn as layers (like CodeMirror's own selection), not as decorations: a
// layer marker sets its colour through the CSSOM (element.style), which duet's
// Content-Security-Policy allows, where a decoration's style attribute would not be.

import { EditorSelection, StateEffect, StateField, type ChangeDesc, type EditorState, type Extension } from "@codemirror/state";
import { RectangleMarker, layer, type EditorView, type LayerMarker } from "@codemirror/view";

export interface RemoteRange {
  anchor: number;
  head: number;
}

/** One participant's selection, in positions of the current document. */
export interface RemoteCursor {
  userId: string;
  name: string;
  color: string;
  ranges: readonly RemoteRange[];
  /** Changes when the participant moves: a new stamp shows the label again. */
  stamp: number;
}

/** Sets (or replaces) a participant's selection. */
export const setRemoteCursor = StateEffect.define<RemoteCursor>({
  map: (c, changes) => mapCursor(c, changes),
});

/** Removes a participant's selection (they left). */
export const removeRemoteCursor = StateEffect.define<string>();

function mapCursor(c: RemoteCursor, changes: ChangeDesc): RemoteCursor {
  const ranges = c.ranges.map(({ anchor, head }) => {
    if (anchor === head) {
      const pos = changes.mapPos(head, -1);
      return { anchor: pos, head: pos };
    }
    // A range grows neither way, as the server maps it.
    const fwd = anchor < head;
    return { anchor: changes.mapPos(anchor, fwd ? 1 : -1), head: changes.mapPos(head, fwd ? -1 : 1) };
  });
  return { ...c, ranges };
}

const remoteCursors = StateField.define<ReadonlyMap<string, RemoteCursor>>({
  create: () => new Map(),
  update(value, tr) {
    let next: Map<string, RemoteCursor> | null = null;
    if (tr.docChanged && value.size > 0) {
      next = new Map();
      for (const [id, c] of value) next.set(id, mapCursor(c, tr.changes));
    }
    for (const e of tr.effects) {
      if (e.is(setRemoteCursor)) {
        next ??= new Map(value);
        next.set(e.value.userId, e.value);
      } else if (e.is(removeRemoteCursor) && value.has(e.value)) {
        next ??= new Map(value);
        next.delete(e.value);
      }
    }
    return next ?? value;
  },
});

/** The participants' selections in a state. */
export function cursorsIn(state: EditorState): ReadonlyMap<string, RemoteCursor> {
  return state.field(remoteCursors, false) ?? new Map();
}

/** The participants' selections currently shown. */
export function remoteCursorsOf(view: EditorView): ReadonlyMap<string, RemoteCursor> {
  return cursorsIn(view.state);
}

const colorRE = /^#[0-9a-f]{6}$/i;
const fallbackColor = "#7b7fe8";

/** safeColor accepts only #rrggbb: the colour comes from the server, but is only data. */
function safeColor(c: string): string {
  return colorRE.test(c) ? c : fallbackColor;
}

/** Readable text on a label of the given background. */
function labelText(bg: string): string {
  const n = parseInt(bg.slice(1), 16);
  const [r, g, b] = [(n >> 16) & 255, (n >> 8) & 255, n & 255];
  return 0.299 * r + 0.587 * g + 0.114 * b > 160 ? "#111318" : "#ffffff";
}

class SelectionMarker implements LayerMarker {
  constructor(
    readonly rect: RectangleMarker,
    readonly color: string,
  ) {}
  eq(o: LayerMarker): boolean {
    return o instanceof SelectionMarker && o.color === this.color && this.rect.eq(o.rect);
  }
  draw(): HTMLElement {
    const el = this.rect.draw();
    el.style.setProperty("--remote-color", this.color);
    return el;
  }
  update(dom: HTMLElement, prev: LayerMarker): boolean {
    if (!(prev instanceof SelectionMarker) || !this.rect.update(dom, prev.rect)) return false;
    dom.style.setProperty("--remote-color", this.color);
    return true;
  }
}

class CaretMarker implements LayerMarker {
  constructor(
    readonly userId: string,
    readonly name: string,
    readonly color: string,
    readonly stamp: number,
    readonly left: number,
    readonly top: number,
    readonly height: number,
  ) {}
  eq(o: LayerMarker): boolean {
    return (
      o instanceof CaretMarker &&
      o.userId === this.userId &&
      o.name === this.name &&
      o.color === this.color &&
      o.stamp === this.stamp &&
      o.left === this.left &&
      o.top === this.top &&
      o.height === this.height
    );
  }
  draw(): HTMLElement {
    const el = document.createElement("div");
    el.className = "cm-remoteCaret";
    el.dataset.userId = this.userId;
    const label = el.appendChild(document.createElement("div"));
    label.className = "cm-remoteCaret-label";
    label.textContent = this.name; // text, never HTML: names are user input
    this.adjust(el);
    return el;
  }
  // Moving the same caret keeps its element, so the label's fade-out continues; a new
  // stamp (the participant moved) draws a fresh element, which shows the label again.
  update(dom: HTMLElement, prev: LayerMarker): boolean {
    if (!(prev instanceof CaretMarker) || prev.userId !== this.userId || prev.stamp !== this.stamp || prev.name !== this.name) {
      return false;
    }
    this.adjust(dom);
    return true;
  }
  private adjust(el: HTMLElement): void {
    el.style.left = `${this.left}px`;
    el.style.top = `${this.top}px`;
    el.style.height = `${this.height}px`;
    el.style.setProperty("--remote-color", this.color);
    el.style.setProperty("--remote-label-text", labelText(this.color));
    el.classList.toggle("cm-remoteCaret-below", this.top < 18); // no room above the first line
  }
}

function clamp(pos: number, len: number): number {
  return Math.max(0, Math.min(pos, len));
}

const selectionLayer = layer({
  above: false,
  class: "cm-remoteSelectionLayer",
  update: (u) => u.docChanged || u.viewportChanged || u.startState.field(remoteCursors) !== u.state.field(remoteCursors),
  markers(view) {
    const out: LayerMarker[] = [];
    const len = view.state.doc.length;
    for (const c of view.state.field(remoteCursors).values()) {
      for (const r of c.ranges) {
        if (r.anchor === r.head) continue;
        const range = EditorSelection.range(clamp(r.anchor, len), clamp(r.head, len));
        for (const rect of RectangleMarker.forRange(view, "cm-remoteSelection", range)) {
          out.push(new SelectionMarker(rect, safeColor(c.color)));
        }
      }
    }
    return out;
  },
});

const caretLayer = layer({
  above: true,
  class: "cm-remoteCaretLayer",
  update: (u) => u.docChanged || u.viewportChanged || u.startState.field(remoteCursors) !== u.state.field(remoteCursors),
  markers(view) {
    const out: LayerMarker[] = [];
    const len = view.state.doc.length;
    for (const c of view.state.field(remoteCursors).values()) {
      for (const r of c.ranges) {
        const head = clamp(r.head, len);
        for (const rect of RectangleMarker.forRange(view, "", EditorSelection.cursor(head))) {
          out.push(new CaretMarker(c.userId, c.name, safeColor(c.color), c.stamp, rect.left, rect.top, rect.height));
        }
      }
    }
    return out;
  },
});

/** The extension that shows participants' selections. */
export function remoteCursorsExtension(): Extension {
  return [remoteCursors, selectionLayer, caretLayer];
}
