// EmbeddingSpaceExplorer: about 120 words in clusters, drawn on their first two principal
// components, with each word's nearest neighbours computed in the full dimension. The reader
// moves between words with the arrow keys (or hovers), filters clusters, searches, switches to
// the random vectors a table starts from, turns the horizontal axis into a direction made of word
// pairs (man -> woman, or a pair the reader types), and solves analogies drawn as arrows, with
// lmlab's method or the reader's own. Every number comes from Python (lmlab.embeddings); this
// file only draws.
//
// Config: fn ("lmlab.embeddings.explorer_views" -> {trained, random}, each {words, clusters,
//   cluster_names, x, y, variance, neighbours, among}), kwargs ({k, seed}), analogy (the function
//   that solves a:b :: c:?), reader ({fn: "cosine", cell, call}: the reader's cosine, used through
//   `call` for the focused word's neighbours), direction ({fn: "lmlab.embeddings.explorer_direction",
//   named: {NAME: [[a, b], ...]}, own: [a, b] (the pair offered to edit)}), reader_analogy
//   ({fn: "analogy", cell, call}: the reader's analogy function, used through `call`).
// Fragment: #KEY-word=cat&KEY-view=random&KEY-off=2.5&KEY-a=man&KEY-b=king&KEY-c=woman
//   &KEY-axis=gender (or KEY-axis=own&KEY-from=small&KEY-to=large)&KEY-mine=analogy
import { escapeHtml, widgetFooter } from "./markup.js";
import { showError, showLive } from "./status.js";
import { readFragment, writeFragment } from "./fragment.js";
import { latest } from "./latest.js";

const W = 640;
const H = 420;
const PAD = 26;
const fixed = (x, digits) => Number(x).toFixed(digits);

/** The view's scales: the same on both axes for PCA; along a direction, which spreads the words
 * far less than a principal component does, the horizontal one stretched to fill the width. */
function scales(view) {
  const [x0, x1] = [Math.min(...view.x), Math.max(...view.x)];
  const [y0, y1] = [Math.min(...view.y), Math.max(...view.y)];
  const sx = (W - 2 * PAD) / (x1 - x0 || 1);
  const sy = (H - 2 * PAD) / (y1 - y0 || 1);
  const s = Math.min(sx, sy);
  return { x0, x1, y0, y1, sx: view.axis ? sx : s, sy: view.axis ? sy : s };
}

/** Maps the view's coordinates into the SVG box. */
function scaler(view) {
  const { x0, x1, y0, y1, sx, sy } = scales(view);
  const cx = (W - sx * (x1 - x0)) / 2;
  const cy = (H - sy * (y1 - y0)) / 2;
  return (x, y) => [cx + sx * (x - x0), H - (cy + sy * (y - y0))];
}

function pointsHtml(view, focused, hidden) {
  const at = scaler(view);
  return view.words.map((word, i) => {
    const [px, py] = at(view.x[i], view.y[i]);
    const c = view.cluster_names.indexOf(view.clusters[i]);
    const cls = `ee-pt ee-c${c}${i === focused ? " is-focused" : ""}${hidden.has(c) ? " is-hidden" : ""}`;
    return `<g class="${cls}" data-i="${i}" transform="translate(${fixed(px, 1)} ${fixed(py, 1)})">` +
      // a word near the right edge is labelled on its left, so that its label stays in the box
      (px > W - 80 ? `<circle r="4.5"/><text x="-6" y="4" text-anchor="end">` : `<circle r="4.5"/><text x="6" y="4">`) +
      `${escapeHtml(word)}</text></g>`;
  }).join("");
}

function neighboursHtml(view, i, mine) {
  if (i === null) return `<p class="ee-hint">Focus a word (arrow keys, hover, or search) to see its nearest neighbours.</p>`;
  const list = (mine || view.neighbours[i]).map(([w, c]) =>
    `<li><span class="ee-word">${escapeHtml(w)}</span> <span class="ee-cos">${fixed(c, 3)}</span></li>`).join("");
  const where = mine
    ? `by your cosine, among the explorer's ${view.words.length} words`
    : `cosine in all dimensions, among ${view.among.toLocaleString("en-US")} words`;
  return `<p class="ee-focus-title"><strong>${escapeHtml(view.words[i])}</strong> (${escapeHtml(view.clusters[i])}): nearest, ${where}</p><ol class="ee-neighbours">${list}</ol>`;
}

