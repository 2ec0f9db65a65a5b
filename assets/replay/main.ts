// Playback on the replay page (views/replay.templ), loaded by that page only. htmx
// fetches every frame (the form #replay-form answers the "replay-frame" event with a
// GET of ?v=N and swaps #replay-frame); this script only decides when, and which
// version:
//
// - Moving the slider asks for the version under the thumb at most every FRAME_MS,
//   and always for the one where it stops.
// - Play runs a clock at 1×, 4× or 16×, and every FRAME_MS asks for the version the
//   clock has reached. One request at a time: while one is on its way nothing else is
//   asked, so a slow server makes playback skip frames, never queue them. At 16× a
//   busy stretch of typing is a few frames per second, not sixteen times the typing.
// - The clock follows the real times of the updates, with pauses cut to 2 s on the
//   server: the form carries the clock at the bounds of the timeline's buckets
//   (data-clock-versions, data-clock-ms), and between two bounds the versions are
//   spread evenly.
//
// Without this script the slider is a plain GET form and the steps are links.

const FRAME_MS = 250;
const STUCK_MS = 15000; // a request not answered by then is forgotten

interface Clock {
  versions: number[]; // versions[i] is reached ms[i] ms into playback at 1×
  ms: number[];
}

function numbers(s: string | undefined): number[] {
  return (s ?? "").split(",").filter((x) => x !== "").map(Number);
}

// versionAt returns the version the playback clock has reached at t ms.
function versionAt(c: Clock, t: number): number {
  const { versions, ms } = c;
  const last = versions.length - 1;
  if (last < 0) return 0;
  if (t >= ms[last]) return versions[last];
  let j = 0;
  while (j < last && ms[j + 1] <= t) j++;
  const span = ms[j + 1] - ms[j];
  const frac = span > 0 ? (t - ms[j]) / span : 1;
  return Math.min(versions[j + 1], versions[j] + Math.floor(frac * (versions[j + 1] - versions[j])));
}

// clockAt returns when the playback clock reaches version v.
function clockAt(c: Clock, v: number): number {
  const { versions, ms } = c;
  for (let j = 0; j + 1 < versions.length; j++) {
    if (v < versions[j + 1]) {
      const n = versions[j + 1] - versions[j];
      return ms[j] + (n > 0 ? ((v - versions[j]) / n) * (ms[j + 1] - ms[j]) : 0);
    }
  }
  return ms[ms.length - 1] ?? 0;
}

function start(): void {
  const form = document.getElementById("replay-form") as HTMLFormElement | null;
  const slider = document.getElementById("replay-slider") as HTMLInputElement | null;
  const controls = document.querySelector<HTMLElement>("[data-replay-playback]");
  const play = document.getElementById("replay-play") as HTMLButtonElement | null;
  if (!form || !slider || !controls || !play) return;
  const playLabel = play.querySelector<HTMLElement>("[data-replay-play-label]");
  const clock: Clock = { versions: numbers(form.dataset.clockVersions), ms: numbers(form.dataset.clockMs) };
  const max = Number(slider.max);

  const frameVersion = () => Number(document.getElementById("replay-frame")?.dataset.version ?? slider.value);
  let shown = frameVersion(); // the version on screen
  let want = shown; // the version to show: the slider's, or the clock's
  let inFlight = false;
  let sentAt = 0;
  let later = 0; // a pump waiting for FRAME_MS to pass
  let dragging = false;
  let followed = false; // a step or a run link asked for a frame: show where it leads

  let playing = false;
  let speed = 1;
  let t = 0; // playback clock, ms at 1×
  let tickedAt = 0;
  let ticker = 0;

  // pump asks for want, unless it is shown, a request is on its way, or the last one
  // left less than FRAME_MS ago (then it tries again when that time has passed).
  function pump(): void {
    const now = performance.now();
    if (inFlight && now - sentAt > STUCK_MS) inFlight = false;
    if (inFlight || want === shown) return;
    if (now - sentAt < FRAME_MS) {
      if (!later) later = window.setTimeout(() => ((later = 0), pump()), FRAME_MS - (now - sentAt));
      return;
    }
    inFlight = true;
    sentAt = now;
    slider.value = String(want);
    if ("htmx" in window) {
      form!.dispatchEvent(new CustomEvent("replay-frame"));
    } else {
      form!.requestSubmit(); // htmx did not load: a plain GET of the page
    }
  }

  function setPlaying(on: boolean): void {
    playing = on;
    play!.setAttribute("aria-pressed", String(on));
    if (playLabel) playLabel.textContent = on ? "Pause" : "Play";
    window.clearInterval(ticker);
    if (!on) return;
    if (shown >= max) {
      t = 0; // from the start again
      want = 0;
    } else {
      t = clockAt(clock, shown);
    }
    tickedAt = performance.now();
    ticker = window.setInterval(tick, FRAME_MS);
    pump();
  }

  function tick(): void {
    const now = performance.now();
    t += (now - tickedAt) * speed;
    tickedAt = now;
    want = versionAt(clock, t);
    if (want >= max && shown >= max) {
      setPlaying(false);
      return;
    }
    pump();
  }

  form.addEventListener("htmx:afterRequest", () => {
    inFlight = false;
    pump();
  });
  // htmx:load fires on every element htmx puts in the page: here, each new frame.
  document.addEventListener("htmx:load", (e) => {
    if ((e.target as Element | null)?.id !== "replay-frame") return;
    shown = frameVersion();
    if (followed) {
      followed = false;
      want = shown;
    }
    if (!dragging) slider.value = String(shown);
    if (playing && want >= max && shown >= max) setPlaying(false);
  });

  slider.addEventListener("pointerdown", () => {
    dragging = true;
    setPlaying(false);
  });
  window.addEventListener("pointerup", () => (dragging = false));
  window.addEventListener("pointercancel", () => (dragging = false));
  slider.addEventListener("input", () => {
    if (playing) setPlaying(false);
    want = Number(slider.value);
    pump();
  });
  play.addEventListener("click", () => setPlaying(!playing));
  for (const b of controls.querySelectorAll<HTMLButtonElement>("[data-speed]")) {
    b.addEventListener("click", () => {
      speed = Number(b.dataset.speed) || 1;
      for (const o of controls.querySelectorAll("[data-speed]")) o.setAttribute("aria-pressed", String(o === b));
    });
  }
  // A step or a run picked by hand stops playback, and moves where it leads.
  document.addEventListener("htmx:beforeRequest", (e) => {
    if (e.target === form) return;
    setPlaying(false);
    followed = true;
  });

  controls.hidden = false;
}

if (document.readyState === "loading") {
  document.addEventListener("DOMContentLoaded", start);
} else {
  start();
}
