// The CodeMirror view of the island: the state every client of the editor starts from
// (the editor's features, the language's grammar, editable or read-only, collab, remote
// cursors), the size limits that keep a local change acceptable to the server, and
// what it tells the island about the person's actions.

import { Compartment, EditorSelection, EditorState, Transaction, type Extension, type Text } from "@codemirror/state";
import { EditorView, placeholder, type ViewUpdate } from "@codemirror/view";
import { remoteCursorsExtension } from "./cursors";
import type { KeymapTarget } from "./keymap";
import type { GrammarTarget } from "./language";
import type { MainEditor } from "./offline";
import { collabExtension, type Holder } from "./peer";
import { defaultMaxDocLength } from "./protocol";
import { baseSetup, colorScheme } from "./setup";

const maxPaste = 512 * 1024; // UTF-16 units inserted at once; keeps a push under the frame limit

/** What the editor tells the island. */
export interface EditorEvents {
  /** The person changed the document (a received update is not an edit). */
  edited(): void;
  /** Any view update: the selection, the focus, the document. */
  updated(u: ViewUpdate): void;
  /** A change was refused: text says why, for the status line. */
  refused(text: string): void;
}

/** While the session lives: an empty document invites typing. */
const editable: Extension = placeholder("Start typing. Everyone on this link sees it live.");
/** After the session ended: readable, not editable, no invitation. */
const readOnly: Extension = [EditorState.readOnly.of(true), EditorView.editable.of(false)];

export class Editor implements GrammarTarget, KeymapTarget, MainEditor {
  private shown: EditorView | null = null;
  private grammar: Extension = [];
  private keys: Extension = [];
  private ended = false;
  private readonly grammarComp = new Compartment();
  private readonly keymapComp = new Compartment();
  private readonly editComp = new Compartment();

  constructor(private readonly ev: EditorEvents) {}

  /** The view; only once show was called. */
  get view(): EditorView {
    if (!this.shown) throw new Error("duet editor: the editor is not shown yet");
    return this.shown;
  }

  get holder(): Holder {
    return this.view;
  }

  /** state is a state of the editor's client clientID, synced at version on doc. */
  state(doc: Text, version: number, clientID: string): EditorState {
    return EditorState.create({
      doc,
      extensions: [
        this.keymapComp.of(this.keys), // first: Vim's keys must see a key before the default keymap
        baseSetup(),
        colorScheme(),
        this.grammarComp.of(this.grammar),
        this.editComp.of(this.ended ? readOnly : editable),
        collabExtension(version, clientID),
        remoteCursorsExtension(),
        EditorState.transactionFilter.of((tr) => this.guard(tr)),
        EditorView.updateListener.of((u) => this.onUpdate(u)),
      ],
    });
  }

  /** show replaces what parent holds (the page's fallback text) with the editor. */
  show(parent: HTMLElement, state: EditorState): void {
    parent.replaceChildren();
    this.shown = new EditorView({ state, parent });
  }

  /** restart puts a new client's state in the view, keeping the caret where it can. */
  restart(doc: Text, version: number, clientID: string): void {
    const view = this.view;
    const sel = view.state.selection.main;
    view.setState(this.state(doc, version, clientID));
    const head = Math.min(sel.head, doc.length);
    view.dispatch({ selection: EditorSelection.cursor(head), annotations: Transaction.addToHistory.of(false) });
  }

  setGrammar(ext: Extension): void {
    this.grammar = ext;
    this.shown?.dispatch({ effects: this.grammarComp.reconfigure(ext) });
  }

  setKeymap(ext: Extension): void {
    this.keys = ext;
    this.shown?.dispatch({ effects: this.keymapComp.reconfigure(ext) });
  }

  focus(): void {
    this.shown?.focus();
  }

  /** endEditing makes the editor read-only for good (the session ended). */
  endEditing(): void {
    this.ended = true;
    this.shown?.dispatch({ effects: this.editComp.reconfigure(readOnly) });
  }

  text(): string {
    return this.view.state.doc.toString();
  }

  /**
   * insertBelow adds text after the document, a blank line apart, as this person's
   * edit (undoable, shared and replayed like typing), and puts the caret at its start.
   * Nothing already there is replaced. Returns false when the editor is read-only.
   */
  insertBelow(text: string): boolean {
    if (this.ended || !this.shown) return false;
    const view = this.shown;
    const doc = view.state.doc;
    const tail = doc.sliceString(Math.max(0, doc.length - 2));
    const gap = doc.length === 0 ? "" : tail.endsWith("\n\n") ? "" : tail.endsWith("\n") ? "\n" : "\n\n";
    const at = doc.length + gap.length;
    view.dispatch({
      changes: { from: doc.length, insert: gap + text },
      selection: EditorSelection.cursor(at),
      scrollIntoView: true,
      userEvent: "input.insert",
    });
    view.focus();
    return true;
  }

  destroy(): void {
    this.shown?.destroy();
  }

  /** guard refuses local changes the server would refuse for size. */
  private guard(tr: Transaction): Transaction | readonly [] {
    if (!tr.docChanged) return tr;
    let inserted = 0;
    tr.changes.iterChanges((_a, _b, _c, _d, text) => (inserted += text.length));
    if (tr.newDoc.length > defaultMaxDocLength) {
      this.ev.refused("Not added: the document would pass its size limit (1 MiB).");
      return [];
    }
    if (inserted > maxPaste) {
      this.ev.refused("Not added: paste at most 512 KiB of text at once.");
      return [];
    }
    return tr;
  }

  private onUpdate(u: ViewUpdate): void {
    if (u.transactions.some((tr) => tr.docChanged && !tr.annotation(Transaction.remote))) this.ev.edited();
    this.ev.updated(u);
  }
}
