// Cross-origin isolation lets Stop interrupt Python in place (SharedArrayBuffer). A server that
// sends COOP/COEP headers gives it directly; on hosts that cannot (GitHub Pages) our service
// worker adds the headers, which takes one reload the first time.
const RELOADED = "lmlab:isolation-reload";

// Resolves to false when the page is about to reload under the service worker.
export async function ensureIsolation(siteRoot) {
  if (!("serviceWorker" in navigator) || location.protocol === "file:") return true;
  const registration = navigator.serviceWorker
    .register(new URL("sw.js", siteRoot), { scope: siteRoot.pathname })
    .then(() => true, () => false); // blocked or private mode: Stop falls back to a restart
  if (globalThis.crossOriginIsolated) {
    sessionStorage.removeItem(RELOADED);
    return true; // already isolated by the server's headers: don't wait for the worker
  }
  // Reload once when the worker has just taken over; never loop if isolation still fails.
  if (!(await registration) || sessionStorage.getItem(RELOADED)) return true;
  await navigator.serviceWorker.ready;
  sessionStorage.setItem(RELOADED, "1");
  location.reload();
  return false;
}
