// Page glue, loaded on every page as a module (no inline script: CSP script-src 'self').
//
// Copy buttons: <button type="button" data-copy-target="share-url">Copy link</button>
// copies the value (input, textarea) or the text of the element with id "share-url", then
// says "Copied" on the button for a moment. The button is a polite live region, so screen
// readers announce the change. Without the Clipboard API (plain http on a LAN address is
// not a secure context) the text is selected and the legacy copy command tried; if that
// fails too, the button asks for Ctrl+C. A button rendered with `hidden` is shown here,
// so pages can hide copy buttons from visitors without JavaScript.

const FLASH_MS = 2000;
const SELECTOR = "button[data-copy-target]";

const labels = new WeakMap<HTMLElement, string>();
const timers = new WeakMap<HTMLElement, number>();

function isField(el: Element): el is HTMLInputElement | HTMLTextAreaElement {
  return el instanceof HTMLInputElement || el instanceof HTMLTextAreaElement;
}

function select(el: Element): void {
  if (isField(el)) {
    el.focus();
    el.select();
    return;
  }
  const range = document.createRange();
  range.selectNodeContents(el);
  const sel = window.getSelection();
  sel?.removeAllRanges();
  sel?.addRange(range);
}

async function copy(button: HTMLElement): Promise<void> {
  const target = document.getElementById(button.dataset.copyTarget ?? "");
  if (!target) return;
  const text = isField(target) ? target.value : (target.textContent ?? "").trim();
  let copied = false;
  if (navigator.clipboard && window.isSecureContext) {
    try {
      await navigator.clipboard.writeText(text);
      copied = true;
    } catch {
      // permission refused: fall through to selecting the text
    }
  }
  if (!copied) {
    select(target);
    try {
      copied = document.execCommand("copy");
    } catch {
      copied = false;
    }
  }
  flash(button, copied ? "Copied" : "Press Ctrl+C to copy");
}

function flash(button: HTMLElement, message: string): void {
  if (!labels.has(button)) labels.set(button, button.textContent ?? "");
  clearTimeout(timers.get(button));
  button.textContent = message;
  timers.set(
    button,
    window.setTimeout(() => {
      button.textContent = labels.get(button) ?? "";
    }, FLASH_MS),
  );
}

// enhance prepares the copy buttons in root (the document, or content htmx swapped in).
function enhance(root: ParentNode): void {
  const buttons = root.querySelectorAll<HTMLButtonElement>(SELECTOR);
  const self = root instanceof Element && root.matches(SELECTOR) ? [root as HTMLButtonElement] : [];
  for (const b of [...self, ...buttons]) {
    if (!b.hasAttribute("aria-live")) b.setAttribute("aria-live", "polite");
    b.hidden = false;
  }
}

// One delegated listener serves buttons present now and any swapped in later.
document.addEventListener("click", (e) => {
  const button = (e.target as Element | null)?.closest?.<HTMLElement>(SELECTOR);
  if (button) void copy(button);
});
// htmx:load fires for every piece of content htmx adds (nothing happens without htmx).
document.addEventListener("htmx:load", (e) => {
  if (e.target instanceof Element) enhance(e.target);
});
if (document.readyState === "loading") {
  document.addEventListener("DOMContentLoaded", () => enhance(document));
} else {
  enhance(document);
}

// Notes (views/notes.templ): in a textarea marked data-enter-submits, Enter saves the
// form and Shift+Enter starts a new line. When htmx saved a note, the box is emptied
// for the next; when it did not (refused, or the connection dropped), the words stay
// in the box and the form says why.
document.addEventListener("keydown", (e) => {
  const box = e.target;
  if (!(box instanceof HTMLTextAreaElement) || !box.hasAttribute("data-enter-submits")) return;
  if (e.key !== "Enter" || e.shiftKey || e.isComposing) return;
  e.preventDefault();
  if (box.value.trim() !== "") box.form?.requestSubmit();
});
document.addEventListener("htmx:afterRequest", (e) => {
  const form = e.target;
  if (!(form instanceof HTMLFormElement) || !form.hasAttribute("data-note-form")) return;
  const detail = (e as CustomEvent<{ successful: boolean; failed: boolean; xhr: XMLHttpRequest }>).detail;
  const error = form.querySelector<HTMLElement>(".note-error");
  const box = form.querySelector<HTMLTextAreaElement>("textarea");
  if (detail.successful) {
    if (box) box.value = "";
    if (error) error.textContent = "";
    box?.focus();
    return;
  }
  const status = detail.xhr?.status ?? 0;
  const why = status >= 400 && status < 500 ? detail.xhr.responseText.slice(0, 300) : "the connection dropped.";
  if (error) error.textContent = `Not saved: ${why} Your note is still here.`;
});
