// ScalingLaw: how to spend a compute budget, by Chinchilla's fitted loss L(N, D) = E + A/N^α +
// B/D^β. A budget slider (log steps) and a model-size slider that moves along that budget's
// iso-FLOP curve (every size buys D = C / 6N tokens); the valley of predicted loss against model
// size with its optimum, and model size against compute with the optimal line, the rule of 20
// tokens per parameter and the published models. Every number and text comes from
// lmlab.scaling.scaling_view (CPython at build time, Pyodide after); this file only lays them out.
//
// Config: fn ("lmlab.scaling.scaling_view"), kwargs ({model} or {log10_compute, size_vs_optimum}).
// Fragment: #KEY-model=chinchilla, or #KEY-c=21.5&KEY-n=0.25 (log10 FLOPs, log10 N / N_opt)
import { escapeHtml, widgetFooter } from "./markup.js";
import { showError, showLive } from "./status.js";
import { readFragment, writeFragment } from "./fragment.js";
import { latest } from "./latest.js";

const W = 480;
const H = 270;
const PAD = { left: 60, right: 14, top: 30, bottom: 40 };
const fixed = (x, digits) => Number(x).toFixed(digits);
// Where each published model's name goes beside its point (anchor, dx, dy): they crowd near 10^23.
const PLACES = {
  gopher: ["end", -7, -5], gpt3: ["end", -7, 11], chinchilla: ["start", 7, 4],
  "llama3-8b": ["start", 7, 12], "llama2-7b": ["end", -7, 4], book: ["start", 7, 4],
};
const UNITS = ["", "k", "M", "B", "T"];

/** 10^k parameters (k >= 0) as a tick label: 10^9 is "1B", 10^7 "10M". */
const countLabel = (k) => `${10 ** (k % 3)}${UNITS[Math.floor(k / 3)]}`;

/** 10^k as SVG text with a raised exponent. */
const power = (k) => `10<tspan class="sl-exp" dy="-6">${k}</tspan>`;

function scale([lo, hi], [from, to]) {
  return (v) => from + ((Math.min(hi, Math.max(lo, v)) - lo) / (hi - lo)) * (to - from);
}

function frame(x, y, xTicks, yTicks, xTitle, yTitle) {
  const [x0, x1] = [PAD.left, W - PAD.right];
  const [y0, y1] = [PAD.top, H - PAD.bottom];
  const vertical = xTicks.map(([v, label]) => `<line class="sl-grid" x1="${fixed(x(v), 1)}" x2="${fixed(x(v), 1)}" y1="${y0}" y2="${y1}"/>` +
    `<text class="sl-tick" x="${fixed(x(v), 1)}" y="${y1 + 15}" text-anchor="middle">${label}</text>`).join("");
  const horizontal = yTicks.map(([v, label]) => `<line class="sl-grid" x1="${x0}" x2="${x1}" y1="${fixed(y(v), 1)}" y2="${fixed(y(v), 1)}"/>` +
    `<text class="sl-tick" x="${x0 - 5}" y="${fixed(y(v) + 4, 1)}" text-anchor="end">${label}</text>`).join("");
  return `${vertical}${horizontal}<rect class="sl-frame" x="${x0}" y="${y0}" width="${x1 - x0}" height="${y1 - y0}"/>` +
    `<text class="sl-title" x="${(x0 + x1) / 2}" y="${H - 6}" text-anchor="middle">${xTitle}</text>` +
    `<text class="sl-title" x="12" y="${(y0 + y1) / 2}" text-anchor="middle" transform="rotate(-90 12 ${(y0 + y1) / 2})">${yTitle}</text>`;
}

const points = (xs, ys, x, y) => xs.map((v, i) => `${fixed(x(v), 1)},${fixed(y(ys[i]), 1)}`).join(" ");

