// The messages between the page and the Python worker, in one place. Cells use run; widgets use
// call (a named Python function, JSON-able arguments in, JSON-able value out).
//
// A widget call's arguments and value cross as JSON text inside the worker (kernel.py's call), and
// the builder embeds each widget's first state in its page as JSON. JSON has no infinities or NaN
// (top-k filtering gives -inf, 0/0 gives NaN), so a non-finite number is written as
// {"$float": "Infinity" | "-Infinity" | "NaN"} by kernel.py's to_json and by jsonReplacer below,
// and read back into a real number by kernel.py's from_json_object and by jsonReviver. Between
// worker and page (postMessage) numbers are JS numbers again, -Infinity and NaN included.
export const jsonReplacer = (key, value) =>
  typeof value === "number" && !Number.isFinite(value) ? { $float: String(value) } : value;

export const jsonReviver = (key, value) =>
  value !== null && typeof value === "object" && typeof value.$float === "string" && Object.keys(value).length === 1
    ? Number(value.$float)
    : value;

// page -> worker
export const toWorker = {
  // warm: the modules the page's widgets call, imported by the warm job; warmLater: the book's
  // other pages' modules, once Python is idle
  boot: (indexURL, packages, warm, warmLater) => ({ type: "boot", indexURL, packages, warm, warmLater }),
  // the SharedArrayBuffer of channel.js where the page is cross-origin isolated, else null
  channel: (channel) => ({ type: "channel", channel }),
  run: (id, page, cell, code) => ({ type: "run", id, page, cell, code }),
  call: (id, page, fn, args) => ({ type: "call", id, page, fn, args }),
  forget: (page) => ({ type: "forget", page }),
  // import the page's widget modules (boot's warm); answered with a result of null
  warm: (id) => ({ type: "warm", id }),
  // files: [{file, url, sha256}] a page needs (data-files.js fetches them at once)
  data: (files) => ({ type: "data", files }),
  // The book opened from a folder (folder.js): fetch() nothing under root, ask the page
  fetchViaPage: (root) => ({ type: "fetch-via-page", root }),
  // the page's answer to a fetch: the file's bytes, or why it has none
  fetched: (id, bytes, error) => ({ type: "fetched", id, bytes, error }),
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
  // a data file on its way (bytes received of total), for a page that shows the download
  dataProgress: (file, received, total) => ({ type: "data-progress", file, received, total }),
  fatal: (message) => ({ type: "fatal", message }),
  // from a folder: the worker asks the page for a file of the book (see toWorker.fetchViaPage)
  fetch: (id, url) => ({ type: "fetch", id, url }),
};
