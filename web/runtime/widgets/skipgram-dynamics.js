// SkipGramDynamics: skip-gram with negative sampling trained on the toy corpus directly in 2-D,
// one SGD step per (centre, neighbour) pair. For the step on screen: the centre word, its true
// neighbour and the negatives drawn, and arrows for the two halves of the centre's update (the
// neighbour's pull, each negative's push). Play/Pause, Step, a scrubber over every step; seed,
// window and k retrain. The whole run comes from lmlab.word2vec.skipgram_dynamics once per
// (seed, window, k); scrubbing and playing only redraw from it.
//
// The page carries only the first paint: the picture, readout and loss curve at the run's last
// step (a "frame", embeddedState below); the run itself (thousands of steps) is asked of Python
// once it is ready, and the controls wait for it.
//
// Config: fn ("lmlab.word2vec.skipgram_dynamics"), kwargs ({seed, window, k}).
// Fragment: #KEY-step=812&KEY-seed=0&KEY-window=2&KEY-k=5
import { escapeHtml, widgetFooter } from "./markup.js";
import { showError, showLive } from "./status.js";
import { readFragment, writeFragment } from "./fragment.js";
import { latest } from "./latest.js";

const W = 560;
const H = 400;
const PAD = 30;
const ARROW_SCALE = 3; // the steps are short: arrows are drawn 3x longer (the legend says so)
const CHART = { w: 560, h: 150, left: 40, right: 10, top: 8, bottom: 24 };
const PLAY_MS = 12_000; // Play walks through the whole run in about this long
const DEFAULTS = { seed: 0, window: 2, k: 5 };
const fixed = (x, digits) => Number(x).toFixed(digits);
const count = (n) => Number(n).toLocaleString("en-US");

// skipgram_dynamics sends its figures as integer thousandths in flat arrays (see its docstring):
// v / 1000 is exactly the float numpy's round(x, 3) gives.
const THOUSANDTHS = ["start", "after", "pull", "push", "p_before", "p_after", "loss", "epoch_loss", "curve", "bounds"];

/** Python's answer as numbers: the same object with its thousandths divided out. */
export function decodeRun(sent) {
  const run = { ...sent };
  for (const name of THOUSANDTHS) run[name] = sent[name].map((v) => v / 1000);
  return run;
}

const pair = (flat, i) => [flat[2 * i], flat[2 * i + 1]];

/** Every word's input vector after `step` updates: (V, 2), replayed from the start (a step
 * moves only its centre word's input vector). */
export function positionsAt(run, step) {
  const at = run.words.map((_, i) => pair(run.start, i));
  for (let t = 0; t < step; t++) at[run.centre[t]] = pair(run.after, t);
  return at;
}

/** The centre's input vector before step t (1-based), which its arrows start from. */
function before(run, t) {
  const c = run.centre[t - 1];
  for (let s = t - 2; s >= 0; s--) if (run.centre[s] === c) return pair(run.after, s);
  return pair(run.start, c);
}

/** What the picture, the readout and the chart show after `step` updates: all a first paint
 * needs, and all the page embeds (a few KB where the run is hundreds). */
export function frameAt(run, step) {
  const { words, categories, category_names, epoch_steps, bounds, curve, k } = run;
  const frame = { words, categories, category_names, epoch_steps, bounds, curve, steps: run.steps, step,
    positions: positionsAt(run, step), move: null };
  if (step > 0) {
    const t = step - 1;
    frame.move = {
      centre: run.centre[t], context: run.context[t], negatives: run.negatives.slice(t * k, (t + 1) * k),
      from: before(run, step), pull: pair(run.pull, t),
      push: Array.from({ length: k }, (_, j) => pair(run.push, t * k + j)),
      loss: run.loss[t], p_before: run.p_before[t], p_after: run.p_after[t],
    };
  }
  return frame;
}

/** The builder embeds this instead of the whole run (web/runtime/widgets.js, build/render_widgets.mjs). */
export function embeddedState(sent) {
  return frameAt(decodeRun(sent), sent.steps);
}

