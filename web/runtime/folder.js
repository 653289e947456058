// The book opened from a folder on disk (file://, no server): the one place the runtime asks
// which protocol it runs under, and what it does differently there.
//
// file:// forbids fetch() of file:// URLs, module scripts and new Worker(file URL); it allows
// classic <script src> and Workers made from Blob URLs (../shared/notes/file-protocol.md has what
// was measured). So build/archive.py ships every file the runtime would fetch as a classic
// script, FILE.js, that hands its bytes (base64; gzipped where that helps) to lmlabFolder.put().
// Here the page loads those scripts, starts the Python worker from a Blob, and answers the
// worker's fetches with their bytes (fetch-via-page.js, in the worker). Everything else — the
// worker, Python, the cells, the widgets — is the served book's own code.
import { toWorker } from "./protocol.js";
import { spawnAtOnce } from "./worker-start.js";

export const inFolder = location.protocol === "file:";

// What runs in the worker before our worker's code: Pyodide's module factory (so that Pyodide
// never import()s it), then Pyodide's loader (so that the worker need not importScripts it).
const PYODIDE_CODE = ["pyodide/pyodide.asm.js", "pyodide/pyodide.js"];
// The other files every start needs (Pyodide's wasm, its standard library, the lock file, the
// wheels); build/archive.py lists them here, so they are read while the worker's code starts.
/* global FOLDER_PRELOAD */
const PRELOAD = typeof FOLDER_PRELOAD === "undefined" ? [] : FOLDER_PRELOAD;
// Files the folder leaves out (data a page loads only when asked, too big to carry: SmolLM2).
/* global FOLDER_LEFT_OUT */
const LEFT_OUT = typeof FOLDER_LEFT_OUT === "undefined" ? [] : FOLDER_LEFT_OUT;

// path (relative to the site root) -> Promise of its bytes; kept for the page's lifetime, so a
// replaced worker (Stop, Restart) starts without reading the scripts again.
const files = new Map();
const arriving = new Map(); // path -> the resolve of its script's promise

if (inFolder) {
  globalThis.lmlabFolder = {
    // Called by each FILE.js as it runs: put("data/x.txt", "gzip" | "", "<base64>").
    put(path, encoding, base64) {
      arriving.get(path)?.({ encoding, base64 });
      arriving.delete(path);
    },
  };
}

async function decode({ encoding, base64 }) {
  const bytes = Uint8Array.fromBase64
    ? Uint8Array.fromBase64(base64)
    : new Uint8Array(await (await fetch(`data:application/octet-stream;base64,${base64}`)).arrayBuffer());
  if (!encoding) return bytes;
  const unpacked = new Blob([bytes]).stream().pipeThrough(new DecompressionStream(encoding));
  return new Uint8Array(await new Response(unpacked).arrayBuffer());
}

/** The bytes of a file of the book (a path relative to the site root), from its FILE.js. */
export function folderFile(path, siteRoot) {
  if (LEFT_OUT.includes(path)) {
    return Promise.reject(new Error(`${path} is not in the downloaded folder, which leaves out what is too big to carry; the book's website has it`));
  }
  if (!files.has(path)) {
    const carried = new Promise((resolve, reject) => {
      arriving.set(path, resolve);
      const script = document.createElement("script");
      script.src = new URL(`${path}.js`, siteRoot).href;
      script.onload = () => {
        // It has run: if it called put(), the promise is settled already and this does nothing.
        script.remove();
        arriving.delete(path);
        reject(new Error(`${path}.js in the book's folder does not carry ${path}`));
      };
      script.onerror = () => {
        script.remove();
        arriving.delete(path);
        reject(new Error(`${path} is missing from the book's folder`));
      };
      document.head.append(script);
    });
    const bytes = carried.then(async (carried) => {
      performance.mark(`lmlab:folder-read:${path}`); // for the boot benchmark, as each stage
      const decoded = await decode(carried);
      performance.mark(`lmlab:folder-decoded:${path}`);
      return decoded;
    });
    bytes.catch(() => files.delete(path)); // a later start may try again
    files.set(path, bytes);
  }
  return files.get(path);
}

// The folder's worker starts as this function alone: a Worker needs its code at once, and the
// page has it only when the scripts carrying it have been read. It holds the page's messages
// until the code arrives, runs the code from a Blob URL of its own making (a worker may import
// those, not the page's), then hands it the messages it held, in order.
function holdUntilCode() {
  const held = [];
  self.onmessage = ({ data }) => {
    if (data.type !== "code") {
      held.push(data);
      return;
    }
    self.onmessage = null;
    self.importScripts(URL.createObjectURL(new Blob(data.parts, { type: "text/javascript" })));
    for (const message of held) self.onmessage({ data: message });
  };
}

/** The worker of the book served (worker-start.js); from the folder, the same worker, made as
 * above, whose fetches under the site root the page answers. Either starts on `messages`. */
export function spawnWorker(url, messages, siteRoot) {
  if (!inFolder) return spawnAtOnce(url, messages);
  const path = (href) => href.slice(siteRoot.href.length);
  const worker = new Worker(URL.createObjectURL(new Blob([`(${holdUntilCode})()`], { type: "text/javascript" })));
  worker.postMessage(toWorker.fetchViaPage(siteRoot.href));
  for (const message of messages) worker.postMessage(message);
  const code = [...PYODIDE_CODE, path(url.href)];
  for (const file of PRELOAD) folderFile(file, siteRoot).catch(() => {}); // reported when asked for
  Promise.all(code.map((file) => folderFile(file, siteRoot))).then(
    (parts) => worker.postMessage({ type: "code", parts: parts.flatMap((part) => [part, "\n;\n"]) }),
    (err) => worker.dispatchEvent(new ErrorEvent("error", { message: err.message })),
  );
  worker.addEventListener("message", ({ data }) => {
    if (data.type !== "fetch") return;
    folderFile(path(data.url), siteRoot).then(
      (bytes) => worker.postMessage(toWorker.fetched(data.id, bytes, null)),
      (err) => worker.postMessage(toWorker.fetched(data.id, null, err.message)),
    );
  });
  return worker;
}

/** fetch() of a file of the book, from wherever the book is (a path relative to the site root). */
export async function fetchFromSite(path, siteRoot) {
  if (!inFolder) return fetch(new URL(path, siteRoot));
  try {
    return new Response(await folderFile(path, siteRoot));
  } catch (err) {
    return new Response(err.message, { status: 404, statusText: "Not in the folder" });
  }
}

/** What the reader should know about edits in a folder, or null: a browser that keeps no
 * localStorage for file:// pages loses every edit at the next reload. */
export function folderStorageWarning() {
  if (!inFolder) return null;
  try {
    const probe = "lmlab:probe";
    localStorage.setItem(probe, "1");
    localStorage.removeItem(probe);
    return null;
  } catch {
    return "This browser keeps nothing for pages opened from a folder: your edits last only until you leave or reload the page. Use Download my work to keep them.";
  }
}
