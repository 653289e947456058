// Draws what a cell sends back. Text is always text (textContent, never parsed as HTML); only a
// display() of an object that offers HTML or SVG becomes markup, and that is sanitized first.
// A stream keeps only its last lines on the page, so a flood of output cannot freeze it; every
// block that scrolls can be reached and scrolled from the keyboard.
import { sanitize } from "./sanitize.js";
import { markWhenLaidOut } from "./scrollable.js";

// Per stream block: laying out 200,000 lines takes the main thread seconds; this many, a few ms.
export const MAX_LINES = 1000;
const MAX_CHARS = 100_000;

export class OutputArea {
  /** @param {HTMLElement} element  @param {string} label  what a screen reader calls it */
  constructor(element, label) {
    this.element = element;
    this.label = label;
    this.lastStream = null;
    this.question = null;
    this.markScrollable();
  }

  clear() {
    this.element.replaceChildren();
    this.lastStream = null;
    this.question = null;
  }

  add(kind, payload) {
    if (kind === "stream") this.stream(payload.name, payload.text);
    else if (kind === "display") this.display(payload.mime, payload.data);
    else if (kind === "error") this.error(payload);
    this.markScrollable();
  }

  stream(name, text) {
    // Consecutive writes to the same stream grow one <pre>, so a printing loop stays cheap.
    if (this.lastStream?.name !== name) {
      const pre = this.block("pre", `output-${name}`);
      pre.dataset.stream = name;
      const node = document.createTextNode("");
      pre.append(node);
      this.lastStream = { name, pre, node, lines: 0, hidden: 0, notice: null };
    }
    const stream = this.lastStream;
    stream.node.appendData(text);
    stream.lines += count(text, "\n");
    if (stream.lines > MAX_LINES || stream.node.length > MAX_CHARS) this.trim(stream);
  }

  // Drops the oldest lines of a stream block and says how many are hidden.
  trim(stream) {
    const data = stream.node.data;
    let cut = data.length;
    for (let kept = 0; kept < MAX_LINES && cut > 0; kept++) cut = data.lastIndexOf("\n", cut - 2) + 1;
    if (data.length - cut > MAX_CHARS) {
      cut = data.length - MAX_CHARS;
      const lineStart = data.indexOf("\n", cut);
      if (lineStart >= 0 && lineStart < data.length - 1) cut = lineStart + 1;
    }
    const removed = count(data.slice(0, cut), "\n");
    stream.node.data = data.slice(cut);
    stream.lines -= removed;
    stream.hidden += removed;
    if (!stream.notice) {
      stream.notice = document.createElement("p");
      stream.notice.className = "output-notice output-hidden-lines";
      stream.pre.before(stream.notice);
    }
    stream.notice.textContent = stream.hidden
      ? `${stream.hidden.toLocaleString("en")} earlier lines hidden: the page keeps the last ${MAX_LINES.toLocaleString("en")} lines.`
      : "Earlier output hidden: the page keeps the last 100,000 characters.";
  }

  display(mime, data) {
    this.lastStream = null;
    if (mime === "text/html" || mime === "image/svg+xml") {
      this.block("div", "output-rich").append(sanitize(data));
    } else if (mime === "image/png") {
      const img = this.block("img", "output-image");
      img.src = `data:image/png;base64,${data}`;
      img.alt = "image output";
    } else {
      this.block("pre", "output-value").textContent = data;
    }
  }

  error({ traceback }) {
    this.lastStream = null;
    const pre = this.block("pre", "output-error");
    pre.textContent = traceback;
  }

  notice(text) {
    this.lastStream = null;
    this.block("p", "output-notice").textContent = text;
  }

  // input(): a labelled text field below what the cell printed; Enter sends the answer (the
  // kernel then prints the question and the answer, as a terminal shows them).
  ask(prompt, answer) {
    const form = this.block("div", "output-question");
    const label = document.createElement("label");
    const input = document.createElement("input");
    input.type = "text";
    input.className = "output-answer";
    input.autocomplete = "off";
    input.spellcheck = false;
    label.append(prompt || "Your answer", input);
    const hint = document.createElement("span");
    hint.className = "output-question-hint";
    hint.textContent = "Enter answers; Stop cancels.";
    form.append(label, hint);
    input.addEventListener("keydown", (event) => {
      if (event.key !== "Enter" || event.isComposing) return;
      event.preventDefault();
      this.endQuestion();
      answer(input.value);
    });
    this.question = form;
    // The field takes the focus only from this cell (its Run button) or from nowhere: keys
    // typed into another cell must stay there.
    const focused = document.activeElement;
    if (!focused || focused === document.body || this.element.closest(".cell")?.contains(focused)) {
      input.focus({ preventScroll: true });
    }
  }

  endQuestion() {
    this.question?.remove();
    this.question = null;
  }

  block(tag, className) {
    const node = document.createElement(tag);
    node.className = className;
    this.element.append(node);
    return node;
  }

  // Once the new output is laid out: a block that scrolls joins the tab order (scrollable.js).
  markScrollable() {
    if (this.marking) return;
    this.marking = true;
    markWhenLaidOut(() => {
      this.marking = false;
      return [...this.element.children].map((block) => [block, this.label]);
    });
  }
}

function count(text, char) {
  let n = 0;
  for (let i = text.indexOf(char); i >= 0; i = text.indexOf(char, i + 1)) n++;
  return n;
}
