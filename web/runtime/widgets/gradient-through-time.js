// GradientThroughTime: how much of the gradient of the last step's loss reaches each earlier
// hidden state, for a plain RNN and an LSTM with the same recurrent weight scale, on a log scale.
// lmlab.rnn.vanishing_gradients computes both (backpropagation through time, in float64); this
// file only draws. The scale slider makes the RNN's gradient vanish (below 1) or explode (above);
// the step slider reads both values at any step.
//
// Config: fn ("lmlab.rnn.vanishing_gradients"), kwargs ({steps, weight_scale, seed}).
// Fragment: #KEY-scale=0.9&KEY-steps=100&KEY-at=1
import { widgetFooter } from "./markup.js";
import { showError, showLive } from "./status.js";
import { readFragment, writeFragment } from "./fragment.js";
import { latest } from "./latest.js";

const W = 600;
const H = 260;
const PAD = { left: 52, right: 12, top: 12, bottom: 30 };
const DECADES = [-24, 6]; // the y axis, as powers of ten; values beyond are drawn at its edge
const SCALES = { min: 0.5, max: 1.5, step: 0.05 };
const STEPS = { min: 10, max: 200, step: 10 };
const fixed = (x, digits) => Number(x).toFixed(digits);

/** A gradient norm as the reader reads it: 0.0029 is "2.9e-3", 34 is "34". */
export function amount(x) {
  if (x === 0) return "0";
  return x >= 1e-2 && x < 1e4 ? String(Number(x.toPrecision(2))) : x.toExponential(1).replace("e+", "e");
}

function scales(T) {
  const [lo, hi] = DECADES;
  const x = (t) => PAD.left + ((t - 1) / Math.max(1, T - 1)) * (W - PAD.left - PAD.right);
  const y = (v) => {
    const decade = v > 0 ? Math.min(hi, Math.max(lo, Math.log10(v))) : lo;
    return PAD.top + ((hi - decade) / (hi - lo)) * (H - PAD.top - PAD.bottom);
  };
  return { x, y };
}

const line = (values, x, y) => values.map((v, i) => `${fixed(x(i + 1), 1)},${fixed(y(v), 1)}`).join(" ");

export function chartSvg(state, at) {
  const T = state.t.length;
  const { x, y } = scales(T);
  const grid = [];
  for (let d = DECADES[0]; d <= DECADES[1]; d += 6) {
    const label = d === 0 ? "1" : `10^${d}`;
    grid.push(`<line class="gt-grid${d === 0 ? " is-one" : ""}" x1="${PAD.left}" x2="${W - PAD.right}" y1="${fixed(y(10 ** d), 1)}" y2="${fixed(y(10 ** d), 1)}"/>` +
      `<text class="gt-tick" x="${PAD.left - 6}" y="${fixed(y(10 ** d) + 4, 1)}" text-anchor="end">${label}</text>`);
  }
  return `<svg class="gt-chart" viewBox="0 0 ${W} ${H}" aria-hidden="true" focusable="false">
${grid.join("")}
<text class="gt-tick" x="${PAD.left}" y="${H - 8}">step 1</text>
<text class="gt-tick" x="${W - PAD.right}" y="${H - 8}" text-anchor="end">step ${T} (the loss)</text>
<polyline class="gt-rnn" points="${line(state.rnn, x, y)}"/>
<polyline class="gt-lstm" points="${line(state.lstm, x, y)}"/>
<line class="gt-at" x1="${fixed(x(at), 1)}" x2="${fixed(x(at), 1)}" y1="${PAD.top}" y2="${H - PAD.bottom}"/>
<circle class="gt-rnn-dot" cx="${fixed(x(at), 1)}" cy="${fixed(y(state.rnn[at - 1]), 1)}" r="4"/>
<circle class="gt-lstm-dot" cx="${fixed(x(at), 1)}" cy="${fixed(y(state.lstm[at - 1]), 1)}" r="4"/></svg>`;
}

export function readout(state, at) {
  const back = state.t.length - at;
  const where = back === 0 ? `Step ${at}, the last` : `Step ${at}, ${back} step${back === 1 ? "" : "s"} before the last`;
  return `${where}: the RNN's hidden state gets ${amount(state.rnn[at - 1])} of the gradient, ` +
    `the LSTM's ${amount(state.lstm[at - 1])} (its forget gate averages ${fixed(state.mean_forget, 2)}).`;
}

