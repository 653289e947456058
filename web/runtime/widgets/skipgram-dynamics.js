// SkipGramDynamics: skip-gram with negative sampling trained on the toy corpus directly in 2-D,
// one SGD step per (centre, neighbour) pair. For the step on screen: the centre word, its true
// neighbour and the negatives drawn, and arrows for the two halves of the centre's update (the
// neighbour's pull, each negative's push). Play/Pause, Step, a scrubber over every step; seed,
// window and k retrain. The whole run comes from lmlab.word2vec.skipgram_dynamics once per
// (seed, window, k); scrubbing and playing only redraw from it.
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
const fixed = (x, digits) => Number(x).toFixed(digits);
const count = (n) => Number(n).toLocaleString("en-US");

/** The steps in the run. */
const stepsOf = (state) => state.centre.length;

/** Every word's input vector after `step` updates: (V, 2), replayed from the start (a step
 * moves only its centre word's input vector). */
export function positionsAt(state, step) {
  const at = state.start.map((p) => p.slice());
  for (let t = 0; t < step; t++) at[state.centre[t]] = state.after[t];
  return at;
}

/** The centre's input vector before step t (1-based), which its arrows start from. */
function before(state, t) {
  const c = state.centre[t - 1];
  for (let s = t - 2; s >= 0; s--) if (state.centre[s] === c) return state.after[s];
  return state.start[c];
}

function scaler(state) {
  const [x0, x1, y0, y1] = state.bounds;
  const s = Math.min((W - 2 * PAD) / (x1 - x0 || 1), (H - 2 * PAD) / (y1 - y0 || 1));
  const cx = (W - s * (x1 - x0)) / 2;
  const cy = (H - s * (y1 - y0)) / 2;
  return { s, at: (x, y) => [cx + s * (x - x0), H - (cy + s * (y - y0))] };
}

// The explorer's category colours, leaving out its red and green, which here mean push and pull.
const PALETTE = [1, 2, 4, 5, 7, 6];
const colourOf = (state, i) => PALETTE[state.category_names.indexOf(state.categories[i]) % PALETTE.length];

function arrow(from, delta, { s }, cls, head) {
  const [x1, y1] = from;
  const x2 = x1 + ARROW_SCALE * s * delta[0];
  const y2 = y1 - ARROW_SCALE * s * delta[1];
  if (Math.hypot(x2 - x1, y2 - y1) < 0.5) return "";
  return `<line class="${cls}" x1="${fixed(x1, 1)}" y1="${fixed(y1, 1)}" x2="${fixed(x2, 1)}" y2="${fixed(y2, 1)}" marker-end="url(#${head})"/>`;
}

/** The plot after `step` updates, with step `step`'s words and arrows marked. */
export function plotSvg(state, step, key) {
  const scale = scaler(state);
  const positions = positionsAt(state, step);
  const role = new Map();
  let arrows = "";
  if (step > 0) {
    const t = step - 1;
    for (const n of state.negatives[t]) role.set(n, "is-negative");
    role.set(state.context[t], "is-context");
    role.set(state.centre[t], "is-centre");
    const from = scale.at(...before(state, step));
    arrows = arrow(from, state.pull[t], scale, "sg-pull", `${key}-sg-pull`) +
      state.push[t].map((push) => arrow(from, push, scale, "sg-push", `${key}-sg-push`)).join("");
  }
  const points = state.words.map((word, i) => {
    const [px, py] = scale.at(...positions[i]);
    const cls = `sg-pt sg-c${colourOf(state, i)}${role.has(i) ? ` ${role.get(i)}` : ""}`;
    return `<g class="${cls}" transform="translate(${fixed(px, 1)} ${fixed(py, 1)})"><circle r="5"/>` +
      `<text x="7" y="4">${escapeHtml(word)}</text></g>`;
  });
  // the marked words last, so that they are drawn on top
  const order = state.words.map((_, i) => i).sort((a, b) => role.has(a) - role.has(b));
  return `<svg class="sg-plot" viewBox="0 0 ${W} ${H}" aria-hidden="true" focusable="false">` +
    `<defs>${["pull", "push"].map((kind) => `<marker id="${key}-sg-${kind}" viewBox="0 0 10 10" refX="8" refY="5" markerWidth="5" markerHeight="5" orient="auto-start-reverse"><path d="M0 0L10 5L0 10z" class="sg-head is-${kind}"/></marker>`).join("")}</defs>` +
    `<g class="sg-points">${order.map((i) => points[i]).join("")}</g><g class="sg-arrows">${arrows}</g></svg>`;
}

