// GptSize: how big a GPT is, from its configuration alone. Presets (the book's model, GPT-2's
// four sizes, GPT-3) or the reader's own layers, width, heads, vocabulary and context; where the
// parameters sit (a stacked bar), the memory the weights, training and the KV cache take, the
// FLOPs per token, and whether a matrix product waits on memory or on arithmetic. Every number
// and its text comes from lmlab.model_size.size_view (CPython at build time, Pyodide after); this
// file only lays them out, and it shows the settings' problems that size_view reports.
//
// Config: fn ("lmlab.model_size.size_view"), kwargs ({preset, batch, ...}).
// Fragment: #KEY-preset=gpt2&KEY-n_layer=12&KEY-n_embd=768&KEY-n_head=12&KEY-vocab_size=50257
//           &KEY-block_size=1024&KEY-batch=8&KEY-tie=1
import { escapeHtml, widgetFooter } from "./markup.js";
import { showError, showLive } from "./status.js";
import { readFragment, writeFragment } from "./fragment.js";
import { latest } from "./latest.js";

// The settings the reader types, in the order they are shown; labels and limits come from Python.
const FIELDS = ["n_layer", "n_embd", "n_head", "vocab_size", "block_size", "batch"];
const HINTS = {
  n_layer: "blocks", n_embd: "numbers per token", n_head: "must divide the width",
  vocab_size: "tokens", block_size: "tokens", batch: "sequences",
};
const thousands = (n) => Number(n).toLocaleString("en-US");

function presetButtons(state) {
  return state.presets.map(({ name, label }) =>
    `<button type="button" class="gs-preset" data-preset="${name}" aria-pressed="${name === state.matches}" disabled>${escapeHtml(label)}</button>`).join("");
}

function settingInputs(state, id) {
  return FIELDS.map((field) => {
    const [label, low, high] = state.limits[field];
    return `<div class="gs-setting"><label for="${id(field)}">${escapeHtml(label)} <span class="gs-hint">(${HINTS[field]})</span></label>` +
      `<input type="number" id="${id(field)}" class="gs-input" data-field="${field}" min="${low}" max="${high}" step="1" inputmode="numeric" value="${state.settings[field]}" aria-describedby="${id("problems")}" disabled></div>`;
  }).join("");
}

/** The stacked bar of where the parameters are: one rectangle per part, width its share. */
function barSvg(state) {
  let x = 0;
  const rects = state.parts.filter((part) => part.params > 0).map((part) => {
    const width = part.share * 1000;
    const rect = `<rect class="gs-part gs-${part.name}" x="${x.toFixed(2)}" y="0" width="${width.toFixed(2)}" height="40"/>`;
    x += width;
    return rect;
  }).join("");
  const said = state.parts.map((part) => `${part.label} ${part.share_text}`).join(", ");
  return `<svg class="gs-bar" viewBox="0 0 1000 40" preserveAspectRatio="none" role="img" aria-label="Where the parameters are: ${escapeHtml(said)}">${rects}</svg>`;
}

function legendHtml(state) {
  return state.parts.map((part) => {
    const note = part.name === "head" && state.tie_weights ? " (tied to the token embedding)" : "";
    return `<li><span class="gs-swatch gs-${part.name}" aria-hidden="true"></span>${escapeHtml(part.label)}` +
      `<span class="gs-count">${part.text} <strong>${part.share_text}</strong>${note}</span></li>`;
  }).join("");
}

function rowsHtml(rows) {
  return rows.map(([label, value]) => `<tr><th scope="row">${escapeHtml(label)}</th><td>${escapeHtml(value)}</td></tr>`).join("");
}

function flopRows(state) {
  const text = state.flops.text;
  const T = thousands(state.settings.block_size);
  return [
    ["Matrix products (2 FLOPs per weight)", text.matmul],
    [`Attention over ${T} tokens (4 × layers × context × width)`, text.attention],
    ["Forward pass", text.total],
    ["Training: forward and backward (3 forward passes)", text.training],
    ["The rule of thumb 6N (N parameters)", text.six_n],
  ];
}

