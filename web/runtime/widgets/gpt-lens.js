// GPT lens (chapter 8): the book's own GPT reading a prompt the reader types, opened up. For the
// chosen position, the logit lens: the residual stream after the embeddings and after each block,
// read by the final layer norm and the output projection, as a table of the likeliest next tokens
// per stage, the final answer marked and its probability growing (or not) through the blocks;
// where every head looks from there; and one head's whole attention map. Every number comes from
// lmlab.gpt_lens.lens_view; this file only draws. The lens of every position is in each answer, so
// choosing a position (the token strip, or Up and Down in the map) asks Python nothing; a prompt,
// a block or a head does.
//
// Config: fn ("lmlab.gpt_lens.lens_view"), map ("lmlab.gpt_lens.attention_map": one head's map
// of the same prompt), kwargs ({prompt}).
// Fragment: #KEY-prompt=ROMEO%3A%0ABut+soft&KEY-pos=5&KEY-layer=2&KEY-head=3&KEY-k=1
// (blocks and heads numbered from 1, as on screen; positions from 0, as in Python)
import { escapeHtml, widgetFooter } from "./markup.js";
import { showError, showLive } from "./status.js";
import { readFragment, writeFragment } from "./fragment.js";
import { latest } from "./latest.js";
import { moveInTriangle } from "./triangle-focus.js";

const fixed = (x, digits) => Number(x).toFixed(digits);
const quoted = (piece) => `“${piece}”`;
const LABELLED_UP_TO = 24; // tokens: beyond this the map's labels would be too small to read
const OPACITY_LEVELS = 100; // a cell's weight as an opacity in hundredths: one <path> per level and row

/** The stage from which the final answer stays the top token to the end (0: the embeddings). */
export function settledAt(lens) {
  let stage = lens.stages.length - 1;
  while (stage > 0 && lens.stages[stage - 1].rank === 1) stage -= 1;
  return stage;
}

/** The plain-words summary of a position: when the answer appears, and how sure the model ends. */
export function summaryText(view, pos) {
  const lens = view.lens[pos];
  const answer = quoted(lens.answer);
  const final = fixed(lens.answer_p, 2);
  const at = settledAt(lens);
  const last = lens.stages.length - 1;
  const reading = `Reading ${quoted(view.tokens[pos])} (position ${pos + 1} of ${view.tokens.length}): `;
  if (at === last) return `${reading}only the last block settles it: the final answer ${answer} ${final}.`;
  const when = at === 0 ? "straight from the embeddings" : `after ${view.stages[at]}`;
  return `${reading}${when} the model already expects ${answer} (${fixed(lens.stages[at].p, 2)}); the final answer ${answer} ${final}.`;
}

function stripHtml(view, pos) {
  return view.tokens.map((piece, i) =>
    `<span role="radio" class="gl-token${i === pos ? " is-active" : ""}" data-pos="${i}" tabindex="${i === pos ? 0 : -1}" ` +
    `aria-checked="${i === pos}" aria-label="${escapeHtml(`${i + 1}: ${piece}`)}">${escapeHtml(piece)}</span>`).join("");
}

function croppedText(view) {
  return view.dropped
    ? `The model reads at most ${view.block_size} tokens: the first ${view.dropped} of this prompt are left out.`
    : "";
}

function lensRows(view, pos) {
  const lens = view.lens[pos];
  return lens.stages.map((stage, s) => {
    const tops = stage.top.map(([piece, p]) => {
      const chip = `${escapeHtml(piece)} <span class="gl-p">${fixed(p, 2)}</span>`;
      return `<li>${piece === lens.answer ? `<mark>${chip}</mark>` : chip}</li>`;
    }).join("");
    return `<tr><th scope="row">${escapeHtml(view.stages[s])}</th><td><ol class="gl-tops">${tops}</ol></td>` +
      `<td class="gl-final"><span class="gl-bar" style="--p:${fixed(stage.p, 3)}"></span>` +
      `${fixed(stage.p, 2)} <span class="gl-rank">(#${stage.rank})</span></td>` +
      `<td class="gl-norm">${fixed(stage.norm, 1)}</td></tr>`;
  }).join("");
}

function lensCaption(view, pos) {
  return `What the model would predict after ${quoted(escapeHtml(view.tokens[pos]))} if it stopped after each stage ` +
    `(top ${view.top}; the final answer <mark>${escapeHtml(view.lens[pos].answer)}</mark> marked)`;
}

