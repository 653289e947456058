// PositionalEncodingHeatmap: the sinusoidal table, positions down and dimensions across, on a
// diverging colour scale (-1 to 1), every cell's value on hover and keyboard focus, and beside
// it the dot product of the focused position's vector with every position's. The numbers come
// from lmlab.position.heatmap; this file only draws.
//
// Config: fn ("lmlab.position.heatmap"), kwargs ({T, dim}); reader {fn, cell}: the reader's
// function of that name (the chapter's exercise) can make the table instead.
// Fragment: #KEY-T=20&KEY-dim=64&KEY-pos=3&KEY-col=10
import { escapeHtml, widgetFooter } from "./markup.js";
import { showError, showLive } from "./status.js";
import { readFragment, writeFragment } from "./fragment.js";

const CELL_W = 8;
const CELL_H = 14;
const fixed = (x, digits) => Number(x).toFixed(digits);
const LIMITS = { T: [4, 64], dim: [8, 128] };

function gridSvg(state, pos, col) {
  const T = state.pe.length;
  const dim = state.pe[0].length;
  const cells = [];
  for (let p = 0; p < T; p++) {
    for (let d = 0; d < dim; d++) {
      const v = state.pe[p][d];
      cells.push(`<rect x="${d * CELL_W}" y="${p * CELL_H}" width="${CELL_W}" height="${CELL_H}" class="${v < 0 ? "ph-neg" : "ph-pos"}" style="--v:${fixed(Math.abs(v), 3)}"/>`);
    }
  }
  const w = dim * CELL_W;
  const h = T * CELL_H;
  return `<svg class="ph-grid" viewBox="0 0 ${w} ${h}" preserveAspectRatio="none" aria-hidden="true" focusable="false">${cells.join("")}` +
    `<rect class="ph-row" x="0" y="${pos * CELL_H}" width="${w}" height="${CELL_H}"/>` +
    `<rect class="ph-cell" x="${col * CELL_W}" y="${pos * CELL_H}" width="${CELL_W}" height="${CELL_H}"/></svg>`;
}

function dotsSvg(state, pos) {
  const row = state.dots[pos];
  const T = row.length;
  // The largest |dot product| sets the scale (a reader's table of zeros must not divide by 0).
  const max = Math.max(1e-12, ...state.dots.flat().map(Math.abs));
  const w = 200;
  const h = T * CELL_H;
  const x = (v) => (w / 2) * (1 + v / max);
  const bars = row.map((v, q) => {
    const [a, b] = [x(0), x(v)].sort((m, n) => m - n);
    return `<rect class="ph-dot${q === pos ? " is-self" : ""}" x="${fixed(a, 1)}" y="${q * CELL_H + 2}" width="${fixed(Math.max(b - a, 1), 1)}" height="${CELL_H - 4}"/>`;
  }).join("");
  return `<svg class="ph-dots" viewBox="0 0 ${w} ${h}" preserveAspectRatio="none" aria-hidden="true" focusable="false">` +
    `<line class="ph-axis" x1="${w / 2}" y1="0" x2="${w / 2}" y2="${h}"/>${bars}</svg>`;
}

function readout(state, pos, col) {
  const v = state.pe[pos][col];
  const pair = Math.floor(col / 2);
  const wave = state.wavelengths[pair];
  const kind = col % 2 ? "cos" : "sin";
  return `Position ${pos}, dimension ${col} (${kind} of pair ${pair}, one turn every ${fixed(wave, 1)} positions): ` +
    `<strong>${fixed(v, 3)}</strong>. Its dot product with position 0 is ${fixed(state.dots[pos][0], 2)}; with itself ${fixed(state.dots[pos][pos], 2)}.`;
}

export function render(config, state, key) {
  const id = (part) => `${key}-${part}`;
  const T = state.pe.length;
  const dim = state.pe[0].length;
  return `<div class="ph" role="group" aria-labelledby="${id("title")}">
  <p class="widget-title" id="${id("title")}">Positional encoding heatmap</p>
  <div class="ph-controls">
    <label>Positions <input type="number" class="ph-T" min="${LIMITS.T[0]}" max="${LIMITS.T[1]}" step="1" value="${T}" disabled></label>
    <label>Dimensions <input type="number" class="ph-dim" min="${LIMITS.dim[0]}" max="${LIMITS.dim[1]}" step="2" value="${dim}" disabled></label>
  </div>
  <div class="ph-legend" aria-hidden="true"><span>−1</span><span class="ph-scale"></span><span>0</span><span class="ph-scale is-pos"></span><span>+1</span></div>
  <p class="visually-hidden" id="${id("legend")}">Colour scale: blue for negative values, red for positive, white near 0.</p>
  <div class="ph-body">
    <div class="ph-map" tabindex="0" role="application" aria-roledescription="heatmap"
      aria-label="Sinusoidal encoding, ${T} positions by ${dim} dimensions. Arrow keys move between cells; Page Up and Page Down jump 8 dimensions."
      aria-describedby="${id("legend")} ${id("readout")}">
      <p class="ph-axis-label">dimension → (positions ↓)</p>${gridSvg(state, 0, 0)}</div>
    <div class="ph-side"><p class="ph-axis-label">dot product with the focused position</p>${dotsSvg(state, 0)}</div>
  </div>
  <p class="ph-readout" id="${id("readout")}">${readout(state, 0, 0)}</p>
  ${config.reader ? `<div class="ph-reader"><input type="checkbox" role="switch" id="${id("mine")}" class="ph-mine" disabled>
    <label for="${id("mine")}">Use my <code>${escapeHtml(config.reader.fn)}</code>
      (<a href="#cell-${escapeHtml(config.reader.cell)}">the exercise</a>) for the table</label></div>` : ""}
  ${widgetFooter("the table the book computed when it was built", "ph-announce")}
</div>`;
}

