// PositionLab: the same causal attention scores (query m against keys 0..m) computed five ways,
// side by side: no position, sinusoidal, a learned table, RoPE and ALiBi, for a sequence the
// reader can make longer than the length the learned table was "trained" for. Every number comes
// from lmlab.position.position_lab; this file only draws. The arrow keys move the focused
// (query, key) cell in all five panels at once; the readout gives the five numbers.
//
// Config: fn ("lmlab.position.position_lab"), kwargs ({T, trained, dim, content, seed, alibi_head}).
// Fragment: #KEY-T=40&KEY-content=random&KEY-show=weights&KEY-head=2&KEY-q=30&KEY-k=12
import { escapeHtml, widgetFooter } from "./markup.js";
import { showError, showLive } from "./status.js";
import { readFragment, sharedCell, writeFragment } from "./fragment.js";
import { latest } from "./latest.js";
import { moveInTriangle } from "./triangle-focus.js";

// Each panel's viewBox is T x T: one unit per cell, so that the markup carries small integers.
const LIMITS = [4, 64];
const fixed = (x, digits) => Number(x).toFixed(digits);
const slopeText = (slope) => `1/${Math.round(1 / slope)}`;

/** Cell (m, n) of a scheme's scores or weights (show), or null where the learned table has no
 * row. position_lab sends each lower triangle flat, row by row, in integer thousandths: v / 1000
 * is exactly the float numpy's round(x, 3) gives. */
export function valueAt(scheme, show, m, n) {
  return m < scheme.rows ? scheme[show][(m * (m + 1)) / 2 + n] / 1000 : null;
}

/** The largest |value| among thousandths (a panel's or a row's), for a colour scale. */
function largest(thousandths, from = 0, to = thousandths.length) {
  let max = 0;
  for (let i = from; i < to; i++) max = Math.max(max, Math.abs(thousandths[i]));
  return max / 1000 || 1;
}

// A cell's colour is its sign and |value| / scale as an opacity over the panel's background
// (the colour pair of both themes, no per-cell CSS to resolve), in hundredths: a step of 0.01 in
// opacity is below what the eye tells apart, and it lets every cell of one colour and opacity be
// one <path> (a few hundred elements per panel at most, not one <rect> per cell: 2,080 at 64
// tokens, five panels).
const OPACITY_LEVELS = 100;

function cellsSvg(scheme, T, show) {
  // scores: one scale per panel; weights: one per row (a row of 40 weights is 40 times paler
  // than a row of one, which would hide where each query looks)
  const values = scheme[show];
  const panel = largest(values);
  const paths = new Map(); // "class opacity" -> path data
  const add = (key, x, y, width) => paths.set(key, (paths.get(key) || "") + `M${x} ${y}h${width}v1h-${width}z`);
  for (let m = 0; m < T; m++) {
    if (m >= scheme.rows) { add("pl-none", 0, m, m + 1); continue; }
    const start = (m * (m + 1)) / 2;
    const max = show === "weights" ? largest(values, start, start + m + 1) : panel;
    let run = null; // consecutive cells of one key: a single rectangle
    for (let n = 0; n <= m; n++) {
      const v = values[start + n] / 1000;
      const kind = show === "weights" || v >= 0 ? "pl-pos" : "pl-neg";
      const key = `${kind} ${Math.round((Math.abs(v) / max) * OPACITY_LEVELS)}`;
      if (run && run.key === key) { run.width += 1; continue; }
      if (run) add(run.key, run.x, m, run.width);
      run = { key, x: n, width: 1 };
    }
    add(run.key, run.x, m, run.width);
  }
  return [...paths].map(([key, d]) => {
    const [kind, level] = key.split(" ");
    const opacity = level === undefined ? "" : ` fill-opacity="${fixed(level / OPACITY_LEVELS, 2)}"`;
    return `<path class="${kind}"${opacity} d="${d}"/>`;
  }).join("");
}

/** The outline of the lower triangle (row m: keys 0..m), the cells a query can see. */
function staircase(T) {
  let d = "M0 0";
  for (let m = 1; m <= T; m++) d += `H${m}V${m}`;
  return `${d}H0Z`;
}

