// Small helpers shared by the widgets' render() functions, which run in Node at build time as well
// as in the browser, so they build HTML as strings.
const ENTITIES = { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" };

export function escapeHtml(text) {
  return String(text).replace(/[&<>"']/g, (c) => ENTITIES[c]);
}

/** The end of every chapter-2-and-later widget: an error box (hidden), the status line that says
 * what is shown until Python is ready, and a polite live region with the given class. */
export function widgetFooter(shownUntilReady, announceClass) {
  return `<div class="widget-error" hidden><p class="widget-error-title"></p><pre class="widget-error-text"></pre></div>
  <p class="widget-status" data-state="waking">Python is waking up; until it is ready you see
    ${shownUntilReady}.</p>
  <p class="visually-hidden ${announceClass}" aria-live="polite"></p>`;
}
