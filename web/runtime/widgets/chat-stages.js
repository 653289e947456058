// Chat stages (chapter 9): one line the reader types, answered side by side by the book's GPT as
// pretrained (it can only continue the text), after instruction tuning (it reads the chat template
// and stops with <|end|>), and after DPO, with the same temperature and seed. For the two chat
// models, each reply's log-probability under both, and any word said three times in a row (what
// the preference data taught the aligned model to avoid) marked. Every word and number comes from
// lmlab.chat_stages; this file only draws. The replies are written as they are generated, as a chat
// page streams its reply: each call of config.stream adds a token to each reply (each model
// starting a call after the one before it) and the columns are redrawn, until all three are
// done; a newer request ends the older one's loop. A new line is asked for with Enter or the
// button, not on every key.
//
// Config: fn ("lmlab.chat_stages.stages_view": the build's first paint), stream
// ("lmlab.chat_stages.stages_stream"), kwargs ({line, temperature, seed}).
// Fragment: #KEY-line=Whose+tongue%3F&KEY-t=0.8&KEY-seed=3&KEY-tokens=1
import { escapeHtml, widgetFooter } from "./markup.js";
import { showError, showLive } from "./status.js";
import { readFragment, writeFragment } from "./fragment.js";
import { latest } from "./latest.js";

const fixed = (x, digits) => Number(x).toFixed(digits);
const TITLES = {
  pretrained: "Pretrained GPT",
  "fine-tuned": "Fine-tuned (instruction tuning)",
  aligned: "Aligned (DPO)",
};
const READS = {
  pretrained: "It reads the plain line:",
  "fine-tuned": "It reads the chat template:",
  aligned: "It reads the same template:",
};

/** "line|temperature|seed" of a view: what is drawn, for the tests and the benchmark to wait on. */
export const shown = (view) => `${view.line}|${fixed(view.temperature, 1)}|${view.seed}`;

function chip([text, special]) {
  return `<span class="cs-chip${special ? " is-special" : ""}">${escapeHtml(text)}</span>`;
}

/** What a model reads: as token chips, or as the line with the template's tokens as chips. */
function promptHtml(col, view, asTokens) {
  if (asTokens) return col.prompt_tokens.map(chip).join("");
  const [user, assistant] = col.prompt_tokens.filter(([, special]) => special);
  const text = escapeHtml(view.line);
  return user ? `${chip(user)}${text}${chip(assistant)}` : text;
}

/** What a model wrote: as token chips (its <|end|> included), or as text with repeats marked;
 * a caret while it writes. */
function replyHtml(col, asTokens) {
  const caret = col.done ? "" : '<span class="cs-caret" aria-hidden="true"></span>';
  if (asTokens) return col.reply_tokens.map(chip).join("") + caret;
  return col.parts.map(([text, repeats]) => (repeats
    ? `<mark class="cs-repeat">${escapeHtml(text)}</mark>` : escapeHtml(text))).join("") + caret;
}

/** How the reply ended, in words (or that it is being written). */
export function endText(col, view) {
  const n = col.new_tokens;
  if (!col.done) return `Writing… ${n} token${n === 1 ? "" : "s"} so far.`;
  if (col.ended === null) {
    return `No turns, no end token: it continues the text until the widget stops it at ${n} tokens.`;
  }
  if (col.ended) return `Stopped: wrote <|end|> after ${n - 1} token${n === 2 ? "" : "s"}.`;
  return `Ran out of room: ${n} tokens and no <|end|> (the model reads ${view.block_size} tokens in all).`;
}

function flagText(col, asTokens) {
  if (!col.done) return "";
  if (!col.repeats) return "No word three times in a row.";
  return `Says one word three times in a row${asTokens ? "" : " (marked)"}.`;
}

function logpHtml(col) {
  if (!col.logprob) return "";
  return `<p class="cs-logp">log p of this reply: under the fine-tuned model <strong>${fixed(col.logprob["fine-tuned"], 2)}</strong>, ` +
    `under the aligned <strong>${fixed(col.logprob.aligned, 2)}</strong></p>`;
}