function panelSvg(scheme, state, show) {
  const T = state.T;
  const edge = state.trained < T
    ? `<line class="pl-trained" x1="0" x2="${T}" y1="${state.trained}" y2="${state.trained}"/>` +
      `<line class="pl-trained" y1="0" y2="${T}" x1="${state.trained}" x2="${state.trained}"/>`
    : "";
  // crispEdges: the cells meet edge to edge; without anti-aliasing no seam shows between them,
  // and five panels of them rasterise faster
  return `<svg class="pl-svg" viewBox="0 0 ${T} ${T}" preserveAspectRatio="none" shape-rendering="crispEdges" aria-hidden="true" focusable="false" data-scheme="${scheme.name}">` +
    `<rect class="pl-future" x="0" y="0" width="${T}" height="${T}"/><path class="pl-past" d="${staircase(T)}"/>` +
    `${cellsSvg(scheme, T, show)}${edge}` +
    `<rect class="pl-row" x="0" y="0" width="1" height="1"/><rect class="pl-cell" x="0" y="0" width="1" height="1"/></svg>`;
}

function panelsHtml(state, show) {
  return state.schemes.map((scheme) =>
    `<figure class="pl-panel"><figcaption>${escapeHtml(scheme.label)}${scheme.name === "alibi" ? ` <span class="pl-slope">(slope ${slopeText(state.alibi_slopes[state.alibi_head])})</span>` : ""}</figcaption>` +
    `${panelSvg(scheme, state, show)}</figure>`).join("");
}

/** The five numbers of the focused cell, in words. */
export function readout(state, show, m, n) {
  const what = show === "weights" ? "attention weight" : "score";
  const past = m >= state.trained ? ` (past the ${state.trained} positions the learned table has)` : "";
  const values = state.schemes.map((scheme) => {
    const v = valueAt(scheme, show, m, n);
    const text = v === null ? `none: the table has no row for position ${m}` : fixed(v, 3);
    return `${scheme.label} <strong>${text}</strong>`;
  });
  return `Query at position ${m}${past}, key at position ${n} (${m - n} back). The ${what}: ${values.join("; ")}.`;
}

function scaleNote(show) {
  return show === "weights"
    ? "Colour: the attention weight, from 0 (blank) to the row's largest weight; each row sums to 1."
    : "Colour: red above 0, blue below, scaled to each panel's largest |score|.";
}

export function render(config, state, key) {
  const id = (part) => `${key}-${part}`;
  const heads = state.alibi_slopes.map((slope, h) =>
    `<option value="${h}"${h === state.alibi_head ? " selected" : ""}>head ${h}, slope ${slopeText(slope)}</option>`).join("");
  return `<div class="pl" role="group" aria-labelledby="${id("title")}">
  <p class="widget-title" id="${id("title")}">Position lab: the same attention, five ways</p>
  <div class="pl-controls">
    <label>Tokens <input type="number" class="pl-T" min="${LIMITS[0]}" max="${LIMITS[1]}" step="1" value="${state.T}" disabled></label>
    <fieldset class="pl-choice"><legend>Tokens are</legend>
      <label><input type="radio" name="${id("content")}" value="repeat"${state.content === "repeat" ? " checked" : ""} disabled> one token repeated</label>
      <label><input type="radio" name="${id("content")}" value="random"${state.content === "random" ? " checked" : ""} disabled> different tokens</label></fieldset>
    <fieldset class="pl-choice"><legend>Show</legend>
      <label><input type="radio" name="${id("show")}" value="scores" checked disabled> scores</label>
      <label><input type="radio" name="${id("show")}" value="weights" disabled> attention weights</label></fieldset>
    <label>ALiBi <select class="pl-head" disabled>${heads}</select></label>
  </div>
  <p class="pl-note">Rows are queries (position 0 at the top), columns keys; a query sees only itself and the keys before it. The lines mark the ${state.trained} positions the learned table was trained for. <span class="pl-scale-note">${scaleNote("scores")}</span></p>
  <div class="pl-panels" tabindex="0" role="application" aria-roledescription="score matrices"
    aria-label="Attention scores for ${state.T} tokens, five ways. Up and Down move the query, Left and Right the key, Page Up and Page Down move the query by 8."
    aria-describedby="${id("readout")}">${panelsHtml(state, "scores")}</div>
  <p class="pl-readout" id="${id("readout")}">${readout(state, "scores", 0, 0)}</p>
  ${widgetFooter(`the ${state.T} tokens the book computed when it was built`, "pl-announce")}
</div>`;
}