function pcaText(view) {
  const [across, up] = view.variance.map((share) => fixed(100 * share, 1));
  if (!view.axis) {
    return `Projection: PCA of these words. The horizontal axis shows ${across}% of
    their variance, the vertical ${up}%; the rest is not drawn.`;
  }
  const { pairs, name } = view.axis;
  const list = pairs.map(([a, b]) => `${a} → ${b}`).join(", ");
  const made = pairs.length === 1 ? "" : `, the mean of ${pairs.length} differences: ${list}`;
  return `Horizontal axis: the ${name} direction${made}; ${pairs[0][0]}'s side on the left,
    ${pairs[0][1]}'s on the right (${across}% of these words' variance). Vertical axis: the first
    principal component of what is left (${up}%). ${stretchText(view)}`;
}

function stretchText(view) {
  const { sx, sy } = scales(view);
  const times = sx / sy;
  if (Math.abs(times - 1) < 0.05) return "Both axes have the same scale.";
  return times > 1
    ? `The horizontal axis is stretched ${fixed(times, 1)} times to fill the width.`
    : `The horizontal axis is drawn ${fixed(1 / times, 1)} times smaller than the vertical.`;
}

/** Axis names along the plot's edges, for the eye (the paragraph above says the same in words). */
function axesHtml(view) {
  const [left, right] = view.axis ? view.axis.pairs[0] : [null, null];
  const across = view.axis
    ? `<text x="${PAD}" y="${H - 6}">← ${escapeHtml(left)}</text><text x="${W - PAD}" y="${H - 6}" text-anchor="end">${escapeHtml(right)} →</text>`
    : `<text x="${W - PAD}" y="${H - 6}" text-anchor="end">principal component 1 →</text>`;
  const up = view.axis ? "first principal component of the rest →" : "principal component 2 →";
  return `${across}<text transform="translate(12 ${H - PAD}) rotate(-90)">${up}</text>`;
}

function legendHtml(view, hidden, id) {
  const boxes = view.cluster_names.map((name, c) =>
    `<label class="ee-filter"><input type="checkbox" data-c="${c}"${hidden.has(c) ? "" : " checked"} disabled>` +
    `<span class="ee-swatch ee-c${c}" aria-hidden="true"></span>${escapeHtml(name)}</label>`).join("");
  return `<fieldset class="ee-clusters"><legend>Clusters shown</legend>${boxes}</fieldset>
  <p class="ee-pca" id="${id("pca")}">${pcaText(view)}</p>`;
}

function axisHtml(config, id) {
  if (!config.direction) return "";
  const named = Object.entries(config.direction.named || {}).map(([name, pairs]) =>
    `<label><input type="radio" name="${id("axis")}" value="${escapeHtml(name)}" disabled> ${escapeHtml(name)} direction
      (${escapeHtml(pairs[0].join(" → "))}${pairs.length > 1 ? ` and ${pairs.length - 1} more pairs` : ""})</label>`).join("");
  const [from, to] = config.direction.own || ["small", "large"];
  return `<fieldset class="ee-axis"><legend>Horizontal axis</legend>
    <label><input type="radio" name="${id("axis")}" value="pca" checked disabled> Principal component</label>
    ${named}
    <label><input type="radio" name="${id("axis")}" value="own" disabled> My pair</label>
  </fieldset>
  <form class="ee-own"><span id="${id("own")}">My pair:</span>
    <label>from <input class="ee-from" value="${escapeHtml(from)}" size="8" aria-describedby="${id("own")}" disabled></label>
    <label>to <input class="ee-to" value="${escapeHtml(to)}" size="8" aria-describedby="${id("own")}" disabled></label>
    <button type="submit" disabled>Use as axis</button></form>`;
}

