// Cross-origin isolation lets Stop interrupt Python in place (SharedArrayBuffer). A server that
// sends COOP/COEP headers gives it directly; on hosts that cannot (GitHub Pages) our service
// worker adds the headers, which takes one reload the first time.
import { inFolder } from "./folder.js";

const RELOADED = "lmlab:isolation-reload";
// A registration that neither succeeds nor fails (some browsers, some policies) must not keep
// Python from starting: after this long, go on without isolation.
const PATIENCE_MS = 3000;

const within = (promise, ms) =>
  Promise.race([promise, new Promise((resolve) => setTimeout(() => resolve(false), ms))]);

// Resolves to false when the page is about to reload under the service worker.
export async function ensureIsolation(siteRoot) {
  if (globalThis.crossOriginIsolated) {
    // The server's own headers did it: no service worker needed, and none in the way of loading.
    sessionStorage.removeItem(RELOADED);
    return true;
  }
  if (!("serviceWorker" in navigator) || inFolder) return true;
  // Reload once when the worker has just taken over; never loop if isolation still fails.
  if (sessionStorage.getItem(RELOADED) || navigator.serviceWorker.controller) return true;
  const registration = navigator.serviceWorker
    .register(new URL("sw.js", siteRoot), { scope: siteRoot.pathname })
    .then(() => true, () => false); // blocked or private mode: Stop falls back to a restart
  if (!(await within(registration, PATIENCE_MS))) return true;
  if (!(await within(navigator.serviceWorker.ready.then(() => true), PATIENCE_MS))) return true;
  sessionStorage.setItem(RELOADED, "1");
  location.reload();
  return false;
}
