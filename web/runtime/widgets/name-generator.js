// NameGenerator: the bigram model of the names writing one name, a step at a time. Each step
// shows the current character, the likeliest candidates, the uniform roll landing on the row's
// cumulative bar (in the order the sampler walks it) and the character chosen. The whole trace
// comes from lmlab.ngram.name_trace (seed, temperature); this file reveals it step by step.
//
// Config: fn ("lmlab.ngram.name_trace"), kwargs ({seed, temperature}), reader ({fn, cell}: the
// reader's counting function, bigram_counts(words, chars); switched on, fn gets it as its counter
// and the names are drawn from their table; when it is missing or fails, from lmlab's).
// Fragment: #KEY-seed=21&KEY-step=3&KEY-t=1.
import { escapeHtml, widgetFooter } from "./markup.js";
import { showError, showLive } from "./status.js";
import { readFragment, writeFragment } from "./fragment.js";
import { cumulativeBar } from "./cumulative-bar.js";

const fixed = (x, digits) => Number(x).toFixed(digits);
const MIN_T = 0.1;
const MAX_T = 3;
const STEP_T = 0.1;
const quoted = (c) => (c === "." ? "“.” (the end)" : `“${c}”`);

/** The inner, state-dependent part: shown = how many steps have been drawn (0..steps.length). */
export function stepHtml(state, shown) {
  const { chars, steps } = state;
  const done = shown === steps.length;
  // Before the first draw: the first row, no roll yet; after k draws: the k-th draw.
  const step = steps[Math.max(0, shown - 1)];
  const drawnYet = shown > 0;
  const written = steps.slice(0, shown).map((s) => s.chosen).filter((c) => c !== ".").join("");
  const letters = `<span class="ng-dot">.</span>${escapeHtml(written)}${done ? '<span class="ng-dot">.</span>' : '<span class="ng-caret">_</span>'}`;
  const context = step.context === "." ? "the start (“.”)" : `“${escapeHtml(step.context)}”`;
  const candidates = step.candidates.map((c) =>
    `<li${drawnYet && c.char === step.chosen ? ' class="is-chosen"' : ""}><span class="ng-char">${escapeHtml(c.char)}</span> ${fixed(c.prob, 3)}</li>`).join("");
  const chosenIndex = chars.indexOf(step.chosen);
  const bar = cumulativeBar(chars, step.probs, drawnYet ? step.roll : null, drawnYet ? chosenIndex : null);
  const outcome = drawnYet
    ? `Roll ${fixed(step.roll, 3)} → ${quoted(step.chosen)}, probability ${fixed(step.prob, 3)}.`
    : "Press Step to roll.";
  const summary = done
    ? `Finished: “${escapeHtml(state.name)}” in ${steps.length} draws.`
    : `Draw ${shown} of ${steps.length}.`;
  return `<p class="ng-name"><span class="visually-hidden">Name so far: ${escapeHtml(written) || "nothing yet"}</span><span aria-hidden="true">${letters}</span></p>
  <p class="ng-summary">${summary}</p>
  <p class="ng-context">After ${context}, the likeliest next characters:</p>
  <ol class="ng-candidates">${candidates}</ol>
  ${bar}
  <p class="ng-outcome">${outcome}</p>`;
}

