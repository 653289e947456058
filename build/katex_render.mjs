// Renders TeX to HTML with KaTeX at build time, so pages show math without running KaTeX in the
// browser. stdin: JSON [{tex, display}], stdout: JSON [html]. A TeX error fails the build.
import katex from "katex";

let input = "";
for await (const chunk of process.stdin) input += chunk;
const items = JSON.parse(input);
const html = items.map(({ tex, display }) =>
  katex.renderToString(tex, { displayMode: display, throwOnError: true, output: "htmlAndMathml" }),
);
process.stdout.write(JSON.stringify(html));
