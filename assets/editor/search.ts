// Search (Mod-f, Mod-g/F3, Mod-d, Mod-Shift-l, Mod-Alt-g) as a chunk loaded by the
// first of its keys: @codemirror/search is ~7 KB gzip that few interviews use, and the
// pad's JavaScript must stay under 200 KB gzip in every language. The first key press
// loads it, installs the real keymap (and the highlighting of the selection's other
// occurrences) and runs the command; from then on the real keymap answers.

import { Compartment, type Extension } from "@codemirror/state";
import { type EditorView, type KeyBinding, keymap } from "@codemirror/view";

const loaded = new Compartment();

/** The keys of @codemirror/search's searchKeymap that open or run a search. */
const keys = ["Mod-f", "F3", "Mod-g", "Mod-Shift-l", "Mod-Alt-g", "Mod-d"];

function lazy(key: string, shift: boolean): (view: EditorView) => boolean {
  return (view) => {
    void import("@codemirror/search").then(
      ({ searchKeymap, highlightSelectionMatches }) => {
        view.dispatch({ effects: loaded.reconfigure([keymap.of(searchKeymap), highlightSelectionMatches()]) });
        const b = searchKeymap.find((k) => k.key === key);
        (shift ? b?.shift : b?.run)?.(view);
      },
      (e) => console.warn("duet editor: could not load search", e), // offline
    );
    return true;
  };
}

/** searchOnDemand is search, loaded when one of its keys is first pressed. */
export function searchOnDemand(): Extension {
  const bindings: KeyBinding[] = keys.map((key) => ({ key, run: lazy(key, false), shift: lazy(key, true), preventDefault: true }));
  return [loaded.of([]), keymap.of(bindings)];
}
