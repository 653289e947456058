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

export class Cell {
  constructor(element, { page, python, announce, onRunAndNext }) {
    this.element = element;
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
    this.mountEditor(onRunAndNext);
    this.runButton.addEventListener("click", () => (this.busy ? this.python.stop() : this.run()));
    this.resetButton.addEventListener("click", () => this.reset());
  }

  mountEditor(onRunAndNext) {
    const saved = loadEdit(this.page, this.id);
    const code = saved ? saved.code : this.original;
    const source = this.element.querySelector(".cell-source");
    const host = document.createElement("div");
    host.className = "cell-editor";
    source.replaceWith(host);
    this.editor = createEditor(host, {
      code,
      label: `Code cell ${this.number}`,
      readOnly: Boolean(this.options.readonly),
      describedBy: "editor-keys",
      onChange: (text) => this.edited(text),
      onRun: () => this.run(),
      onRunAndNext: () => onRunAndNext(this),
    });
    this.showEdited(Boolean(saved));
    if (saved && saved.base !== this.base) this.showChanged();
  }

  get code() {
    return this.editor.state.doc.toString();
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
