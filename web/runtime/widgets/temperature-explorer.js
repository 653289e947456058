// TemperatureExplorer: one prompt, a handful of candidate next tokens with their logits, and a
// temperature slider. Every number it shows comes from Python (lmlab.sampling, or the reader's own
// softmax when they switch it on); this file only draws.
//
// Config (from the chapter's ::: widget directive):
//   fn       "lmlab.sampling.temperature_explorer", called as fn(logits=..., temperature=T,
//            top_k=k or null, top_p=p or null): the bars show what the draw uses after the cuts
//   kwargs   {logits: [...], temperature: initial T}
//   tokens   the candidate tokens, one per logit
//   prompt   the text they continue
//   seed     first seed of the Sample button (each draw uses the next one)
//   reader   {fn: "softmax", cell: "softmax"}: a function the reader defines on the page, called
//            as fn(logits, T) and expected to return one probability per token
import { readFragment, writeFragment } from "./fragment.js";
import { latest } from "./latest.js";
import { escapeHtml } from "./markup.js";

const MIN_T = 0.1;
const MAX_T = 3;
const STEP_T = 0.05;
const MAX_DRAWS_SHOWN = 12;
const ANNOUNCE_AFTER_MS = 600; // say the numbers once the slider rests, not on every step

const fixed = (x, digits) => Number(x).toFixed(digits);

function statsHtml(config, state) {
  const top = config.tokens[state.order[0]];
  return `
  <div><dt>Entropy</dt><dd data-stat="entropy">${fixed(state.entropy, 2)} nats
    <span class="tx-aside">(${fixed(state.entropy_bits, 2)} bits)</span></dd></div>
  <div><dt>Top token</dt><dd data-stat="top">${escapeHtml(top)}
    <span data-stat="top-prob">${fixed(state.top_prob, 3)}</span></dd></div>
  <div><dt>Effective tokens</dt><dd data-stat="effective">${fixed(state.effective_tokens, 2)}</dd></div>`;
}

function rowHtml(tokenIndex, token, prob, cut = false) {
  return `<li class="tx-row${cut ? " is-cut" : ""}" data-token="${tokenIndex}"><span class="tx-token">${escapeHtml(token)}</span>` +
    `<svg class="tx-bar" viewBox="0 0 1 1" preserveAspectRatio="none" aria-hidden="true" focusable="false">` +
    `<rect class="tx-track" width="1" height="1"/><rect class="tx-fill" width="${prob}" height="1"/></svg>` +
    `<span class="tx-prob">${cut ? "cut" : fixed(prob, 3)}</span></li>`;
}

// Top-k: off or 1 .. one less than the number of tokens (keeping them all cuts nothing).
function topKOptions(count) {
  return ['<option value="0">off</option>',
    ...Array.from({ length: count - 1 }, (_, i) => `<option>${i + 1}</option>`)].join("");
}

/** The widget's markup for a state; pure, so the builder can run it in Node for the first paint. */
export function render(config, state, key) {
  const id = (part) => `${key}-${part}`;
  const temperature = config.kwargs.temperature;
  const rows = state.order.map((i) => rowHtml(i, config.tokens[i], state.probs[i], state.cut?.[i])).join("");
  const reader = config.reader
    ? `<div class="tx-reader">
    <input type="checkbox" role="switch" id="${id("mine")}" class="tx-mine">
    <label for="${id("mine")}">Use my <code>${escapeHtml(config.reader.fn)}</code>
      (<a href="#cell-${escapeHtml(config.reader.cell)}">the cell that defines it</a>) for the bars</label>
  </div>`
    : "";
  return `<div class="tx" role="group" aria-labelledby="${id("title")}">
  <p class="widget-title" id="${id("title")}">Temperature explorer</p>
  <p class="tx-prompt">Next token after <q>${escapeHtml(config.prompt)}</q></p>
  <div class="tx-slider">
    <label for="${id("t")}">Temperature <output for="${id("t")}" class="tx-t">${fixed(temperature, 2)}</output></label>
    <input type="range" id="${id("t")}" class="tx-input" min="${MIN_T}" max="${MAX_T}" step="${STEP_T}"
      value="${temperature}" aria-describedby="${id("status")}" disabled>
  </div>
  <div class="tx-cuts">
    <div><label for="${id("k")}">Top-k</label>
      <select id="${id("k")}" class="tx-k" disabled>${topKOptions(config.tokens.length)}</select></div>
    <div class="tx-slider"><label for="${id("p")}">Top-p <output for="${id("p")}" class="tx-p-out">off</output></label>
      <input type="range" id="${id("p")}" class="tx-p" min="0.05" max="1" step="0.05" value="1" disabled></div>
  </div>
  <dl class="tx-stats">${statsHtml(config, state)}</dl>
  <ol class="tx-bars" aria-label="Probability of each candidate token, most likely first">${rows}</ol>
  <div class="tx-sampler">
    <button type="button" class="tx-sample" disabled>Sample a token</button>
    <button type="button" class="tx-clear" disabled>Clear draws</button>
    <p class="tx-draws">No draws yet.</p>
  </div>
  ${reader}
  <div class="widget-error" hidden><p class="widget-error-title"></p><pre class="widget-error-text"></pre></div>
  <p class="widget-status" id="${id("status")}" data-state="waking">Python is waking up; until it is ready
    you see the values the book computed when it was built.</p>
  <p class="visually-hidden tx-announce" aria-live="polite"></p>
</div>`;
}

