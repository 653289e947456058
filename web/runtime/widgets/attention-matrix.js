// AttentionMatrixWidget (chapter 7): self-attention over a sentence's real GloVe vectors. A T x T
// grid, queries down and keys across, coloured by the attention weight; every cell's weight and
// score on hover and keyboard focus (a roving tabindex: one cell in the tab order, arrow keys move
// it); beside the grid, what the focused query's output mixes and the GloVe words nearest to it.
// Every number comes from lmlab.attention.attention_view; this file only draws.
//
// Config: fn ("lmlab.attention.attention_view"), kwargs ({sentence, mode, causal}).
// Fragment: #KEY-s=the+cat+sat&KEY-mode=projected&KEY-causal=1&KEY-q=2&KEY-k=0
import { escapeHtml, widgetFooter } from "./markup.js";
import { showError, showLive } from "./status.js";
import { readFragment, sharedCell, writeFragment } from "./fragment.js";
import { latest } from "./latest.js";

const MODES = {
  raw: "raw X·Xᵀ",
  scaled: "scaled by √d",
  projected: "Q·Kᵀ (random W_Q, W_K)",
};
const fixed = (x, digits) => Number(x).toFixed(digits);
const quoted = (word) => `“${escapeHtml(word)}”`;

/** What the scores are in this mode, in words (the projections are random, and it says so). */
function modeNote(state) {
  if (state.mode === "raw") {
    return `Scores are plain dot products of the ${state.d}-number GloVe vectors, not scaled: ` +
      "the score of a with b equals that of b with a, and a word's vector usually has its largest dot product with itself.";
  }
  if (state.mode === "scaled") {
    return `Scores are the dot products divided by √${state.d} ≈ ${fixed(Math.sqrt(state.d), 2)}: the same order, softer weights.`;
  }
  return `Queries and keys first go through W_Q and W_K (${state.d} → ${state.d_k} numbers), drawn at random from a fixed seed, not learned: ` +
    `they only show that two different maps make the scores lopsided. Scores are divided by √${state.d_k}.`;
}

/** Words left out: not in the book's GloVe words, or past the limit. */
function droppedNote(state) {
  const parts = [];
  if (state.unknown.length) parts.push(`Not among the book's GloVe words, so left out: ${state.unknown.map(quoted).join(", ")}.`);
  if (state.truncated) parts.push(`Only the first ${state.tokens.length} known words are used (${state.truncated} more left out).`);
  return parts.join(" ");
}

function largestWeight(state) {
  let max = 0;
  for (const row of state.weights) for (const w of row) max = Math.max(max, w);
  return max || 1;
}

function cellLabel(state, q, k) {
  const who = `Query ${state.tokens[q]} (row ${q + 1}), key ${state.tokens[k]} (column ${k + 1})`;
  if (state.masked[q][k]) return `${who}: masked, weight 0`;
  return `${who}: weight ${fixed(state.weights[q][k], 2)}, score ${fixed(state.scores[q][k], 2)}`;
}

function gridHtml(state, q, k) {
  const max = largestWeight(state);
  const head = state.tokens.map((word, j) =>
    `<th scope="col" class="am-col${j === k ? " is-active" : ""}"><span>${escapeHtml(word)}</span></th>`).join("");
  const rows = state.tokens.map((word, i) => {
    const cells = state.tokens.map((_, j) => {
      const masked = state.masked[i][j];
      const style = masked ? "" : ` style="--w:${fixed(state.weights[i][j] / max, 3)}"`;
      const active = i === q && j === k;
      return `<td role="gridcell" class="am-cell${masked ? " is-masked" : ""}${active ? " is-active" : ""}"${style} ` +
        `tabindex="${active ? 0 : -1}" data-q="${i}" data-k="${j}" aria-label="${escapeHtml(cellLabel(state, i, j))}"></td>`;
    }).join("");
    return `<tr><th scope="row" class="am-rowhead${i === q ? " is-active" : ""}">${escapeHtml(word)}</th>${cells}</tr>`;
  }).join("");
  return `<thead><tr><td class="am-corner"></td>${head}</tr></thead><tbody>${rows}</tbody>`;
}

