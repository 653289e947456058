// One runnable cell: its code, its buttons, its state (idle, queued, running, done, error) and
// its saved edits. The built page carries the cell's code as a static view laid out exactly like
// the editor (code-view.js) and, where the builder ran it, its output. The CodeMirror editor is
// built only while the cell is on screen (page.js) or when the reader reaches for the code, so a
// chapter with many cells comes to life at once; until then the cell runs the code it shows.
import { codeViewHTML, gutterDigits } from "./code-view.js";
import { OutputArea } from "./output.js";
import { dropEdit, loadEdit, saveEdit } from "./storage.js";

// The cell code the reader reached for last (a click on it, or the focus moving into it), until
// they reach for anything else. When an editor is built, it takes the focus only if its cell is
// still the one: the focus itself cannot tell, as building the editor moves it to the page.
let reachedFor = null;
const noteReach = ({ target }) => (reachedFor = target.closest?.(".cell-source") ?? null);
document.addEventListener("pointerdown", noteReach, true);
document.addEventListener("focusin", noteReach, true);

const STATE_TEXT = {
  idle: "not run",
  prerendered: "output from the book",
  queued: "queued",
  running: "running…",
  stopping: "stopping…",
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
    this.output = new OutputArea(element.querySelector(".cell-output"), `Output of cell ${this.number}`);
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
    // The click takes the focus from wherever it was at once, so that keys pressed while the
    // editor is being built can reach no other control (a Run button of another cell, say).
    this.source.addEventListener("mousedown", (event) => {
      if (this.editor || event.button !== 0) return;
      event.preventDefault(); // no caret in the static text, which is about to go
      document.activeElement?.blur();
      this.reached = { x: event.clientX, y: event.clientY };
      this.startEditing();
    });
    this.source.addEventListener("focusin", () => this.editor || this.startEditing());
    this.runButton.addEventListener("click", () => this.pressRun());
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

  // Once the editor exists, it takes the focus if the static view still has it (the reader has
  // not moved on), with the caret where they clicked, if they did: the static view has the
  // editor's geometry, so that is the very character they clicked.
  async startEditing() {
    const editor = await this.mountEditor();
    const pointer = this.reached;
    this.reached = null;
    if (reachedFor !== this.source) return;
    if (editor.hasFocus) return; // CodeMirror took it already (a click that landed on the editor)
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
    return this.state === "queued" || this.state === "running" || this.state === "stopping";
  }

  // The Run button says what it will do: Run; Leave queue (only this cell, the others keep their
  // places); Stop (the running cell).
  pressRun() {
    if (this.state === "queued") this.python.withdraw(this.handlers);
    else if (this.busy) this.python.stop();
    else this.run();
  }

  setState(state) {
    this.state = state;
    this.element.dataset.state = state;
    this.stateLabel.textContent = STATE_TEXT[state];
    const [text, label] = {
      queued: ["Leave queue", `Take cell ${this.number} out of the queue`],
      running: ["Stop", `Stop cell ${this.number}`],
      stopping: ["Stopping…", `Stopping cell ${this.number}`],
    }[state] ?? ["Run", `Run cell ${this.number}`];
    this.runButton.textContent = text;
    this.runButton.setAttribute("aria-label", label);
  }

  run() {
    if (this.busy) return this.pending;
    const before = this.state;
    this.setState("queued");
    let cleared = false;
    const clearOnce = () => {
      if (!cleared) this.output.clear();
      cleared = true;
    };
    this.handlers = {
      onStart: () => this.setState("running"),
      onOutput: (kind, payload) => {
        clearOnce();
        this.output.add(kind, payload);
      },
      onInput: (prompt) => {
        clearOnce();
        this.output.ask(prompt, (text) => this.python.answer(text));
      },
      onStopping: () => this.setState("stopping"),
      onDone: (ok, { stopPressed }) => {
        clearOnce();
        this.output.endQuestion();
        // Stop is never silently dropped: the reader hears what became of it.
        if (ok && stopPressed) this.output.notice("The cell finished before Stop took effect.");
        this.setState(ok ? "done" : "error");
        this.announce(`Cell ${this.number} ${ok ? "finished" : stopPressed ? "stopped" : "raised an error"}`);
      },
      // Left the queue on the reader's word: as it was. Dropped with the queue (Stop, an error in
      // Run all): stopped, if its output is from an earlier run.
      onCancel: (withdrawn) => {
        if (withdrawn) this.setState(before);
        else this.setState(this.output.element.childElementCount ? "stopped" : "idle");
      },
    };
    this.pending = this.python.run(this.page, this.number, this.code, this.handlers);
    return this.pending;
  }
}