function regimesHtml(state) {
  const { cases, machine, ridge_text: ridge } = state.intensity;
  const what = { generation: "Generating one token (batch 1)", training: `Training on ${thousands(state.settings.batch)} × ${thousands(state.settings.block_size)} tokens` };
  return cases.map((c) => {
    const [m, k, n] = c.shape.map(thousands);
    const verdict = c.bound === "memory"
      ? `<strong class="gs-memory-bound">memory-bound</strong>: at most ${c.peak_share_text} of the ${machine.flops_text}`
      : `<strong class="gs-compute-bound">compute-bound</strong>: above the ridge, arithmetic sets the pace`;
    return `<li><span class="gs-case">${what[c.name]}:</span> (${m} × ${k}) @ (${k} × ${n}) in bfloat16 does ` +
      `<strong>${c.intensity_text}</strong> FLOPs per byte it moves (the ridge is ${ridge}); ${verdict}.</li>`;
  }).join("");
}

/** The parts of the results, each the inside of one element (data-part): a redraw replaces only
 * those whose markup changed (a new batch size changes three rows, not the whole widget). */
function resultParts(state) {
  const s = state.settings;
  const { machine } = state.intensity;
  return {
    total: `<strong>${thousands(state.total)}</strong> parameters (${state.total_text}): ` +
      `${thousands(state.per_block)} in each of ${thousands(s.n_layer)} block${s.n_layer === 1 ? "" : "s"}.`,
    bar: barSvg(state),
    legend: legendHtml(state),
    memory: rowsHtml(state.memory.map((row) => [row.label, row.text])),
    flops: rowsHtml(flopRows(state)),
    heading: `Memory or arithmetic? The MLP's first matrix on an ${machine.name}: ${machine.flops_text} in bfloat16, ${machine.bandwidth_text} from memory, so it needs ${state.intensity.ridge_text} FLOPs per byte to keep busy (its ridge point).`,
    regimes: regimesHtml(state),
    note: `Generating a token reads every weight once: ${state.intensity.token_seconds_text} per token at the least, in bfloat16 at ${machine.bandwidth_text}, however fast the arithmetic.`,
  };
}

/** Everything below the controls, from one size_view answer with no problems. */
export function resultsHtml(state) {
  const part = resultParts(state);
  return `<p class="gs-total" data-part="total">${part.total}</p>
  <div class="gs-bar-box" data-part="bar">${part.bar}</div>
  <ul class="gs-legend" data-part="legend">${part.legend}</ul>
  <div class="gs-tables">
    <table class="gs-table"><caption>Memory (1 GB = 10<sup>9</sup> bytes)</caption><tbody data-part="memory">${part.memory}</tbody></table>
    <table class="gs-table"><caption>Arithmetic per token</caption><tbody data-part="flops">${part.flops}</tbody></table>
  </div>
  <p class="gs-heading" data-part="heading">${part.heading}</p>
  <ul class="gs-regimes" data-part="regimes">${part.regimes}</ul>
  <p class="gs-note" data-part="note">${part.note}</p>`;
}

function problemsHtml(problems) {
  return problems.map((p) => `<li>${escapeHtml(p.message)}</li>`).join("");
}

export function render(config, state, key) {
  const id = (part) => `${key}-${part}`;
  return `<div class="gs" role="group" aria-labelledby="${id("title")}">
  <p class="widget-title" id="${id("title")}">How big is a GPT? Parameters, memory and arithmetic</p>
  <div class="gs-presets" role="group" aria-label="Presets">${presetButtons(state)}</div>
  <div class="gs-settings">${settingInputs(state, id)}</div>
  <label class="gs-tie"><input type="checkbox" class="gs-tie-box"${state.tie_weights ? " checked" : ""} disabled> Tie the output head to the token embedding (as GPT-2 does)</label>
  <div class="gs-problems" id="${id("problems")}" hidden><p>These settings do not make a GPT; the numbers below are for the last ones that did.</p><ul class="gs-problem-list"></ul></div>
  <div class="gs-results">${resultsHtml(state)}</div>
  ${widgetFooter("the GPT-2 small the book computed when it was built", "gs-announce")}
</div>`;
}