/** The focused cell in words. */
function readout(state, q, k) {
  const who = `Query ${quoted(state.tokens[q])}, key ${quoted(state.tokens[k])}`;
  if (state.masked[q][k]) {
    return `${who}: masked, because the key comes after the query. Weight <strong>0</strong>; its score is never used.`;
  }
  return `${who}: weight <strong>${fixed(state.weights[q][k], 2)}</strong>, score ${fixed(state.scores[q][k], 2)}` +
    ` (the dot product${state.scale === 1 ? "" : ` × ${fixed(state.scale, 3)}`}).`;
}

/** The focused query's row: each key's share of its output, and the GloVe words nearest to it. */
function mixHtml(state, q) {
  const row = state.rows[q];
  const bars = state.tokens.map((word, j) => {
    const masked = state.masked[q][j];
    const w = state.weights[q][j];
    return `<li class="am-mix-row${masked ? " is-masked" : ""}"><span class="am-mix-word">${escapeHtml(word)}</span>` +
      `<span class="am-mix-bar" aria-hidden="true"><span style="width:${fixed(w * 100, 1)}%"></span></span>` +
      `<span class="am-mix-value">${masked ? "masked" : fixed(w, 2)}</span></li>`;
  }).join("");
  const nearest = row.nearest.map(([word, cos]) => `${escapeHtml(word)} (${fixed(cos, 2)})`).join(", ");
  return `<p class="am-axis-label">The output for ${quoted(state.tokens[q])}: each word's share</p>` +
    `<ol class="am-mix">${bars}</ol>` +
    `<p class="am-nearest">Output vector's nearest GloVe words (cosine): ${nearest}.</p>` +
    `<p class="am-entropy">Spread (entropy): ${fixed(row.entropy, 2)} of at most ${fixed(row.max_entropy, 2)} nats.</p>`;
}

/** One line for everyone: the focused row's favourite, then what holds for the whole matrix. */
export function summary(state, q) {
  const row = state.rows[q];
  const top = row.top === q ? "itself" : quoted(state.tokens[row.top]);
  const T = state.tokens.length;
  const parts = [`${quoted(state.tokens[q])} attends most to ${top} (${fixed(row.top_weight, 2)}); rows sum to 1`];
  if (state.causal) parts.push("masked cells are 0");
  parts.push(`${state.self_top} of ${T} words attend most to themselves (mean weight on itself ${fixed(state.self_weight_mean, 2)})`);
  parts.push(state.symmetric ? "the scores are symmetric" : "the scores are not symmetric");
  return `${parts.join("; ")}.`;
}