/** (a) The iso-FLOP valley: predicted loss against model size at this budget. */
export function valleySvg(state) {
  const v = state.valley;
  const x = scale(v.x_range, [PAD.left, W - PAD.right]);
  const y = scale(v.y_range, [H - PAD.bottom, PAD.top]);
  const xTicks = [];
  for (let k = Math.ceil(v.x_range[0]); k <= v.x_range[1]; k++) xTicks.push([k, countLabel(k)]);
  const yTicks = v.y_ticks.map((t, i) => [t, v.y_labels[i]]);
  const { optimum: o, chosen: c, rule: r } = state;
  const said = `Predicted loss against model size at ${state.compute_text}: lowest, ${o.loss_text}, at ${o.params_text} parameters; ` +
    `20 tokens per parameter (${r.params_text}) reach ${r.loss_text}; the chosen ${c.params_text} parameters ${c.loss_text}.`;
  return `<svg class="sl-chart sl-valley" viewBox="0 0 ${W} ${H}" role="img" aria-label="${escapeHtml(said)}">
${frame(x, y, xTicks, yTicks, "model size, parameters (log scale)", "predicted loss")}
<text class="sl-side" x="${PAD.left + 6}" y="${PAD.top - 10}">← too small: not enough capacity</text>
<text class="sl-side" x="${W - PAD.right - 6}" y="${PAD.top - 10}" text-anchor="end">too big: too few tokens →</text>
<polyline class="sl-curve" points="${points(v.log10_params, v.loss, x, y)}"/>
<line class="sl-opt-line" x1="${fixed(x(o.log10_params), 1)}" x2="${fixed(x(o.log10_params), 1)}" y1="${PAD.top}" y2="${H - PAD.bottom}"/>
<circle class="sl-opt" cx="${fixed(x(o.log10_params), 1)}" cy="${fixed(y(o.loss), 1)}" r="5"/>
<text class="sl-opt-label" x="${fixed(x(o.log10_params), 1)}" y="${fixed(y(o.loss) + 18, 1)}" text-anchor="middle">optimum</text>
<rect class="sl-rule-mark" x="${fixed(x(r.log10_params) - 4, 1)}" y="${fixed(y(r.loss) - 4, 1)}" width="8" height="8"/>
<circle class="sl-chosen" cx="${fixed(x(c.log10_params), 1)}" cy="${fixed(y(c.loss), 1)}" r="6"/></svg>`;
}

/** (b) Model size against compute, log-log: the optimal line, the rule of 20 tokens per
 * parameter, the published models, and the chosen model at this budget. */
export function frontierSvg(state) {
  const f = state.frontier;
  const x = scale(f.x_range, [PAD.left, W - PAD.right]);
  const y = scale(f.y_range, [H - PAD.bottom, PAD.top]);
  const xTicks = [];
  for (let k = f.x_range[0]; k <= f.x_range[1]; k += 2) xTicks.push([k, power(k)]);
  const yTicks = [];
  for (let k = f.y_range[0]; k <= f.y_range[1]; k += 2) yTicks.push([k, countLabel(k)]);
  const models = state.models.map((m) => {
    const [anchor, dx, dy] = PLACES[m.key] || ["start", 7, 4];
    const px = x(m.log10_compute);
    const py = y(m.log10_params);
    return `<g class="sl-model${m.key === state.matches ? " is-chosen" : ""}"><circle cx="${fixed(px, 1)}" cy="${fixed(py, 1)}" r="4"/>` +
      `<text x="${fixed(px + dx, 1)}" y="${fixed(py + dy, 1)}" text-anchor="${anchor}">${escapeHtml(m.name)}</text></g>`;
  }).join("");
  const cx = x(state.log10_compute);
  const said = `Model size against compute: the optimum of the fitted loss, the rule of 20 tokens per parameter, and ` +
    state.models.map((m) => `${m.name} (${m.params_text} parameters, ${m.compute_text}, ${m.above ? "above" : "below"} the optimal line)`).join(", ") + ".";
  return `<svg class="sl-chart sl-frontier" viewBox="0 0 ${W} ${H}" role="img" aria-label="${escapeHtml(said)}">
${frame(x, y, xTicks, yTicks, "training compute, FLOPs (log scale)", "parameters (log scale)")}
<polyline class="sl-rule" points="${points(f.log10_compute, f.rule, x, y)}"/>
<polyline class="sl-optimal" points="${points(f.log10_compute, f.optimal, x, y)}"/>
<line class="sl-now" x1="${fixed(cx, 1)}" x2="${fixed(cx, 1)}" y1="${PAD.top}" y2="${H - PAD.bottom}"/>
${models}
<circle class="sl-chosen" cx="${fixed(cx, 1)}" cy="${fixed(y(state.chosen.log10_params), 1)}" r="6"/></svg>`;
}

