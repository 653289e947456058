// GenerationExplorer: the autoregressive loop run one step at a time (each step's distribution,
// the uniform roll of the draw on its cumulative bar, the word appended to the context) beside the
// tree of every continuation the loop could have written, the drawn path marked in it. Python
// (lmlab.generation.generation_explorer) computes the tree and one seeded run; stepping through
// that run needs no Python, so Step works before Python has loaded.
//
// Config (from the chapter's ::: widget directive):
//   fn       "lmlab.generation.generation_explorer"
//   kwargs   {table, prompt: [words], depth, branches, temperature, seed}: the initial settings
//   reader   {data, cell, via}: "Use my table" runs `via` (lmlab.generation.reader_explorer) on
//            the table the reader's cell made (the page's variable `data`) instead of kwargs.table;
//            its problems (rows that do not sum to 1, words with no row) are listed, and the
//            explorer carries on with kwargs.table until they are fixed
import { readFragment, writeFragment } from "./fragment.js";
import { latest } from "./latest.js";
import { escapeHtml } from "./markup.js";

const fixed = (x, digits) => Number(x).toFixed(digits);
const quote = (word) => `“${word}”`;

function contextHtml(prompt, trace, step) {
  const made = trace.slice(0, step).map((s) => `<mark class="gx-made">${escapeHtml(s.word)}</mark>`);
  return `<span class="gx-prompt">${escapeHtml(prompt.join(" "))}</span> ${made.join(" ")}`;
}

// The draw of one step: candidates laid end to end in the order the sampler walks them, the roll
// marked where it landed, and the list of candidates with the chosen one marked.
function stepHtml(s, n, total) {
  let start = 0;
  const segments = s.candidates.map((c, i) => {
    const rect = `<rect class="gx-seg${i === s.chosen ? " is-chosen" : ""}${i % 2 ? " is-odd" : ""}" ` +
      `x="${start}" width="${c.prob}" height="1"/>`;
    start += c.prob;
    return rect;
  }).join("");
  const rows = s.candidates.map((c, i) =>
    `<li class="gx-cand${i === s.chosen ? " is-chosen" : ""}"><span class="gx-word">${escapeHtml(c.word)}</span>` +
    `<span class="gx-num">${fixed(c.prob, 3)}</span></li>`).join("");
  return `<p class="gx-step-title">Step ${n} of ${total}: after ${quote(escapeHtml(s.context.at(-1)))} the model offers</p>
    <ol class="gx-cands" aria-label="Candidates, in the order the draw walks them">${rows}</ol>
    <svg class="gx-cdf" viewBox="0 0 1 1" preserveAspectRatio="none" aria-hidden="true" focusable="false">${segments}` +
    ["gx-roll-halo", "gx-roll"].map((cls) =>
      `<line class="${cls}" x1="${s.roll}" x2="${s.roll}" y1="0" y2="1" vector-effect="non-scaling-stroke"/>`).join("") + `</svg>
    <p class="gx-draw">The roll is <span class="gx-num">${fixed(s.roll, 3)}</span>: it lands in
      ${quote(escapeHtml(s.word))}'s stretch of the bar, so ${quote(escapeHtml(s.word))}
      (probability <span class="gx-num">${fixed(s.prob, 3)}</span>) is appended.
      The sentence so far has probability <span class="gx-num">${fixed(s.path_prob, 3)}</span>.</p>`;
}

// The tree as nested lists (a screen reader reads it as such). `path` is the words drawn so far;
// a node is on it when its parent is and its word is the path's word at its depth.
export function treeHtml(node, path, depth = 0, onPath = true) {
  const children = node.children.map((child) =>
    treeHtml(child, path, depth + 1, onPath && path[depth] === child.word));
  if (node.unshown > 0.0005) {
    // The run may have drawn one of the words this tree leaves out: say which.
    const drawn = path[depth];
    const left = onPath && drawn !== undefined && !node.children.some((child) => child.word === drawn);
    children.push(`<li class="gx-node is-unshown${left ? " is-path" : ""}"><span class="gx-word">other words` +
      `${left ? `, “${escapeHtml(drawn)}” among them` : ""}</span><span class="gx-num">${fixed(node.unshown, 3)}</span></li>`);
  }
  const word = `<span class="gx-word">${escapeHtml(node.word)}</span>`;
  const list = children.length ? `<ul>${children.join("")}</ul>` : "";
  if (depth === 0) {
    return `<ul class="gx-tree" aria-label="Every continuation, the most likely branches first">` +
      `<li class="gx-node is-root">${word}${list}</li></ul>`;
  }
  const numbers = `<span class="gx-num" title="probability of this word here">${fixed(node.prob, 3)}</span>` +
    `<span class="gx-path-prob" title="probability of the whole path">path ${fixed(node.path_prob, 3)}</span>`;
  return `<li class="gx-node${onPath ? " is-path" : ""}">${word}${numbers}${list}</li>`;
}