/** The loss over the steps: the mean over the last epoch's worth of steps, every 10th step. */
export function chartSvg(state, step) {
  const { w, h, left, right, top, bottom } = CHART;
  const n = stepsOf(state);
  const lo = Math.floor(Math.min(...state.curve) * 2) / 2;
  const hi = Math.ceil(Math.max(...state.curve) * 2) / 2;
  const x = (t) => left + (t / n) * (w - left - right);
  const y = (v) => top + (1 - (v - lo) / (hi - lo || 1)) * (h - top - bottom);
  const line = state.curve.map((v, i) => `${fixed(x(10 * i), 1)},${fixed(y(v), 1)}`).join(" ");
  const ticks = [];
  for (let v = lo; v <= hi + 1e-9; v += 0.5) {
    ticks.push(`<line class="sg-grid" x1="${left}" x2="${w - right}" y1="${fixed(y(v), 1)}" y2="${fixed(y(v), 1)}"/>` +
      `<text class="sg-tick" x="${left - 5}" y="${fixed(y(v) + 4, 1)}" text-anchor="end">${fixed(v, 1)}</text>`);
  }
  const epochs = [];
  for (let e = 1; e * state.epoch_steps < n; e++) {
    epochs.push(`<line class="sg-epoch" x1="${fixed(x(e * state.epoch_steps), 1)}" x2="${fixed(x(e * state.epoch_steps), 1)}" y1="${top}" y2="${h - bottom}"/>`);
  }
  const cursorAt = Math.min(Math.floor(Math.max(step - 1, 0) / 10), state.curve.length - 1);
  return `<svg class="sg-chart" viewBox="0 0 ${w} ${h}" aria-hidden="true" focusable="false">${ticks.join("")}${epochs.join("")}` +
    `<text class="sg-tick" x="${left}" y="${h - 6}">step 0</text><text class="sg-tick" x="${w - right}" y="${h - 6}" text-anchor="end">${count(n)}</text>` +
    `<polyline class="sg-loss" points="${line}"/>` +
    `<line class="sg-now" x1="${fixed(x(step), 1)}" x2="${fixed(x(step), 1)}" y1="${top}" y2="${h - bottom}"/>` +
    `<circle class="sg-now-dot" cx="${fixed(x(10 * cursorAt), 1)}" cy="${fixed(y(state.curve[cursorAt]), 1)}" r="3.5"/></svg>`;
}

/** What the step on screen did, in words (the same numbers the picture draws). */
export function readout(state, step) {
  const n = stepsOf(state);
  if (step === 0) {
    return `Before training (step 0 of ${count(n)}): the input vectors start as small random numbers and the output vectors at 0, so the first steps move only the output vectors.`;
  }
  const t = step - 1;
  const w = (i) => state.words[i];
  const epoch = Math.floor(t / state.epoch_steps) + 1;
  // each negative once, with how often it was drawn; one equal to the neighbour is skipped
  const drawn = new Map();
  for (const i of state.negatives[t]) drawn.set(i, (drawn.get(i) || 0) + 1);
  const negatives = [...drawn].map(([i, times]) => w(i) + (times > 1 ? ` ×${times}` : "") +
    (i === state.context[t] ? " (skipped: it is the neighbour)" : ""));
  return `Step ${count(step)} of ${count(n)} (epoch ${epoch}): centre <strong>${escapeHtml(w(state.centre[t]))}</strong>, ` +
    `neighbour <strong>${escapeHtml(w(state.context[t]))}</strong>, negatives ${escapeHtml(negatives.join(", "))}. ` +
    `Loss of this pair ${fixed(state.loss[t], 3)}; σ(u·v), the model's belief that ${escapeHtml(w(state.context[t]))} is a real neighbour, ` +
    `${fixed(state.p_before[t], 3)} before the step and ${fixed(state.p_after[t], 3)} after.`;
}

