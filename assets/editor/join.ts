// How this tab joins the session's socket, and under which name.
//
// Who this tab is comes from the browser's identity cookie, which is HttpOnly: the
// server reads it from the socket's upgrade request (same origin), and the page never
// sees it. So the URL carries only the display name (?userName=…). The island learns
// its own participant id, the public one, from sync.you (people.ts).
//
// The server learns a name when a socket joins, so a rename (the join form's
// duet:renamed event, or data-user-name changed on the mount element) reconnects.

export class Join {
  private readonly base: string;
  private name: string;
  private observer: MutationObserver | null = null;

  constructor(
    private readonly el: HTMLElement,
    sessionId: string,
    private readonly renamed: () => void,
  ) {
    const d = el.dataset;
    this.base = d.wsUrl || `/ws/${sessionId}`;
    this.name = d.userName ?? "";
  }

  /** The socket URL of the next connection attempt. */
  url(): string {
    const u = new URL(this.base, location.href);
    u.protocol = u.protocol === "https:" ? "wss:" : "ws:";
    if (this.name) u.searchParams.set("userName", this.name);
    return u.toString();
  }

  /** start follows renames from now on. */
  start(): void {
    document.addEventListener("duet:renamed", this.onRenamed);
    this.observer = new MutationObserver(() => this.rename(this.el.dataset.userName ?? ""));
    this.observer.observe(this.el, { attributes: true, attributeFilter: ["data-user-name"] });
  }

  destroy(): void {
    this.observer?.disconnect();
    document.removeEventListener("duet:renamed", this.onRenamed);
  }

  private onRenamed = (e: Event): void => {
    const name = (e as CustomEvent<{ name?: unknown }>).detail?.name;
    if (typeof name === "string") this.rename(name);
  };

  private rename(name: string): void {
    if (name === this.name) return;
    this.name = name;
    this.el.dataset.userName = name; // the observer sees its own write as no change
    this.renamed();
  }
}
