// BpeVisualizer: byte-pair encoding learned one merge at a time on a background text plus the
// reader's own text, each cut into pieces as GPT-2 cuts them. Python (lmlab.wordbpe.bpe_visualizer)
// computes every step at once; stepping, playing and the step slider only redraw, so they work
// before Python has loaded. Typing or switching characters/bytes asks Python for new steps.
//
// Config (from the chapter's ::: widget directive):
//   fn       "lmlab.wordbpe.bpe_visualizer"
//   kwargs   {text, level: "chars" | "bytes", num_merges, corpus_chars}
//   reader   {functions: ["get_pair_counts", "merge_pair"], cells: [...]}: the reader's own
//            exercise functions (on lists of ids), handed to fn so that training counts and
//            merges with them. Their code counts every changed word again in full, so this is
//            slower than lmlab's own trainer, and the widget says so.
// Shareable state in the URL fragment: bpe-text, bpe-level, bpe-step.
import { readFragment, writeFragment } from "./fragment.js";
import { latest } from "./latest.js";
import { escapeHtml, widgetFooter } from "./markup.js";
import { showError, showLive } from "./status.js";

const PLAY_MS = 450;
const PLAY_REDUCED_MS = 1200; // with reduced motion: no transitions, and a slower pace
const COLOURS = 5;

const percent = (x) => `${Math.round(x * 100)}%`;
const number = (n) => Number(n).toLocaleString("en-US");

/** A token as the reader should see it: spaces, tabs and new lines made visible. */
export function visible(token) {
  return token.replace(/ /g, "·").replace(/\t/g, "→").replace(/\n/g, "↵");
}

const chip = (token) => `<code class="bv-chip">${escapeHtml(visible(token))}</code>`;
const pairHtml = ([a, b]) => `${chip(a)} + ${chip(b)}`;

function tokensHtml(s) {
  const made = new Set(s.merged_at);
  return s.tokens.map((t, i) =>
    `<li class="bv-tok tok-c${i % COLOURS}${made.has(i) ? " is-new" : ""}">${escapeHtml(visible(t))}</li>`).join("");
}

function tableHtml(s, last) {
  if (!s.top.length) return `<p class="bv-none">No pair occurs twice any more: training is over.</p>`;
  const rows = s.top.map(([a, b, count], i) =>
    `<tr${i === 0 ? ' class="is-leader"' : ""}><td>${pairHtml([a, b])}${i === 0 ? ' <span class="bv-next">merged next</span>' : ""}</td>` +
    `<td class="bv-num">${number(count)}</td></tr>`).join("");
  let tie = "";
  if (s.tied && s.tied.length > 1) {
    const others = s.tied.slice(1, 4).map(pairHtml).join(", ") + (s.tied.length > 4 ? ", …" : "");
    tie = `<p class="bv-tie"><strong>Tie:</strong> ${s.tied.length} pairs occur ${number(s.top[0][2])} times
      (also ${others}). ${pairHtml(s.tied[0])} wins because it occurs first in the text.</p>`;
  }
  const caption = last ? "Pair counts after the last step shown" : "Pair counts in the training text now";
  return `<table class="bv-pairs"><caption>${caption}</caption>
    <thead><tr><th scope="col">pair</th><th scope="col">count</th></tr></thead><tbody>${rows}</tbody></table>${tie}`;
}

function statsHtml(state, s) {
  const unit = state.level === "bytes" ? "bytes" : "characters";
  return `<div><dt>Step</dt><dd>${s.step} of ${state.steps.length - 1}</dd></div>
    <div><dt>Vocabulary</dt><dd>${number(s.vocab_size)}</dd></div>
    <div><dt>Your text</dt><dd>${number(s.num_tokens)} tokens <span class="bv-aside">from ${number(state.text_symbols)} ${unit}</span></dd></div>
    <div><dt>Compression</dt><dd>${percent(s.compression)} fewer</dd></div>
    <div><dt>Training text</dt><dd>${number(s.corpus_tokens)} tokens</dd></div>`;
}

function mergeHtml(s) {
  if (!s.pair) return `<p class="bv-merge">Step 0: every token is a single symbol. Press <strong>Step</strong> to merge the most frequent pair.</p>`;
  return `<p class="bv-merge">Step ${s.step} merged ${pairHtml(s.pair)} → ${chip(s.new_token)},
    which occurred ${number(s.count)} times in the training text.</p>`;
}

function bodyHtml(state, step) {
  const s = state.steps[step];
  return `<dl class="bv-stats">${statsHtml(state, s)}</dl>
  ${mergeHtml(s)}
  <ol class="bv-tokens" aria-label="Your text as ${s.num_tokens} tokens">${tokensHtml(s)}</ol>
  ${tableHtml(s, step === state.steps.length - 1 && s.top.length > 0)}`;
}

