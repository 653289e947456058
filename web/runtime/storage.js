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
