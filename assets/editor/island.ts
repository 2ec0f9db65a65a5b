// The editor island: a CodeMirror 6 editor on the pad page that stays in step with the
// session through the server, never loses an edit, and shows the other participants'
// cursors. This file only wires the parts together; each owns its state and timers:
//
//   editor.ts      the CodeMirror view, its state, the size limits of a change
//   language.ts    the session's language and its grammar
//   keymap.ts      this person's keys: the default or Vim's
//   offline.ts     the collab clients this tab speaks for, kept in localStorage
//   sync.ts        push, pull and receive updates (peer.ts: one collab client)
//   link.ts        the socket's life: reconnects (connection.ts), closes, watchdog
//   join.ts        the socket's URL, and the name this tab joins under
//   people.ts      who is here; cursorsync.ts and cursors.ts: where they are
//   status.ts      the connection status line
//   bridge.ts      what the runner island gets
//
// Life of an edit: typing makes an unconfirmed update (collab), saved to localStorage
// within 200 ms and at once when the page hides; pushed within 50 ms while typing
// (at once when idle), with one push in flight; confirmed when the server's update
// with our client id comes back; then dropped from storage. If the socket drops, the
// island reconnects with backoff, pulls what it missed from its own synced version,
// and pushes again; the server deduplicates what it had accepted already.

import { Bridge } from "./bridge";
import { CursorSync } from "./cursorsync";
import { Editor } from "./editor";
import { Join } from "./join";
import { KeymapChoice } from "./keymap";
import { LanguageSwitch } from "./language";
import { Link } from "./link";
import { Offline, restore } from "./offline";
import { People } from "./people";
import type { ServerMessage } from "./protocol";
import { type Language, isLanguage } from "./setup";
import { StatusLine } from "./status";
import { Sync } from "./sync";

/** The data attributes of the mount element (views/pad.templ) that the island starts from. */
interface PageData {
  sessionId: string;
  version: number; // of text
  language: Language;
  text: string; // the document as the page was rendered
}

function readPage(el: HTMLElement): PageData | null {
  const d = el.dataset;
  const version = Number(d.version);
  if (!d.sessionId || !Number.isInteger(version) || version < 0) return null;
  const code = el.querySelector(".editor-fallback code") ?? el.querySelector("pre");
  return {
    sessionId: d.sessionId,
    version,
    language: isLanguage(d.language) ? d.language : "python",
    text: code?.textContent ?? "",
  };
}

export class Island {
  private readonly status = new StatusLine(document.getElementById("connection-status"));
  private readonly people = new People();
  private readonly editor: Editor;
  private readonly language: LanguageSwitch;
  private readonly keymap: KeymapChoice;
  private readonly join: Join;
  private readonly link: Link;
  private readonly bridge: Bridge;
  // Made by init, once the saved clients are restored; no event reaches the island before.
  private offline!: Offline;
  private sync!: Sync;
  private cursors!: CursorSync;
  private destroyed = false;

  private constructor(
    readonly el: HTMLElement,
    private readonly page: PageData,
  ) {
    this.editor = new Editor({
      edited: () => {
        this.offline.persistSoon();
        this.sync.push();
        this.renderStatus();
      },
      updated: (u) => this.cursors.viewUpdated(u),
      refused: (text) => this.status.flash(text),
    });
    this.language = new LanguageSwitch(el, page.language, this.editor);
    this.keymap = new KeymapChoice(el, this.editor);
    this.join = new Join(el, page.sessionId, () => this.link.reconnect("rename"));
    this.link = new Link(page.sessionId, () => this.join.url(), {
      opened: () => this.sync.opened(),
      message: (m) => this.onMessage(m),
      closed: () => this.sync.closed(),
      ended: () => this.end(),
      changed: () => this.renderStatus(),
    });
    this.bridge = new Bridge({
      getText: () => this.editor.text(),
      send: (msg) => this.sync.send(msg),
      userId: () => this.people.myId,
      language: () => this.language.current,
    });
  }