function scaler(frame) {
  const [x0, x1, y0, y1] = frame.bounds;
  const s = Math.min((W - 2 * PAD) / (x1 - x0 || 1), (H - 2 * PAD) / (y1 - y0 || 1));
  const cx = (W - s * (x1 - x0)) / 2;
  const cy = (H - s * (y1 - y0)) / 2;
  return { s, at: (x, y) => [cx + s * (x - x0), H - (cy + s * (y - y0))] };
}

// The explorer's category colours, leaving out its red and green, which here mean push and pull.
const PALETTE = [1, 2, 4, 5, 7, 6];
const colourOf = (frame, i) => PALETTE[frame.category_names.indexOf(frame.categories[i]) % PALETTE.length];

function arrow(from, delta, { s }, cls, head) {
  const [x1, y1] = from;
  const x2 = x1 + ARROW_SCALE * s * delta[0];
  const y2 = y1 - ARROW_SCALE * s * delta[1];
  if (Math.hypot(x2 - x1, y2 - y1) < 0.5) return "";
  return `<line class="${cls}" x1="${fixed(x1, 1)}" y1="${fixed(y1, 1)}" x2="${fixed(x2, 1)}" y2="${fixed(y2, 1)}" marker-end="url(#${head})"/>`;
}

/** The plot of a frame, with its step's words and arrows marked. */
export function plotSvg(frame, key) {
  const scale = scaler(frame);
  const { move } = frame;
  const role = new Map();
  let arrows = "";
  if (move) {
    for (const n of move.negatives) role.set(n, "is-negative");
    role.set(move.context, "is-context");
    role.set(move.centre, "is-centre");
    const from = scale.at(...move.from);
    arrows = arrow(from, move.pull, scale, "sg-pull", `${key}-sg-pull`) +
      move.push.map((push) => arrow(from, push, scale, "sg-push", `${key}-sg-push`)).join("");
  }
  const points = frame.words.map((word, i) => {
    const [px, py] = scale.at(...frame.positions[i]);
    const cls = `sg-pt sg-c${colourOf(frame, i)}${role.has(i) ? ` ${role.get(i)}` : ""}`;
    return `<g class="${cls}" transform="translate(${fixed(px, 1)} ${fixed(py, 1)})"><circle r="5"/>` +
      `<text x="7" y="4">${escapeHtml(word)}</text></g>`;
  });
  // the marked words last, so that they are drawn on top
  const order = frame.words.map((_, i) => i).sort((a, b) => role.has(a) - role.has(b));
  return `<svg class="sg-plot" viewBox="0 0 ${W} ${H}" aria-hidden="true" focusable="false">` +
    `<defs>${["pull", "push"].map((kind) => `<marker id="${key}-sg-${kind}" viewBox="0 0 10 10" refX="8" refY="5" markerWidth="5" markerHeight="5" orient="auto-start-reverse"><path d="M0 0L10 5L0 10z" class="sg-head is-${kind}"/></marker>`).join("")}</defs>` +
    `<g class="sg-points">${order.map((i) => points[i]).join("")}</g><g class="sg-arrows">${arrows}</g></svg>`;
}

