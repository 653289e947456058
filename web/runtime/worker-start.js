// Creates the Python worker and asks it to boot. Used in two places: the start-early script the
// builder inlines into each page's <head>, so the worker starts while the browser is still reading
// the page; and python.js, for every later start (Restart, a Stop that replaces the worker).
import { toWorker } from "./protocol.js";

const PACKAGES = ["numpy", "lmlab"];

// With cross-origin isolation a SharedArrayBuffer lets Stop write SIGINT where Python sees it,
// and Python stops in place.
export const canInterrupt = () => Boolean(globalThis.crossOriginIsolated && globalThis.SharedArrayBuffer);

/** @returns {{worker: Worker, interrupt: Int32Array | null, root: string}} */
export function startWorker(siteRoot) {
  const interrupt = canInterrupt() ? new Int32Array(new SharedArrayBuffer(4)) : null;
  performance.mark("lmlab:worker-created"); // for the boot benchmark
  const worker = new Worker(new URL("assets/worker.js", siteRoot));
  worker.postMessage(toWorker.boot(new URL("pyodide/", siteRoot).href, PACKAGES, interrupt));
  return { worker, interrupt, root: siteRoot.href };
}
