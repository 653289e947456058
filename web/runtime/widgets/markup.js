// Small helpers shared by the widgets' render() functions, which run in Node at build time as well
// as in the browser, so they build HTML as strings.
const ENTITIES = { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" };

export function escapeHtml(text) {
  return String(text).replace(/[&<>"']/g, (c) => ENTITIES[c]);
}
