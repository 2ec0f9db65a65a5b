// The runner island's entry point (static/dist runner-[hash].js, a module script in the
// pad's output panel). It mounts a RunnerPanel on every element with
// data-island="runner" (on load and on content htmx swaps in), connects it to the
// editor island's bridge, and tears it down (terminating its workers) when htmx
// removes the element.

import type { EditorBridge } from "./share";
import { RunnerPanel } from "./panel";

const selector = '[data-island="runner"]';
type Mounted = HTMLElement & { duetRunner?: RunnerPanel };
const panels = new Map<Element, RunnerPanel>();

/** The editor's bridge, if the editor island is already up (it also announces it). */
function currentBridge(): EditorBridge | null {
  return (document.getElementById("editor") as (HTMLElement & { duetEditor?: EditorBridge }) | null)?.duetEditor ?? null;
}

function mountIn(root: ParentNode | Element): void {
  const found = Array.from(root.querySelectorAll<Mounted>(selector));
  if (root instanceof HTMLElement && root.matches(selector)) found.unshift(root as Mounted);
  for (const el of found) {
    if (panels.has(el)) continue;
    try {
      const panel = new RunnerPanel(el);
      panel.mount();
      panels.set(el, panel);
      el.duetRunner = panel;
      const bridge = currentBridge();
      if (bridge) panel.attach(bridge);
    } catch (e) {
      console.error("duet runner: could not start", e);
    }
  }
}

document.addEventListener("duet:editor-ready", (e) => {
  const bridge = (e as CustomEvent<EditorBridge>).detail;
  if (!bridge) return;
  for (const p of panels.values()) p.attach(bridge);
});
document.addEventListener("htmx:load", (e) => {
  if (e.target instanceof Element) mountIn(e.target);
});
document.addEventListener("htmx:beforeCleanupElement", (e) => {
  const p = e.target instanceof Element ? panels.get(e.target) : undefined;
  if (!p) return;
  p.destroy();
  panels.delete(e.target as Element);
});
if (document.readyState === "loading") {
  document.addEventListener("DOMContentLoaded", () => mountIn(document));
} else {
  mountIn(document);
}
