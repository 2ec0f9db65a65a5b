// The editor's configuration: the features a coding pad needs (line numbers, bracket
// matching, auto-indent, search, history, highlighting), a theme that follows the
// system's colour scheme, and the languages' grammars. Colours live in
// assets/css/editor.css: the highlighter only assigns classes (tok-*), so light and
// dark are plain CSS.

// No completion popup: nobody asked for one, it costs 10 KB gzip of a tight budget,
// and an interviewer usually wants to see what the candidate knows.
import { closeBrackets, closeBracketsKeymap } from "@codemirror/autocomplete";
import { defaultKeymap, history, historyKeymap, indentWithTab } from "@codemirror/commands";
import {
  HighlightStyle,
  bracketMatching,
  foldGutter,
  foldKeymap,
  indentOnInput,
  indentUnit,
  syntaxHighlighting,
} from "@codemirror/language";
import { Compartment, EditorState, type Extension } from "@codemirror/state";
import {
  EditorView,
  crosshairCursor,
  drawSelection,
  dropCursor,
  highlightActiveLine,
  highlightActiveLineGutter,
  highlightSpecialChars,
  keymap,
  lineNumbers,
  rectangularSelection,
  ViewPlugin,
} from "@codemirror/view";
import { tags as t } from "@lezer/highlight";
import { searchOnDemand } from "./search";

/** Languages the island can highlight; the server refuses anything else. */
export type Language = "python" | "javascript" | "typescript" | "sql";

const languages: readonly string[] = ["python", "javascript", "typescript", "sql"];

export function isLanguage(s: unknown): s is Language {
  return typeof s === "string" && languages.includes(s);
}

/**
 * duetHighlight gives syntax tokens classes instead of colours; editor.css colours
 * them for light and dark schemes.
 */
const duetHighlight = HighlightStyle.define([
  { tag: [t.keyword, t.controlKeyword, t.moduleKeyword, t.operatorKeyword], class: "tok-keyword" },
  { tag: [t.definitionKeyword, t.modifier], class: "tok-keyword" },
  { tag: [t.self, t.bool, t.null, t.atom], class: "tok-atom" },
  { tag: [t.number, t.integer, t.float], class: "tok-number" },
  { tag: [t.string, t.character, t.docString], class: "tok-string" },
  { tag: [t.regexp, t.escape, t.special(t.string)], class: "tok-string2" },
  { tag: [t.function(t.variableName), t.function(t.propertyName)], class: "tok-function" },
  { tag: t.definition(t.function(t.variableName)), class: "tok-function tok-definition" },
  { tag: [t.className, t.typeName, t.definition(t.className)], class: "tok-type" },
  { tag: [t.standard(t.variableName), t.special(t.variableName)], class: "tok-builtin" },
  { tag: t.definition(t.variableName), class: "tok-definition" },
  { tag: t.propertyName, class: "tok-property" },
  { tag: [t.comment, t.lineComment, t.blockComment], class: "tok-comment" },
  { tag: [t.meta, t.annotation, t.processingInstruction], class: "tok-meta" },
  { tag: [t.operator, t.compareOperator, t.arithmeticOperator, t.logicOperator], class: "tok-operator" },
  { tag: t.invalid, class: "tok-invalid" },
]);

/**
 * The grammar and indent unit of a language. Each grammar is a chunk loaded when the
 * session is in that language (TypeScript is a dialect of the JavaScript grammar, so
 * the two share one), so a pad loads only its own: the pad's JavaScript must stay
 * under 200 KB gzip in every language, and the grammars are 4 to 35 KB each.
 */
export async function languageSupport(lang: Language): Promise<Extension> {
  switch (lang) {
    case "python": {
      const { python } = await import("@codemirror/lang-python");
      return [python(), indentUnit.of("    ")];
    }
    case "javascript":
    case "typescript": {
      const { javascript } = await import("@codemirror/lang-javascript");
      return [javascript({ typescript: lang === "typescript" }), indentUnit.of("  ")];
    }
    case "sql": {
      const { sql, SQLite } = await import("@codemirror/lang-sql");
      return [sql({ dialect: SQLite }), indentUnit.of("  ")];
    }
  }
}

const darkQuery = "(prefers-color-scheme: dark)";

/**
 * colorScheme tells CodeMirror whether the page is dark (for the few colours of its
 * own base theme, like the search panel) and follows the system when it changes.
 */
export function colorScheme(): Extension {
  const media = typeof matchMedia === "function" ? matchMedia(darkQuery) : null;
  if (!media) return [];
  const scheme = new Compartment();
  const dark = () => EditorView.darkTheme.of(media.matches);
  return [
    scheme.of(dark()),
    ViewPlugin.define((view) => {
      const onChange = () => view.dispatch({ effects: scheme.reconfigure(dark()) });
      media.addEventListener("change", onChange);
      return { destroy: () => media.removeEventListener("change", onChange) };
    }),
  ];
}

/** The editor's features, without collab and the language (the island adds those). */
export function baseSetup(): Extension {
  return [
    lineNumbers(),
    highlightActiveLineGutter(),
    highlightSpecialChars(),
    history(),
    foldGutter(),
    drawSelection(),
    dropCursor(),
    EditorState.allowMultipleSelections.of(true),
    EditorState.tabSize.of(4),
    indentOnInput(),
    syntaxHighlighting(duetHighlight),
    bracketMatching(),
    closeBrackets(),
    rectangularSelection(),
    crosshairCursor(),
    highlightActiveLine(),
    searchOnDemand(), // before the keymap below: once loaded, its keys come first
    EditorView.contentAttributes.of({ "aria-label": "Code editor" }),
    keymap.of([
      ...closeBracketsKeymap,
      ...defaultKeymap,
      ...historyKeymap,
      ...foldKeymap,
      indentWithTab, // Escape then Tab still moves focus out of the editor
    ]),
  ];
}