function looksRows(view, pos) {
  return view.looks[pos].map((heads, layer) =>
    `<tr><th scope="row">block ${layer + 1}</th>${heads.map(([key, w], head) =>
      `<td${layer === view.layer && head === view.head ? " class=\"is-chosen\"" : ""}>${escapeHtml(view.tokens[key])} ` +
      `<span class="gl-p">${fixed(w, 2)}</span></td>`).join("")}</tr>`).join("");
}

/** The chosen head's causal map: rows are the positions that look, columns the positions looked
 * at, one unit per cell, each weight an opacity; the focused row and cell outlined. */
function mapSvg(view, pos, k) {
  const T = view.tokens.length;
  // room on the left for the longest label: a monospace character is about 0.36 of a unit wide
  const longest = Math.max(...view.tokens.map((piece) => piece.length));
  const margin = T <= LABELLED_UP_TO ? 0.4 + 0.36 * longest : 0;
  const paths = new Map();
  view.attention.forEach((row, q) => {
    for (let key = 0; key <= q; key++) {
      const level = Math.round(row[key] * OPACITY_LEVELS);
      if (level) paths.set(level, `${paths.get(level) || ""}M${key} ${q}h1v1h-1z`);
    }
  });
  const cells = [...paths].map(([level, d]) => `<path fill-opacity="${fixed(level / OPACITY_LEVELS, 2)}" d="${d}"/>`).join("");
  const labels = margin
    ? view.tokens.map((piece, i) => `<text x="-0.2" y="${i + 0.75}">${escapeHtml(piece)}</text>`).join("")
    : "";
  return `<svg class="gl-map-svg" viewBox="${fixed(-margin, 2)} 0 ${fixed(T + margin, 2)} ${T}" aria-hidden="true" focusable="false">` +
    `<path class="gl-past" d="M0 0${view.tokens.map((_, i) => `H${i + 1}V${i + 1}`).join("")}H0Z"/>` +
    `<g class="gl-cells">${cells}</g><g class="gl-labels">${labels}</g>` +
    `<rect class="gl-row" x="0" y="${pos}" width="${pos + 1}" height="1"/>` +
    `<rect class="gl-cell" x="${k}" y="${pos}" width="1" height="1"/></svg>`;
}

/** The focused cell of the map in words. */
export function readout(view, pos, k) {
  const w = view.attention[pos][k];
  return `Block ${view.layer + 1}, head ${view.head + 1}: position ${pos + 1} (${quoted(escapeHtml(view.tokens[pos]))}) ` +
    `gives position ${k + 1} (${quoted(escapeHtml(view.tokens[k]))}) weight <strong>${fixed(w, 2)}</strong>.`;
}

function mapLabel(view) {
  return `Attention of block ${view.layer + 1}, head ${view.head + 1} over ${view.tokens.length} tokens. ` +
    "Up and Down choose the position that looks, Left and Right the position looked at.";
}

/** "tokens,layer,head" of a view. */
const shown = (view) => `${view.tokens.length},${view.layer},${view.head}`;

function options(count, chosen, name) {
  return Array.from({ length: count }, (_, i) =>
    `<option value="${i}"${i === chosen ? " selected" : ""}>${name} ${i + 1}</option>`).join("");
}

