// Cross-origin isolation lets Stop interrupt Python in place (SharedArrayBuffer) and input() wait
// for the reader. A server that sends COOP/COEP headers gives it directly; on hosts that cannot
// (GitHub Pages) our service worker (web/sw.js) adds the headers to every page loaded once it
// runs. The first visit does not reload to get there: Python starts at once without isolation
// (Stop then replaces the worker and replays the cells that had run), the service worker is
// registered once Python is ready (offline.js, which also has it keep the book), and every later
// page load is isolated. Measured with build/bench/boot.py: the reload made the first visit on a
// header-less host 1.13-1.30x the bare Pyodide page, against 1.02x without it.

import { inFolder } from "./folder.js";

/** Registers the book's service worker; resolves to its registration, or null where there is
 * none to have (file://, no support, blocked, private mode). */
export function registerServiceWorker(siteRoot) {
  if (!("serviceWorker" in navigator) || inFolder) return Promise.resolve(null);
  return navigator.serviceWorker
    .register(new URL("sw.js", siteRoot), { scope: siteRoot.pathname })
    .catch(() => null);
}