/** The loss over the steps: the mean over the last epoch's worth of steps, every 10th step. */
export function chartSvg(frame) {
  const { w, h, left, right, top, bottom } = CHART;
  const { steps: n, step, curve, epoch_steps } = frame;
  const lo = Math.floor(Math.min(...curve) * 2) / 2;
  const hi = Math.ceil(Math.max(...curve) * 2) / 2;
  const x = (t) => left + (t / n) * (w - left - right);
  const y = (v) => top + (1 - (v - lo) / (hi - lo || 1)) * (h - top - bottom);
  const line = curve.map((v, i) => `${fixed(x(10 * i), 1)},${fixed(y(v), 1)}`).join(" ");
  const ticks = [];
  for (let v = lo; v <= hi + 1e-9; v += 0.5) {
    ticks.push(`<line class="sg-grid" x1="${left}" x2="${w - right}" y1="${fixed(y(v), 1)}" y2="${fixed(y(v), 1)}"/>` +
      `<text class="sg-tick" x="${left - 5}" y="${fixed(y(v) + 4, 1)}" text-anchor="end">${fixed(v, 1)}</text>`);
  }
  const epochs = [];
  for (let e = 1; e * epoch_steps < n; e++) {
    epochs.push(`<line class="sg-epoch" x1="${fixed(x(e * epoch_steps), 1)}" x2="${fixed(x(e * epoch_steps), 1)}" y1="${top}" y2="${h - bottom}"/>`);
  }
  const cursorAt = Math.min(Math.floor(Math.max(step - 1, 0) / 10), curve.length - 1);
  return `<svg class="sg-chart" viewBox="0 0 ${w} ${h}" aria-hidden="true" focusable="false">${ticks.join("")}${epochs.join("")}` +
    `<text class="sg-tick" x="${left}" y="${h - 6}">step 0</text><text class="sg-tick" x="${w - right}" y="${h - 6}" text-anchor="end">${count(n)}</text>` +
    `<polyline class="sg-loss" points="${line}"/>` +
    `<line class="sg-now" x1="${fixed(x(step), 1)}" x2="${fixed(x(step), 1)}" y1="${top}" y2="${h - bottom}"/>` +
    `<circle class="sg-now-dot" cx="${fixed(x(10 * cursorAt), 1)}" cy="${fixed(y(curve[cursorAt]), 1)}" r="3.5"/></svg>`;
}

/** What the frame's step did, in words (the same numbers the picture draws). */
export function readout(frame) {
  const { steps: n, step, move } = frame;
  if (!move) {
    return `Before training (step 0 of ${count(n)}): the input vectors start as small random numbers and the output vectors at 0, so the first steps move only the output vectors.`;
  }
  const w = (i) => frame.words[i];
  const epoch = Math.floor((step - 1) / frame.epoch_steps) + 1;
  // each negative once, with how often it was drawn; one equal to the neighbour is skipped
  const drawn = new Map();
  for (const i of move.negatives) drawn.set(i, (drawn.get(i) || 0) + 1);
  const negatives = [...drawn].map(([i, times]) => w(i) + (times > 1 ? ` ×${times}` : "") +
    (i === move.context ? " (skipped: it is the neighbour)" : ""));
  return `Step ${count(step)} of ${count(n)} (epoch ${epoch}): centre <strong>${escapeHtml(w(move.centre))}</strong>, ` +
    `neighbour <strong>${escapeHtml(w(move.context))}</strong>, negatives ${escapeHtml(negatives.join(", "))}. ` +
    `Loss of this pair ${fixed(move.loss, 3)}; σ(u·v), the model's belief that ${escapeHtml(w(move.context))} is a real neighbour, ` +
    `${fixed(move.p_before, 3)} before the step and ${fixed(move.p_after, 3)} after.`;
}

function legendHtml(frame) {
  const swatches = frame.category_names.map((name, c) =>
    `<span class="sg-key"><span class="sg-swatch sg-c${PALETTE[c % PALETTE.length]}" aria-hidden="true"></span>${escapeHtml(name)}</span>`).join("");
  return `<p class="sg-legend">${swatches}</p>
  <p class="sg-legend sg-legend-steps"><span class="sg-key"><span class="sg-ring is-centre" aria-hidden="true"></span>centre</span>
    <span class="sg-key"><span class="sg-ring is-context" aria-hidden="true"></span>neighbour</span>
    <span class="sg-key"><span class="sg-ring is-negative" aria-hidden="true"></span>negatives</span>
    <span class="sg-key"><span class="sg-line is-pull" aria-hidden="true"></span>pull of the neighbour</span>
    <span class="sg-key"><span class="sg-line is-push" aria-hidden="true"></span>push of each negative</span></p>
  <p class="sg-note">Dots are the input vectors (the embeddings kept). The arrows start at the centre word's place before the step and show its move split in two: towards the neighbour's output vector, away from each negative's (drawn ${ARROW_SCALE}× longer than they are).</p>`;
}

function options(values, chosen) {
  return values.map((v) => `<option value="${v}"${v === chosen ? " selected" : ""}>${v}</option>`).join("");
}

const isFrame = (state) => "positions" in state;

