// Creates the Python worker and asks it to boot. Used in two places: the start-early script the
// builder inlines into each page's <head>, so the worker starts while the browser is still reading
// the page; and python.js, for every later start (Restart, a Stop that replaces the worker).
import { toWorker } from "./protocol.js";

const PACKAGES = ["numpy", "lmlab"];

/** @returns {{worker: Worker, interrupt: Int32Array | null, root: string}} */
export function startWorker(siteRoot, isolated) {
  // With cross-origin isolation, Stop writes SIGINT here and Python stops in place.
  const interrupt = isolated ? new Int32Array(new SharedArrayBuffer(4)) : null;
  performance.mark("lmlab:worker-created"); // for the boot benchmark
  const worker = new Worker(new URL("assets/worker.js", siteRoot));
  worker.postMessage(toWorker.boot(new URL("pyodide/", siteRoot).href, PACKAGES, interrupt));
  return { worker, interrupt, root: siteRoot.href };
}
