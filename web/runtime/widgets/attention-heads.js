// Attention heads: one small causal attention map per head of chapter 7's model trained on names,
// side by side, for a name the reader types; a switch per head drops that head's output, and the
// next-character probabilities and the losses show what it was worth. Every number comes from
// lmlab.attention_lm.heads_view; this file only draws. The arrow keys move the focused
// (query, key) cell in every map at once.
//
// Config: fn ("lmlab.attention_lm.heads_view"), kwargs ({name}).
// Fragment: #KEY-name=emma&KEY-off=2,4&KEY-q=3&KEY-k=1 (heads numbered from 1, as on screen)
import { escapeHtml, widgetFooter } from "./markup.js";
import { showError, showLive } from "./status.js";
import { readFragment, sharedCell, writeFragment } from "./fragment.js";
import { latest } from "./latest.js";
import { moveInTriangle } from "./triangle-focus.js";

const TOP = 5; // next characters listed for the focused position
const fixed = (x, digits) => Number(x).toFixed(digits);
const percent = (share) => `${Math.round(share * 100)}%`;
const shown = (char) => (char === "." ? "the end mark ." : char);

/** Where a head looks most, in words: looked_at's {kind, back}. */
export function target({ kind, back }) {
  if (kind === "start") return "the opening .";
  if (back === 0) return "itself";
  if (back === 1) return "the previous character";
  return `the character ${back} back`;
}

/** One head's map: rows are the positions that look, columns the positions looked at, in a
 * viewBox of one unit per cell with a unit's margin for the characters. */
function mapSvg(view, head) {
  const tokens = view.tokens;
  const T = tokens.length;
  const cells = [];
  for (let q = 0; q < T; q++) {
    for (let k = 0; k <= q; k++) {
      cells.push(`<rect x="${k}" y="${q}" width="1" height="1" fill-opacity="${fixed(view.weights[head][q][k], 3)}"/>`);
    }
  }
  const labels = tokens.map((t, i) =>
    `<text x="${i + 0.5}" y="-0.25">${escapeHtml(t)}</text><text x="-0.5" y="${i + 0.75}">${escapeHtml(t)}</text>`).join("");
  return `<svg class="ah-map" viewBox="-1 -1 ${T + 1} ${T + 1}" aria-hidden="true" focusable="false">` +
    `<path class="ah-past" d="M0 0${tokens.map((_, i) => `H${i + 1}V${i + 1}`).join("")}H0Z"/>` +
    `<g class="ah-cells">${cells.join("")}</g><g class="ah-labels">${labels}</g>` +
    `<rect class="ah-row" x="0" y="0" width="1" height="1"/><rect class="ah-cell" x="0" y="0" width="1" height="1"/></svg>`;
}

function panelsHtml(view) {
  return view.weights.map((_, h) => {
    const off = view.off.includes(h);
    return `<figure class="ah-panel${off ? " is-off" : ""}"><figcaption>Head ${h + 1}${off ? " <span class=\"ah-off\">(switched off)</span>" : ""}</figcaption>${mapSvg(view, h)}</figure>`;
  }).join("");
}

/** The focused cell's weight in every head, in words. */
export function readout(view, q, k) {
  const so = view.tokens.slice(0, q + 1).join("");
  const weights = view.weights.map((w, h) => `head ${h + 1} <strong>${fixed(w[q][k], 3)}</strong>`);
  return `Position ${q} (having read "${escapeHtml(so)}") looks at position ${k} ("${escapeHtml(view.tokens[k])}", ${q - k} back): ${weights.join(", ")}.`;
}

/** The TOP most likely next characters at position q, the true one marked (added if not among them). */
export function nextChars(view, q) {
  const probs = view.probs[q];
  const truth = view.vocab.indexOf(view.targets[q]);
  const order = probs.map((p, i) => [p, i]).sort((a, b) => b[0] - a[0]).slice(0, TOP).map(([, i]) => i);
  if (!order.includes(truth)) order.push(truth);
  return order.map((i) => ({ char: view.vocab[i], p: probs[i], truth: i === truth }));
}

