// Python syntax colours, as CSS classes (.py-* in book.css), shared by the cell editor and the
// builder's static code so both look the same. Every colour passes WCAG AA on the cell background.
import { tagHighlighter, tags } from "@lezer/highlight";

export const highlighter = tagHighlighter([
  { tag: tags.keyword, class: "py-keyword" },
  { tag: [tags.string, tags.special(tags.string)], class: "py-string" },
  { tag: tags.comment, class: "py-comment" },
  { tag: [tags.number, tags.bool, tags.null], class: "py-number" },
  { tag: [tags.function(tags.variableName), tags.function(tags.propertyName)], class: "py-function" },
  { tag: [tags.definition(tags.variableName), tags.className], class: "py-definition" },
  { tag: tags.operator, class: "py-operator" },
  { tag: tags.invalid, class: "py-invalid" },
]);
