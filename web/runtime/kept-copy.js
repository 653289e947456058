// The service worker (web/sw.js) leaves Pyodide's wasm to the browser while the network answers:
// the HTTP cache keeps V8's compiled code beside it, which a copy served by the service worker
// would lose (measured: numpy then loads 2-3 s slower on the next visit). With no network, that
// fetch fails; the Python worker then asks the service worker for its kept copy by name.
export const ASK_KEPT = "lmlab-kept";

/** Makes the worker's fetch of a .wasm file fall back to the service worker's kept copy. */
export function fallBackToKeptCopies(scope) {
  const network = scope.fetch.bind(scope);
  scope.fetch = (resource, init) =>
    network(resource, init).catch((err) => {
      const url = new URL(resource instanceof Request ? resource.url : String(resource), scope.location.href);
      if (!url.pathname.endsWith(".wasm") || url.searchParams.has(ASK_KEPT)) throw err;
      url.searchParams.set(ASK_KEPT, "");
      return network(url, init);
    });
}