export function render(config, state, key) {
  const id = (part) => `${key}-${part}`;
  const radios = Object.entries(MODES).map(([value, label]) =>
    `<label><input type="radio" name="${id("mode")}" value="${value}"${value === state.mode ? " checked" : ""} disabled> ${escapeHtml(label)}</label>`).join("");
  return `<div class="am" role="group" aria-labelledby="${id("title")}">
  <p class="widget-title" id="${id("title")}">Attention matrix: every word asks the room</p>
  <div class="am-controls">
    <label class="am-sentence-label">Sentence <input type="text" class="am-sentence" value="${escapeHtml(config.kwargs?.sentence ?? state.tokens.join(" "))}" maxlength="200" spellcheck="false" autocomplete="off" disabled></label>
    <fieldset class="am-mode"><legend>Scores</legend>${radios}</fieldset>
    <label class="am-causal-label"><input type="checkbox" class="am-causal"${state.causal ? " checked" : ""} disabled> causal mask (no looking ahead)</label>
  </div>
  <p class="am-note">${modeNote(state)}</p>
  <p class="am-dropped"${droppedNote(state) ? "" : " hidden"}>${droppedNote(state)}</p>
  <div class="am-legend" aria-hidden="true"><span>0</span><span class="am-scale"></span><span class="am-max">${fixed(largestWeight(state), 2)}</span><span class="am-masked-key"></span><span>masked</span></div>
  <p class="visually-hidden" id="${id("legend")}">Colour: the attention weight, from blank at 0 to full colour at the matrix's largest weight; masked cells are hatched.</p>
  <div class="am-body">
    <div class="am-map">
      <p class="am-axis-label">keys → (queries ↓)</p>
      <table class="am-grid" role="grid" aria-label="Attention weights, ${state.tokens.length} words: rows are queries, columns keys. Arrow keys move between cells; Home and End go to the ends of a row."
        aria-describedby="${id("legend")}">${gridHtml(state, 0, 0)}</table>
    </div>
    <div class="am-side">${mixHtml(state, 0)}</div>
  </div>
  <p class="am-readout">${readout(state, 0, 0)}</p>
  <p class="am-summary">${summary(state, 0)}</p>
  ${widgetFooter("the matrix the book computed when it was built", "am-announce")}
</div>`;
}