function columnHtml(col, view, asTokens, id, i) {
  return `<section class="cs-col${col.done ? "" : " is-writing"}" aria-labelledby="${id(`col${i}`)}">
    <p class="cs-col-title" id="${id(`col${i}`)}">${i + 1}. ${TITLES[col.stage]}</p>
    <p class="cs-reads-label">${READS[col.stage]}</p>
    <p class="cs-text cs-prompt${asTokens ? " as-tokens" : ""}">${promptHtml(col, view, asTokens)}</p>
    <p class="cs-reads-label">It writes:</p>
    <p class="cs-text cs-reply${asTokens ? " as-tokens" : ""}">${replyHtml(col, asTokens)}</p>
    <p class="cs-end">${escapeHtml(endText(col, view))}</p>
    <p class="cs-flag${col.repeats ? " is-repeating" : ""}">${flagText(col, asTokens)}</p>
    ${logpHtml(col)}
  </section>`;
}

function columnsHtml(view, asTokens, id) {
  return view.columns.map((col, i) => columnHtml(col, view, asTokens, id, i)).join("");
}

function playHtml(view) {
  return view.play_reply === null ? ""
    : `In the play, the reply to this line is: “${escapeHtml(view.play_reply)}”`;
}

/** The summary a screen reader hears once new replies are drawn. */
export function summaryText(view) {
  const [, tuned, aligned] = view.columns;
  const said = (col) => `${col.reply || "(nothing)"}${col.repeats ? " (repeats a word)" : ""}`;
  return `Fine-tuned: ${said(tuned)} Aligned: ${said(aligned)}`;
}

function presetOptions(view) {
  return `<option value="">Choose a line…</option>` + view.presets.map((line) =>
    `<option${line === view.line ? " selected" : ""}>${escapeHtml(line)}</option>`).join("");
}

export function render(config, state, key) {
  const id = (part) => `${key}-${part}`;
  return `<div class="cs" role="group" aria-labelledby="${id("title")}" data-shown="${escapeHtml(shown(state))}" data-done="${state.done}">
  <p class="widget-title" id="${id("title")}">One line, three models: pretrained, fine-tuned, aligned</p>
  <div class="cs-controls">
    <label class="cs-label" for="${id("line")}">Your line (Enter answers it)</label>
    <div class="cs-line-row">
      <input type="text" class="cs-line" id="${id("line")}" maxlength="300" spellcheck="false" autocomplete="off" value="${escapeHtml(state.line)}" disabled>
      <button type="button" class="cs-ask" disabled>Answer</button>
    </div>
    <label class="cs-label" for="${id("preset")}">Or a line from the held-out part of the play</label>
    <select class="cs-preset" id="${id("preset")}" disabled>${presetOptions(state)}</select>
    <div class="cs-row">
      <label class="cs-temp-label" for="${id("temp")}">Temperature <output class="cs-temp-out" for="${id("temp")}">${fixed(state.temperature, 1)}</output>
        <span class="cs-temp-note">(0: greedy, the same replies for every seed)</span></label>
      <input type="range" class="cs-temp" id="${id("temp")}" min="0" max="1.5" step="0.1" value="${fixed(state.temperature, 1)}" disabled>
    </div>
    <div class="cs-row">
      <span class="cs-seed">Seed <output class="cs-seed-out">${state.seed}</output></span>
      <button type="button" class="cs-again" disabled>Sample again</button>
      <span class="cs-switch"><input type="checkbox" class="cs-show-tokens" id="${id("tokens")}" disabled>
        <label for="${id("tokens")}">Show tokens</label></span>
    </div>
  </div>
  <div class="cs-columns">${columnsHtml(state, false, id)}</div>
  <p class="cs-play">${playHtml(state)}</p>
  ${widgetFooter("the three models' replies as the build wrote them", "cs-announce")}
</div>`;
}

