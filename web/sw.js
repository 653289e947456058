// LM Lab's service worker. It serves every same-origin response with the two headers that make
// the page cross-origin isolated (so Stop can interrupt Python without losing variables) on
// static hosts that cannot set headers themselves. It is also where offline caching will live.
self.addEventListener("install", () => self.skipWaiting());
self.addEventListener("activate", (event) => event.waitUntil(self.clients.claim()));

self.addEventListener("fetch", (event) => {
  const request = event.request;
  if (new URL(request.url).origin !== self.location.origin) return;
  // Only pages and worker scripts need the headers. Everything else (Pyodide's wasm, the wheels)
  // is left to the browser: copying a response here would defeat the HTTP cache's compiled-code
  // cache and cost about 1.5 s on every warm start.
  if (request.mode !== "navigate" && request.destination !== "worker") return;
  if (request.cache === "only-if-cached" && request.mode !== "same-origin") return;
  event.respondWith(
    fetch(request).then((response) => {
      if (response.status === 0) return response;
      const headers = new Headers(response.headers);
      headers.set("Cross-Origin-Embedder-Policy", "require-corp");
      headers.set("Cross-Origin-Opener-Policy", "same-origin");
      headers.set("Cross-Origin-Resource-Policy", "same-origin");
      return new Response(response.body, { status: response.status, statusText: response.statusText, headers });
    }),
  );
});
