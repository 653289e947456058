// Renders cells' code as static, syntax-highlighted HTML at build time, with the same highlighter
// and layout the browser's editor uses. stdin: JSON [code], stdout: JSON [html].
import { pythonLanguage } from "@codemirror/lang-python";
import { highlightTree } from "@lezer/highlight";
import { codeViewHTML } from "../web/runtime/code-view.js";
import { highlighter } from "../web/runtime/highlight.js";

let input = "";
for await (const chunk of process.stdin) input += chunk;
const html = JSON.parse(input).map((code) => {
  const spans = [];
  highlightTree(pythonLanguage.parser.parse(code), highlighter, (from, to, classes) => {
    spans.push([from, to, classes]);
  });
  return codeViewHTML(code, spans);
});
process.stdout.write(JSON.stringify(html));
