// Reader edits, saved per cell in localStorage. Each entry remembers the hash of the cell's
// original code, so when the book ships a changed cell the reader is told instead of silently
// getting a stale copy.
const PREFIX = "lmlab:edit:";

const keyOf = (page, cell) => `${PREFIX}${page}:${cell}`;

export function loadEdit(page, cell) {
  try {
    return JSON.parse(localStorage.getItem(keyOf(page, cell)));
  } catch {
    return null;
  }
}

export function saveEdit(page, cell, base, code) {
  try {
    localStorage.setItem(keyOf(page, cell), JSON.stringify({ base, code, saved: Date.now() }));
    return true;
  } catch {
    return false; // storage full or disabled: the edit lives on in the editor
  }
}

export function dropEdit(page, cell) {
  localStorage.removeItem(keyOf(page, cell));
}

// Every saved edit of every page, for "download my work".
export function allEdits() {
  const edits = {};
  for (let i = 0; i < localStorage.length; i++) {
    const key = localStorage.key(i);
    if (key.startsWith(PREFIX)) edits[key.slice(PREFIX.length)] = JSON.parse(localStorage.getItem(key));
  }
  return edits;
}

export function restoreEdits(edits) {
  for (const [key, value] of Object.entries(edits)) {
    if (value && typeof value.code === "string") localStorage.setItem(PREFIX + key, JSON.stringify(value));
  }
}

// Exercises passed, per page: part of the reader's work (reset with it, downloaded with it).
const PASSED = "lmlab:exercise-passed:";

export function hasPassed(page, name) {
  try {
    return localStorage.getItem(`${PASSED}${page}:${name}`) === "yes";
  } catch {
    return false;
  }
}

export function rememberPass(page, name) {
  try {
    localStorage.setItem(`${PASSED}${page}:${name}`, "yes");
  } catch {
    // storage refused: the pass is shown, only not remembered
  }
}

/** {page: [exercise names passed]} for every page. */
export function allPasses() {
  const passes = {};
  for (let i = 0; i < localStorage.length; i++) {
    const key = localStorage.key(i);
    if (!key.startsWith(PASSED) || localStorage.getItem(key) !== "yes") continue;
    const [page, name] = key.slice(PASSED.length).split(":");
    (passes[page] ??= []).push(name);
  }
  return passes;
}

export function forgetPasses(page) {
  for (const name of allPasses()[page] ?? []) localStorage.removeItem(`${PASSED}${page}:${name}`);
}

export function restorePasses(passes) {
  for (const [page, names] of Object.entries(passes)) {
    if (Array.isArray(names)) for (const name of names) if (typeof name === "string") rememberPass(page, name);
  }
}
