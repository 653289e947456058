// A cell's code as static HTML, laid out exactly like the cell's CodeMirror editor: the same
// line-number gutter, padding, line height and wrapping (the .code-view rules in book.css mirror
// CodeMirror's own). The builder puts it in the page, so code shows, highlighted, before any
// script runs; the editor replaces it later without moving anything on the page.

const ESCAPES = { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" };
const escape = (text) => text.replace(/[&<>"]/g, (c) => ESCAPES[c]);

/**
 * @param {string} code
 * @param {Array<[number, number, string]>} spans  sorted, non-overlapping [from, to, classes]
 *   ranges of `code` (the syntax highlighting; the builder passes them, the browser need not)
 * @returns {string} a <pre class="code-view"> element
 */
export function codeViewHTML(code, spans = []) {
  const lines = [];
  let start = 0;
  let first = 0; // the first span that may still touch this line or a later one
  for (const line of code.split("\n")) {
    const end = start + line.length;
    while (first < spans.length && spans[first][1] <= start) first++;
    let html = "";
    let at = start;
    for (let i = first; i < spans.length && spans[i][0] < end; i++) {
      const from = Math.max(spans[i][0], start);
      const to = Math.min(spans[i][1], end);
      html += escape(code.slice(at, from));
      html += `<span class="${spans[i][2]}">${escape(code.slice(from, to))}</span>`;
      at = to;
    }
    html += escape(code.slice(at, end));
    lines.push(`<span class="code-line"><span class="code-text">${html}</span></span>`);
    start = end + 1;
  }
  return `<pre class="code-view" style="--digits: ${gutterDigits(lines.length)}"><code>${lines.join("\n")}</code></pre>`;
}

// The line-number gutter is as wide as this many digits (book.css), in both views.
export const gutterDigits = (lineCount) => String(lineCount).length;
