// BigramTable: the names' 27 x 27 bigram table as a heatmap (counts or probabilities). Every cell
// is reachable with the arrow keys (an ARIA grid with one tab stop) and by hovering; a picked row
// gives a draw from that row, shown as the roll landing on the row's cumulative bar. The table
// comes from lmlab.ngram.bigram_table and each draw from lmlab.ngram.draw_next; this file draws.
//
// Config: fn ("lmlab.ngram.bigram_table"), kwargs ({k}), draw ("lmlab.ngram.draw_from_row",
// called with the picked row's probabilities and a seed), seed (the first draw's; each draw uses
// the next), reader ({fn, cell}: a counting function the reader defines on the page, handed to fn
// as its counter, so the table shows their counts). Fragment: #KEY-row=a&KEY-seed=3.
import { escapeHtml, widgetFooter } from "./markup.js";
import { showError, showLive } from "./status.js";
import { readFragment, writeFragment } from "./fragment.js";
import { cumulativeBar } from "./cumulative-bar.js";

const fixed = (x, digits) => Number(x).toFixed(digits);
const thousands = (n) => Number(n).toLocaleString("en-US");

// Shade of a cell, 0..1: counts on a log scale (a few huge counts would hide the rest), and
// probabilities as they are.
function shades(state, mode) {
  if (mode === "probs") return state.probs;
  const top = Math.log1p(Math.max(...state.counts.flat()));
  return state.counts.map((row) => row.map((c) => Math.log1p(c) / top));
}

const nameOf = (char, where) => (char === "." ? (where === "row" ? "the start" : "the end") : `“${char}”`);

/** A sentence about one cell, for the detail line and screen readers. */
export function describeCell(state, row, col) {
  const [a, b] = [state.chars[row], state.chars[col]];
  const count = state.counts[row][col];
  const total = state.row_totals[row];
  const after = a === "." ? "At the start of a name" : `After ${nameOf(a, "row")}`;
  const next = b === "." ? "the name ends" : `${nameOf(b, "col")} comes next`;
  return `${after}, ${next} ${thousands(count)} ${count === 1 ? "time" : "times"} out of ` +
    `${thousands(total)}: probability ${fixed(state.probs[row][col], 3)}.`;
}

function tableHtml(state, mode, id) {
  const v = shades(state, mode);
  const head = state.chars.map((c) => `<th scope="col">${escapeHtml(c)}</th>`).join("");
  const rows = state.chars.map((c, r) => {
    const cells = v[r].map((x, col) =>
      `<td data-col="${col}" tabindex="${r === 0 && col === 1 ? 0 : -1}" style="--v:${fixed(x, 3)}"></td>`).join("");
    return `<tr data-row="${r}"><th scope="row">${escapeHtml(c)}</th>${cells}</tr>`;
  }).join("");
  return `<table class="bt-grid" role="grid" aria-labelledby="${id("title")}" aria-describedby="${id("help")}">
<thead><tr><th scope="col"><span class="visually-hidden">current character</span></th>${head}</tr></thead>
<tbody>${rows}</tbody></table>`;
}