function legendHtml(state) {
  const swatches = state.category_names.map((name, c) =>
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

export function render(config, state, key) {
  const id = (part) => `${key}-${part}`;
  const n = stepsOf(state);
  const { seed, window, k } = { seed: 0, window: 2, k: 5, ...config.kwargs };
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
    <input type="range" id="${id("step")}" class="sg-scrubber" min="0" max="${n}" step="1" value="${n}"
      aria-valuetext="step ${count(n)} of ${count(n)}" aria-describedby="${id("readout")}" disabled>
  </div>
  <div class="sg-figure">${plotSvg(state, n, key)}</div>
  ${legendHtml(state)}
  <p class="sg-readout" id="${id("readout")}">${readout(state, n)}</p>
  <p class="sg-chart-title">Loss per pair, averaged over the last ${count(state.epoch_steps)} steps (one pass over the text); dashed lines mark the passes.</p>
  <div class="sg-chart-box">${chartSvg(state, n)}</div>
  ${widgetFooter("the run the book computed when it was built (seed 0, window 2, k 5)", "sg-announce")}
</div>`;
}

export function mount(element, context) {
  const { config, key } = context;
  if (!element.querySelector(".sg")) element.innerHTML = render(config, context.state, key);
  const $ = (selector) => element.querySelector(selector);
  const scrubber = $(".sg-scrubber");
  const play = $(".sg-play");
  const announcer = $(".sg-announce");
  let state = context.state;
  let settings = { seed: 0, window: 2, k: 5, ...config.kwargs };
  let step = stepsOf(state);
  let frame = 0;
  let timer = 0;
  let speakTimer = 0;
  const reducedMotion = () => globalThis.matchMedia?.("(prefers-reduced-motion: reduce)").matches;

  function draw() {
    const started = performance.now();
    const n = stepsOf(state);
    $(".sg-plot").outerHTML = plotSvg(state, step, key);
    $(".sg-chart").outerHTML = chartSvg(state, step);
    $(".sg-readout").innerHTML = readout(state, step);
    scrubber.max = String(n);
    scrubber.value = String(step);
    scrubber.setAttribute("aria-valuetext", `step ${count(step)} of ${count(n)}`);
    $(".sg-step").disabled = step >= n;
    element.dataset.step = String(step);
    writeFragment(key, { step, ...settings });
    element.dispatchEvent(new CustomEvent("widget:drawn", { detail: { ms: performance.now() - started } }));
  }

  const say = () => { announcer.textContent = $(".sg-readout").textContent; };

  function stop() {
    cancelAnimationFrame(frame);
    clearTimeout(timer);
    frame = 0;
    timer = 0;
    play.textContent = "Play";
    play.setAttribute("aria-pressed", "false");
  }

  // Play: step by step on every frame; with reduced motion, one pass over the text (an epoch) a
  // second instead, each a single jump with nothing animated in between.
  function start() {
    const n = stepsOf(state);
    if (step >= n) step = 0;
    play.textContent = "Pause";
    play.setAttribute("aria-pressed", "true");
    announcer.textContent = "Playing.";
    if (reducedMotion()) {
      const jump = () => {
        step = Math.min(n, step + state.epoch_steps);
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
      frame = requestAnimationFrame(tick);
    };
    frame = requestAnimationFrame(tick);
  }

  play.addEventListener("click", () => {
    if (frame || timer) { stop(); say(); } else start();
  });
  $(".sg-step").addEventListener("click", () => {
    stop();
    step = Math.min(stepsOf(state), step + 1);
    draw();
    say();
  });
  scrubber.addEventListener("input", () => {
    stop();
    step = Number(scrubber.value);
    draw();
    clearTimeout(speakTimer);
    speakTimer = setTimeout(say, 300);
  });

  // Retraining: only the newest (seed, window, k) reaches Python.
  const retrain = latest(async (wanted) => {
    const { step: sharedStep, ...run } = wanted;
    const result = await context.call(config.fn, [], { ...config.kwargs, ...run });
    if (!result.ok) { showError(element, "The run could not be computed:", result.error); return; }
    showError(element, null);
    state = result.value;
    settings = run;
    step = Math.max(0, Math.min(sharedStep ?? step, stepsOf(state)));
    draw();
    announcer.textContent = `Trained again with seed ${run.seed}, window ${run.window}, ${run.k} negatives: ${count(stepsOf(state))} steps. ` +
      $(".sg-readout").textContent;
  }, (err) => showError(element, "The run could not be computed:", String(err)));

  function wantedSettings() {
    const seed = Math.max(0, Math.min(999, Math.round(Number($(".sg-seed").value) || 0)));
    return { seed, window: Number($(".sg-window").value), k: Number($(".sg-k").value) };
  }
  for (const control of element.querySelectorAll(".sg-seed, .sg-window, .sg-k")) {
    control.addEventListener("change", () => { stop(); retrain(wantedSettings()); });
  }

  context.ready.then(() => {
    for (const control of element.querySelectorAll("button, input, select")) control.disabled = false;
    $(".sg-step").disabled = step >= stepsOf(state);
    showLive(element, `Live: the run comes from ${config.fn} in your browser.`);
    const shared = readFragment(key);
    const number = (v) => (v === undefined || v === "" ? null : Number(v));
    const wanted = { seed: number(shared.seed), window: number(shared.window), k: number(shared.k) };
    const sharedStep = number(shared.step);
    const sameRun = ["seed", "window", "k"].every((name) => wanted[name] === null || wanted[name] === settings[name]);
    if (!sameRun) {
      if (wanted.seed !== null) $(".sg-seed").value = String(wanted.seed);
      if (wanted.window !== null) $(".sg-window").value = String(wanted.window);
      if (wanted.k !== null) $(".sg-k").value = String(wanted.k);
      retrain({ ...wantedSettings(), ...(Number.isInteger(sharedStep) ? { step: sharedStep } : {}) });
    } else if (Number.isInteger(sharedStep)) {
      step = Math.max(0, Math.min(sharedStep, stepsOf(state)));
      draw();
    }
  });
  return { draw };
}
