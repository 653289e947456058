// Tokenizer playground: the reader's text under GPT-2's tokenizer, each token beside its id and
// linked to it both ways (hover, or keyboard focus: arrow keys move within a list), whitespace
// made visible; beside it the same text under the book's small BPE. With "Use my encode" the
// reader's own encode (a function defined on the page) encodes the text with GPT-2's merges, and
// every id where it differs from GPT-2's is marked. Python computes; this file only draws.
//
// Config (from the chapter's ::: widget directive):
//   fn       "lmlab.wordbpe.playground", called as fn(text=...)
//   kwargs   {text}
//   reader   {fn, function, cell}: fn(text, the reader's function) -> GPT-2's ids computed with
//            it (the kernel hands over the page's function for {reader: NAME}); cell: its exercise
// Shareable state in the URL fragment: tok-text.
import { visible } from "./bpe-visualizer.js";
import { readFragment, writeFragment } from "./fragment.js";
import { latest } from "./latest.js";
import { escapeHtml, widgetFooter } from "./markup.js";
import { showError, showLive } from "./status.js";

const COLOURS = 5;
const number = (n) => Number(n).toLocaleString("en-US");

function listHtml(kind, side, items, differ = new Set()) {
  return items.map((item, i) =>
    `<li class="tp-item tok-c${i % COLOURS}${differ.has(i) ? " is-different" : ""}" data-index="${i}" ` +
    `tabindex="${i === 0 ? 0 : -1}">${escapeHtml(kind === "tokens" ? visible(item) : String(item))}</li>`).join("");
}

function columnHtml(side, title, about, tokens, ids, differ) {
  return `<section class="tp-col" data-side="${side}" aria-label="${escapeHtml(title)}">
    <p class="tp-col-title">${escapeHtml(title)} <span class="tp-count">${number(tokens.length)} tokens</span></p>
    <p class="tp-about">${about}</p>
    <ol class="tp-list tp-tokens" data-kind="tokens" aria-label="${escapeHtml(title)}: tokens">${listHtml("tokens", side, tokens, differ)}</ol>
    <ol class="tp-list tp-ids" data-kind="ids" aria-label="${escapeHtml(title)}: ids">${listHtml("ids", side, ids, differ)}</ol>
  </section>`;
}

function bodyHtml(state) {
  const book = state.book;
  return `<p class="tp-summary">${number(state.chars)} characters, ${number(state.bytes)} bytes:
    GPT-2 needs <strong>${number(state.gpt2.ids.length)}</strong> tokens, the book's BPE
    <strong>${number(book.ids.length)}</strong>.</p>
  <div class="tp-cols">
    ${columnHtml("gpt2", "GPT-2", "50,000 merges learned on web text", state.gpt2.tokens, state.gpt2.ids)}
    ${columnHtml("book", "The book's BPE", `${number(book.merges)} merges learned here on ${number(book.corpus_chars)} characters of Shakespeare`, book.tokens, book.ids)}
  </div>`;
}

/** The widget's markup for a state; pure, so the builder can run it in Node for the first paint. */
export function render(config, state, key) {
  const id = (part) => `${key}-${part}`;
  const reader = config.reader
    ? `<div class="tp-reader">
    <input type="checkbox" role="switch" id="${id("mine")}" class="tp-mine" disabled>
    <label for="${id("mine")}">Use my <code>${escapeHtml(config.reader.function)}</code> with GPT-2's merges
      (<a href="#cell-${escapeHtml(config.reader.cell)}">the exercise</a>) and compare</label>
    <p class="tp-mine-result" hidden></p>
  </div>`
    : "";
  return `<div class="tp" role="group" aria-labelledby="${id("title")}">
  <p class="widget-title" id="${id("title")}">GPT-2 tokenizer playground</p>
  <div class="tp-input">
    <label for="${id("text")}">Text to tokenize</label>
    <textarea id="${id("text")}" class="tp-text" rows="3" spellcheck="false" disabled>${escapeHtml(config.kwargs.text)}</textarea>
  </div>
  <p class="tp-help">Hover over a token or an id, or tab to a list and move with the arrow keys: the token and its id light up together.</p>
  ${reader}
  <div class="tp-body">${bodyHtml(state)}</div>
  ${widgetFooter("the text the book tokenized when it was built", "tp-announce")}
</div>`;
}

