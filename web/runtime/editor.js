// A CodeMirror 6 editor for one cell: Python highlighting, undo, bracket matching, and the
// notebook keys. Its look (font, gutter, padding) is set in book.css next to the static view it
// replaces, so the two stay the same size. Tab indents; Escape then Tab leaves the editor (CodeMirror's own convention).
import { defaultKeymap, history, historyKeymap, indentWithTab } from "@codemirror/commands";
import { python } from "@codemirror/lang-python";
import { bracketMatching, indentOnInput, syntaxHighlighting } from "@codemirror/language";
import { EditorState, Prec } from "@codemirror/state";
import { drawSelection, EditorView, keymap, lineNumbers } from "@codemirror/view";
import { highlighter } from "./highlight.js";

/**
 * @param {HTMLElement} parent
 * @param {{code: string, label: string, readOnly: boolean, describedBy: string,
 *          onChange: (code: string, lineCount: number) => void, onRun: () => void, onRunAndNext: () => void}} options
 */
export function createEditor(parent, options) {
  const notebookKeys = Prec.highest(
    keymap.of([
      { key: "Shift-Enter", run: () => (options.onRunAndNext(), true) },
      { key: "Mod-Enter", run: () => (options.onRun(), true) },
    ]),
  );
  const state = EditorState.create({
    doc: options.code,
    extensions: [
      notebookKeys,
      lineNumbers(),
      history(),
      drawSelection(),
      indentOnInput(),
      bracketMatching(),
      python(),
      syntaxHighlighting(highlighter),
      keymap.of([...defaultKeymap, ...historyKeymap, indentWithTab]),
      EditorState.readOnly.of(options.readOnly),
      EditorView.lineWrapping, // no sideways scrolling, on a phone or for a screen reader
      EditorView.contentAttributes.of({
        "aria-label": options.label,
        "aria-describedby": options.describedBy,
      }),
      EditorView.updateListener.of((update) => {
        if (update.docChanged) options.onChange(update.state.doc.toString(), update.state.doc.lines);
      }),
    ],
  });
  return new EditorView({ state, parent });
}
