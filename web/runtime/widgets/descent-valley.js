// DescentValley: plain gradient descent on a one-dimensional toy loss, x <- x - lr * slope, one
// step at a time: the curve, every point the descent visits, and at the chosen step its loss,
// its slope and the step it takes next. lmlab.optim.descent_view computes the curve and the
// trace; this file only draws. Too small a learning rate crawls, a good one settles, a larger one
// bounces across the valley or into another, and too large a one flies off.
//
// Config: fn ("lmlab.optim.descent_view"), kwargs ({name, lr, steps}), rates (offered rates).
// Fragment: #KEY-name=two_minima&KEY-lr=0.19&KEY-at=5
import { escapeHtml, widgetFooter } from "./markup.js";
import { showError, showLive } from "./status.js";
import { readFragment, writeFragment } from "./fragment.js";
import { latest } from "./latest.js";

const W = 600;
const H = 280;
const PAD = { left: 40, right: 12, top: 12, bottom: 28 };
const LANDSCAPES = { bowl: "a bowl, x²", two_minima: "two valleys, a shallow and a deep one" };
const RATES = [0.01, 0.02, 0.05, 0.1, 0.15, 0.19, 0.25, 0.3, 0.45, 0.5, 0.9, 1, 1.05];
const fixed = (x, digits) => Number(x).toFixed(digits);
// A minus sign only where the printed digits are not all zero: a slope of -0.0001 reads "0.000".
const signed = (x, digits) => (x < 0 && Number(fixed(-x, digits)) !== 0 ? `−${fixed(-x, digits)}` : fixed(Math.abs(x), digits));

function scales(view) {
  const { xs, losses } = view.landscape;
  const [x0, x1] = view.landscape.bounds[0];
  const lo = Math.min(...losses);
  const hi = Math.max(...losses);
  const margin = (hi - lo) * 0.05;
  const x = (v) => PAD.left + ((Math.min(x1, Math.max(x0, v)) - x0) / (x1 - x0)) * (W - PAD.left - PAD.right);
  const y = (v) => PAD.top + (1 - (Math.min(hi + margin, Math.max(lo - margin, v)) - lo + margin) / (hi - lo + 2 * margin)) * (H - PAD.top - PAD.bottom);
  return { x, y, xs, losses, x0, x1 };
}

export function chartSvg(view, at) {
  const { x, y, xs, losses, x0, x1 } = scales(view);
  const curve = xs.map((v, i) => `${fixed(x(v), 1)},${fixed(y(losses[i]), 1)}`).join(" ");
  const points = view.trace.points.map(([v]) => v);
  const shown = points.slice(0, at + 1);
  const path = shown.map((v, i) => `${fixed(x(v), 1)},${fixed(y(view.trace.losses[i]), 1)}`).join(" ");
  const visits = shown.map((v, i) =>
    `<circle class="dv-visit${v < x0 || v > x1 ? " is-off" : ""}" cx="${fixed(x(v), 1)}" cy="${fixed(y(view.trace.losses[i]), 1)}" r="3"/>`).join("");
  const here = points[at];
  const minima = view.landscape.minima.map(([m]) =>
    `<line class="dv-minimum" x1="${fixed(x(m), 1)}" x2="${fixed(x(m), 1)}" y1="${H - PAD.bottom}" y2="${H - PAD.bottom + 6}"/>`).join("");
  return `<svg class="dv-chart" viewBox="0 0 ${W} ${H}" aria-hidden="true" focusable="false">
<line class="dv-axis" x1="${PAD.left}" x2="${W - PAD.right}" y1="${H - PAD.bottom}" y2="${H - PAD.bottom}"/>
<text class="dv-tick" x="${PAD.left}" y="${H - 8}">x = ${signed(x0, 0)}</text>
<text class="dv-tick" x="${W - PAD.right}" y="${H - 8}" text-anchor="end">x = ${fixed(x1, 0)}</text>
<text class="dv-tick" x="${PAD.left - 6}" y="${PAD.top + 10}" text-anchor="end">loss</text>
${minima}<polyline class="dv-curve" points="${curve}"/>
<polyline class="dv-path" points="${path}"/>${visits}
<circle class="dv-here" cx="${fixed(x(here), 1)}" cy="${fixed(y(view.trace.losses[at]), 1)}" r="7"/></svg>`;
}

/** What the whole descent did, in words. */
export function outcome(view) {
  const { trace, lr } = view;
  const n = trace.points.length - 1;
  const last = trace.points[n][0];
  const which = view.landscape.minima.length > 1 ? (trace.deepest ? " the deeper" : " the shallower") : " the";
  if (trace.outcome === "diverged") return `Learning rate ${lr}: it flew off, past x = ${signed(last, 0)}, after ${n} steps.`;
  if (trace.outcome === "settled") return `Learning rate ${lr}: after ${n} steps it has settled in${which} minimum, at x = ${signed(last, 2)}.`;
  const start = trace.losses[0];
  if (trace.losses[n] > start) return `Learning rate ${lr}: after ${n} steps it is further up than where it started, each step overshooting more.`;
  return `Learning rate ${lr}: after ${n} steps it is still moving, near x = ${signed(last, 2)}, closest to${which} minimum.`;
}

