// A widget's shareable state in the page's URL fragment, e.g. #bpe.text=low%20lower&bpe.step=3.
// Each widget owns the keys under its own prefix and leaves the others alone; the fragment is
// replaced in place (no history entry, no scrolling). A fragment that is not ours (#cell-softmax)
// reads as empty and is replaced on the first write.

function params() {
  const hash = location.hash.slice(1);
  return new URLSearchParams(hash.includes("=") ? hash : "");
}

/** {name: value} of the keys under `prefix`, as strings. */
export function readState(prefix) {
  const found = {};
  for (const [key, value] of params()) {
    if (key.startsWith(`${prefix}.`)) found[key.slice(prefix.length + 1)] = value;
  }
  return found;
}

/** Sets the keys under `prefix` to `values` (a value of null removes its key). */
export function writeState(prefix, values) {
  const all = params();
  for (const [name, value] of Object.entries(values)) {
    if (value === null || value === undefined) all.delete(`${prefix}.${name}`);
    else all.set(`${prefix}.${name}`, String(value));
  }
  const hash = all.toString();
  history.replaceState(history.state, "", `${location.pathname}${location.search}${hash ? `#${hash}` : ""}`);
}