function bodyHtml(config, state, settings, step) {
  const trace = state.trace;
  const drawn = trace.slice(0, step).map((s) => s.word);
  const current = step > 0
    ? stepHtml(trace[step - 1], step, trace.length)
    : `<p class="gx-step-title">Press <strong>Step</strong> to run the loop once: the model's distribution, a random draw, and the drawn word appended.</p>`;
  const ended = step === trace.length
    ? `<p class="gx-ended">${trace.at(-1).word === "." ? "The model drew “.”, so the sentence ends." : `That is ${trace.length} steps, as deep as the tree.`}</p>`
    : "";
  return `<p class="gx-context"><span class="gx-label">Context</span> ${contextHtml(settings.prompt, trace, step)}</p>
  <div class="gx-step">${current}${ended}</div>
  <p class="gx-tree-title">All continuations, ${settings.depth} word${settings.depth > 1 ? "s" : ""} deep, keeping the
    ${settings.branches} likeliest at each step (temperature ${fixed(settings.temperature, 2)})</p>
  ${treeHtml(state.tree, drawn)}`;
}

function select(id, cls, label, value, max) {
  const options = Array.from({ length: max }, (_, i) => i + 1)
    .map((n) => `<option${n === value ? " selected" : ""}>${n}</option>`).join("");
  return `<label for="${id}">${label}</label><select id="${id}" class="${cls}" disabled>${options}</select>`;
}