export function mount(element, context) {
  const { config, key } = context;
  if (!element.querySelector(".am")) element.innerHTML = render(config, context.state, key);
  const $ = (selector) => element.querySelector(selector);
  const grid = $(".am-grid");
  const announcer = $(".am-announce");
  let state = context.state;
  let q = 0;
  let k = 0;
  let announceTimer = 0;
  let drawnRow = 0; // the row whose mix the side panel shows
  element.dataset.focus = "0,0";
  const T = () => state.tokens.length;
  const cellAt = (i, j) => grid.querySelector(`td[data-q="${i}"][data-k="${j}"]`);

  function drawFocus(speak) {
    const started = performance.now();
    for (const old of grid.querySelectorAll(".is-active")) old.classList.remove("is-active");
    for (const old of grid.querySelectorAll('td[tabindex="0"]')) old.tabIndex = -1;
    const cell = cellAt(q, k);
    cell.tabIndex = 0;
    cell.classList.add("is-active");
    grid.querySelectorAll(".am-rowhead")[q].classList.add("is-active");
    grid.querySelectorAll(".am-col")[k].classList.add("is-active");
    // The mix and the summary belong to the row: a move along it leaves them as they are.
    if (drawnRow !== q) {
      $(".am-side").innerHTML = mixHtml(state, q);
      $(".am-summary").textContent = summary(state, q);
      drawnRow = q;
    }
    $(".am-readout").innerHTML = readout(state, q, k);
    element.dataset.focus = `${q},${k}`;
    writeFragment(key, { s: $(".am-sentence").value, mode: state.mode, causal: state.causal ? 1 : 0, q, k });
    element.dispatchEvent(new CustomEvent("widget:drawn", { detail: { ms: performance.now() - started } }));
    if (speak) {
      clearTimeout(announceTimer);
      announceTimer = setTimeout(() => { announcer.textContent = $(".am-summary").textContent; }, 250);
    }
  }

  // What the grid shows, for tests and the benchmark to wait on: "mode,causal,T".
  const markShown = () => { element.dataset.shown = `${state.mode},${state.causal ? 1 : 0},${T()}`; };
  markShown();

  function drawAll() {
    markShown();
    const hadFocus = grid.contains(document.activeElement);
    q = Math.min(q, T() - 1);
    k = Math.min(k, T() - 1);
    grid.innerHTML = gridHtml(state, q, k);
    drawnRow = -1;
    grid.setAttribute("aria-label", `Attention weights, ${T()} words: rows are queries, columns keys. Arrow keys move between cells; Home and End go to the ends of a row.`);
    $(".am-note").textContent = modeNote(state);
    const dropped = droppedNote(state);
    $(".am-dropped").hidden = !dropped;
    $(".am-dropped").innerHTML = dropped;
    $(".am-max").textContent = fixed(largestWeight(state), 2);
    drawFocus(false);
    if (hadFocus) cellAt(q, k).focus();
  }

  grid.addEventListener("keydown", (event) => {
    const moves = { ArrowUp: [-1, 0], ArrowDown: [1, 0], ArrowLeft: [0, -1], ArrowRight: [0, 1] };
    const last = T() - 1;
    if (event.key === "Home") k = 0;
    else if (event.key === "End") k = last;
    else if (moves[event.key]) {
      const [dq, dk] = moves[event.key];
      q = Math.min(last, Math.max(0, q + dq));
      k = Math.min(last, Math.max(0, k + dk));
    } else return;
    event.preventDefault();
    drawFocus(true);
    cellAt(q, k).focus();
  });
  // A click or Tab into the grid focuses a cell: that cell becomes the focused one.
  grid.addEventListener("focusin", (event) => {
    const cell = event.target.closest?.("td[data-q]");
    if (!cell) return;
    const [i, j] = [Number(cell.dataset.q), Number(cell.dataset.k)];
    if (i === q && j === k) return;
    [q, k] = [i, j];
    drawFocus(true);
  });
  grid.addEventListener("pointerover", (event) => {
    const cell = event.target.closest?.("td[data-q]");
    if (!cell) return;
    const [i, j] = [Number(cell.dataset.q), Number(cell.dataset.k)];
    if (i === q && j === k) return;
    [q, k] = [i, j];
    drawFocus(false);
  });

  // Sentence, mode and mask need Python; only the newest request reaches it. Until its answer
  // is drawn the widget says it is computing (aria-busy, the status line).
  const root = $(".am");
  const status = $(".widget-status");
  const live = () => showLive(element, `Live: the weights come from ${config.fn} in your browser.`);
  const fail = (text) => { root.removeAttribute("aria-busy"); live(); showError(element, "The attention could not be computed:", text); };
  const recompute = latest(async (wanted) => {
    root.setAttribute("aria-busy", "true");
    status.dataset.state = "busy";
    status.textContent = "Computing the attention weights...";
    const result = await context.call(config.fn, [], { ...config.kwargs, ...wanted });
    root.removeAttribute("aria-busy");
    live();
    if (!result.ok) { fail(result.error); return; }
    showError(element, null);
    state = result.value;
    drawAll();
    announcer.textContent = $(".am-summary").textContent;
  }, (err) => fail(String(err)));

  function wanted() {
    return {
      sentence: $(".am-sentence").value,
      mode: element.querySelector(`input[name="${key}-mode"]:checked`).value,
      causal: $(".am-causal").checked,
    };
  }
  $(".am-sentence").addEventListener("input", () => recompute(wanted()));
  for (const control of element.querySelectorAll(`.am-causal, input[name="${key}-mode"]`)) {
    control.addEventListener("change", () => recompute(wanted()));
  }

  context.ready.then(() => {
    for (const control of element.querySelectorAll("input")) control.disabled = false;
    live();
    const shared = readFragment(key);
    [q, k] = sharedCell(shared);
    const radio = element.querySelector(`input[name="${key}-mode"][value="${shared.mode}"]`);
    const differs = (shared.s !== undefined && shared.s !== $(".am-sentence").value) ||
      (radio && shared.mode !== state.mode) || (shared.causal !== undefined && (shared.causal === "1") !== state.causal);
    if (differs) {
      if (shared.s !== undefined) $(".am-sentence").value = shared.s;
      if (radio) radio.checked = true;
      if (shared.causal !== undefined) $(".am-causal").checked = shared.causal === "1";
      recompute(wanted());
    } else if (q || k) {
      q = Math.min(q, T() - 1);
      k = Math.min(k, T() - 1);
      drawFocus(false);
    }
  });
  return { drawAll };
}