export function mount(element, context) {
  const { config, key } = context;
  if (!element.querySelector(".gs")) element.innerHTML = render(config, context.state, key);
  const $ = (selector) => element.querySelector(selector);
  const inputs = [...element.querySelectorAll(".gs-input")];
  const tie = $(".gs-tie-box");
  const announcer = $(".gs-announce");
  const root = $(".gs");
  let state = context.state;
  let preset = state.preset;
  const drawnParts = resultParts(state); // what the results show now (the builder drew them)

  /** A number input's value for Python: a blank (or what the browser could not read) is NaN,
   * which size_view reports as not a whole number. */
  const valueOf = (input) => (input.value.trim() === "" ? NaN : Number(input.value));
  const asked = () => Object.fromEntries(inputs.map((input) => [input.dataset.field, valueOf(input)]));

  function showProblems(problems) {
    const box = $(".gs-problems");
    box.hidden = problems.length === 0;
    $(".gs-problem-list").innerHTML = problemsHtml(problems);
    const wrong = new Set(problems.map((p) => p.field));
    for (const input of inputs) {
      if (wrong.has(input.dataset.field)) input.setAttribute("aria-invalid", "true");
      else input.removeAttribute("aria-invalid");
    }
    $(".gs-results").classList.toggle("is-stale", problems.length > 0);
  }

  function draw(view) {
    const started = performance.now();
    showProblems(view.problems);
    // the settings Python used (a preset's, or what was typed), except in the field being typed in
    for (const input of inputs) {
      const value = view.settings[input.dataset.field];
      if (document.activeElement !== input && Number.isFinite(value)) input.value = value;
    }
    if (view.problems.length) {
      announcer.textContent = view.problems.map((p) => p.message).join(" ");
    } else {
      state = view;
      for (const [name, markup] of Object.entries(resultParts(state))) {
        if (drawnParts[name] === markup) continue;
        element.querySelector(`[data-part="${name}"]`).innerHTML = markup;
        drawnParts[name] = markup;
      }
      for (const button of element.querySelectorAll(".gs-preset")) {
        button.setAttribute("aria-pressed", String(button.dataset.preset === state.matches));
      }
      writeFragment(key, { preset, ...state.settings, tie: state.tie_weights ? 1 : 0 });
      announcer.textContent = state.summary;
    }
    element.dispatchEvent(new CustomEvent("widget:drawn", { detail: { ms: performance.now() - started } }));
  }

  const live = () => showLive(element, `Live: the numbers come from ${config.fn} in your browser.`);
  const recompute = latest(async (kwargs) => {
    root.setAttribute("aria-busy", "true");
    const result = await context.call(config.fn, [], { ...config.kwargs, ...kwargs });
    root.removeAttribute("aria-busy");
    if (!result.ok) { showError(element, "The sizes could not be computed:", result.error); return; }
    showError(element, null);
    draw(result.value);
  }, (err) => { root.removeAttribute("aria-busy"); showError(element, "The sizes could not be computed:", String(err)); });

  const current = () => ({ preset, ...asked(), tie_weights: tie.checked });

  for (const button of element.querySelectorAll(".gs-preset")) {
    button.addEventListener("click", () => {
      preset = button.dataset.preset;
      // The preset's own shape in the fields at once (a setting typed before Python answers
      // changes that shape, not the one before), the reader's batch and tie kept (they are not
      // the model's).
      const { settings } = state.presets.find((p) => p.name === preset);
      for (const input of inputs) if (input.dataset.field in settings) input.value = settings[input.dataset.field];
      recompute(current());
    });
  }
  for (const input of inputs) input.addEventListener("change", () => recompute(current()));
  tie.addEventListener("change", () => recompute(current()));

  context.ready.then(() => {
    for (const control of element.querySelectorAll("input, button")) control.disabled = false;
    live();
    const shared = readFragment(key);
    if (!Object.keys(shared).length) return;
    if (state.presets.some((p) => p.name === shared.preset)) preset = shared.preset;
    for (const input of inputs) if (shared[input.dataset.field] !== undefined) input.value = shared[input.dataset.field];
    if (shared.tie !== undefined) tie.checked = shared.tie !== "0";
    recompute(current());
  });
  return { draw };
}
