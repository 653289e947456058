// In the worker, for the book opened from a folder (folder.js): fetch() of a file:// URL is
// forbidden there, so every fetch under the site's root (Pyodide's wasm, standard library, lock
// file and wheels; a chapter's data files) is asked of the page, which has the file's bytes.
// Everything that fetches (Pyodide, data-files.js) or keeps files in Cache Storage (the start-up
// snapshot in worker.js, data-files.js) stays as it is.
import { fromWorker } from "./protocol.js";

const waiting = new Map(); // id -> {resolve, reject, url}
let nextId = 1;

// Pyodide compiles its wasm with WebAssembly.instantiateStreaming, which wants this type.
const TYPES = { wasm: "application/wasm", json: "application/json", zip: "application/zip" };

export function fetchViaPage(root) {
  keepFileURLsInCache(root);
  const fetchOwn = self.fetch.bind(self);
  self.fetch = (resource, options) => {
    const url = new URL(resource instanceof Request ? resource.url : resource, root).href;
    if (!url.startsWith(root)) return fetchOwn(resource, options);
    return new Promise((resolve, reject) => {
      const id = nextId++;
      waiting.set(id, { resolve, reject, url });
      self.postMessage(fromWorker.fetch(id, url));
    });
  };
}

/** The page's answer to one fetch: {id, bytes} or {id, error}. */
export function settleFetch({ id, bytes, error }) {
  const request = waiting.get(id);
  waiting.delete(id);
  if (!request) return;
  // As fetch() fails: a TypeError, whose message says what was missing.
  if (error) return request.reject(new TypeError(error));
  const type = TYPES[request.url.split(".").pop()] ?? "application/octet-stream";
  request.resolve(new Response(bytes, { headers: { "Content-Type": type } }));
}

// Cache Storage keeps only http(s) requests, so the folder's files are kept under a stand-in
// address that can never be fetched (.invalid), one per folder: a later visit to the same folder
// restores Python's start-up snapshot and finds its data files, as on the served site.
function keepFileURLsInCache(root) {
  const storage = globalThis.caches;
  if (!storage) return;
  const standIn = `https://lmlab-folder.invalid${new URL(root).pathname}`;
  const toKey = (request) => {
    const url = typeof request === "string" ? request : request.url;
    return url.startsWith(root) ? standIn + url.slice(root.length) : request;
  };
  const fromKey = (request) =>
    request.url.startsWith(standIn) ? new Request(root + request.url.slice(standIn.length)) : request;
  const wrap = (cache) => ({
    match: (request, options) => cache.match(toKey(request), options),
    put: (request, response) => cache.put(toKey(request), response),
    delete: (request, options) => cache.delete(toKey(request), options),
    keys: async () => (await cache.keys()).map(fromKey),
  });
  Object.defineProperty(self, "caches", {
    configurable: true,
    value: { open: async (name) => wrap(await storage.open(name)) },
  });
}
