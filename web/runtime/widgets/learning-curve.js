// LearningCurve: gradient descent on the names' bigram model, run in the reader's browser by
// lmlab.neural_bigram.names_learning_curve, drawn as the loss against the step with the counting
// model's loss as the line it approaches. Run computes the descent with the chosen learning rate
// and draws the curve growing (at once when the reader prefers reduced motion); the step slider
// reads the loss at any step.
//
// Config: fn, kwargs ({steps, lr}), rates (learning rates offered), reader ({fn, cell, via}: the
// reader's loss_and_grad(W, xs, ys); switched on, `via` (lmlab.neural_bigram.reader_learning_curve)
// runs the descent on their gradient, compares it with lmlab's at the first step, and the chart
// adds lmlab's descent as a dashed line for comparison). Fragment: #KEY-lr=50&KEY-step=120.
import { escapeHtml, widgetFooter } from "./markup.js";
import { showError, showLive } from "./status.js";
import { readFragment, writeFragment } from "./fragment.js";

const fixed = (x, digits) => Number(x).toFixed(digits);
const W = 600;
const H = 260;
const PAD = { left: 44, right: 10, top: 10, bottom: 28 };
const ANIMATION_MS = 1500;

function scales(state) {
  const n = (state.lmlab_losses || state.losses).length - 1; // a stopped descent is shorter
  const lo = Math.floor((state.counting_loss - 0.05) * 10) / 10;
  // A wrong gradient can send the loss far up; above twice the uniform loss the line runs along
  // the top rather than squashing the rest of the chart.
  const highest = Math.min(2 * state.uniform_loss, Math.max(...state.losses.filter(Number.isFinite)));
  const hi = Math.ceil(Math.max(state.uniform_loss, highest) * 10) / 10;
  const x = (i) => PAD.left + (i / n) * (W - PAD.left - PAD.right);
  const y = (v) => PAD.top + (1 - (Math.min(Math.max(v, lo), hi) - lo) / (hi - lo)) * (H - PAD.top - PAD.bottom);
  return { n, lo, hi, x, y };
}

/** The polyline of the first `upTo` + 1 losses. */
function pathOf(state, upTo, losses = state.losses) {
  const { x, y } = scales(state);
  return losses.slice(0, upTo + 1).map((v, i) => `${fixed(x(i), 1)},${fixed(y(v), 1)}`).join(" ");
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
${state.lmlab_losses ? `<polyline class="lc-ref" points="${pathOf(state, upTo === state.losses.length - 1 ? Infinity : upTo, state.lmlab_losses)}"/>` : ""}
<polyline class="lc-line" points="${pathOf(state, upTo)}"/>${cursor}</svg>`;
}

const charName = (c) => (c === "." ? "“.”" : `“${c}”`);
const thousands = (n) => Number(n).toLocaleString("en-US");
const short = (x) => (Number.isFinite(x) ? Number(x).toPrecision(4) : String(x));

/** What the reader's gradient did at the first step, compared with lmlab's, in words. */
export function comparison(state) {
  const f = state.first_step;
  const on = `On the bigrams of the first ${thousands(state.names)} training names ` +
    `(${thousands(state.bigrams)} pairs), at W = 0:`;
  const loss = f.loss_same
    ? `your loss, ${fixed(f.loss_theirs, 4)}, is lmlab's.`
    : `your loss is ${short(f.loss_theirs)}, lmlab's ${fixed(f.loss_expected, 4)}.`;
  const grad = f.same
    ? `Your gradient matches lmlab's in all ${thousands(f.total)} entries.`
    : `Your gradient differs from lmlab's in ${thousands(f.differing)} of the ${thousands(f.total)} ` +
      `entries, by up to ${short(f.max_diff)}: ` + f.worst.map((w) =>
        `row ${charName(w.row)}, column ${charName(w.col)}: yours ${short(w.theirs)}, lmlab's ${short(w.expected)}`).join("; ") + ".";
  const stopped = state.stopped_at === null ? "" :
    ` At step ${state.stopped_at} your gradient was no longer a number everywhere, so the descent stopped there.`;
  const line = f.same && f.loss_same ? " The dashed line is lmlab's descent, under yours." :
    " The dashed line is where lmlab's gradient goes.";
  return `${on} ${loss} ${grad}${stopped}${line}`;
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
  ${config.reader ? `<div class="lc-reader">
    <input type="checkbox" role="switch" id="${id("mine")}" class="lc-mine" disabled>
    <label for="${id("mine")}">Use my <code>${escapeHtml(config.reader.fn)}</code>
      (<a href="#cell-${escapeHtml(config.reader.cell)}">the exercise</a>)</label>
  </div>
  <p class="lc-source">The gradient is lmlab's.</p>` : ""}
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
    slider.max = String(state.losses.length - 1);
    slider.value = String(at);
    element.dataset.step = String(at);
    element.dispatchEvent(new CustomEvent("widget:drawn", { detail: { ms: performance.now() - started } }));
  }

  const mine = $(".lc-mine");

  // The descent on the reader's gradient when switched on; lmlab's when theirs is missing or
  // fails (the error box says which and why). Resolves to the result of a call.
  async function descend(lr) {
    const kwargs = { ...config.kwargs, lr };
    const name = config.reader?.fn;
    if (mine?.checked) {
      const theirs = await context.call(config.reader.via, [], { ...kwargs, grad: { reader: name } });
      if (theirs.ok) {
        showError(element, null);
        $(".lc-source").textContent = comparison(theirs.value);
        return theirs;
      }
      showError(element, theirs.error.includes(`no function named '${name}'`)
        ? `Run the cell that defines ${name}() first; until then the curve is lmlab's.`
        : `Your ${name}() did not work, so the curve is lmlab's:`, theirs.error);
    }
    const result = await context.call(config.fn, [], kwargs);
    if (result.ok && !mine?.checked) showError(element, null);
    if (config.reader) $(".lc-source").textContent = "The gradient is lmlab's.";
    return result;
  }

  async function run(lr, at = null) {
    cancelAnimationFrame(frame);
    $(".lc-run").disabled = true;
    const result = await descend(lr);
    $(".lc-run").disabled = false;
    if (!result.ok) return showError(element, "Gradient descent failed:", result.error);
    state = result.value;
    const n = state.losses.length - 1;
    const end = at ?? n;
    const finish = () => {
      draw(n, end);
      writeFragment(key, { lr, step: end });
      const whose = state.first_step ? `${$(".lc-source").textContent} ` : "";
      $(".lc-announce").textContent = `${whose}Learning rate ${lr}: ` + readout(state, end);
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
  mine?.addEventListener("change", () => run(Number(rate.value)));
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