export function mount(element, context) {
  const { config, key } = context;
  if (!element.querySelector(".pl")) element.innerHTML = render(config, context.state, key);
  const $ = (selector) => element.querySelector(selector);
  const panels = $(".pl-panels");
  const announcer = $(".pl-announce");
  let state = context.state;
  let show = "scores";
  let m = 0;
  let n = 0;
  let announceTimer = 0;
  element.dataset.focus = "0,0";

  function drawFocus(speak) {
    const started = performance.now();
    for (const row of element.querySelectorAll(".pl-row")) {
      row.setAttribute("y", m);
      row.setAttribute("width", m + 1);
    }
    for (const cell of element.querySelectorAll(".pl-cell")) {
      cell.setAttribute("x", n);
      cell.setAttribute("y", m);
    }
    $(".pl-readout").innerHTML = readout(state, show, m, n);
    element.dataset.focus = `${m},${n}`;
    writeFragment(key, { T: state.T, content: state.content, show, head: state.alibi_head, q: m, k: n });
    element.dispatchEvent(new CustomEvent("widget:drawn", { detail: { ms: performance.now() - started } }));
    if (speak) {
      clearTimeout(announceTimer);
      announceTimer = setTimeout(() => { announcer.textContent = $(".pl-readout").textContent; }, 250);
    }
  }

  function drawAll() {
    panels.innerHTML = panelsHtml(state, show);
    panels.setAttribute("aria-label", `Attention ${show} for ${state.T} tokens, five ways. Up and Down move the query, Left and Right the key, Page Up and Page Down move the query by 8.`);
    $(".pl-scale-note").textContent = scaleNote(show);
    m = Math.min(m, state.T - 1);
    n = Math.min(n, m);
    drawFocus(false);
  }

  panels.addEventListener("keydown", (event) => {
    const moved = moveInTriangle(event.key, m, n, state.T - 1, 8);
    if (!moved) return;
    [m, n] = moved;
    event.preventDefault();
    drawFocus(true);
  });
  panels.addEventListener("pointermove", (event) => {
    const svg = event.target.closest?.(".pl-svg");
    if (!svg) return;
    const box = svg.getBoundingClientRect();
    const q = Math.floor(((event.clientY - box.top) / box.height) * state.T);
    const k = Math.floor(((event.clientX - box.left) / box.width) * state.T);
    if (q < 0 || q >= state.T || k < 0 || k > q || (q === m && k === n)) return;
    [m, n] = [q, k];
    drawFocus(false);
  });

  for (const radio of element.querySelectorAll(`input[name="${key}-show"]`)) {
    radio.addEventListener("change", () => {
      show = radio.value;
      drawAll();
      announcer.textContent = show === "weights" ? "Showing attention weights." : "Showing scores.";
    });
  }

  // Tokens, content and the ALiBi head need Python; only the newest request reaches it. Until
  // its answer is drawn the widget says it is computing (aria-busy, the status line).
  const root = $(".pl");
  const status = $(".widget-status");
  const live = () => showLive(element, `Live: the scores come from ${config.fn} in your browser.`);
  const recompute = latest(async (wanted) => {
    root.setAttribute("aria-busy", "true");
    status.dataset.state = "busy";
    status.textContent = `Computing the scores for ${wanted.T} tokens...`;
    const result = await context.call(config.fn, [], { ...config.kwargs, ...wanted });
    root.removeAttribute("aria-busy");
    live();
    if (!result.ok) { showError(element, "The scores could not be computed:", result.error); return; }
    showError(element, null);
    state = result.value;
    drawAll();
    announcer.textContent = `${state.T} tokens. ` + $(".pl-readout").textContent;
  }, (err) => { root.removeAttribute("aria-busy"); live(); showError(element, "The scores could not be computed:", String(err)); });

  function wanted() {
    const T = Math.min(LIMITS[1], Math.max(LIMITS[0], Math.round(Number($(".pl-T").value) || state.T)));
    const content = element.querySelector(`input[name="${key}-content"]:checked`).value;
    return { T, content, alibi_head: Number($(".pl-head").value) };
  }
  for (const control of element.querySelectorAll(`.pl-T, .pl-head, input[name="${key}-content"]`)) {
    control.addEventListener("change", () => recompute(wanted()));
  }

  context.ready.then(() => {
    for (const control of element.querySelectorAll("input, select")) control.disabled = false;
    live();
    const shared = readFragment(key);
    const at = (v) => Number.parseInt(v, 10);
    if (shared.show === "weights") {
      show = "weights";
      element.querySelector(`input[name="${key}-show"][value="weights"]`).checked = true;
    }
    [m, n] = sharedCell(shared);
    const differs = (shared.T && at(shared.T) !== state.T) || (shared.content && shared.content !== state.content) ||
      (shared.head && at(shared.head) !== state.alibi_head);
    if (differs) {
      if (shared.T) $(".pl-T").value = shared.T;
      const radio = element.querySelector(`input[name="${key}-content"][value="${shared.content}"]`);
      if (radio) radio.checked = true;
      if (shared.head) $(".pl-head").value = shared.head;
      recompute(wanted());
    } else if (show !== "scores" || m || n) {
      drawAll();
    }
  });
  return { drawAll };
}