/** The widget's markup; pure, so the builder runs it in Node for the first paint. */
export function render(config, state, key) {
  const id = (part) => `${key}-${part}`;
  const t = config.kwargs.temperature;
  return `<div class="ng" role="group" aria-labelledby="${id("title")}">
  <p class="widget-title" id="${id("title")}">Name generator</p>
  <div class="ng-controls">
    <button type="button" class="ng-step" disabled>Step</button>
    <button type="button" class="ng-generate" disabled>Generate</button>
    <button type="button" class="ng-new" disabled>New seed</button>
    <span class="ng-seed">seed <output>${config.kwargs.seed}</output></span>
  </div>${config.reader ? `
  <div class="ng-reader">
    <input type="checkbox" role="switch" id="${id("mine")}" class="ng-mine" disabled>
    <label for="${id("mine")}">Draw from my <code>${escapeHtml(config.reader.fn)}</code>
      (<a href="#cell-${escapeHtml(config.reader.cell)}">the exercise</a>)</label>
  </div>
  <p class="ng-source">The counts are lmlab's.</p>` : ""}
  <div class="ng-slider">
    <label for="${id("t")}">Temperature <output class="ng-t">${fixed(t, 1)}</output></label>
    <input type="range" id="${id("t")}" class="ng-input" min="${MIN_T}" max="${MAX_T}" step="${STEP_T}" value="${t}" disabled>
  </div>
  <div class="ng-step-view">${stepHtml(state, 0)}</div>
  ${widgetFooter("the first step the book computed when it was built", "ng-announce")}
</div>`;
}

export function mount(element, context) {
  const { config, key } = context;
  if (!element.querySelector(".ng")) element.innerHTML = render(config, context.state, key);
  const $ = (selector) => element.querySelector(selector);
  const slider = $(".ng-input");
  const announcer = $(".ng-announce");
  let state = context.state;
  let seed = config.kwargs.seed;
  let shown = 0;
  let wanted = null;
  let busy = false;

  function show(next, announce = true) {
    const started = performance.now();
    shown = Math.max(0, Math.min(next, state.steps.length));
    $(".ng-step-view").innerHTML = stepHtml(state, shown);
    $(".ng-step").disabled = shown === state.steps.length;
    element.dataset.shown = String(shown);
    element.dispatchEvent(new CustomEvent("widget:drawn", { detail: { ms: performance.now() - started } }));
    writeFragment(key, { seed, step: shown, t: fixed(slider.value, 1) });
    if (!announce) return;
    if (shown === 0) announcer.textContent = `Seed ${seed}: a new name, nothing drawn yet.`;
    else {
      const step = state.steps[shown - 1];
      const after = step.context === "." ? "At the start" : `After ${step.context}`;
      announcer.textContent = `${after}: roll ${fixed(step.roll, 3)}, chose ${quoted(step.chosen)} ` +
        `with probability ${fixed(step.prob, 3)}.` +
        (shown === state.steps.length ? ` The name is ${state.name}.` : "");
    }
  }

  const mine = $(".ng-mine");
  const readerName = config.reader?.fn;

  // The trace from the reader's counts when switched on; lmlab's when theirs is missing or fails
  // (the error box says which and why). Resolves to [trace, a sentence about whose counts].
  async function trace(nextSeed, t) {
    const kwargs = { seed: nextSeed, temperature: t };
    if (mine?.checked) {
      const theirs = await context.call(config.fn, [], { ...kwargs, counter: { reader: readerName } });
      if (theirs.ok) {
        showError(element, null);
        const { differs } = theirs.value;
        return [theirs.value, differs
          ? `The names come from your counts, which differ from lmlab's in ${differs} of the ${theirs.value.chars.length ** 2} cells.`
          : "The names come from your counts, which match lmlab's in every cell."];
      }
      showError(element, theirs.error.includes(`no function named '${readerName}'`)
        ? `Run the cell that defines ${readerName}() first; until then the names come from lmlab's counts.`
        : `Your ${readerName}() did not work, so the names come from lmlab's counts:`, theirs.error);
    }
    const result = await context.call(config.fn, [], kwargs);
    if (!result.ok) throw new Error(result.error);
    if (!mine?.checked) showError(element, null);
    return [result.value, "The counts are lmlab's."];
  }

  // Only the latest request is computed when the slider moves faster than Python answers.
  async function load(nextSeed, t, step) {
    wanted = { nextSeed, t, step };
    if (busy) return;
    busy = true;
    try {
      while (wanted) {
        const job = wanted;
        wanted = null;
        const [next, source] = await trace(job.nextSeed, job.t);
        state = next;
        seed = job.nextSeed;
        $(".ng-seed output").textContent = String(seed);
        if (config.reader) $(".ng-source").textContent = source;
        element.dataset.source = source;
        show(job.step);
      }
    } catch (err) {
      showError(element, "The generator could not compute this:", String(err.message || err));
    } finally {
      busy = false;
    }
  }

  $(".ng-step").addEventListener("click", () => show(shown + 1));
  $(".ng-generate").addEventListener("click", () => {
    if (shown === state.steps.length) load(seed + 1, Number(slider.value), state.steps.length);
    else show(state.steps.length);
  });
  $(".ng-new").addEventListener("click", () => load(seed + 1, Number(slider.value), 0));
  slider.addEventListener("input", () => {
    $(".ng-t").textContent = fixed(slider.value, 1);
    load(seed, Number(slider.value), 0); // another distribution, another name: from the start
  });
  // Another table, another name: the same seed drawn again from the start, and said aloud.
  mine?.addEventListener("change", async () => {
    await load(seed, Number(slider.value), 0);
    announcer.textContent = $(".ng-source").textContent;
  });

  context.ready.then(() => {
    for (const control of element.querySelectorAll("button, input")) control.disabled = false;
    showLive(element, `Live: each name is generated by ${config.fn} in your browser.`);
    const shared = readFragment(key);
    const sharedSeed = Number.parseInt(shared.seed, 10);
    const sharedT = Number.parseFloat(shared.t);
    if (Number.isInteger(sharedSeed)) {
      const t = Number.isFinite(sharedT) ? Math.min(MAX_T, Math.max(MIN_T, sharedT)) : Number(slider.value);
      slider.value = String(t);
      $(".ng-t").textContent = fixed(t, 1);
      load(sharedSeed, t, Number.parseInt(shared.step, 10) || 0);
    } else {
      $(".ng-step").disabled = state.steps.length === 0;
    }
  });
  return { show, load };
}