function finalHtml(state) {
  const n = state.steps.length - 1;
  return `All ${n} merges replayed on your text, earliest first: ${state.final.length} tokens ` +
    state.final.map(chip).join(" ");
}

function readerHtml(config, id) {
  if (!config.reader) return "";
  const links = config.reader.functions.map((name, i) =>
    `<a href="#cell-${escapeHtml(config.reader.cells[i])}"><code>${escapeHtml(name)}</code></a>`).join(" and ");
  return `<div class="bv-reader">
    <input type="checkbox" role="switch" id="${id("mine")}" class="bv-mine" aria-describedby="${id("mine-note")}" disabled>
    <label for="${id("mine")}">Train with my ${links}</label>
  </div>
  <p class="bv-source" id="${id("mine-note")}"><span class="bv-source-text">The merges are lmlab's.</span>
    With yours, every word a merge changes is merged and counted again by your code, so each
    change takes longer.</p>`;
}

/** What the source line says once a state has been computed with the reader's functions. */
function sourceText(config, state) {
  const names = config.reader.functions.map((name) => `${name}()`).join(" and ");
  const shown = state.steps.length - 1;
  const k = state.mine.first_difference;
  return k === null
    ? `Your ${names} learned the same ${shown} merges as lmlab.`
    : `Your ${names} learned different merges from lmlab's, from step ${k} on.`;
}

/** The widget's markup for a state; pure, so the builder can run it in Node for the first paint. */
export function render(config, state, key, step = 0) {
  const id = (part) => `${key}-${part}`;
  const k = config.kwargs;
  const radio = (value, label) => `<label><input type="radio" name="${id("level")}" class="bv-level" value="${value}"
    ${state.level === value ? "checked" : ""} disabled> ${label}</label>`;
  return `<div class="bv" role="group" aria-labelledby="${id("title")}">
  <p class="widget-title" id="${id("title")}">BPE visualizer: merges learned on Shakespeare and your text</p>
  <p class="bv-about">Training text: the first ${number(state.corpus.chars)} characters of tiny-shakespeare
    (${number(state.corpus.pieces)} pieces, ${number(state.corpus.distinct)} different) plus your text.</p>
  <div class="bv-input">
    <label for="${id("text")}">Your text</label>
    <textarea id="${id("text")}" class="bv-text" rows="2" spellcheck="false" disabled>${escapeHtml(k.text)}</textarea>
  </div>
  <fieldset class="bv-levels"><legend>Start from</legend>${radio("chars", "Characters")}${radio("bytes", "Bytes")}</fieldset>
  ${readerHtml(config, id)}
  <div class="bv-buttons">
    <button type="button" class="bv-back" disabled>Back</button>
    <button type="button" class="bv-step" disabled>Step</button>
    <button type="button" class="bv-play" aria-pressed="false" disabled>Play</button>
    <button type="button" class="bv-reset" disabled>Start over</button>
    <label class="bv-slider" for="${id("step")}">Step <input type="range" id="${id("step")}" class="bv-step-input"
      min="0" max="${state.steps.length - 1}" value="${step}" disabled></label>
  </div>
  <div class="bv-body" data-step="${step}">${bodyHtml(state, step)}</div>
  <p class="bv-final">${finalHtml(state)}</p>
  ${widgetFooter("the merges the book computed when it was built (Step already works on them)", "bv-announce")}
</div>`;
}