function presetButtons(state) {
  return state.models.map((m) =>
    `<button type="button" class="sl-preset" data-model="${m.key}" aria-pressed="${m.key === state.matches}" disabled>${escapeHtml(m.name)}</button>`).join("");
}

const sizeWords = (c) => `${c.params_text} parameters (${fixed(10 ** c.size_vs_optimum, 2)} × the optimum)`;

/** The readouts: [label, value] rows. */
function readoutRows(state) {
  const { chosen: c, optimum: o } = state;
  return [
    ["Parameters N", c.params_text],
    ["Training tokens D = C / 6N", c.tokens_text],
    ["Tokens per parameter", c.tokens_per_param_text],
    ["Predicted loss", c.loss_text],
    [`Loss at the optimum (${o.params_text} parameters, ${o.tokens_per_param_text} tokens each)`, o.loss_text],
    [`Loss with 20 tokens per parameter (${state.rule.params_text} parameters)`, state.rule.loss_text],
  ];
}

/** The parts that change with the state, each the inside of one element (data-part). */
function parts(state) {
  return {
    compute: escapeHtml(state.compute_text),
    words: `About ${escapeHtml(state.compute_words)} at full speed.`,
    size: escapeHtml(sizeWords(state.chosen)),
    readouts: readoutRows(state).map(([label, value]) => `<tr><th scope="row">${escapeHtml(label)}</th><td>${escapeHtml(value)}</td></tr>`).join(""),
    note: escapeHtml(state.note),
    valley: valleySvg(state),
    frontier: frontierSvg(state),
  };
}

export function render(config, state, key) {
  const id = (part) => `${key}-${part}`;
  const p = parts(state);
  const [cLo, cHi] = state.ranges.compute;
  const [nLo, nHi] = state.ranges.size;
  return `<div class="sl" role="group" aria-labelledby="${id("title")}">
  <p class="widget-title" id="${id("title")}">Scaling laws: spending a compute budget</p>
  <div class="sl-presets" role="group" aria-label="Published models">${presetButtons(state)}</div>
  <div class="sl-controls">
    <label for="${id("c")}">Compute budget <output class="sl-c-value" for="${id("c")}" data-part="compute">${p.compute}</output></label>
    <input type="range" id="${id("c")}" class="sl-compute" min="${cLo}" max="${cHi}" step="0.1" value="${fixed(state.log10_compute, 4)}" aria-valuetext="${p.compute}" aria-describedby="${id("words")}" disabled>
    <p class="sl-words" id="${id("words")}" data-part="words">${p.words}</p>
    <label for="${id("n")}">Model size <output class="sl-n-value" for="${id("n")}" data-part="size">${p.size}</output></label>
    <input type="range" id="${id("n")}" class="sl-size" min="${nLo}" max="${nHi}" step="0.05" value="${fixed(state.chosen.size_vs_optimum, 4)}" aria-valuetext="${p.size}" disabled>
  </div>
  <table class="sl-readouts"><caption>At this budget (Chinchilla's fitted loss, nats per token)</caption><tbody data-part="readouts">${p.readouts}</tbody></table>
  <p class="sl-note" data-part="note">${p.note}</p>
  <div class="sl-charts">
    <figure class="sl-figure"><div data-part="valley">${p.valley}</div><figcaption>The iso-FLOP valley: every size at this budget. <span class="sl-key is-mark" aria-hidden="true"></span> 20 tokens per parameter.</figcaption></figure>
    <figure class="sl-figure"><div data-part="frontier">${p.frontier}</div><figcaption><span class="sl-key is-optimal" aria-hidden="true"></span>the fit's optimum
      <span class="sl-key is-rule" aria-hidden="true"></span>20 tokens per parameter. Above the lines: more parameters than the optimum.</figcaption></figure>
  </div>
  ${widgetFooter("the numbers the book computed when it was built", "sl-announce")}
</div>`;
}