/** state: Python's whole run (the builder's call) or a frame of it (what the page embeds). */
export function render(config, state, key) {
  const id = (part) => `${key}-${part}`;
  const frame = isFrame(state) ? state : embeddedState(state);
  const n = frame.steps;
  const { seed, window, k } = { ...DEFAULTS, ...config.kwargs };
  return `<div class="sg" role="group" aria-labelledby="${id("title")}">
  <p class="widget-title" id="${id("title")}">Skip-gram dynamics: training in 2-D, one step at a time</p>
  <div class="sg-controls">
    <button type="button" class="sg-play" aria-pressed="false" disabled>Play</button>
    <button type="button" class="sg-step" disabled>Step</button>
    <label>Seed <input type="number" class="sg-seed" min="0" max="999" step="1" value="${seed}" disabled></label>
    <label>Window <select class="sg-window" disabled>${options([1, 2, 3], window)}</select></label>
    <label>Negatives k <select class="sg-k" disabled>${options([1, 2, 3, 5, 10], k)}</select></label>
  </div>
  <div class="sg-scrub">
    <label for="${id("step")}">Step</label>
    <input type="range" id="${id("step")}" class="sg-scrubber" min="0" max="${n}" step="1" value="${frame.step}"
      aria-valuetext="step ${count(frame.step)} of ${count(n)}" aria-describedby="${id("readout")}" disabled>
  </div>
  <div class="sg-figure">${plotSvg(frame, key)}</div>
  ${legendHtml(frame)}
  <p class="sg-readout" id="${id("readout")}">${readout(frame)}</p>
  <p class="sg-chart-title">Loss per pair, averaged over the last ${count(frame.epoch_steps)} steps (one pass over the text); dashed lines mark the passes.</p>
  <div class="sg-chart-box">${chartSvg(frame)}</div>
  ${widgetFooter("the run the book computed when it was built (seed 0, window 2, k 5)", "sg-announce")}
</div>`;
}