/** The widget's markup; pure, so the builder runs it in Node for the first paint. */
export function render(config, state, key) {
  const id = (part) => `${key}-${part}`;
  const T = state.t.length;
  return `<div class="gt" role="group" aria-labelledby="${id("title")}">
  <p class="widget-title" id="${id("title")}">Gradient through time: what reaches each earlier step</p>
  <p class="gt-legend"><span class="gt-key is-rnn" aria-hidden="true"></span>plain RNN
    <span class="gt-key is-lstm" aria-hidden="true"></span>LSTM (dashed)
    <span class="gt-aside">size of the gradient of the last step's loss at each hidden state, log scale</span></p>
  <div class="gt-controls">
    <label for="${id("scale")}">Recurrent weight scale <output class="gt-scale-value" for="${id("scale")}">${fixed(state.weight_scale, 2)}</output></label>
    <input type="range" id="${id("scale")}" class="gt-scale" min="${SCALES.min}" max="${SCALES.max}" step="${SCALES.step}" value="${state.weight_scale}" disabled>
    <label for="${id("steps")}">Steps <output class="gt-steps-value" for="${id("steps")}">${T}</output></label>
    <input type="range" id="${id("steps")}" class="gt-steps" min="${STEPS.min}" max="${STEPS.max}" step="${STEPS.step}" value="${T}" disabled>
  </div>
  ${chartSvg(state, 1)}
  <div class="gt-slider">
    <label for="${id("at")}">Read step</label>
    <input type="range" id="${id("at")}" class="gt-at-input" min="1" max="${T}" step="1" value="1" aria-describedby="${id("readout")}" disabled>
  </div>
  <p class="gt-readout" id="${id("readout")}">${readout(state, 1)}</p>
  ${widgetFooter("the values the book computed when it was built", "gt-announce")}
</div>`;
}

export function mount(element, context) {
  const { config, key } = context;
  if (!element.querySelector(".gt")) element.innerHTML = render(config, context.state, key);
  const $ = (selector) => element.querySelector(selector);
  const scale = $(".gt-scale");
  const steps = $(".gt-steps");
  const at = $(".gt-at-input");
  let state = context.state;
  let settleTimer = 0;

  function draw(speak) {
    const started = performance.now();
    const T = state.t.length;
    at.max = String(T);
    const step = Math.min(T, Math.max(1, Number(at.value) || 1));
    at.value = String(step);
    $(".gt-chart").outerHTML = chartSvg(state, step);
    $(".gt-readout").textContent = readout(state, step);
    $(".gt-scale-value").textContent = fixed(state.weight_scale, 2);
    $(".gt-steps-value").textContent = String(T);
    element.dataset.at = String(step);
    element.dataset.scale = fixed(state.weight_scale, 2);
    element.dispatchEvent(new CustomEvent("widget:drawn", { detail: { ms: performance.now() - started } }));
    // Said and written into the URL once the reader pauses: history.replaceState on every
    // input of a dragged slider costs more than the redraw.
    clearTimeout(settleTimer);
    settleTimer = setTimeout(() => {
      writeFragment(key, { scale: fixed(state.weight_scale, 2), steps: T, at: step });
      if (speak) $(".gt-announce").textContent = $(".gt-readout").textContent;
    }, 250);
  }

  const recompute = latest(async ({ weightScale, T }) => {
    const result = await context.call(config.fn, [], { ...config.kwargs, steps: T, weight_scale: weightScale });
    if (!result.ok) return showError(element, "The gradients could not be computed:", result.error);
    showError(element, null);
    state = result.value;
    draw(true);
  }, (err) => showError(element, "The gradients could not be computed:", String(err)));

  const ask = () => recompute({ weightScale: Number(scale.value), T: Number(steps.value) });
  scale.addEventListener("input", () => {
    $(".gt-scale-value").textContent = fixed(scale.value, 2);
    ask();
  });
  steps.addEventListener("input", () => {
    $(".gt-steps-value").textContent = steps.value;
    ask();
  });
  at.addEventListener("input", () => draw(true));

  context.ready.then(() => {
    for (const control of element.querySelectorAll("input")) control.disabled = false;
    showLive(element, `Live: each change runs backpropagation through time with ${config.fn} in your browser.`);
    const shared = readFragment(key);
    const clamp = (v, { min, max }) => Math.min(max, Math.max(min, v));
    const wantScale = Number(shared.scale);
    const wantSteps = Number.parseInt(shared.steps, 10);
    const wantAt = Number.parseInt(shared.at, 10);
    if (Number.isInteger(wantAt)) at.value = String(wantAt);
    if (Number.isFinite(wantScale)) scale.value = String(clamp(wantScale, SCALES));
    if (Number.isInteger(wantSteps)) steps.value = String(clamp(wantSteps, STEPS));
    // Computed once now even when nothing was shared: the same numbers as the built page's, but
    // the first run of this code in the page is several times slower than the next ones, and
    // better now than on the reader's first move of a slider.
    ask();
  });
}
