// A CodeMirror 6 editor for one cell: Python highlighting, undo, bracket matching, and the
// notebook keys. Tab indents; Escape then Tab leaves the editor (CodeMirror's own convention).
import { defaultKeymap, history, historyKeymap, indentWithTab } from "@codemirror/commands";
import { python } from "@codemirror/lang-python";
import { bracketMatching, HighlightStyle, indentOnInput, syntaxHighlighting } from "@codemirror/language";
import { EditorState, Prec } from "@codemirror/state";
import { drawSelection, EditorView, keymap, lineNumbers } from "@codemirror/view";
import { tags } from "@lezer/highlight";

// Every colour passes WCAG AA (4.5:1) on the cell background (#f6f7f9).
const highlight = HighlightStyle.define([
  { tag: tags.keyword, color: "#7a1f9c" },
  { tag: [tags.string, tags.special(tags.string)], color: "#a0321b" },
  { tag: tags.comment, color: "#5c6370", fontStyle: "italic" },
  { tag: [tags.number, tags.bool, tags.null], color: "#0b6b3a" },
  { tag: [tags.function(tags.variableName), tags.function(tags.propertyName)], color: "#1d4fa8" },
  { tag: [tags.definition(tags.variableName), tags.className], color: "#1d4fa8", fontWeight: "600" },
  { tag: tags.operator, color: "#5a3e00" },
  { tag: tags.invalid, color: "#b00020" },
]);

/**
 * @param {HTMLElement} parent
 * @param {{code: string, label: string, readOnly: boolean, describedBy: string,
 *          onChange: (code: string) => void, onRun: () => void, onRunAndNext: () => void}} options
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
      syntaxHighlighting(highlight),
      keymap.of([...defaultKeymap, ...historyKeymap, indentWithTab]),
      EditorState.readOnly.of(options.readOnly),
      EditorView.lineWrapping, // no sideways scrolling, on a phone or for a screen reader
      EditorView.contentAttributes.of({
        "aria-label": options.label,
        "aria-describedby": options.describedBy,
      }),
      EditorView.updateListener.of((update) => {
        if (update.docChanged) options.onChange(update.state.doc.toString());
      }),
    ],
  });
  return new EditorView({ state, parent });
}

export function setCode(view, code) {
  view.dispatch({ changes: { from: 0, to: view.state.doc.length, insert: code } });
}