export function mount(element, context) {
  const { config, key } = context;
  if (!element.querySelector(".ph")) element.innerHTML = render(config, context.state, key);
  const $ = (s) => element.querySelector(s);
  const map = $(".ph-map");
  const announcer = $(".ph-announce");
  let state = context.state;
  let pos = 0;
  let col = 0;
  let ticket = 0;
  let announceTimer = 0;
  const T = () => state.pe.length;
  const dim = () => state.pe[0].length;

  function drawFocus(speak) {
    const started = performance.now();
    $(".ph-row").setAttribute("y", pos * CELL_H);
    const cell = $(".ph-cell");
    cell.setAttribute("x", col * CELL_W);
    cell.setAttribute("y", pos * CELL_H);
    $(".ph-side svg").outerHTML = dotsSvg(state, pos);
    $(".ph-readout").innerHTML = readout(state, pos, col);
    element.dataset.focus = `${pos},${col}`;
    writeFragment(key, { T: T(), dim: dim(), pos, col });
    element.dispatchEvent(new CustomEvent("widget:drawn", { detail: { ms: performance.now() - started } }));
    if (speak) {
      clearTimeout(announceTimer);
      announceTimer = setTimeout(() => { announcer.textContent = $(".ph-readout").textContent; }, 250);
    }
  }

  function drawAll() {
    const started = performance.now();
    $(".ph-map svg").outerHTML = gridSvg(state, pos, col);
    map.setAttribute("aria-label", `Sinusoidal encoding, ${T()} positions by ${dim()} dimensions. Arrow keys move between cells; Page Up and Page Down jump 8 dimensions.`);
    drawFocus(false);
    element.dispatchEvent(new CustomEvent("widget:drawn", { detail: { ms: performance.now() - started } }));
  }

  map.addEventListener("keydown", (event) => {
    const moves = { ArrowUp: [-1, 0], ArrowDown: [1, 0], ArrowLeft: [0, -1], ArrowRight: [0, 1], PageUp: [0, -8], PageDown: [0, 8] };
    if (event.key === "Home") { col = 0; } else if (event.key === "End") { col = dim() - 1; } else if (moves[event.key]) {
      const [dp, dc] = moves[event.key];
      pos = Math.min(T() - 1, Math.max(0, pos + dp));
      col = Math.min(dim() - 1, Math.max(0, col + dc));
    } else return;
    event.preventDefault();
    drawFocus(true);
  });
  map.addEventListener("pointermove", (event) => {
    const svg = $(".ph-map svg");
    const box = svg.getBoundingClientRect();
    const c = Math.floor(((event.clientX - box.left) / box.width) * dim());
    const p = Math.floor(((event.clientY - box.top) / box.height) * T());
    if (c < 0 || p < 0 || c >= dim() || p >= T() || (c === col && p === pos)) return;
    pos = p;
    col = c;
    drawFocus(false);
  });

  async function resize() {
    const clamp = (v, [lo, hi]) => Math.min(hi, Math.max(lo, Math.round(Number(v) || lo)));
    const wantT = clamp($(".ph-T").value, LIMITS.T);
    let wantDim = clamp($(".ph-dim").value, LIMITS.dim);
    wantDim -= wantDim % 2;
    const request = ++ticket;
    const sizes = { ...config.kwargs, T: wantT, dim: wantDim };
    const useReaders = Boolean($(".ph-mine")?.checked);
    let result = await context.call(config.fn, [], useReaders ? { ...sizes, encoding: { reader: config.reader.fn } } : sizes);
    let problem = null;
    if (useReaders && !result.ok) {
      // Theirs failed: say why, and show lmlab's table meanwhile.
      problem = result.error.includes(`no function named '${config.reader.fn}'`)
        ? [`Run the exercise's cell that defines ${config.reader.fn}() first; until then the table is lmlab's.`, ""]
        : [`Your ${config.reader.fn}() did not work, so the table is lmlab's:`, result.error];
      result = await context.call(config.fn, [], sizes);
    }
    if (request !== ticket) return;
    if (!result.ok) { showError(element, "The table could not be computed:", result.error); return; }
    showError(element, ...(problem ?? [null]));
    state = result.value;
    const source = useReaders && !problem ? `your ${config.reader.fn}()` : config.fn;
    showLive(element, `Live: the table comes from ${source} in your browser.`);
    pos = Math.min(pos, T() - 1);
    col = Math.min(col, dim() - 1);
    drawAll();
    announcer.textContent = `${T()} positions by ${dim()} dimensions.`;
  }
  for (const input of element.querySelectorAll(".ph-T, .ph-dim, .ph-mine")) input.addEventListener("change", resize);

  for (const control of element.querySelectorAll("input")) control.disabled = false;
  context.ready.then(() => {
    showLive(element, `Live: the table comes from ${config.fn} in your browser.`);
    const shared = readFragment(key);
    pos = Number(shared.pos) || 0;
    col = Number(shared.col) || 0;
    if (shared.T || shared.dim) {
      if (shared.T) $(".ph-T").value = shared.T;
      if (shared.dim) $(".ph-dim").value = shared.dim;
      resize();
    } else if (pos || col) {
      pos = Math.min(pos, T() - 1);
      col = Math.min(col, dim() - 1);
      drawFocus(false);
    }
  });
}