export function mount(element, context) {
  const { config, key } = context;
  if (!element.querySelector(".cs")) element.innerHTML = render(config, context.state, key);
  const id = (part) => `${key}-${part}`;
  const $ = (selector) => element.querySelector(selector);
  const root = $(".cs");
  const line = $(".cs-line");
  const preset = $(".cs-preset");
  const temp = $(".cs-temp");
  const showTokens = $(".cs-show-tokens");
  const status = $(".widget-status");
  let view = context.state;
  let seed = view.seed;
  let asked = 0; // requests so far: a request's loop goes on only while it is the newest
  let shared = ""; // what the URL fragment says, written again only when that changes

  /** detail.call: ms of the Python call whose answer this is (none: a redraw from what is held). */
  function draw(call = null) {
    const started = performance.now();
    $(".cs-columns").innerHTML = columnsHtml(view, showTokens.checked, id);
    $(".cs-play").innerHTML = playHtml(view);
    $(".cs-seed-out").textContent = String(view.seed);
    preset.value = view.presets.includes(view.line) ? view.line : "";
    root.dataset.shown = shown(view);
    root.dataset.done = String(view.done);
    const fragment = { line: view.line, t: fixed(view.temperature, 1), seed: view.seed, tokens: showTokens.checked ? 1 : null };
    if (JSON.stringify(fragment) !== shared) writeFragment(key, fragment);
    shared = JSON.stringify(fragment);
    const tokens = view.columns.reduce((sum, col) => sum + col.new_tokens, 0);
    element.dispatchEvent(new CustomEvent("widget:drawn", {
      detail: { ms: performance.now() - started, call, tokens, done: view.done },
    }));
  }

  const live = () => showLive(element, `Live: every reply comes from ${config.stream} in your browser, a few tokens at a time.`);
  const settle = () => { root.removeAttribute("aria-busy"); live(); };
  const writing = () => {
    root.setAttribute("aria-busy", "true");
    status.dataset.state = "busy";
    status.textContent = "The three models are writing...";
  };
  const fail = (text) => { settle(); showError(element, "The models could not answer:", text); };
  const recompute = latest(async ({ n, ...wanted }) => {
    for (let calls = 0; ; calls += 1) {
      const started = performance.now();
      const result = await context.call(config.stream, [], { ...wanted, calls });
      if (n !== asked) return; // a newer request waits: it starts now
      if (!result.ok) {
        fail(result.error);
        // A request refused (a line too long) leaves the replies shown before it; if those were
        // still being written, they are finished.
        if (!view.done && shown(view) !== shown(wanted)) {
          request({ line: view.line, temperature: view.temperature, seed: view.seed });
        }
        return;
      }
      view = result.value;
      seed = view.seed;
      draw(performance.now() - started);
      if (view.done) break;
    }
    settle();
    $(".cs-announce").textContent = summaryText(view);
  }, (err) => fail(String(err)));

  function request(wanted) {
    asked += 1;
    writing();
    recompute({ ...wanted, n: asked });
  }
  // The reader's request; an error shown for the one before goes.
  const ask = (changes = {}) => {
    showError(element, null);
    request({ line: line.value.trim() ? line.value : view.line, temperature: Number(temp.value), seed, ...changes });
  };
  line.addEventListener("keydown", (event) => {
    if (event.key !== "Enter") return;
    event.preventDefault();
    ask();
  });
  $(".cs-ask").addEventListener("click", () => ask());
  preset.addEventListener("change", () => {
    if (!preset.value) return;
    line.value = preset.value;
    ask();
  });
  temp.addEventListener("input", () => {
    $(".cs-temp-out").textContent = fixed(temp.value, 1);
    ask();
  });
  $(".cs-again").addEventListener("click", () => {
    seed += 1;
    $(".cs-seed-out").textContent = String(seed);
    ask({ seed });
  });
  showTokens.addEventListener("change", () => draw());

  context.ready.then(() => {
    for (const control of element.querySelectorAll("input, select, button")) control.disabled = false;
    live();
    const fromUrl = readFragment(key);
    if (fromUrl.tokens === "1") { showTokens.checked = true; draw(); }
    const wanted = {
      line: fromUrl.line || view.line,
      temperature: Math.min(1.5, Math.max(0, Number.parseFloat(fromUrl.t) || 0)),
      seed: Math.max(0, Number.parseInt(fromUrl.seed, 10) || 0),
    };
    if (fromUrl.t === undefined) wanted.temperature = view.temperature;
    if (fromUrl.seed === undefined) wanted.seed = view.seed;
    if (wanted.line === view.line && wanted.temperature === view.temperature && wanted.seed === view.seed) return;
    line.value = wanted.line;
    temp.value = String(wanted.temperature);
    $(".cs-temp-out").textContent = fixed(wanted.temperature, 1);
    seed = wanted.seed;
    request(wanted);
  });
  return { draw };
}