export function render(config, state, key) {
  const id = (part) => `${key}-${part}`;
  const pos = state.position;
  // data-shown and data-focus say what is drawn (for the tests and the benchmark to wait on)
  return `<div class="gl" role="group" aria-labelledby="${id("title")}" data-shown="${shown(state)}" data-focus="${pos},0">
  <p class="widget-title" id="${id("title")}">Inside the book's GPT: a prediction forming, block by block</p>
  <label class="gl-prompt-label" for="${id("prompt")}">Prompt</label>
  <textarea class="gl-prompt" id="${id("prompt")}" rows="2" maxlength="2000" spellcheck="false" autocomplete="off" disabled>${escapeHtml(state.prompt)}</textarea>
  <p class="gl-cropped"${state.dropped ? "" : " hidden"}>${croppedText(state)}</p>
  <p class="gl-strip-title" id="${id("strip")}">Its ${state.tokens.length} tokens (␣ is a space, ↵ a new line). Choose the position to read the prediction after it:</p>
  <div class="gl-strip" role="radiogroup" aria-labelledby="${id("strip")}">${stripHtml(state, pos)}</div>
  <p class="gl-summary">${escapeHtml(summaryText(state, pos))}</p>
  <table class="gl-lens">
    <caption>${lensCaption(state, pos)}</caption>
    <thead><tr><th scope="col">After</th><th scope="col">Likeliest next tokens</th><th scope="col">Final answer's p (rank)</th><th scope="col">Stream size</th></tr></thead>
    <tbody>${lensRows(state, pos)}</tbody>
  </table>
  <p class="gl-note">Stream size: the length (norm) of the residual stream at this position, which the final layer norm rescales before reading it.</p>
  <div class="gl-heads">
    <p class="gl-looks-title" id="${id("looks")}">Where each head looks most from this position (the token and its weight):</p>
    <table class="gl-looks" aria-labelledby="${id("looks")}">
      <thead><tr><td></td>${Array.from({ length: state.n_head }, (_, h) => `<th scope="col">head ${h + 1}</th>`).join("")}</tr></thead>
      <tbody>${looksRows(state, pos)}</tbody>
    </table>
    <div class="gl-choose">
      <label>Map of <select class="gl-layer" disabled>${options(state.n_layer, state.layer, "block")}</select></label>
      <label><span class="visually-hidden">head</span><select class="gl-head" aria-label="head" disabled>${options(state.n_head, state.head, "head")}</select></label>
    </div>
    <div class="gl-map" tabindex="0" role="application" aria-roledescription="attention map"
      aria-label="${escapeHtml(mapLabel(state))}" aria-describedby="${id("readout")}">${mapSvg(state, pos, 0)}</div>
    <p class="gl-readout" id="${id("readout")}">${readout(state, pos, 0)}</p>
  </div>
  ${widgetFooter(`the book's GPT as the build ran it on this prompt`, "gl-announce")}
</div>`;
}

export function mount(element, context) {
  const { config, key } = context;
  if (!element.querySelector(".gl")) element.innerHTML = render(config, context.state, key);
  const $ = (selector) => element.querySelector(selector);
  const strip = $(".gl-strip");
  const map = $(".gl-map");
  const prompt = $(".gl-prompt");
  const layerSelect = $(".gl-layer");
  const headSelect = $(".gl-head");
  const announcer = $(".gl-announce");
  const root = $(".gl");
  let view = context.state;
  let pos = view.position;
  let k = 0;
  let announceTimer = 0;

  function markShown() {
    root.dataset.shown = shown(view);
    root.dataset.focus = `${pos},${k}`;
  }

  function speakLater(text) {
    clearTimeout(announceTimer);
    announceTimer = setTimeout(() => { announcer.textContent = text; }, 250);
  }

  /** Everything that depends on the position: the strip's choice, the lens, the looks, the map's row. */
  function drawPosition(speak, moveFocus = false) {
    const started = performance.now();
    k = Math.min(k, pos);
    const hadFocus = strip.contains(document.activeElement);
    for (const token of strip.querySelectorAll(".gl-token")) {
      const chosen = Number(token.dataset.pos) === pos;
      token.classList.toggle("is-active", chosen);
      token.tabIndex = chosen ? 0 : -1;
      token.setAttribute("aria-checked", String(chosen));
    }
    if (hadFocus || moveFocus) strip.querySelector(`[data-pos="${pos}"]`).focus();
    $(".gl-summary").textContent = summaryText(view, pos);
    $(".gl-lens caption").innerHTML = lensCaption(view, pos);
    $(".gl-lens tbody").innerHTML = lensRows(view, pos);
    $(".gl-looks tbody").innerHTML = looksRows(view, pos);
    drawCell();
    element.dispatchEvent(new CustomEvent("widget:drawn", { detail: { ms: performance.now() - started } }));
    if (speak) speakLater($(".gl-summary").textContent);
  }

  function drawCell() {
    const row = map.querySelector(".gl-row");
    row.setAttribute("y", pos);
    row.setAttribute("width", pos + 1);
    const cell = map.querySelector(".gl-cell");
    cell.setAttribute("x", k);
    cell.setAttribute("y", pos);
    $(".gl-readout").innerHTML = readout(view, pos, k);
    markShown();
    writeFragment(key, { prompt: view.prompt, pos, layer: view.layer + 1, head: view.head + 1, k });
  }

  function drawAll() {
    pos = Math.min(pos, view.tokens.length - 1);
    strip.innerHTML = stripHtml(view, pos);
    $(".gl-strip-title").textContent = `Its ${view.tokens.length} tokens (␣ is a space, ↵ a new line). Choose the position to read the prediction after it:`;
    const cropped = $(".gl-cropped");
    cropped.hidden = !view.dropped;
    cropped.textContent = croppedText(view);
    map.innerHTML = mapSvg(view, pos, Math.min(k, pos));
    map.setAttribute("aria-label", mapLabel(view));
    layerSelect.value = String(view.layer);
    headSelect.value = String(view.head);
    drawPosition(false);
  }

  strip.addEventListener("keydown", (event) => {
    const last = view.tokens.length - 1;
    const moves = { ArrowLeft: pos - 1, ArrowUp: pos - 1, ArrowRight: pos + 1, ArrowDown: pos + 1, Home: 0, End: last };
    if (!(event.key in moves)) return;
    event.preventDefault();
    pos = Math.min(last, Math.max(0, moves[event.key]));
    drawPosition(true, true);
  });
  strip.addEventListener("click", (event) => {
    const token = event.target.closest?.(".gl-token");
    if (!token) return;
    pos = Number(token.dataset.pos);
    drawPosition(true, true);
  });
  map.addEventListener("keydown", (event) => {
    const moved = moveInTriangle(event.key, pos, k, view.tokens.length - 1);
    if (!moved) return;
    event.preventDefault();
    const rowChanged = moved[0] !== pos;
    [pos, k] = moved;
    if (rowChanged) { drawPosition(false); speakLater(`${$(".gl-readout").textContent} ${$(".gl-summary").textContent}`); return; }
    const started = performance.now();
    drawCell();
    element.dispatchEvent(new CustomEvent("widget:drawn", { detail: { ms: performance.now() - started } }));
    speakLater($(".gl-readout").textContent);
  });

  // A prompt, a block or a head needs Python; only the newest request reaches it.
  const status = $(".widget-status");
  const live = () => showLive(element, `Live: every number comes from ${config.fn} in your browser.`);
  const fail = (text) => { root.removeAttribute("aria-busy"); live(); showError(element, "The model could not read this:", text); };
  /** Another block or head of the prompt drawn: only the map, the chosen head and the readout. */
  function drawHead() {
    map.innerHTML = mapSvg(view, pos, k);
    map.setAttribute("aria-label", mapLabel(view));
    $(".gl-looks tbody").innerHTML = looksRows(view, pos);
    drawCell();
  }

  // A new prompt is read whole (config.fn), at its last token or at a shared link's position;
  // another block or head of the same prompt needs only that head's map (config.map), from the
  // forward pass Python kept, and keeps the position.
  const recompute = latest(async ({ wanted, sharedPos = null }) => {
    const started = performance.now();
    const newPrompt = wanted.prompt !== view.prompt;
    root.setAttribute("aria-busy", "true");
    status.dataset.state = "busy";
    status.textContent = "The model is reading...";
    const fn = newPrompt ? config.fn : config.map;
    const position = newPrompt ? null : pos;
    const result = await context.call(fn, [], { ...config.kwargs, ...wanted, ...(newPrompt ? { position } : {}) });
    root.removeAttribute("aria-busy");
    live();
    if (!result.ok) { fail(result.error); return; }
    showError(element, null);
    if (!newPrompt) {
      view = { ...view, ...result.value };
      drawHead();
      element.dispatchEvent(new CustomEvent("widget:drawn", { detail: { ms: performance.now() - started } }));
      announcer.textContent = $(".gl-readout").textContent;
      return;
    }
    view = result.value;
    pos = sharedPos === null ? view.position : Math.min(view.tokens.length - 1, Math.max(0, sharedPos));
    drawAll();
    announcer.textContent = summaryText(view, pos);
  }, (err) => fail(String(err)));

  const wanted = () => ({
    prompt: prompt.value || view.prompt,
    layer: Number(layerSelect.value),
    head: Number(headSelect.value),
  });
  prompt.addEventListener("input", () => { if (prompt.value) recompute({ wanted: wanted() }); });
  for (const select of [layerSelect, headSelect]) select.addEventListener("change", () => recompute({ wanted: wanted() }));

  context.ready.then(() => {
    for (const control of element.querySelectorAll("textarea, select")) control.disabled = false;
    live();
    const shared = readFragment(key);
    const at = (v, fallback) => (Number.isInteger(Number.parseInt(v, 10)) ? Number.parseInt(v, 10) : fallback);
    const layer = at(shared.layer, view.layer + 1) - 1;
    const head = at(shared.head, view.head + 1) - 1;
    const samePrompt = shared.prompt === undefined || shared.prompt === view.prompt;
    const sharedPos = at(shared.pos, null);
    k = Math.max(0, at(shared.k, 0));
    if (samePrompt && sharedPos !== null) pos = Math.min(view.tokens.length - 1, Math.max(0, sharedPos));
    if (samePrompt && layer === view.layer && head === view.head) {
      if (sharedPos !== null || k) drawPosition(false);
      return;
    }
    if (!samePrompt) prompt.value = shared.prompt;
    if (layer >= 0 && layer < view.n_layer) layerSelect.value = String(layer);
    if (head >= 0 && head < view.n_head) headSelect.value = String(head);
    recompute({ wanted: wanted(), sharedPos });
  });
  return { drawAll };
}