function readerSwitchHtml(reader, id, part, what) {
  if (!reader) return "";
  return `<div class="ee-reader"><input type="checkbox" role="switch" id="${id(part)}" class="ee-${part}" disabled>
    <label for="${id(part)}">Use my <code>${escapeHtml(reader.fn)}</code>
      (<a href="#cell-${escapeHtml(reader.cell)}">the exercise</a>) ${what}</label></div>`;
}

export function render(config, state, key) {
  const id = (part) => `${key}-${part}`;
  const view = state.trained;
  const options = view.words.map((w) => `<option value="${escapeHtml(w)}"></option>`).join("");
  const reader = readerSwitchHtml(config.reader, id, "mine", "for the neighbours");
  return `<div class="ee" role="group" aria-labelledby="${id("title")}">
  <p class="widget-title" id="${id("title")}">Embedding space explorer</p>
  <div class="ee-controls">
    <div class="ee-view" role="radiogroup" aria-label="Which vectors">
      <label><input type="radio" name="${id("view")}" value="trained" checked disabled> Trained (GloVe)</label>
      <label><input type="radio" name="${id("view")}" value="random" disabled> Before training (random)</label>
    </div>
    <form class="ee-search"><label for="${id("q")}">Find a word</label>
      <input id="${id("q")}" class="ee-q" list="${id("words")}" autocomplete="off" spellcheck="false" disabled>
      <button type="submit" disabled>Find</button></form>
    <datalist id="${id("words")}">${options}</datalist>
  </div>
  ${axisHtml(config, id)}
  <div class="ee-legend">${legendHtml(view, new Set(), id)}</div>
  <div class="ee-plot" tabindex="0" role="application" aria-roledescription="word map"
    aria-label="Word map: arrow keys move to the nearest word in that direction, Home to the first word"
    aria-describedby="${id("pca")}">
    <svg class="ee-svg" viewBox="0 0 ${W} ${H}" aria-hidden="true" focusable="false">
      <g class="ee-axes">${axesHtml(view)}</g><g class="ee-arrows"></g><g class="ee-points">${pointsHtml(view, null, new Set())}</g><g class="ee-marks"></g>
    </svg>
  </div>
  <div class="ee-detail" aria-live="off">${neighboursHtml(view, null)}</div>
  ${reader}
  <details class="ee-analogy-box"><summary>Analogy mode: a is to b as c is to ?</summary>
    <form class="ee-analogy">
      <label>a <input class="ee-a" list="${id("words")}" value="man" size="9" disabled></label>
      <label>b <input class="ee-b" list="${id("words")}" value="king" size="9" disabled></label>
      <label>c <input class="ee-c" list="${id("words")}" value="woman" size="9" disabled></label>
      <button type="submit" disabled>Solve</button>
    </form>
    <p class="ee-analogy-help">The arrows are a → b and c → b − a + c, drawn on the same two axes; any word of the
      ${view.among.toLocaleString("en-US")} can be typed.</p>
    ${readerSwitchHtml(config.reader_analogy, id, "mine-analogy", "as well as lmlab's")}
    <div class="ee-answers"></div>
  </details>
  ${widgetFooter("the vectors' positions and neighbours as the book computed them when it was built", "ee-announce")}
</div>`;
}

