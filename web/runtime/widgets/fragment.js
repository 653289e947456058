// A widget's shareable state in the page's URL fragment, as key-prefixed parameters:
// #w2-row=a&w2-seed=3 (w2 is the widget's key on its page). Anchors (#cell-x) are left alone
// until a widget writes; other widgets' parameters are kept.
function params() {
  const hash = location.hash.slice(1);
  return new URLSearchParams(hash.includes("=") ? hash : "");
}

/** The widget's parameters from the fragment: {name: string}. */
export function readFragment(key) {
  const found = {};
  for (const [name, value] of params()) {
    if (name.startsWith(`${key}-`)) found[name.slice(key.length + 1)] = value;
  }
  return found;
}

/** Replaces the widget's parameters in the fragment, without a new history entry. */
export function writeFragment(key, values) {
  const all = params();
  for (const name of [...all.keys()]) if (name.startsWith(`${key}-`)) all.delete(name);
  for (const [name, value] of Object.entries(values)) {
    if (value !== null && value !== undefined) all.set(`${key}-${name}`, String(value));
  }
  history.replaceState(history.state, "", `#${all.toString()}`);
}

/** The matrix cell a shared link points at, [row, column] from its q and k parameters (0 where
 * missing or unreadable; the widget clamps them to its size). */
export function sharedCell(shared) {
  const at = (v) => Math.max(0, Number.parseInt(v, 10) || 0);
  return [at(shared.q), at(shared.k)];
}
