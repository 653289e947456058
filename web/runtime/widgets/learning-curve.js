// LearningCurve: gradient descent on the names' bigram model, run in the reader's browser by
// lmlab.neural_bigram.names_learning_curve, drawn as the loss against the step with the counting
// model's loss as the line it approaches. Run computes the descent with the chosen learning rate
// and draws the curve growing (at once when the reader prefers reduced motion); the step slider
// reads the loss at any step.
//
// Config: fn, kwargs ({steps, lr}), rates (learning rates offered). Fragment: #KEY-lr=50&KEY-step=120.
import { escapeHtml, widgetFooter } from "./markup.js";
import { showError, showLive } from "./status.js";
import { readFragment, writeFragment } from "./fragment.js";

const fixed = (x, digits) => Number(x).toFixed(digits);
const W = 600;
const H = 260;
const PAD = { left: 44, right: 10, top: 10, bottom: 28 };
const ANIMATION_MS = 1500;

function scales(state) {
  const n = state.losses.length - 1;
  const lo = Math.floor((state.counting_loss - 0.05) * 10) / 10;
  const hi = Math.ceil(Math.max(state.uniform_loss, ...state.losses.filter(Number.isFinite)) * 10) / 10;
  const x = (i) => PAD.left + (i / n) * (W - PAD.left - PAD.right);
  const y = (v) => PAD.top + (1 - (Math.min(Math.max(v, lo), hi) - lo) / (hi - lo)) * (H - PAD.top - PAD.bottom);
  return { n, lo, hi, x, y };
}

/** The polyline of the first `upTo` + 1 losses. */
function pathOf(state, upTo) {
  const { x, y } = scales(state);
  return state.losses.slice(0, upTo + 1).map((v, i) => `${fixed(x(i), 1)},${fixed(y(v), 1)}`).join(" ");
}

export function chartSvg(state, upTo, at) {
  const { n, lo, hi, x, y } = scales(state);
  const ticks = [];
  for (let v = lo; v <= hi + 1e-9; v += 0.2) {
    ticks.push(`<line class="lc-grid" x1="${PAD.left}" x2="${W - PAD.right}" y1="${fixed(y(v), 1)}" y2="${fixed(y(v), 1)}"/>` +
      `<text class="lc-tick" x="${PAD.left - 6}" y="${fixed(y(v) + 4, 1)}" text-anchor="end">${fixed(v, 1)}</text>`);
  }
  const goal = y(state.counting_loss);
  const cursor = at === null ? "" :
    `<circle class="lc-at" cx="${fixed(x(at), 1)}" cy="${fixed(y(state.losses[at]), 1)}" r="4"/>`;
  return `<svg class="lc-chart" viewBox="0 0 ${W} ${H}" aria-hidden="true" focusable="false">
${ticks.join("")}
<line class="lc-goal" x1="${PAD.left}" x2="${W - PAD.right}" y1="${fixed(goal, 1)}" y2="${fixed(goal, 1)}"/>
<text class="lc-goal-label" x="${W - PAD.right}" y="${fixed(goal + 16, 1)}" text-anchor="end">counting: ${fixed(state.counting_loss, 4)}</text>
<text class="lc-tick" x="${PAD.left}" y="${H - 8}">0</text>
<text class="lc-tick" x="${W - PAD.right}" y="${H - 8}" text-anchor="end">step ${n}</text>
<polyline class="lc-line" points="${pathOf(state, upTo)}"/>${cursor}</svg>`;
}

function readout(state, at) {
  const gap = state.losses[at] - state.counting_loss;
  return `Step ${at}: loss ${fixed(state.losses[at], 4)}, ${fixed(gap, 4)} above counting (${fixed(state.counting_loss, 4)}).`;
}

/** The widget's markup; pure, so the builder runs it in Node for the first paint. */
export function render(config, state, key) {
  const id = (part) => `${key}-${part}`;
  const n = state.losses.length - 1;
  const rates = (config.rates || [1, 10, 50, 100]).map((r) =>
    `<option value="${r}"${r === config.kwargs.lr ? " selected" : ""}>${r}</option>`).join("");
  return `<div class="lc" role="group" aria-labelledby="${id("title")}">
  <p class="widget-title" id="${id("title")}">Learning curve: gradient descent on the bigram model</p>
  <div class="lc-controls">
    <label>Learning rate <select class="lc-rate" disabled>${rates}</select></label>
    <button type="button" class="lc-run" disabled>Run ${n} steps</button>
  </div>
  ${chartSvg(state, n, n)}
  <div class="lc-slider">
    <label for="${id("step")}">Step</label>
    <input type="range" id="${id("step")}" class="lc-step" min="0" max="${n}" step="1" value="${n}" aria-describedby="${id("readout")}" disabled>
  </div>
  <p class="lc-readout" id="${id("readout")}">${escapeHtml(readout(state, n))}</p>
  ${widgetFooter("the curve the book computed when it was built", "lc-announce")}
</div>`;
}

export function mount(element, context) {
  const { config, key } = context;
  if (!element.querySelector(".lc")) element.innerHTML = render(config, context.state, key);
  const $ = (selector) => element.querySelector(selector);
  const rate = $(".lc-rate");
  const slider = $(".lc-step");
  let state = context.state;
  let frame = 0;
  const reducedMotion = () => globalThis.matchMedia?.("(prefers-reduced-motion: reduce)").matches;

  function draw(upTo, at) {
    const started = performance.now();
    $(".lc-chart").outerHTML = chartSvg(state, upTo, at);
    $(".lc-readout").textContent = readout(state, at);
    slider.value = String(at);
    element.dataset.step = String(at);
    element.dispatchEvent(new CustomEvent("widget:drawn", { detail: { ms: performance.now() - started } }));
  }

  async function run(lr, at = null) {
    cancelAnimationFrame(frame);
    $(".lc-run").disabled = true;
    const result = await context.call(config.fn, [], { ...config.kwargs, lr });
    $(".lc-run").disabled = false;
    if (!result.ok) return showError(element, "Gradient descent failed:", result.error);
    showError(element, null);
    state = result.value;
    const n = state.losses.length - 1;
    const end = at ?? n;
    const finish = () => {
      draw(n, end);
      writeFragment(key, { lr, step: end });
      $(".lc-announce").textContent = `Learning rate ${lr}: ` + readout(state, end);
    };
    if (reducedMotion() || at !== null) return finish();
    const t0 = performance.now();
    const tick = (now) => {
      const upTo = Math.min(n, Math.round(((now - t0) / ANIMATION_MS) * n));
      if (upTo >= n) return finish();
      draw(upTo, upTo);
      frame = requestAnimationFrame(tick);
    };
    frame = requestAnimationFrame(tick);
  }

  $(".lc-run").addEventListener("click", () => run(Number(rate.value)));
  rate.addEventListener("change", () => run(Number(rate.value)));
  slider.addEventListener("input", () => {
    cancelAnimationFrame(frame);
    draw(state.losses.length - 1, Number(slider.value));
    writeFragment(key, { lr: rate.value, step: slider.value });
  });

  context.ready.then(() => {
    for (const control of element.querySelectorAll("button, input, select")) control.disabled = false;
    showLive(element, `Live: Run trains the model with ${config.fn} in your browser.`);
    const shared = readFragment(key);
    const lr = Number(shared.lr);
    if ([...rate.options].some((o) => Number(o.value) === lr)) {
      rate.value = String(lr);
      const step = Number.parseInt(shared.step, 10);
      run(lr, Number.isInteger(step) ? Math.max(0, Math.min(step, config.kwargs.steps)) : null);
    }
  });
  return { run, draw };
}
