// The messages between the page and the Python worker, in one place. Cells use run; widgets use
// call (a named Python function, JSON-able arguments in, JSON-able value out).

// page -> worker
export const toWorker = {
  // channel: the SharedArrayBuffer of channel.js, where the page is cross-origin isolated
  // warm: modules to import before saying ready
  boot: (indexURL, packages, warm, channel) => ({ type: "boot", indexURL, packages, warm, channel }),
  run: (id, page, cell, code) => ({ type: "run", id, page, cell, code }),
  call: (id, page, fn, args) => ({ type: "call", id, page, fn, args }),
  forget: (page) => ({ type: "forget", page }),
};

// worker -> page
export const fromWorker = {
  progress: (stage, fraction) => ({ type: "progress", stage, fraction }),
  // restored: Python started from the snapshot a previous boot saved; stages: {stage: epoch ms}
  ready: (restored, stages) => ({ type: "ready", restored, stages }),
  // kind: "stream" | "display" | "error"; payload as documented in kernel.py
  output: (id, kind, payload) => ({ type: "output", id, kind, payload }),
  // input() in job id asks the reader; the answer comes back through the channel
  input: (id, prompt) => ({ type: "input", id, prompt }),
  done: (id, ok) => ({ type: "done", id, ok }),
  result: (id, reply) => ({ type: "result", id, reply }),
  fatal: (message) => ({ type: "fatal", message }),
};
