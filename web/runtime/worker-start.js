// Creates the Python worker and asks it to boot. Used in two places: the start-early script the
// builder inlines into each page's <head>, so the worker starts while the browser is still reading
// the page; and python.js, for every later start (Restart, a Stop that replaces the worker).
import { createChannel } from "./channel.js";
import { toWorker } from "./protocol.js";

const PACKAGES = ["numpy", "lmlab"];
// The modules the book's widgets call (make_site.warm_modules; esbuild writes the list in here).
// The page's own (its <meta name="lmlab-warm">) are imported as soon as Python is ready, after the
// cells run while it started and before anything asked later (python.js's warm job), so a
// widget's first call is as quick as its later ones; the others once Python is idle, for the
// next chapter.
/* global WARM_MODULES */
const BOOK_MODULES = typeof WARM_MODULES === "undefined" ? ["numpy"] : WARM_MODULES;

function warmModules() {
  const listed = document.querySelector('meta[name="lmlab-warm"]')?.content.split(" ") ?? [];
  const now = ["numpy", ...listed.filter((name) => name && name !== "numpy")];
  return { now, later: BOOK_MODULES.filter((name) => !now.includes(name)) };
}

// With cross-origin isolation a SharedArrayBuffer (channel.js) lets Stop write SIGINT where Python
// sees it, and Python stops in place; input() can wait there for the reader's answer.
export const canInterrupt = () => Boolean(globalThis.crossOriginIsolated && globalThis.SharedArrayBuffer);

/** The page's data files ({file, url relative to the site, sha256, bytes}) with absolute urls. */
export function dataEntries(files, siteRoot) {
  return files.map(({ file, url, sha256, bytes }) => ({ file, url: new URL(url, siteRoot).href, sha256, bytes }));
}

/** The data files the page lists in its head (build/make_site.py), absolute: those it loads with
 * the page, or (onRequest) those too big for that, which it loads when the reader asks. */
export function pageDataFiles(siteRoot, { onRequest = false } = {}) {
  const listed = document.getElementById("page-data");
  const files = listed ? JSON.parse(listed.textContent) : [];
  return dataEntries(files.filter((entry) => Boolean(entry.onRequest) === onRequest), siteRoot);
}

/** new Worker(url) that starts on `messages` ([{type, ...}], plain JSON) at once. Messages posted
 * to a new worker reach it through the page's thread, which on a first visit is busy laying out
 * the chapter for 100-200 ms just then; so these travel inside the worker's own code (a Blob that
 * fetches the real worker, then hands them over as if posted). */
export function spawnAtOnce(url, messages) {
  // (When its thread began, for the boot benchmark: the worker reports it with its stages.)
  const code = `self.lmlabThreadStart = performance.timeOrigin + performance.now();
self.lmlabFirstMessages = ${JSON.stringify(messages)};
importScripts(${JSON.stringify(url.href)});`;
  return new Worker(URL.createObjectURL(new Blob([code], { type: "text/javascript" })));
}

/** Starts the worker and asks it to boot and to fetch `dataFiles` ([{file, url, sha256}],
 * absolute) meanwhile. `spawn(url, messages, siteRoot)` makes the Worker and gives it those first
 * messages (python.js passes folder.js's, which also knows how when the book is opened from a
 * folder). @returns {{worker: Worker, channel: SharedArrayBuffer | null, root: string,
 * dataFiles: object[]}} */
export function startWorker(siteRoot, dataFiles = [], spawn = spawnAtOnce) {
  const channel = canInterrupt() ? createChannel() : null;
  performance.mark("lmlab:worker-created"); // for the boot benchmark
  const { now, later } = warmModules();
  const first = [toWorker.boot(new URL("pyodide/", siteRoot).href, PACKAGES, now, later)];
  if (dataFiles.length) first.push(toWorker.data(dataFiles));
  const worker = spawn(new URL("assets/worker.js", siteRoot), first, siteRoot);
  // A SharedArrayBuffer cannot be written into code: it goes as a message, needed only later.
  worker.postMessage(toWorker.channel(channel));
  return { worker, channel, root: siteRoot.href, dataFiles };
}