/** The widget's markup for a state; pure, so the builder runs it in Node for the first paint. */
export function render(config, state, key) {
  const id = (part) => `${key}-${part}`;
  return `<div class="bt" role="group" aria-labelledby="${id("title")}">
  <p class="widget-title" id="${id("title")}">Bigram table of the names</p>
  <p class="bt-help" id="${id("help")}">Rows: the current character; columns: the next one; “.” is
    the start (as a row) or the end (as a column). Arrow keys move, Enter draws from the row.</p>
  <div class="bt-mode" role="radiogroup" aria-label="Shade the cells by">
    <label><input type="radio" name="${id("mode")}" value="counts" checked> counts</label>
    <label><input type="radio" name="${id("mode")}" value="probs"> probabilities</label>
  </div>
  ${config.reader ? `<div class="bt-reader">
    <input type="checkbox" role="switch" id="${id("mine")}" class="bt-mine" disabled>
    <label for="${id("mine")}">Count with my <code>${escapeHtml(config.reader.fn)}</code>
      (<a href="#cell-${escapeHtml(config.reader.cell)}">the exercise</a>)</label>
  </div>
  <p class="bt-source">The counts are lmlab's.</p>` : ""}
  <div class="bt-scroll">${tableHtml(state, "counts", id)}</div>
  <p class="bt-detail" aria-hidden="true">${escapeHtml(describeCell(state, 0, 1))}</p>
  <div class="bt-draw">
    <button type="button" class="bt-draw-button" disabled>Draw from row “.”</button>
    <div class="bt-result"><p class="bt-roll">No draw yet.</p></div>
  </div>
  ${widgetFooter("the table the book computed when it was built", "bt-announce")}
</div>`;
}

export function mount(element, context) {
  const { config, key } = context;
  if (!element.querySelector(".bt")) element.innerHTML = render(config, context.state, key);
  let state = context.state;
  const $ = (selector) => element.querySelector(selector);
  const grid = $(".bt-grid");
  const cells = [...grid.querySelectorAll("tbody tr")].map((tr) => [...tr.querySelectorAll("td")]);
  const size = state.chars.length;
  const announcer = $(".bt-announce");
  const drawButton = $(".bt-draw-button");
  let focused = [0, 1];
  let pickedRow = 0;
  let seed = config.seed;
  let drawn = null;

  const label = (r, c) => describeCell(state, r, c);
  function showDetail(r, c) {
    $(".bt-detail").textContent = label(r, c);
  }

  function focusCell(r, c) {
    const [pr, pc] = focused;
    cells[pr][pc].tabIndex = -1;
    cells[pr][pc].removeAttribute("aria-label");
    focused = [r, c];
    const cell = cells[r][c];
    cell.tabIndex = 0;
    cell.setAttribute("aria-label", label(r, c)); // what a screen reader says on arrival
    cell.focus();
    showDetail(r, c);
  }

  function pickRow(r) {
    pickedRow = r;
    for (const [i, tr] of grid.querySelectorAll("tbody tr").entries()) tr.classList.toggle("is-picked", i === r);
    drawButton.textContent = `Draw from row “${state.chars[r]}”`;
  }

  // Resolves once the table shows lmlab's counts or (switched on) the reader's.
  async function useCounter(mine) {
    const kwargs = mine ? { ...config.kwargs, counter: { reader: config.reader.fn } } : config.kwargs;
    const result = await context.call(config.fn, [], kwargs);
    let source = "The counts are lmlab's.";
    if (result.ok) {
      state = result.value;
      showError(element, null);
      if (mine) {
        source = state.differs
          ? `Your counts differ from lmlab's in ${state.differs} of the ${size * size} cells.`
          : "Your counts match lmlab's in every cell.";
      }
    } else {
      const name = config.reader.fn;
      showError(element, result.error.includes(`no function named '${name}'`)
        ? `Run the cell that defines ${name}() first; until then the table shows lmlab's counts.`
        : `Your ${name}() did not work, so the table shows lmlab's counts:`, result.error);
      state = context.state;
    }
    $(".bt-source").textContent = source;
    setMode(element.dataset.mode || "counts");
    showDetail(...focused);
    announcer.textContent = source;
  }

  function setMode(mode) {
    const started = performance.now();
    const v = shades(state, mode);
    for (let r = 0; r < size; r++) for (let c = 0; c < size; c++) cells[r][c].style.setProperty("--v", fixed(v[r][c], 3));
    element.dataset.mode = mode;
    element.dispatchEvent(new CustomEvent("widget:drawn", { detail: { ms: performance.now() - started } }));
    announcer.textContent = `Cells shaded by ${mode === "probs" ? "probability" : "count"}.`;
  }

  async function draw(useSeed = seed) {
    const char = state.chars[pickedRow];
    const result = await context.call(config.draw, [state.probs[pickedRow], useSeed]);
    if (!result.ok) return showError(element, "The draw failed:", result.error);
    const { probs, roll, index } = result.value;
    const chosen = state.chars[index];
    drawn?.classList.remove("is-drawn");
    drawn = cells[pickedRow][index];
    drawn.classList.add("is-drawn");
    const after = char === "." ? "At the start" : `After “${char}”`;
    const what = chosen === "." ? "the end of the name" : `“${chosen}”`;
    const sentence = `${after}, seed ${useSeed}: the roll ${fixed(roll, 3)} lands on ${what} ` +
      `(probability ${fixed(probs[index], 3)}).`;
    $(".bt-result").innerHTML = `<p class="bt-roll">${escapeHtml(sentence)}</p>` +
      cumulativeBar(state.chars, probs, roll, index);
    element.dataset.drawn = `${char}${chosen}`;
    announcer.textContent = sentence;
    writeFragment(key, { row: char, seed: useSeed });
    seed = useSeed + 1;
  }

  grid.addEventListener("keydown", (event) => {
    const [r, c] = focused;
    const moves = {
      ArrowUp: [Math.max(0, r - 1), c],
      ArrowDown: [Math.min(size - 1, r + 1), c],
      ArrowLeft: [r, Math.max(0, c - 1)],
      ArrowRight: [r, Math.min(size - 1, c + 1)],
      Home: [r, 0],
      End: [r, size - 1],
    };
    if (moves[event.key]) {
      event.preventDefault();
      focusCell(...moves[event.key]);
    } else if ((event.key === "Enter" || event.key === " ") && !drawButton.disabled) {
      event.preventDefault();
      pickRow(r);
      draw();
    }
  });
  grid.addEventListener("mouseover", (event) => {
    const td = event.target.closest("td");
    if (td) showDetail(Number(td.parentElement.dataset.row), Number(td.dataset.col));
  });
  grid.addEventListener("click", (event) => {
    const td = event.target.closest("td");
    if (!td) return;
    focusCell(Number(td.parentElement.dataset.row), Number(td.dataset.col));
    pickRow(focused[0]);
    if (!drawButton.disabled) draw();
  });
  for (const radio of element.querySelectorAll(".bt-mode input")) {
    radio.addEventListener("change", () => radio.checked && setMode(radio.value));
  }
  drawButton.addEventListener("click", () => draw());
  $(".bt-mine")?.addEventListener("change", (event) => useCounter(event.target.checked));

  context.ready.then(() => {
    drawButton.disabled = false;
    if ($(".bt-mine")) $(".bt-mine").disabled = false;
    showLive(element, `Live: draws are made by ${config.draw} in your browser.`);
    const shared = readFragment(key);
    const row = state.chars.indexOf(shared.row);
    if (row >= 0) {
      pickRow(row);
      draw(Number.isInteger(Number(shared.seed)) ? Number(shared.seed) : seed);
    }
  });
  return { setMode, draw, pickRow };
}