export function mount(element, context) {
  const { config } = context;
  if (!element.querySelector(".tp")) element.innerHTML = render(config, context.state, context.key);
  const $ = (selector) => element.querySelector(selector);
  const body = $(".tp-body");
  const textBox = $(".tp-text");
  const mine = $(".tp-mine");
  const mineResult = $(".tp-mine-result");
  let state = context.state;
  let text = config.kwargs.text;

  const announce = (message) => ($(".tp-announce").textContent = message);

  // Light up item i of one column in both its lists (tokens and ids).
  function link(column, index) {
    for (const lit of element.querySelectorAll(".tp-item.is-linked")) lit.classList.remove("is-linked");
    if (index === null) return;
    for (const item of column.querySelectorAll(`.tp-item[data-index="${index}"]`)) item.classList.add("is-linked");
  }

  function describe(column, index) {
    const side = column.dataset.side === "gpt2" ? state.gpt2 : state.book;
    return `Token ${index + 1} of ${side.ids.length}: ${visible(side.tokens[index])}, id ${side.ids[index]}`;
  }

  body.addEventListener("mouseover", (event) => {
    const item = event.target.closest(".tp-item");
    if (item) link(item.closest(".tp-col"), item.dataset.index);
  });
  body.addEventListener("mouseleave", () => link(null, null));
  body.addEventListener("focusin", (event) => {
    const item = event.target.closest(".tp-item");
    if (!item) return;
    const column = item.closest(".tp-col");
    link(column, item.dataset.index);
    announce(describe(column, Number(item.dataset.index)));
  });
  // One tab stop per list; arrows, Home and End move within it (a roving tabindex).
  body.addEventListener("keydown", (event) => {
    const item = event.target.closest(".tp-item");
    if (!item) return;
    const items = [...item.parentElement.children];
    const at = items.indexOf(item);
    const to = { ArrowRight: at + 1, ArrowDown: at + 1, ArrowLeft: at - 1, ArrowUp: at - 1,
      Home: 0, End: items.length - 1 }[event.key];
    if (to === undefined || to < 0 || to >= items.length) return;
    event.preventDefault();
    item.tabIndex = -1;
    items[to].tabIndex = 0;
    items[to].focus();
  });

  async function compareMine(forText) {
    if (!mine?.checked) {
      mineResult.hidden = true;
      return new Set();
    }
    mineResult.hidden = false;
    const theirs = await context.call(config.reader.fn, [forText, { reader: config.reader.function }]);
    if (!theirs.ok) {
      const missing = theirs.error.includes(`no function named '${config.reader.function}'`);
      mineResult.textContent = missing
        ? `Write ${config.reader.function} in the exercise below and run its cell; until then there is nothing to compare.`
        : `Your encode failed: ${theirs.error.trim().split("\n").at(-1)}`;
      return new Set();
    }
    const ids = theirs.value;
    const expected = state.gpt2.ids;
    const differ = new Set();
    for (let i = 0; i < Math.max(ids.length, expected.length); i++) if (ids[i] !== expected[i]) differ.add(i);
    mineResult.textContent = differ.size === 0
      ? `Your encode gives the same ${number(ids.length)} ids as GPT-2.`
      : `Your encode gives ${number(ids.length)} ids; ${number(differ.size)} positions differ from GPT-2 ` +
        `(the first at token ${Math.min(...differ) + 1}: yours ${ids[Math.min(...differ)] ?? "nothing"}, ` +
        `GPT-2's ${expected[Math.min(...differ)] ?? "nothing"}). They are marked in GPT-2's column.`;
    return differ;
  }

  function draw(differ, shownText) {
    body.innerHTML = bodyHtml(state);
    const column = body.querySelector('.tp-col[data-side="gpt2"]');
    for (const index of differ) {
      for (const item of column.querySelectorAll(`.tp-item[data-index="${index}"]`)) item.classList.add("is-different");
    }
    element.dataset.drawn = JSON.stringify({ text: shownText, mine: Boolean(mine?.checked) });
    element.dispatchEvent(new CustomEvent("widget:drawn", { detail: { text: shownText } }));
  }

  // Typing is faster than Python answers: only the latest text is computed and drawn.
  const request = latest(async (next) => {
    const result = await context.call(config.fn, [], { ...config.kwargs, text: next });
    if (!result.ok) throw new Error(result.error);
    showError(element, null);
    state = result.value;
    draw(await compareMine(next), next);
    writeFragment("tok", { text: next === config.kwargs.text ? null : next });
    announce(`GPT-2: ${state.gpt2.ids.length} tokens. The book's BPE: ${state.book.ids.length} tokens.`);
  }, (err) => showError(element, "The widget could not compute this:", String(err.message || err)));

  textBox.disabled = false;
  if (mine) mine.disabled = false;
  textBox.addEventListener("input", () => {
    text = textBox.value;
    request(text);
  });
  mine?.addEventListener("change", () => request(text));

  const shared = readFragment("tok");
  if (shared.text !== undefined) {
    textBox.value = text = shared.text;
    context.ready.then(() => request(text));
  }
  context.ready.then(() => showLive(element, `Live: the tokens are computed by ${config.fn} in your browser.`));
}