export function readout(view, at) {
  const { points, losses, gradients } = view.trace;
  const x = points[at][0];
  const slope = gradients[at][0];
  const move = -view.lr * slope;
  const next = at + 1 < points.length ? ` The next step moves x by −${view.lr} × ${signed(slope, 3)} = ${signed(move, 3)}.` : "";
  return `Step ${at}: x = ${signed(x, 3)}, loss ${signed(losses[at], 3)}, slope ${signed(slope, 3)}.${next}`;
}

/** The widget's markup; pure, so the builder runs it in Node for the first paint. */
export function render(config, view, key) {
  const id = (part) => `${key}-${part}`;
  const rates = config.rates ?? RATES;
  const rateIndex = Math.max(0, rates.indexOf(view.lr));
  const n = view.trace.points.length - 1;
  const options = Object.entries(LANDSCAPES).map(([name, label]) =>
    `<option value="${name}"${name === view.name ? " selected" : ""}>${escapeHtml(label)}</option>`).join("");
  return `<div class="dv" role="group" aria-labelledby="${id("title")}">
  <p class="widget-title" id="${id("title")}">Gradient descent on a curve, one step at a time</p>
  <div class="dv-controls">
    <label for="${id("name")}">Loss</label>
    <select id="${id("name")}" class="dv-name" disabled>${options}</select>
    <label for="${id("rate")}">Learning rate <output class="dv-rate-value" for="${id("rate")}">${view.lr}</output></label>
    <input type="range" id="${id("rate")}" class="dv-rate" min="0" max="${rates.length - 1}" step="1" value="${rateIndex}"
      aria-valuetext="${view.lr}" disabled>
  </div>
  ${chartSvg(view, n)}
  <p class="dv-outcome">${escapeHtml(outcome(view))}</p>
  <div class="dv-slider">
    <label for="${id("at")}">Step</label>
    <input type="range" id="${id("at")}" class="dv-at" min="0" max="${n}" step="1" value="${n}" aria-describedby="${id("readout")}" disabled>
  </div>
  <p class="dv-readout" id="${id("readout")}">${escapeHtml(readout(view, n))}</p>
  ${widgetFooter("the descent the book computed when it was built", "dv-announce")}
</div>`;
}

export function mount(element, context) {
  const { config, key } = context;
  if (!element.querySelector(".dv")) element.innerHTML = render(config, context.state, key);
  const $ = (selector) => element.querySelector(selector);
  const rates = config.rates ?? RATES;
  const name = $(".dv-name");
  const rate = $(".dv-rate");
  const at = $(".dv-at");
  let view = context.state;
  let announceTimer = 0;

  function draw(speak) {
    const started = performance.now();
    const n = view.trace.points.length - 1;
    at.max = String(n);
    const step = Math.min(n, Math.max(0, Number(at.value)));
    at.value = String(step);
    $(".dv-chart").outerHTML = chartSvg(view, step);
    $(".dv-outcome").textContent = outcome(view);
    $(".dv-readout").textContent = readout(view, step);
    $(".dv-rate-value").textContent = String(view.lr);
    rate.setAttribute("aria-valuetext", String(view.lr));
    element.dataset.name = view.name;
    element.dataset.lr = String(view.lr);
    element.dataset.at = String(step);
    element.dispatchEvent(new CustomEvent("widget:drawn", { detail: { ms: performance.now() - started } }));
    writeFragment(key, { name: view.name, lr: view.lr, at: step });
    if (speak) {
      clearTimeout(announceTimer);
      announceTimer = setTimeout(() => {
        $(".dv-announce").textContent = `${$(".dv-readout").textContent} ${$(".dv-outcome").textContent}`;
      }, 250);
    }
  }

  const recompute = latest(async ({ landscape, lr, step }) => {
    const result = await context.call(config.fn, [], { ...config.kwargs, name: landscape, lr });
    if (!result.ok) return showError(element, "The descent could not be computed:", result.error);
    showError(element, null);
    view = result.value;
    at.value = String(step ?? view.trace.points.length - 1);
    draw(true);
  }, (err) => showError(element, "The descent could not be computed:", String(err)));

  const ask = (step = null) => recompute({ landscape: name.value, lr: rates[Number(rate.value)], step });
  name.addEventListener("change", () => ask());
  rate.addEventListener("input", () => {
    $(".dv-rate-value").textContent = String(rates[Number(rate.value)]);
    ask();
  });
  at.addEventListener("input", () => draw(true));

  context.ready.then(() => {
    for (const control of element.querySelectorAll("input, select")) control.disabled = false;
    showLive(element, `Live: each change runs the descent with ${config.fn} in your browser.`);
    const shared = readFragment(key);
    const sharedRate = rates.indexOf(Number(shared.lr));
    const sharedStep = Number.parseInt(shared.at, 10);
    if (shared.name in LANDSCAPES || sharedRate >= 0) {
      if (shared.name in LANDSCAPES) name.value = shared.name;
      if (sharedRate >= 0) rate.value = String(sharedRate);
      ask(Number.isInteger(sharedStep) ? sharedStep : null);
    } else if (Number.isInteger(sharedStep)) {
      at.value = String(sharedStep);
      draw(false);
    }
  });
}