export function mount(element, context) {
  const { config } = context;
  if (!element.querySelector(".bv")) element.innerHTML = render(config, context.state, context.key);
  const $ = (selector) => element.querySelector(selector);
  const body = $(".bv-body");
  const slider = $(".bv-step-input");
  const textBox = $(".bv-text");
  const playButton = $(".bv-play");
  const mine = $(".bv-mine");
  const reduced = window.matchMedia("(prefers-reduced-motion: reduce)");
  let state = context.state;
  let settings = { ...config.kwargs };
  let step = 0;
  let timer = 0;

  for (const control of element.querySelectorAll("textarea, input, button")) control.disabled = control === mine;
  const announce = (text) => ($(".bv-announce").textContent = text);

  function draw() {
    body.innerHTML = bodyHtml(state, step);
    body.dataset.step = String(step);
    slider.max = String(state.steps.length - 1);
    slider.value = String(step);
    $(".bv-final").innerHTML = finalHtml(state);
    element.dataset.drawn = JSON.stringify({ text: settings.text, level: state.level, step });
    element.dispatchEvent(new CustomEvent("widget:drawn", { detail: { step } }));
  }

  function describe() {
    const s = state.steps[step];
    const merged = s.pair ? `merged ${visible(s.pair[0])} and ${visible(s.pair[1])} into ${visible(s.new_token)}, ` +
      `${s.count} times. ` : "no merges yet. ";
    return `Step ${step}: ${merged}Your text is ${s.num_tokens} tokens, vocabulary ${s.vocab_size}.`;
  }

  // Only what differs from the chapter's settings goes into the link.
  function remember() {
    writeFragment("bpe", { text: settings.text === config.kwargs.text ? null : settings.text,
      level: settings.level === config.kwargs.level ? null : settings.level, step: step || null });
  }

  function go(to, { say = true, keep = true } = {}) {
    step = Math.max(0, Math.min(to, state.steps.length - 1));
    draw();
    if (say) announce(describe());
    if (keep) remember();
  }

  function stop() {
    clearInterval(timer);
    timer = 0;
    playButton.setAttribute("aria-pressed", "false");
    playButton.textContent = "Play";
  }

  function play() {
    if (timer) {
      stop();
      announce(describe());
      return;
    }
    if (step === state.steps.length - 1) go(0, { say: false });
    playButton.setAttribute("aria-pressed", "true");
    playButton.textContent = "Pause";
    announce("Playing.");
    timer = setInterval(() => {
      go(step + 1, { say: false, keep: false });
      if (step === state.steps.length - 1) {
        stop();
        remember();
        announce(`Finished. ${describe()}`);
      }
    }, reduced.matches ? PLAY_REDUCED_MS : PLAY_MS);
  }

  // The reader's functions when switched on; lmlab's whenever theirs are missing or fail.
  async function train() {
    if (mine?.checked) {
      const theirs = Object.fromEntries(config.reader.functions.map((name) => [name, { reader: name }]));
      const result = await context.call(config.fn, [], { ...settings, ...theirs });
      if (result.ok) {
        showError(element, null);
        $(".bv-source-text").textContent = sourceText(config, result.value);
        return result.value;
      }
      $(".bv-source-text").textContent = "The merges are lmlab's.";
      const missing = config.reader.functions.find((name) => result.error.includes(`no function named '${name}'`));
      showError(element, missing
        ? `Run the cell that defines ${missing}() first; until then the merges are lmlab's.`
        : "Your functions did not work, so the merges are lmlab's:", result.error);
    }
    const result = await context.call(config.fn, [], settings);
    if (!result.ok) throw new Error(result.error);
    if (!mine?.checked) showError(element, null);
    if (mine) $(".bv-source-text").textContent = "The merges are lmlab's.";
    return result.value;
  }

  // Text and level change faster than Python answers: only the latest is computed and drawn.
  const compute = latest(async ({ changes, keepStep }) => {
    settings = { ...settings, ...changes };
    state = await train();
    go(keepStep ? step : 0, { say: false });
    const source = mine?.checked ? `${$(".bv-source-text").textContent} ` : "";
    announce(`${source}Learned ${state.steps.length - 1} merges. ${describe()} All merges give ${state.final.length} tokens.`);
  }, (err) => showError(element, "The widget could not compute this:", String(err.message || err)));
  const request = (changes, keepStep = false) => compute({ changes, keepStep });

  $(".bv-step").addEventListener("click", () => {
    stop();
    if (step === state.steps.length - 1) return announce("That was the last step. Start over, or go back.");
    go(step + 1);
  });
  $(".bv-back").addEventListener("click", () => {
    stop();
    if (step === 0) return announce("Already at step 0.");
    go(step - 1);
  });
  $(".bv-reset").addEventListener("click", () => {
    stop();
    go(0);
  });
  playButton.addEventListener("click", play);
  slider.addEventListener("input", () => {
    stop();
    go(Number(slider.value));
  });
  textBox.addEventListener("input", () => {
    stop();
    request({ text: textBox.value });
  });
  for (const radio of element.querySelectorAll(".bv-level")) {
    radio.addEventListener("change", () => {
      stop();
      request({ level: radio.value });
    });
  }
  mine?.addEventListener("change", () => {
    stop();
    request({}, true);
  });

  // A shared link: its text and level need Python; its step is shown as soon as it exists.
  const shared = readFragment("bpe");
  const wantedStep = Number(shared.step) || 0;
  if (shared.text !== undefined || shared.level) {
    if (shared.text !== undefined) textBox.value = shared.text;
    if (shared.level) for (const radio of element.querySelectorAll(".bv-level")) radio.checked = radio.value === shared.level;
    step = wantedStep;
    context.ready.then(() => request({ text: textBox.value, level: shared.level || settings.level }, true));
  } else if (wantedStep) {
    go(wantedStep, { say: false, keep: false });
  }

  context.ready.then(() => {
    if (mine) mine.disabled = false;
    showLive(element, `Live: the merges are learned by ${config.fn} in your browser.`);
    // Python trains the background text once, now, rather than on the reader's first keystroke.
    const { level, num_merges, corpus_chars } = config.kwargs;
    context.call("lmlab.wordbpe.prepare_visualizer", [], { level, num_merges, corpus_chars });
  });
}
