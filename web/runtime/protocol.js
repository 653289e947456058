// The messages between the page and the Python worker, in one place. Cells use run; widgets use
// call (a named Python function, JSON-able arguments in, JSON-able value out).

// page -> worker
export const toWorker = {
  boot: (indexURL, packages, interrupt) => ({ type: "boot", indexURL, packages, interrupt }),
  run: (id, page, cell, code) => ({ type: "run", id, page, cell, code }),
  call: (id, page, fn, args) => ({ type: "call", id, page, fn, args }),
  forget: (page) => ({ type: "forget", page }),
  // files: [{file, url, sha256}] a page needs (data-files.js fetches them at once)
  data: (files) => ({ type: "data", files }),
};

// worker -> page
export const fromWorker = {
  progress: (stage, fraction) => ({ type: "progress", stage, fraction }),
  // restored: Python started from the snapshot a previous boot saved; stages: {stage: epoch ms}
  ready: (restored, stages) => ({ type: "ready", restored, stages }),
  // kind: "stream" | "display" | "error"; payload as documented in kernel.py
  output: (id, kind, payload) => ({ type: "output", id, kind, payload }),
  done: (id, ok) => ({ type: "done", id, ok }),
  result: (id, reply) => ({ type: "result", id, reply }),
  fatal: (message) => ({ type: "fatal", message }),
};