export function mount(element, context) {
  const { config, key } = context;
  if (!element.querySelector(".ee")) element.innerHTML = render(config, context.state, key);
  const $ = (s) => element.querySelector(s);
  const plot = $(".ee-plot");
  const announcer = $(".ee-announce");
  const mine = $(".ee-mine");
  const mineAnalogy = $(".ee-mine-analogy");
  let viewName = "trained";
  let axisName = "pca"; // "pca", a name of config.direction.named, or "own"
  let ownPair = null; // [from, to] when axisName is "own"
  const layouts = new Map(); // "view|axis" -> the points' x and y along a direction (from Python)
  let focused = null;
  let hidden = new Set();
  let analogy = null; // the last solved analogy, drawn over the points
  let mineResult = null; // the reader's neighbours of the focused word
  let ticket = 0;

  function axisPairs() {
    if (axisName === "pca") return null;
    return axisName === "own" ? [ownPair] : config.direction.named[axisName];
  }
  const layoutKey = () => `${viewName}|${axisName === "own" ? `own:${ownPair.join("|")}` : axisName}`;
  // The view drawn: PCA positions as built, or the same words placed along the chosen direction.
  const view = () => {
    const base = context.state[viewName];
    const layout = axisName === "pca" ? null : layouts.get(layoutKey());
    if (!layout) return base;
    const name = axisName === "own" ? `${ownPair[0]} → ${ownPair[1]}` : axisName;
    return { ...base, x: layout.x, y: layout.y, variance: layout.variance, axis: { name, pairs: layout.pairs } };
  };

  for (const control of element.querySelectorAll("input, button")) control.disabled = false;

  function announce(text) { announcer.textContent = text; }

  function drawArrows() {
    const arrows = $(".ee-arrows");
    const marks = $(".ee-marks");
    if (!analogy || analogy.layout !== layoutKey()) { arrows.innerHTML = ""; marks.innerHTML = ""; return; }
    const at = scaler(view());
    const p = (w) => at(...analogy.value.points[w]);
    const line = (from, to, cls) => {
      const [x1, y1] = p(from); const [x2, y2] = p(to);
      return `<line class="${cls}" x1="${fixed(x1, 1)}" y1="${fixed(y1, 1)}" x2="${fixed(x2, 1)}" y2="${fixed(y2, 1)}" marker-end="url(#${key}-head)"/>`;
    };
    const { a, b, c, mine: yours } = analogy;
    arrows.innerHTML = `<defs><marker id="${key}-head" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse"><path d="M0 0L10 5L0 10z" class="ee-head"/></marker></defs>` +
      line(a, b, "ee-arrow") + line(c, "b - a + c", "ee-arrow is-target");
    const labelled = [a, b, c, "b - a + c", analogy.value.answers[0][0]];
    marks.innerHTML = labelled.map((w, n) => {
      const [x, y] = p(w);
      const cls = n === 3 ? "ee-mark is-target" : n === 4 ? "ee-mark is-answer" : "ee-mark";
      return `<g class="${cls}" transform="translate(${fixed(x, 1)} ${fixed(y, 1)})"><circle r="6"/><text x="8" y="-6">${escapeHtml(w === "b - a + c" ? "b − a + c" : w)}</text></g>`;
    }).join("") + (yours ? yoursMark(at, yours, analogy.value.answers[0][0]) : "");
  }

  function yoursMark(at, yours, lmlabs) {
    const [x, y] = at(...yours.point);
    const same = yours.word === lmlabs;
    const label = same ? `${yours.word}: yours and lmlab's` : `yours: ${yours.word}`;
    return `<g class="ee-mark is-yours" transform="translate(${fixed(x, 1)} ${fixed(y, 1)})"><rect x="-8" y="-8" width="16" height="16"/>` +
      `<text x="10" y="${same ? 18 : -8}">${escapeHtml(label)}</text></g>`;
  }

  let drawnView = "trained|pca"; // the points on screen: redrawn only when the view, axis or filters change
  let drawnHidden = "";

  function draw() {
    const started = performance.now();
    const v = view();
    const hiddenKey = [...hidden].sort().join(".");
    const shownKey = `${viewName}|${v.axis ? layoutKey() : "pca"}`;
    if (drawnView !== shownKey || drawnHidden !== hiddenKey) {
      $(".ee-points").innerHTML = pointsHtml(v, focused, hidden);
      $(".ee-axes").innerHTML = axesHtml(v);
      $(".ee-pca").textContent = pcaText(v);
      for (const box of element.querySelectorAll(".ee-filter input")) box.checked = !hidden.has(Number(box.dataset.c));
      [drawnView, drawnHidden] = [shownKey, hiddenKey];
    } else {
      // a new focus only: move the highlight, and bring the focused point to the front
      element.querySelector(".ee-pt.is-focused")?.classList.remove("is-focused");
      const point = focused === null ? null : element.querySelector(`.ee-pt[data-i="${focused}"]`);
      if (point) {
        point.classList.add("is-focused");
        point.parentNode.append(point);
      }
    }
    $(".ee-detail").innerHTML = neighboursHtml(v, focused, mineResult);
    drawArrows();
    writeFragment(key, {
      word: focused === null ? null : v.words[focused],
      view: viewName === "trained" ? null : viewName,
      off: hidden.size ? [...hidden].join(".") : null,
      a: analogy?.a, b: analogy?.b, c: analogy?.c,
      axis: axisName === "pca" ? null : axisName,
      from: axisName === "own" ? ownPair[0] : null, to: axisName === "own" ? ownPair[1] : null,
      mine: mineAnalogy?.checked ? "analogy" : null,
    });
    element.dispatchEvent(new CustomEvent("widget:drawn", { detail: { ms: performance.now() - started } }));
  }

  function describe(i) {
    const v = view();
    const near = (mineResult || v.neighbours[i]).slice(0, 3).map(([w, c]) => `${w} ${fixed(c, 2)}`).join(", ");
    return `${v.words[i]}, ${v.clusters[i]}. Nearest: ${near}.`;
  }

  async function focus(i, speak = true) {
    focused = i;
    mineResult = null;
    const mineOn = mine?.checked && i !== null;
    draw();
    if (mineOn) await askMine();
    if (speak && i !== null) announce(describe(i));
  }

  async function askMine() {
    const mineTicket = ++ticket;
    const v = view();
    const result = await context.call(config.reader.call, [], {
      word: v.words[focused], cosine: { reader: config.reader.fn }, k: config.kwargs.k,
      trained: viewName === "trained", seed: config.kwargs.seed,
    });
    if (mineTicket !== ticket) return;
    if (!result.ok) {
      const missing = result.error.includes(`'${config.reader.fn}'`);
      showError(element, missing
        ? `Run the exercise's cell that defines ${config.reader.fn}() first; until then lmlab's neighbours are shown.`
        : `Your ${config.reader.fn}() did not work, so lmlab's neighbours are shown:`, result.error);
      return;
    }
    showError(element, null);
    mineResult = result.value;
    draw();
  }

  function visible(i) {
    const v = view();
    return !hidden.has(v.cluster_names.indexOf(v.clusters[i]));
  }

  // Arrow keys: the nearest visible word in that direction (within a 45° cone, else any closer one that way).
  function step(dx, dy) {
    const v = view();
    const at = scaler(v);
    const all = v.words.map((_, i) => i).filter(visible);
    if (!all.length) return null;
    if (focused === null || !visible(focused)) return all[0];
    const [fx, fy] = at(v.x[focused], v.y[focused]);
    let best = null;
    let bestScore = Infinity;
    for (const i of all) {
      if (i === focused) continue;
      const [x, y] = at(v.x[i], v.y[i]);
      const along = (x - fx) * dx + (y - fy) * dy;
      if (along <= 0) continue;
      const across = Math.abs((x - fx) * dy - (y - fy) * dx);
      const score = along + 2 * across;
      if (score < bestScore) { bestScore = score; best = i; }
    }
    return best ?? focused;
  }

  plot.addEventListener("keydown", (event) => {
    const moves = { ArrowLeft: [-1, 0], ArrowRight: [1, 0], ArrowUp: [0, -1], ArrowDown: [0, 1] };
    let next;
    if (moves[event.key]) next = step(...moves[event.key]);
    else if (event.key === "Home") next = view().words.map((_, i) => i).find(visible) ?? null;
    else if (event.key === "Escape") next = null;
    else return;
    event.preventDefault();
    focus(next);
  });
  plot.addEventListener("focus", () => { if (focused === null) focus(step(1, 0)); });
  // Points are redrawn inside the same group: hovering listens on the svg, which stays.
  $(".ee-svg").addEventListener("pointerover", (event) => {
    const g = event.target.closest?.(".ee-pt");
    if (g && !g.classList.contains("is-hidden") && Number(g.dataset.i) !== focused) focus(Number(g.dataset.i), false);
  });

  function onFilter(event) {
    const c = Number(event.target.dataset.c);
    if (event.target.checked) hidden.delete(c); else hidden.add(c);
    if (focused !== null && !visible(focused)) focused = null;
    const name = view().cluster_names[c];
    draw();
    announce(`${name} ${event.target.checked ? "shown" : "hidden"}.`);
  }

  for (const box of element.querySelectorAll(".ee-filter input")) box.addEventListener("change", onFilter);

  for (const radio of element.querySelectorAll(".ee-view input")) {
    radio.addEventListener("change", async () => {
      viewName = radio.value;
      mineResult = null;
      await relayout();
      if (mine?.checked && focused !== null) askMine();
      announce(viewName === "trained"
        ? "Trained GloVe vectors: the clusters are back."
        : "Random vectors, as before training: no word is near any other in meaning.");
    });
  }

  $(".ee-search").addEventListener("submit", (event) => {
    event.preventDefault();
    const word = $(".ee-q").value.trim().toLowerCase();
    const i = view().words.indexOf(word);
    if (i < 0) { announce(`${word} is not on the map; the analogy mode takes any of the ${view().among} words.`); return; }
    const c = view().cluster_names.indexOf(view().clusters[i]);
    hidden.delete(c);
    focus(i);
    plot.focus({ preventScroll: true });
  });

  mine?.addEventListener("change", () => {
    mineResult = null;
    if (!mine.checked) showError(element, null);
    if (focused !== null) focus(focused);
  });

  // The reader's analogy(a, b, c, vectors), through `call`; null (and a message) when it is not
  // defined yet or fails, so that lmlab's answer stays the one shown.
  async function askMineAnalogy(a, b, c, kwargs) {
    const reader = config.reader_analogy;
    const result = await context.call(reader.call, [a, b, c], { ...kwargs, analogy: { reader: reader.fn } });
    if (result.ok) return result.value;
    const missing = result.error.includes(`'${reader.fn}'`);
    showError(element, missing
      ? `Run the exercise's cell that defines ${reader.fn}() first; until then lmlab's answer is shown.`
      : `Your ${reader.fn}() did not work, so lmlab's answer is shown:`, result.error);
    return null;
  }

  function yoursHtml(yours, lmlabs) {
    if (!yours) return "";
    const rank = yours.rank === null
      ? "one of a, b and c, which the method leaves out"
      : yours.rank === 1 ? "lmlab's answer too" : `number ${yours.rank} in lmlab's list`;
    return `<p class="ee-yours">Your <code>${escapeHtml(config.reader_analogy.fn)}</code> answers
      <span class="ee-word">${escapeHtml(yours.word)}</span> (cosine ${fixed(yours.cosine, 3)}, ${rank}${yours.word === lmlabs ? "" : `; lmlab's answer is ${escapeHtml(lmlabs)}`}).</p>`;
  }

  const solve = latest(async ({ a, b, c }) => {
    const kwargs = { trained: viewName === "trained", seed: config.kwargs.seed, pairs: axisPairs() };
    const result = await context.call(config.analogy, [a, b, c], { k: 5, ...kwargs });
    if (!result.ok) { showError(element, "The analogy could not be solved:", result.error); return; }
    showError(element, null);
    const yours = mineAnalogy?.checked ? await askMineAnalogy(a, b, c, kwargs) : null;
    analogy = { a, b, c, layout: layoutKey(), value: result.value, mine: yours };
    const { answers, inputs } = result.value;
    $(".ee-answers").innerHTML = `<p>${escapeHtml(a)} : ${escapeHtml(b)} :: ${escapeHtml(c)} : ?</p><ol class="ee-neighbours">` +
      answers.map(([w, s]) => `<li><span class="ee-word">${escapeHtml(w)}</span> <span class="ee-cos">${fixed(s, 3)}</span></li>`).join("") +
      `</ol><p class="ee-inputs">Left out: ${inputs.map(([w, s, r]) => `${escapeHtml(w)} (cosine ${fixed(s, 3)}, would rank ${r})`).join("; ")}.</p>` +
      yoursHtml(yours, answers[0][0]);
    draw();
    const theirs = yours ? ` Your ${config.reader_analogy.fn} answers ${yours.word}.` : "";
    announce(`${a} is to ${b} as ${c} is to ${answers[0][0]}, cosine ${fixed(answers[0][1], 3)}.${theirs}`);
  }, (err) => showError(element, "The analogy could not be solved:", String(err)));

  const analogyWords = () => {
    const word = (cls) => $(cls).value.trim().toLowerCase();
    return { a: word(".ee-a"), b: word(".ee-b"), c: word(".ee-c") };
  };

  $(".ee-analogy").addEventListener("submit", (event) => {
    event.preventDefault();
    solve(analogyWords());
  });

  mineAnalogy?.addEventListener("change", () => {
    if (!mineAnalogy.checked) showError(element, null);
    if (analogy) solve({ a: analogy.a, b: analogy.b, c: analogy.c });
    else draw(); // the switch's state goes into the fragment
  });

  // --- the horizontal axis: principal component or a direction of word pairs ---------------
  const axisRadios = [...element.querySelectorAll(".ee-axis input")];

  function setAxisRadio(name) {
    for (const radio of axisRadios) radio.checked = radio.value === name;
  }

  // Positions along a direction come from Python, once per view and direction; only the newest
  // choice is computed when the reader moves through the options faster than Python answers.
  const relayout = latest(async () => {
    if (axisName !== "pca" && !layouts.has(layoutKey())) {
      const pairs = axisPairs();
      const result = await context.call(config.direction.fn, [pairs], {
        trained: viewName === "trained", seed: config.kwargs.seed,
      });
      if (!result.ok) {
        showError(element, "That direction could not be drawn, so the principal component is back:", result.error);
        axisName = "pca";
        setAxisRadio("pca");
      } else {
        showError(element, null);
        layouts.set(layoutKey(), result.value);
      }
    }
    draw();
    if (analogy && analogy.layout !== layoutKey()) await solve({ a: analogy.a, b: analogy.b, c: analogy.c });
  }, (err) => showError(element, "The map could not be redrawn:", String(err)));

  async function chooseAxis(name) {
    axisName = name;
    if (name === "own") {
      ownPair = [$(".ee-from").value.trim().toLowerCase(), $(".ee-to").value.trim().toLowerCase()];
    }
    await relayout();
    const shown = view().axis;
    announce(shown
      ? `Horizontal axis: the ${shown.name} direction; vertical: the first principal component of the rest.`
      : "Horizontal axis: the first principal component.");
  }

  for (const radio of axisRadios) radio.addEventListener("change", () => { if (radio.checked) chooseAxis(radio.value); });

  $(".ee-own")?.addEventListener("submit", (event) => {
    event.preventDefault();
    setAxisRadio("own");
    chooseAxis("own");
  });

  context.ready.then(() => {
    showLive(element, `Live: positions and neighbours from ${config.fn}; your choices run in your browser.`);
    const shared = readFragment(key);
    if (shared.off) hidden = new Set(shared.off.split(".").map(Number).filter(Number.isInteger));
    if (shared.view === "random") {
      viewName = "random";
      element.querySelector('.ee-view input[value="random"]').checked = true;
    }
    const i = shared.word ? view().words.indexOf(shared.word) : -1;
    if (mineAnalogy && shared.mine === "analogy") mineAnalogy.checked = true;
    const axis = config.direction && (shared.axis === "own" || config.direction.named?.[shared.axis]) ? shared.axis : null;
    if (axis === "own" && shared.from && shared.to) { $(".ee-from").value = shared.from; $(".ee-to").value = shared.to; }
    if (shared.a && shared.b && shared.c) {
      $(".ee-a").value = shared.a; $(".ee-b").value = shared.b; $(".ee-c").value = shared.c;
      $(".ee-analogy-box").open = true;
      if (!axis) solve({ a: shared.a, b: shared.b, c: shared.c });
    }
    focus(i >= 0 ? i : null, false);
    if (axis) {
      setAxisRadio(axis);
      chooseAxis(axis).then(() => { if (shared.a && shared.b && shared.c) solve(analogyWords()); });
    }
  });
}