function nextHtml(view, q) {
  const items = nextChars(view, q).map(({ char, p, truth }) =>
    `<li class="${truth ? "is-truth" : ""}"><span class="ah-char">${escapeHtml(shown(char))}</span>` +
    `<span class="ah-bar" style="--p:${fixed(p, 3)}"></span><span class="ah-p">${fixed(p, 3)}</span>${truth ? " <span class=\"ah-truth\">(comes next)</span>" : ""}</li>`);
  const so = view.tokens.slice(0, q + 1).join("");
  return `<p class="ah-next-title">After "${escapeHtml(so)}" the model expects (loss here ${fixed(view.nll[q], 4)}):</p><ul class="ah-next-list">${items.join("")}</ul>`;
}

export function lossText(view) {
  const off = view.off.map((h) => h + 1);
  const which = off.length ? `with head${off.length > 1 ? "s" : ""} ${off.join(", ")} off` : "with all heads";
  const heldOff = off.length ? `; ${fixed(view.held_out, 4)} ${which}` : "";
  return `"${view.name}": ${fixed(view.loss, 4)} per character ${which} (the end mark included). ` +
    `Held-out names: ${fixed(view.held_out_all, 4)} per character with all ${view.n_head} heads${heldOff}.`;
}

/** Per head, over the held-out names: where it looks most, and what switching it off alone costs. */
export function summaryItems(view) {
  const ablation = view.ablation;
  return ablation.looked_at.top.map((top, h) =>
    `Head ${h + 1} looks at ${target(top)} in ${percent(top.share)} of positions; switched off alone it raises the held-out loss by ${fixed(ablation.without[h] - ablation.all, 4)}.`);
}

function summaryHtml(view) {
  return summaryItems(view).map((text) => `<li>${escapeHtml(text)}</li>`).join("");
}

export function render(config, state, key) {
  const id = (part) => `${key}-${part}`;
  const T = state.tokens.length;
  const heads = state.weights.map((_, h) =>
    `<label><input type="checkbox" class="ah-head" value="${h}"${state.off.includes(h) ? "" : " checked"} disabled> head ${h + 1}</label>`).join("");
  return `<div class="ah" role="group" aria-labelledby="${id("title")}">
  <p class="widget-title" id="${id("title")}">Attention heads of a model trained on names</p>
  <div class="ah-controls">
    <label>Name <input type="text" class="ah-name" value="${escapeHtml(state.name)}" maxlength="${state.max_letters}" spellcheck="false" autocomplete="off" autocapitalize="off" disabled></label>
    <fieldset class="ah-heads"><legend>Heads switched on</legend>${heads}</fieldset>
  </div>
  <p class="ah-note">In each map a row is a position reading the name so far (the opening . first) and a column a position it looks at; the darker the cell, the more weight (each row sums to 1). A head switched off still looks, but its output is dropped.</p>
  <div class="ah-panels" tabindex="0" role="application" aria-roledescription="attention maps"
    aria-label="Attention of ${state.n_head} heads over ${T} positions. Up and Down move the reading position, Left and Right the position looked at."
    aria-describedby="${id("readout")}">${panelsHtml(state)}</div>
  <p class="ah-readout" id="${id("readout")}">${readout(state, 0, 0)}</p>
  <div class="ah-next">${nextHtml(state, 0)}</div>
  <p class="ah-loss">${escapeHtml(lossText(state))}</p>
  <p class="ah-summary-title">Over the held-out names:</p>
  <ul class="ah-summary">${summaryHtml(state)}</ul>
  ${widgetFooter(`the model the book trained when it was built, on "${escapeHtml(state.name)}"`, "ah-announce")}
</div>`;
}