export function mount(element, context) {
  const { config } = context;
  if (!element.querySelector(".tx")) {
    element.innerHTML = render(config, context.state, context.key);
  }
  const $ = (selector) => element.querySelector(selector);
  const slider = $(".tx-input");
  const mine = $(".tx-mine");
  const errorBox = $(".widget-error");
  const status = $(".widget-status");
  const announcer = $(".tx-announce");
  const draws = [];
  let seedsUsed = 0;
  let state = context.state;
  let sampled = null; // index of the token the last draw picked
  let announceTimer = 0;

  const temperature = () => Number(slider.value);
  // The cuts as lmlab's functions take them: null where off (top-p 1 keeps every token).
  const cuts = () => ({ top_k: Number($(".tx-k").value) || null,
    top_p: Number($(".tx-p").value) < 1 ? Number($(".tx-p").value) : null });
  const liveText = `Live: the numbers are computed by ${config.fn} in your browser.`;

  for (const control of element.querySelectorAll(".tx-input, .tx-k, .tx-p, .tx-sample, .tx-clear")) control.disabled = false;

  function announce(text) {
    announcer.textContent = text;
  }

  function showError(title, text) {
    errorBox.hidden = !title;
    $(".widget-error-title").textContent = title || "";
    $(".widget-error-text").textContent = text || "";
  }

  // The reader's function first, when switched on; lmlab's whenever theirs fails.
  // Resolves to [state, a sentence saying who computed it].
  // -> [state, source, the cuts it was computed with]: the controls may have moved on meanwhile,
  // and what the widget says it shows must be what it computed.
  async function compute(t) {
    const used = cuts();
    if (mine?.checked) {
      const name = config.reader.fn;
      const theirs = await context.call(name, [config.kwargs.logits, t]);
      let problem = theirs.ok ? null : theirs.error;
      if (!problem && (!Array.isArray(theirs.value) || theirs.value.length !== config.tokens.length)) {
        problem = `${name}() should return one probability per token (${config.tokens.length} numbers), ` +
          `but it returned ${JSON.stringify(theirs.value).slice(0, 120)}`;
      }
      if (!problem) {
        const described = await context.call("lmlab.sampling.describe_cut", [theirs.value], used);
        if (described.ok) {
          showError(null);
          return [described.value, `Live: the bars come from your ${name}() in your browser.`, used];
        }
        problem = described.error;
      }
      const undefinedYet = problem.includes(`no function named '${name}'`);
      showError(undefinedYet
        ? `Run the cell that defines ${name}() first; until then the bars show lmlab's softmax.`
        : `Your ${name}() did not work, so the bars show lmlab's softmax instead:`, problem);
    }
    const result = await context.call(config.fn, [], { ...config.kwargs, temperature: t, ...used });
    if (!result.ok) throw new Error(result.error);
    if (!mine?.checked) showError(null);
    return [result.value, liveText, used];
  }

  function draw([next, source, used], t) {
    state = next;
    if (status.dataset.state === "live") status.textContent = source;
    const rows = element.querySelectorAll(".tx-row");
    state.order.forEach((tokenIndex, rank) => {
      const row = rows[rank];
      const prob = state.probs[tokenIndex];
      row.dataset.token = tokenIndex;
      row.querySelector(".tx-token").textContent = config.tokens[tokenIndex];
      const cut = Boolean(state.cut?.[tokenIndex]);
      row.classList.toggle("is-cut", cut);
      row.querySelector(".tx-fill").setAttribute("width", prob);
      row.querySelector(".tx-prob").textContent = cut ? "cut" : fixed(prob, 3);
      row.classList.toggle("is-sampled", tokenIndex === sampled);
    });
    $(".tx-stats").innerHTML = statsHtml(config, state);
    element.dataset.drawnTemperature = String(t);
    element.dataset.drawnCuts = JSON.stringify(used);
    element.dispatchEvent(new CustomEvent("widget:drawn", { detail: { temperature: t } }));
    clearTimeout(announceTimer);
    const kept = state.cut ? state.cut.filter((c) => !c).length : config.tokens.length;
    announceTimer = setTimeout(() => announce(
      `Temperature ${fixed(t, 2)}: ${config.tokens[state.order[0]]} is most likely at ` +
      `${fixed(state.top_prob, 3)}; entropy ${fixed(state.entropy, 2)} nats; ` +
      `${fixed(state.effective_tokens, 2)} effective tokens; ${kept} of ${config.tokens.length} tokens can be drawn.`),
    ANNOUNCE_AFTER_MS);
  }

  const drawLatest = latest(async (t) => draw(await compute(t), t),
    (err) => showError("The widget could not compute this:", String(err.message || err)));

  function request(t) {
    $(".tx-t").textContent = fixed(t, 2);
    const { top_k, top_p } = cuts();
    $(".tx-p-out").textContent = top_p === null ? "off" : fixed(top_p, 2);
    writeFragment(context.key, { t: fixed(t, 2), k: top_k, p: top_p });
    drawLatest(t);
  }

  async function sampleOne() {
    const t = temperature();
    const seed = config.seed + seedsUsed++; // counted now, so quick presses never share a seed
    const result = await context.call("lmlab.sampling.sample_token", [config.kwargs.logits, t, seed], cuts());
    if (!result.ok) {
      showError("Sampling failed:", result.error);
      return;
    }
    sampled = result.value;
    const token = config.tokens[sampled];
    draws.push(token);
    $(".tx-draws").textContent = `Draws (lmlab's sampler, seeds from ${config.seed}): ` +
      draws.slice(-MAX_DRAWS_SHOWN).join(" · ");
    for (const row of element.querySelectorAll(".tx-row")) {
      row.classList.toggle("is-sampled", Number(row.dataset.token) === sampled);
    }
    clearTimeout(announceTimer); // the draw is newer news than the settings' summary
    announce(`Draw ${draws.length} at temperature ${fixed(t, 2)}: ${token}`);
  }

  slider.addEventListener("input", () => request(temperature()));
  $(".tx-k").addEventListener("change", () => request(temperature()));
  $(".tx-p").addEventListener("input", () => request(temperature()));
  mine?.addEventListener("change", () => request(temperature()));
  $(".tx-sample").addEventListener("click", sampleOne);
  $(".tx-clear").addEventListener("click", () => {
    draws.length = 0;
    seedsUsed = 0;
    sampled = null;
    $(".tx-draws").textContent = "No draws yet.";
    for (const row of element.querySelectorAll(".tx-row")) row.classList.remove("is-sampled");
    announce("Draws cleared");
  });

  context.ready.then(() => {
    status.dataset.state = "live";
    status.textContent = liveText;
    // A shared link's settings (#w2-t=0.40&w2-k=3&w2-p=0.90), once Python can draw them.
    const shared = readFragment(context.key);
    if (!Object.keys(shared).length) return;
    if (shared.t) slider.value = shared.t;
    if (shared.k) $(".tx-k").value = shared.k;
    if (shared.p) $(".tx-p").value = shared.p;
    request(temperature());
  });
}
