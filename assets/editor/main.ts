// The editor island's entry point (static/dist editor-[hash].js, a module script on the
// pad page). It mounts an editor on every element with data-island="editor": on page
// load, and on content htmx swaps in later; it tears the editor down (saving unsent
// edits, closing the socket) when htmx cleans the element up. hx-preserve on the mount
// element keeps one editor across swaps of the page around it.

import { Island } from "./island";

const selector = '[data-island="editor"]';
const islands = new Map<Element, Promise<Island | null>>();

function mountIn(root: ParentNode | Element): void {
  const found = Array.from(root.querySelectorAll<HTMLElement>(selector));
  if (root instanceof HTMLElement && root.matches(selector)) found.unshift(root);
  for (const el of found) {
    if (islands.has(el)) continue;
    islands.set(
      el,
      Island.mount(el).catch((e) => {
        console.error("duet editor: could not start", e);
        return null;
      }),
    );
  }
}

function unmount(el: Element): void {
  const p = islands.get(el);
  if (!p) return;
  islands.delete(el);
  void p.then((island) => island?.destroy());
}

// htmx:load fires for the body on start and for everything htmx swaps in.
document.addEventListener("htmx:load", (e) => {
  if (e.target instanceof Element) mountIn(e.target);
});
document.addEventListener("htmx:beforeCleanupElement", (e) => {
  if (e.target instanceof Element && islands.has(e.target)) unmount(e.target);
});
// Without htmx (or before it starts), the page itself.
if (document.readyState === "loading") {
  document.addEventListener("DOMContentLoaded", () => mountIn(document));
} else {
  mountIn(document);
}