export function mount(element, context) {
  const { config, key } = context;
  if (!element.querySelector(".sl")) element.innerHTML = render(config, context.state, key);
  const $ = (selector) => element.querySelector(selector);
  const compute = $(".sl-compute");
  const size = $(".sl-size");
  const root = $(".sl");
  let state = context.state;
  const drawn = parts(state);
  let settleTimer = 0;

  function draw(view) {
    const started = performance.now();
    state = view;
    for (const [name, markup] of Object.entries(parts(state))) {
      if (drawn[name] === markup) continue;
      element.querySelector(`[data-part="${name}"]`).innerHTML = markup;
      drawn[name] = markup;
    }
    // A slider being moved keeps its own value; the other follows Python's answer.
    if (document.activeElement !== compute) compute.value = fixed(state.log10_compute, 4);
    if (document.activeElement !== size) size.value = fixed(state.chosen.size_vs_optimum, 4);
    compute.setAttribute("aria-valuetext", state.compute_text);
    size.setAttribute("aria-valuetext", sizeWords(state.chosen));
    for (const button of element.querySelectorAll(".sl-preset")) {
      button.setAttribute("aria-pressed", String(button.dataset.model === state.matches));
    }
    element.dispatchEvent(new CustomEvent("widget:drawn", { detail: { ms: performance.now() - started } }));
    // Written into the URL and said once the reader pauses: history.replaceState on every input
    // of a dragged slider costs more than the redraw.
    clearTimeout(settleTimer);
    settleTimer = setTimeout(() => {
      writeFragment(key, state.matches ? { model: state.matches }
        : { c: fixed(state.log10_compute, 4), n: fixed(state.chosen.size_vs_optimum, 4) });
      $(".sl-announce").textContent = state.summary;
    }, 250);
  }

  const recompute = latest(async (kwargs) => {
    root.setAttribute("aria-busy", "true");
    const result = await context.call(config.fn, [], kwargs);
    root.removeAttribute("aria-busy");
    if (!result.ok) { showError(element, "The scaling law could not be computed:", result.error); return; }
    showError(element, null);
    draw(result.value);
  }, (err) => { root.removeAttribute("aria-busy"); showError(element, "The scaling law could not be computed:", String(err)); });

  compute.addEventListener("input", () => recompute({ log10_compute: Number(compute.value), size_vs_optimum: state.chosen.size_vs_optimum }));
  size.addEventListener("input", () => recompute({ log10_compute: state.log10_compute, size_vs_optimum: Number(size.value) }));
  for (const button of element.querySelectorAll(".sl-preset")) {
    button.addEventListener("click", () => recompute({ model: button.dataset.model }));
  }

  context.ready.then(() => {
    for (const control of element.querySelectorAll("input, button")) control.disabled = false;
    showLive(element, `Live: the numbers come from ${config.fn} in your browser.`);
    const shared = readFragment(key);
    if (state.models.some((m) => m.key === shared.model)) recompute({ model: shared.model });
    else if (Number.isFinite(Number.parseFloat(shared.c))) {
      const n = Number.parseFloat(shared.n);
      recompute({ log10_compute: Number.parseFloat(shared.c), size_vs_optimum: Number.isFinite(n) ? n : 0 });
    }
  });
  return { draw };
}