export function mount(element, context) {
  const { config, key } = context;
  if (!element.querySelector(".ah")) element.innerHTML = render(config, context.state, key);
  const $ = (selector) => element.querySelector(selector);
  const panels = $(".ah-panels");
  const announcer = $(".ah-announce");
  const nameInput = $(".ah-name");
  const switches = [...element.querySelectorAll(".ah-head")];
  let view = context.state;
  let q = 0;
  let k = 0;
  let announceTimer = 0;
  let trainedOnce = false;
  element.dataset.focus = "0,0";
  element.dataset.name = view.name;
  element.dataset.off = view.off.join(",");

  function drawn(started) {
    element.dataset.focus = `${q},${k}`;
    element.dataset.name = view.name;
    element.dataset.off = view.off.join(",");
    element.dispatchEvent(new CustomEvent("widget:drawn", { detail: { ms: performance.now() - started } }));
  }

  function drawFocus(speak) {
    const started = performance.now();
    for (const row of element.querySelectorAll(".ah-row")) {
      row.setAttribute("y", q);
      row.setAttribute("width", q + 1);
    }
    for (const cell of element.querySelectorAll(".ah-cell")) {
      cell.setAttribute("x", k);
      cell.setAttribute("y", q);
    }
    $(".ah-readout").innerHTML = readout(view, q, k);
    $(".ah-next").innerHTML = nextHtml(view, q);
    writeFragment(key, { name: view.name, off: view.off.map((h) => h + 1).join(",") || null, q, k });
    drawn(started);
    if (speak) {
      clearTimeout(announceTimer);
      announceTimer = setTimeout(() => {
        announcer.textContent = `${$(".ah-readout").textContent} ${$(".ah-next-title").textContent} ${nextChars(view, q)
          .map(({ char, p }) => `${shown(char)} ${fixed(p, 3)}`).join(", ")}.`;
      }, 250);
    }
  }

  function drawAll() {
    const T = view.tokens.length;
    q = Math.min(q, T - 1);
    k = Math.min(k, q);
    panels.innerHTML = panelsHtml(view);
    panels.setAttribute("aria-label", `Attention of ${view.n_head} heads over ${T} positions. Up and Down move the reading position, Left and Right the position looked at.`);
    $(".ah-loss").textContent = lossText(view);
    $(".ah-summary").innerHTML = summaryHtml(view);
    for (const toggle of switches) toggle.checked = !view.off.includes(Number(toggle.value));
    drawFocus(false);
  }

  panels.addEventListener("keydown", (event) => {
    const moved = moveInTriangle(event.key, q, k, view.tokens.length - 1);
    if (!moved) return;
    [q, k] = moved;
    event.preventDefault();
    drawFocus(true);
  });
  panels.addEventListener("pointermove", (event) => {
    const svg = event.target.closest?.(".ah-map");
    if (!svg) return;
    const T = view.tokens.length;
    const box = svg.getBoundingClientRect();
    // the viewBox starts one unit before the first cell (the characters' margin)
    const row = Math.floor(((event.clientY - box.top) / box.height) * (T + 1)) - 1;
    const col = Math.floor(((event.clientX - box.left) / box.width) * (T + 1)) - 1;
    if (row < 0 || row >= T || col < 0 || col > row || (row === q && col === k)) return;
    [q, k] = [row, col];
    drawFocus(false);
  });

  // Names and switches need Python; only the newest request reaches it. The first one trains the
  // model in the page (once per visit), which takes seconds: the status line says so meanwhile.
  const root = $(".ah");
  const status = $(".widget-status");
  const live = () => showLive(element, `Live: the maps and numbers come from ${config.fn} in your browser.`);
  const recompute = latest(async (wanted) => {
    root.setAttribute("aria-busy", "true");
    status.dataset.state = "busy";
    status.textContent = trainedOnce
      ? `Computing "${wanted.name}"...`
      : "Training the attention model in your browser (once per visit, some seconds)...";
    const result = await context.call(config.fn, [], { ...config.kwargs, ...wanted });
    root.removeAttribute("aria-busy");
    live();
    if (!result.ok) { showError(element, "The heads could not be computed:", result.error); return; }
    trainedOnce = true;
    showError(element, null);
    view = result.value;
    drawAll();
    announcer.textContent = lossText(view);
  }, (err) => { root.removeAttribute("aria-busy"); live(); showError(element, "The heads could not be computed:", String(err)); });

  const wanted = () => ({
    name: nameInput.value.trim() || view.name,
    off: switches.filter((toggle) => !toggle.checked).map((toggle) => Number(toggle.value)),
  });
  nameInput.addEventListener("input", () => { if (nameInput.value.trim()) recompute(wanted()); });
  for (const toggle of switches) toggle.addEventListener("change", () => recompute(wanted()));

  context.ready.then(() => {
    for (const control of element.querySelectorAll("input")) control.disabled = false;
    live();
    const shared = readFragment(key);
    const at = (v) => Number.parseInt(v, 10);
    [q, k] = sharedCell(shared);
    const off = (shared.off || "").split(",").map(at).filter((h) => h >= 1 && h <= view.n_head).map((h) => h - 1);
    const sameOff = off.length === view.off.length && off.every((h) => view.off.includes(h));
    if ((shared.name && shared.name !== view.name) || !sameOff) {
      if (shared.name) nameInput.value = shared.name;
      for (const toggle of switches) toggle.checked = !off.includes(Number(toggle.value));
      recompute(wanted());
    } else if (q || k) {
      drawAll();
    }
  });
  return { drawAll };
}
