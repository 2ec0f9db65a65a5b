// The session's language (python, javascript, typescript or sql) as the page and then
// the server say it: announced to the page (the mount element's data-language, and a
// duet:language event that the runner island follows) and given to the editor as a
// grammar. Grammars are loaded on first use (the page's own language right away), so
// the editor shows plain text for a moment, a switch can take a while, and the last
// switch wins. data-language-loaded tells which grammar the editor has.

import type { Extension } from "@codemirror/state";
import { type Language, isLanguage, languageSupport } from "./setup";

/** Where the grammar goes: the editor's language compartment. */
export interface GrammarTarget {
  setGrammar(ext: Extension): void;
}

export class LanguageSwitch {
  private lang: Language;
  private loaded: Language | null = null; // the grammar the target has
  private seq = 0; // the latest switch; an older load that finishes late is dropped
  private stopped = false;

  constructor(
    private readonly el: HTMLElement,
    lang: Language,
    private readonly target: GrammarTarget,
  ) {
    this.lang = lang;
    languageSupport(lang).catch(() => {}); // start fetching the grammar now; start() applies it
  }

  get current(): Language {
    return this.lang;
  }

  /** start, once the editor shows: loads the grammar of the page's language. */
  start(): void {
    void this.set(this.lang);
  }

  /** set switches to lang (anything else is ignored) and loads its grammar. */
  async set(lang: string): Promise<void> {
    if (!isLanguage(lang)) return;
    const changed = lang !== this.lang;
    this.lang = lang;
    this.el.dataset.language = lang;
    if (changed) document.dispatchEvent(new CustomEvent("duet:language", { detail: { language: lang } }));
    if (lang === this.loaded) return;
    const seq = ++this.seq;
    let ext: Extension;
    try {
      ext = await languageSupport(lang);
    } catch (e) {
      console.warn(`duet editor: could not load the ${lang} grammar`, e); // offline: plain text until the next switch
      return;
    }
    if (seq !== this.seq || this.stopped) return;
    this.loaded = lang;
    this.target.setGrammar(ext);
    this.el.dataset.languageLoaded = lang;
  }

  destroy(): void {
    this.stopped = true;
  }
}