  /**
   * mount replaces the fallback <pre> of el with the editor. It adopts the saved state
   * of a tab that is gone (this tab before a reload, preferably), so unconfirmed edits
   * survive, and delivers any other such state in the background.
   */
  static async mount(el: HTMLElement): Promise<Island | null> {
    const page = readPage(el);
    if (!page) {
      console.error("duet editor: the mount element lacks data-session-id or data-version");
      return null;
    }
    const island = new Island(el, page);
    await island.init();
    return island;
  }

  private async init(): Promise<void> {
    const restored = await restore(this.page.sessionId, this.page, this.editor);
    // From here to the end nothing waits, so no event finds a part missing.
    this.editor.show(this.el, restored.state);
    this.offline = new Offline(this.page.sessionId, this.editor, restored);
    this.sync = new Sync(this.offline, this.link, {
      applied: (tr, u) => this.cursors.followAuthor(tr, u),
      received: (ownMain) => this.received(ownMain),
      refused: (text) => this.status.flash(text),
    });
    this.cursors = new CursorSync(this.editor.view, this.offline, this.people, this.sync);

    this.el.dataset.syncedVersion = String(this.offline.main.version);
    performance.mark("duet:editor-ready");
    this.el.dataset.ready = "true";
    this.language.start();
    this.keymap.start();
    this.join.start();
    this.renderStatus();
    this.link.start(this.sync);
    this.offline.persistSoon();
    this.bridge.announce(this.el);
    document.addEventListener("click", this.onInsertCode);
    this.pad()?.setAttribute("data-editing", "");
  }

  /** pad is the page element whose data-editing shows the editor's page controls. */
  private pad(): Element | null {
    return this.el.closest(".pad-page");
  }

  /**
   * onInsertCode: a button data-insert-code="ID" (the question's starter code, for
   * interviewers) adds the text of element ID below the code, as this person's edit.
   */
  private onInsertCode = (e: MouseEvent): void => {
    const button = (e.target as Element | null)?.closest?.<HTMLElement>("[data-insert-code]");
    const source = button && document.getElementById(button.dataset.insertCode ?? "");
    if (!source) return;
    e.preventDefault();
    if (!this.editor.insertBelow(source.textContent ?? "")) this.status.flash("The interview has ended: the code cannot change.");
  };

  private onMessage(m: ServerMessage): void {
    try {
      switch (m.type) {
        case "sync":
          this.people.synced(m);
          this.cursors.synced();
          void this.language.set(m.language);
          this.sync.onSync(m);
          break;
        case "update":
          this.sync.onUpdate(m);
          break;
        case "cursor":
          this.cursors.onCursor(m);
          break;
        case "user_joined":
          this.people.joined(m);
          this.cursors.refresh(m.userId);
          break;
        case "user_left":
          this.people.left(m.userId);
          this.cursors.left(m.userId);
          break;
        case "language":
          void this.language.set(m.language);
          break;
        case "error":
          this.sync.onError(m);
          break;
      }
    } finally {
      this.bridge.emit(m);
    }
  }

  /** received: the sync took in a sync or an update message. */
  private received(ownMain: boolean): void {
    this.cursors.received(ownMain || this.sync.caughtUp);
    this.el.dataset.syncedVersion = String(this.offline.main.version);
    this.offline.persistSoon();
    this.renderStatus();
  }

  private renderStatus(): void {
    this.status.update({
      ended: this.link.ended,
      live: this.sync.live,
      refused: this.link.refused,
      pending: this.offline.pendingCount(),
    });
  }

  /** end: the session was deleted. The editor stays readable; nothing is sent again. */
  private end(): void {
    this.sync.end();
    this.offline.end();
    this.editor.endEditing();
    this.pad()?.removeAttribute("data-editing");
    this.cursors.clear();
    this.renderStatus();
  }

  /** destroy tears the island down (htmx removed it): saves, closes, releases. */
  destroy(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    this.offline.destroy(); // first: whatever happens next, the edits are kept
    document.removeEventListener("click", this.onInsertCode);
    this.pad()?.removeAttribute("data-editing");
    this.link.destroy();
    this.sync.destroy();
    this.cursors.destroy();
    this.language.destroy();
    this.keymap.destroy();
    this.join.destroy();
    this.status.destroy();
    this.editor.destroy();
  }
}