/** The widget's markup for a state; pure, so the builder can run it in Node for the first paint. */
export function render(config, state, key) {
  const id = (part) => `${key}-${part}`;
  const k = config.kwargs;
  return `<div class="gx" role="group" aria-labelledby="${id("title")}">
  <p class="widget-title" id="${id("title")}">Generation explorer: the loop, and the tree of what it could write</p>
  <div class="gx-controls">
    <div class="gx-slider"><label for="${id("t")}">Temperature <output class="gx-t">${fixed(k.temperature, 2)}</output></label>
      <input type="range" id="${id("t")}" class="gx-temperature" min="0.1" max="3" step="0.05" value="${k.temperature}" disabled></div>
    <div>${select(id("depth"), "gx-depth", "Depth", k.depth, 4)}</div>
    <div>${select(id("branches"), "gx-branches", "Branches", k.branches, 4)}</div>
    <div><label for="${id("seed")}">Seed</label>
      <input type="number" id="${id("seed")}" class="gx-seed" min="0" max="99999" value="${k.seed}" disabled>
      <button type="button" class="gx-new-seed" disabled>New seed</button></div>
  </div>
  ${config.reader ? `<div class="gx-reader">
    <input type="checkbox" role="switch" id="${id("mine")}" class="gx-mine" disabled>
    <label for="${id("mine")}">Use my table <code>${escapeHtml(config.reader.data)}</code>
      (<a href="#cell-${escapeHtml(config.reader.cell)}">the cell that defines it</a>)</label>
  </div>
  <p class="gx-source">The table is the one in the widget's settings.</p>` : ""}
  <div class="gx-buttons">
    <button type="button" class="gx-next" disabled>Step</button>
    <button type="button" class="gx-back" disabled>Back</button>
    <button type="button" class="gx-reset" disabled>Start over</button>
  </div>
  <div class="gx-body" data-step="0">${bodyHtml(config, state, k, 0)}</div>
  <div class="widget-error" hidden><p class="widget-error-title"></p><pre class="widget-error-text"></pre></div>
  <p class="widget-status" data-state="waking">Python is waking up; Step already works on the run the book
    computed when it was built, and the settings answer once Python is ready.</p>
  <p class="visually-hidden gx-announce" aria-live="polite"></p>
</div>`;
}

export function mount(element, context) {
  const { config } = context;
  if (!element.querySelector(".gx")) element.innerHTML = render(config, context.state, context.key);
  const $ = (selector) => element.querySelector(selector);
  const body = $(".gx-body");
  const status = $(".widget-status");
  const errorBox = $(".widget-error");
  let state = context.state;
  let settings = { ...config.kwargs }; // what the controls say
  let shown = settings; // what the tree and the run on screen were computed for
  let step = 0;

  for (const control of element.querySelectorAll("input, select, button")) control.disabled = false;

  const announce = (text) => ($(".gx-announce").textContent = text);

  // The settings and the step on screen, in the URL fragment: a link shows the same run.
  const share = () => writeFragment(context.key, {
    t: fixed(settings.temperature, 2), depth: settings.depth, branches: settings.branches,
    seed: settings.seed, step,
  });

  function draw() {
    body.innerHTML = bodyHtml(config, state, shown, step);
    body.dataset.step = String(step);
    element.dataset.drawn = JSON.stringify({ ...shown, table: undefined, step });
    element.dispatchEvent(new CustomEvent("widget:drawn", { detail: { step } }));
  }

  function showStep() {
    draw();
    share();
    if (step === 0) return announce("Back at the prompt.");
    const s = state.trace[step - 1];
    announce(`Step ${step}: after ${s.context.at(-1)} the roll ${fixed(s.roll, 3)} picks ${s.word}, ` +
      `probability ${fixed(s.prob, 3)}. Context: ${[...shown.prompt, ...state.trace.slice(0, step).map((x) => x.word)].join(" ")}`);
  }

  const mine = $(".gx-mine");
  const showProblem = (title, text) => {
    errorBox.hidden = false;
    $(".widget-error-title").textContent = title;
    $(".widget-error-text").textContent = text;
  };

  // The reader's table when switched on and sound; the widget's own otherwise (the error box says
  // why). Resolves to [call result, a sentence about whose table it is].
  async function explore(wanted) {
    const own = "The table is the one in the widget's settings.";
    if (mine?.checked) {
      const name = config.reader.data;
      const theirs = await context.call(config.reader.via, [], { ...wanted, table: { reader_data: name } });
      if (theirs.ok && !theirs.value.problems.length) {
        errorBox.hidden = true;
        return [theirs, `The table is your ${name}.`];
      }
      if (!theirs.ok && theirs.error.includes(`nothing named '${name}'`)) {
        showProblem(`Run the cell that defines ${name} first; until then the explorer uses the table in its settings.`, "");
      } else if (!theirs.ok) {
        showProblem(`Your ${name} could not be used, so the explorer uses the table in its settings:`, theirs.error);
      } else {
        const count = theirs.value.problems.length;
        showProblem(`Your ${name} cannot drive the explorer yet (${count} ${count === 1 ? "problem" : "problems"}), ` +
          "so it uses the table in its settings. Fix these and run the cell again:",
        theirs.value.problems.map((p) => `• ${p}`).join("\n"));
      }
      const result = await context.call(config.fn, [], wanted);
      return [result, own];
    }
    const result = await context.call(config.fn, [], wanted);
    if (result.ok) errorBox.hidden = true;
    return [result, own];
  }

  const compute = latest(async (wanted) => {
    const [result, source] = await explore(wanted);
    if (!result.ok) throw new Error(result.error);
    if (config.reader) $(".gx-source").textContent = source;
    element.dataset.source = source;
    state = result.value;
    shown = wanted;
    step = Math.min(step, state.trace.length);
    draw();
    const problems = errorBox.hidden ? "" : ` ${$(".widget-error-title").textContent}`;
    announce(`${config.reader ? `${source}${problems} ` : ""}Tree ${wanted.depth} deep with ${wanted.branches} ` +
      `branches at temperature ${fixed(wanted.temperature, 2)}, seed ${wanted.seed}.`);
  }, (err) => {
    errorBox.hidden = false;
    $(".widget-error-title").textContent = "The widget could not compute this:";
    $(".widget-error-text").textContent = String(err.message || err);
  });

  function request(changes) {
    settings = { ...settings, ...changes };
    $(".gx-t").textContent = fixed(settings.temperature, 2);
    share();
    compute(settings);
  }

  $(".gx-temperature").addEventListener("input", (e) => request({ temperature: Number(e.target.value) }));
  $(".gx-depth").addEventListener("change", (e) => request({ depth: Number(e.target.value) }));
  $(".gx-branches").addEventListener("change", (e) => request({ branches: Number(e.target.value) }));
  $(".gx-seed").addEventListener("change", (e) => {
    const seed = Math.max(0, Math.floor(Number(e.target.value) || 0));
    e.target.value = seed;
    request({ seed });
  });
  mine?.addEventListener("change", () => request({}));
  $(".gx-new-seed").addEventListener("click", () => {
    const seed = settings.seed + 1;
    $(".gx-seed").value = seed;
    request({ seed });
  });
  // Step and Back stay enabled at the ends (a disabled button would drop the keyboard focus).
  $(".gx-next").addEventListener("click", () => {
    if (step === state.trace.length) return announce("This run has ended; Start over or change the seed.");
    step += 1;
    showStep();
  });
  $(".gx-back").addEventListener("click", () => {
    if (step === 0) return announce("Already at the prompt.");
    step -= 1;
    showStep();
  });
  $(".gx-reset").addEventListener("click", () => {
    step = 0;
    showStep();
  });

  context.ready.then(async () => {
    status.dataset.state = "live";
    status.textContent = `Live: the tree and the run are computed by ${config.fn} in your browser.`;
    // A shared link: its settings computed, then its step shown.
    const shared = readFragment(context.key);
    if (!Object.keys(shared).length) return;
    const whole = (value, low, high, fallback) => {
      const n = Math.floor(Number(value));
      return Number.isFinite(n) && n >= low && n <= high ? n : fallback;
    };
    const t = Number(shared.t);
    const wanted = {
      ...settings,
      temperature: t >= 0.1 && t <= 3 ? t : settings.temperature,
      depth: whole(shared.depth, 1, 4, settings.depth),
      branches: whole(shared.branches, 1, 4, settings.branches),
      seed: whole(shared.seed, 0, 99999, settings.seed),
    };
    $(".gx-temperature").value = wanted.temperature;
    $(".gx-depth").value = wanted.depth;
    $(".gx-branches").value = wanted.branches;
    $(".gx-seed").value = wanted.seed;
    settings = wanted;
    $(".gx-t").textContent = fixed(wanted.temperature, 2);
    await compute(wanted);
    step = whole(shared.step, 0, state.trace.length, 0);
    showStep();
  });
}
