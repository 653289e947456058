// One runnable cell: its editor, its buttons, its state (idle, queued, running, done, error) and
// its saved edits. The built page carries the cell's original code and, where the builder ran
// it, its output; this brings both to life.
import { createEditor, setCode } from "./editor.js";
import { OutputArea } from "./output.js";
import { dropEdit, loadEdit, saveEdit } from "./storage.js";

const STATE_TEXT = {
  idle: "not run",
  prerendered: "output from the book",
  queued: "queued",
  running: "running…",
  done: "done",
  error: "error",
  stopped: "stopped",
};

// A cell's editor is built when the cell comes near the screen, when it is first used, or at the
// latest in an idle moment once Python has started.
const cells = new WeakMap(); // element -> Cell, for the observer below
const nearScreen = new IntersectionObserver(
  (entries) => {
    for (const entry of entries) if (entry.isIntersecting) cells.get(entry.target)?.editor;
  },
  { rootMargin: "100% 0px" },
);

function whenPythonIsReady(python, then) {
  if (python.ready) return then();
  const listen = ({ detail }) => {
    if (detail.state !== "ready") return;
    python.removeEventListener("status", listen);
    then();
  };
  python.addEventListener("status", listen);
}

export class Cell {
  constructor(element, { page, python, announce, onRunAndNext }) {
    this.element = element;
    cells.set(element, this);
    this.page = page;
    this.python = python;
    this.announce = announce;
    this.id = element.dataset.cell;
    this.number = element.dataset.number;
    this.original = element.querySelector(".cell-source").textContent;
    this.base = element.dataset.hash;
    this.options = JSON.parse(element.dataset.options || "{}");
    this.output = new OutputArea(element.querySelector(".cell-output"));
    this.stateLabel = element.querySelector(".cell-state");
    this.runButton = element.querySelector(".cell-run");
    this.resetButton = element.querySelector(".cell-reset");
    this.notice = element.querySelector(".cell-changed");
    this.setState(this.output.element.childElementCount ? "prerendered" : "idle");
    this.onRunAndNext = onRunAndNext;
    this.saved = loadEdit(this.page, this.id);
    if (this.saved) element.querySelector(".cell-source code").textContent = this.saved.code;
    this.showEdited(Boolean(this.saved));
    if (this.saved && this.saved.base !== this.base) this.showChanged();
    nearScreen.observe(element);
    whenPythonIsReady(python, () => requestIdleCallback(() => element.isConnected && this.editor, {
      timeout: 3000,
    }));
    this.runButton.addEventListener("click", () => (this.busy ? this.python.stop() : this.run()));
    this.resetButton.addEventListener("click", () => this.reset());
  }

  // Not all at once while the page starts: each editor costs a layout of the page, and a long
  // chapter's worth blocks the page (and, on a small machine, Python's start) for half a second.
  get editor() {
    if (!this.view) this.view = this.mountEditor();
    return this.view;
  }

  mountEditor() {
    nearScreen.unobserve(this.element);
    const source = this.element.querySelector(".cell-source");
    const host = document.createElement("div");
    host.className = "cell-editor";
    source.replaceWith(host);
    return createEditor(host, {
      code: this.saved ? this.saved.code : this.original,
      label: `Code cell ${this.number}`,
      readOnly: Boolean(this.options.readonly),
      describedBy: "editor-keys",
      onChange: (text) => this.edited(text),
      onRun: () => this.run(),
      onRunAndNext: () => this.onRunAndNext(this),
    });
  }

  get code() {
    if (!this.view) return this.saved ? this.saved.code : this.original;
    return this.view.state.doc.toString();
  }

  edited(text) {
    if (text === this.original) dropEdit(this.page, this.id);
    else saveEdit(this.page, this.id, this.base, text);
    this.showEdited(text !== this.original);
  }

  showEdited(isEdited) {
    this.resetButton.hidden = !isEdited;
    this.element.classList.toggle("is-edited", isEdited);
  }

  // The book changed this cell after the reader edited it: keep their code, say so, and let
  // them look at the new version (Reset) or keep theirs (Dismiss, which adopts the new base).
  showChanged() {
    this.notice.hidden = false;
    this.notice.querySelector(".cell-changed-keep").onclick = () => {
      saveEdit(this.page, this.id, this.base, this.code);
      this.notice.hidden = true;
    };
  }

  reset() {
    dropEdit(this.page, this.id);
    setCode(this.editor, this.original);
    this.notice.hidden = true;
    this.showEdited(false);
  }

  focus() {
    this.editor.focus();
  }

  get busy() {
    return this.state === "queued" || this.state === "running";
  }

  setState(state) {
    this.state = state;
    this.element.dataset.state = state;
    this.stateLabel.textContent = STATE_TEXT[state];
    this.runButton.textContent = this.busy ? "Stop" : "Run";
    this.runButton.setAttribute("aria-label", `${this.busy ? "Stop" : "Run"} cell ${this.number}`);
  }

  run() {
    if (this.busy) return this.pending;
    this.setState("queued");
    let cleared = false;
    const clearOnce = () => {
      if (!cleared) this.output.clear();
      cleared = true;
    };
    this.pending = this.python.run(this.page, this.number, this.code, {
      onStart: () => this.setState("running"),
      onOutput: (kind, payload) => {
        clearOnce();
        this.output.add(kind, payload);
      },
      onDone: (ok) => {
        clearOnce();
        this.setState(ok ? "done" : "error");
        this.announce(`Cell ${this.number} ${ok ? "finished" : "raised an error"}`);
      },
      onCancel: () => this.setState(this.output.element.childElementCount ? "stopped" : "idle"),
    });
    return this.pending;
  }
}