export function mount(element, context) {
  const { config, key } = context;
  if (!element.querySelector(".sg")) element.innerHTML = render(config, context.state, key);
  const $ = (selector) => element.querySelector(selector);
  const root = $(".sg");
  const scrubber = $(".sg-scrubber");
  const play = $(".sg-play");
  const announcer = $(".sg-announce");
  const status = $(".widget-status");
  let run = null; // the whole run, once Python has computed it; until then the page's frame
  let arrived = null;
  const runArrived = new Promise((resolve) => { arrived = resolve; });
  let settings = { ...DEFAULTS, ...config.kwargs };
  let step = context.state.step;
  let animation = 0; // requestAnimationFrame's id while playing
  let timer = 0;
  let speakTimer = 0;
  const reducedMotion = () => globalThis.matchMedia?.("(prefers-reduced-motion: reduce)").matches;
  // The controls are disabled until the run is here; an input that comes anyway (a script's)
  // is answered once it is.
  const withRun = (handler) => (...args) => (run ? handler(...args) : runArrived.then(() => handler(...args)));

  function draw() {
    const started = performance.now();
    const n = run.steps;
    const shown = frameAt(run, step);
    $(".sg-plot").outerHTML = plotSvg(shown, key);
    $(".sg-chart").outerHTML = chartSvg(shown);
    $(".sg-readout").innerHTML = readout(shown);
    scrubber.max = String(n);
    scrubber.value = String(step);
    scrubber.setAttribute("aria-valuetext", `step ${count(step)} of ${count(n)}`);
    $(".sg-step").disabled = step >= n;
    element.dataset.step = String(step);
    writeFragment(key, { step, ...settings });
    element.dispatchEvent(new CustomEvent("widget:drawn", { detail: { ms: performance.now() - started } }));
  }

  const say = () => { announcer.textContent = $(".sg-readout").textContent; };

  /** Says at once that Python is computing (the answer takes a while): status line, aria-busy. */
  function showBusy(text) {
    root.setAttribute("aria-busy", "true");
    status.dataset.state = "busy";
    status.textContent = text;
  }

  function stop() {
    cancelAnimationFrame(animation);
    clearTimeout(timer);
    animation = 0;
    timer = 0;
    play.textContent = "Play";
    play.setAttribute("aria-pressed", "false");
  }

  // Play: step by step on every frame; with reduced motion, one pass over the text (an epoch) a
  // second instead, each a single jump with nothing animated in between.
  function start() {
    const n = run.steps;
    if (step >= n) step = 0;
    play.textContent = "Pause";
    play.setAttribute("aria-pressed", "true");
    announcer.textContent = "Playing.";
    if (reducedMotion()) {
      const jump = () => {
        step = Math.min(n, step + run.epoch_steps);
        draw();
        if (step >= n) { stop(); say(); } else timer = setTimeout(jump, 1000);
      };
      timer = setTimeout(jump, 0);
      return;
    }
    const perMs = n / PLAY_MS;
    let last = performance.now();
    let owed = 0;
    const tick = (now) => {
      owed += (now - last) * perMs;
      last = now;
      const advance = Math.floor(owed);
      if (advance > 0) {
        owed -= advance;
        step = Math.min(n, step + advance);
        draw();
      }
      if (step >= n) { stop(); say(); return; }
      animation = requestAnimationFrame(tick);
    };
    animation = requestAnimationFrame(tick);
  }

  play.addEventListener("click", withRun(() => {
    if (animation || timer) { stop(); say(); } else start();
  }));
  $(".sg-step").addEventListener("click", withRun(() => {
    stop();
    step = Math.min(run.steps, step + 1);
    draw();
    say();
  }));
  scrubber.addEventListener("input", withRun(() => {
    stop();
    step = Number(scrubber.value);
    draw();
    clearTimeout(speakTimer);
    speakTimer = setTimeout(say, 300);
  }));

  // Training: only the newest (seed, window, k) reaches Python. Until its run is drawn the widget
  // says it is computing (this runs at once when Python is free: in the input's own task).
  const retrain = latest(async (wanted) => {
    const { step: wantedStep, ...asked } = wanted;
    showBusy(run ? `Training with seed ${asked.seed}, window ${asked.window}, k ${asked.k}...` : "Computing the run in your browser...");
    const result = await context.call(config.fn, [], { ...config.kwargs, ...asked });
    if (!result.ok) { failed(result.error); return; }
    root.removeAttribute("aria-busy");
    showError(element, null);
    const first = !run;
    run = decodeRun(result.value);
    settings = asked;
    step = Math.max(0, Math.min(wantedStep ?? step, run.steps));
    if (first) {
      for (const control of element.querySelectorAll("button, input, select")) control.disabled = false;
      arrived();
    }
    showLive(element, `Live: the run comes from ${config.fn} in your browser.`);
    draw();
    announcer.textContent = (first ? "" : `Trained again with seed ${asked.seed}, window ${asked.window}, ${asked.k} negatives: ${count(run.steps)} steps. `) +
      $(".sg-readout").textContent;
  }, (err) => failed(String(err)));

  function failed(error) {
    root.removeAttribute("aria-busy");
    status.dataset.state = "error";
    status.textContent = "No run: Python could not compute it (see above).";
    showError(element, "The run could not be computed:", error);
  }

  function wantedSettings() {
    const seed = Math.max(0, Math.min(999, Math.round(Number($(".sg-seed").value) || 0)));
    return { seed, window: Number($(".sg-window").value), k: Number($(".sg-k").value) };
  }
  for (const control of element.querySelectorAll(".sg-seed, .sg-window, .sg-k")) {
    control.addEventListener("change", () => { stop(); retrain(wantedSettings()); });
  }

  // Once Python is ready: the run the page shows (or the one a shared link names), at the last
  // step or the shared one.
  context.ready.then(() => {
    const shared = readFragment(key);
    const number = (v) => (v === undefined || v === "" ? null : Number(v));
    if (number(shared.seed) !== null) $(".sg-seed").value = String(number(shared.seed));
    if (number(shared.window) !== null) $(".sg-window").value = String(number(shared.window));
    if (number(shared.k) !== null) $(".sg-k").value = String(number(shared.k));
    const sharedStep = number(shared.step);
    // no shared step: the last one, as the page shows (the step is clamped to the run's length)
    retrain({ ...wantedSettings(), step: Number.isInteger(sharedStep) ? sharedStep : Infinity });
  });
  return { draw };
}
