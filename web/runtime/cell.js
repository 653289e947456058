// One runnable cell: its code, its buttons, its state (idle, queued, running, done, error) and
// its saved edits. The built page carries the cell's code as a static view laid out exactly like
// the editor (code-view.js) and, where the builder ran it, its output. The CodeMirror editor is
// built only while the cell is on screen (page.js) or when the reader reaches for the code, so a
// chapter with many cells comes to life at once; until then the cell runs the code it shows.
import { codeViewHTML, gutterDigits } from "./code-view.js";
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
    this.onRunAndNext = onRunAndNext;
    this.id = element.dataset.cell;
    this.number = element.dataset.number;
    this.source = element.querySelector(".cell-source");
    this.bookView = this.source.querySelector(".code-view");
    this.original = this.bookView.textContent;
    this.base = element.dataset.hash;
    this.options = JSON.parse(element.dataset.options || "{}");
    this.output = new OutputArea(element.querySelector(".cell-output"));
    this.stateLabel = element.querySelector(".cell-state");
    this.runButton = element.querySelector(".cell-run");
    this.resetButton = element.querySelector(".cell-reset");
    this.notice = element.querySelector(".cell-changed");
    this.editor = null;
    this.setState(this.output.element.childElementCount ? "prerendered" : "idle");
    const saved = loadEdit(this.page, this.id);
    this.current = saved ? saved.code : this.original;
    if (saved) this.showCode(saved.code);
    this.showEdited(Boolean(saved));
    if (saved && saved.base !== this.base) this.showChanged();
    // Reaching for the code (a click, or Tab onto it) builds the editor and puts the caret there.
    this.source.addEventListener("mousedown", (event) => {
      if (this.editor || event.button !== 0) return;
      event.preventDefault(); // no caret in the static text, which is about to go
      this.startEditing({ x: event.clientX, y: event.clientY });
    });
    this.source.addEventListener("focusin", () => this.editor || this.startEditing());
    this.runButton.addEventListener("click", () => (this.busy ? this.python.stop() : this.run()));
    this.resetButton.addEventListener("click", () => this.reset());
  }

  // The static view of `code`: the book's own (highlighted at build time) or the reader's.
  showCode(code) {
    if (code === this.original) this.source.replaceChildren(this.bookView);
    else this.source.innerHTML = codeViewHTML(code);
  }

  /** Builds the editor in place of the static view (once); resolves to the EditorView. */
  mountEditor() {
    this.editorPromise ??= import("./editor.js").then(({ createEditor }) => {
      this.source.replaceChildren();
      this.source.removeAttribute("tabindex");
      this.source.style.setProperty("--digits", gutterDigits(this.current.split("\n").length));
      this.editor = createEditor(this.source, {
        code: this.current,
        label: `Code cell ${this.number}`,
        readOnly: Boolean(this.options.readonly),
        describedBy: "editor-keys",
        onChange: (text, lineCount) => {
          this.source.style.setProperty("--digits", gutterDigits(lineCount));
          this.edited(text);
        },
        onRun: () => this.run(),
        onRunAndNext: () => this.onRunAndNext(this),
      });
      return this.editor;
    });
    return this.editorPromise;
  }

  // pointer: where the reader clicked, if they did. The static view has the editor's geometry,
  // so the caret goes to the very character they clicked.
  async startEditing(pointer = null) {
    const editor = await this.mountEditor();
    // Unless the reader has moved on meanwhile, the editor gets the focus the static view had
    // (building the editor took it) or the click meant to give it.
    if (!this.source.contains(document.activeElement) && document.activeElement !== document.body) return;
    const at = pointer && editor.posAtCoords(pointer);
    editor.contentDOM.focus({ preventScroll: true });
    if (at != null) editor.dispatch({ selection: { anchor: at } });
  }

  get code() {
    return this.current;
  }

  edited(text) {
    this.current = text;
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
    this.current = this.original;
    if (this.editor) {
      this.editor.dispatch({ changes: { from: 0, to: this.editor.state.doc.length, insert: this.original } });
    } else this.showCode(this.original);
    this.notice.hidden = true;
    this.showEdited(false);
  }

  async focus() {
    (await this.mountEditor()).focus();
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
