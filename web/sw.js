// LM Lab's service worker. Two jobs:
// 1. Keep the book for reading offline: every file of one build (pages, runtime, Pyodide, the
//    wheels; the builder lists them below with their sha256) in a cache named by that build.
//    What is kept is served from there, so a page and its runtime always come from the same
//    build, with or without a network. The data sets of the chapters read are kept by the Python
//    worker itself (web/runtime/data-files.js), the memory snapshot too.
// 2. Serve pages and worker scripts with the headers that make them cross-origin isolated (so
//    Stop can interrupt Python without losing variables) on hosts that cannot send them.
//
// A new deploy is a new sw.js (the builder writes the build id in), so the browser installs it as
// a new version. On a first visit there is nothing to be consistent with: it takes over at once
// and the page asks it to fill its cache once Python is ready (so the copy never competes with
// Python's own downloads; it mostly revalidates what the page has just fetched). On an update it
// fills the new build's cache completely (reusing unchanged files from the old one) and then waits
// until the reader reloads (the page offers to) or closes the book; on taking over it drops the
// old build's cache.
const BUILD = "BUILD_ID";
const FILES = { /* OFFLINE_FILES */ };

const ROOT = new URL("./", self.location.href); // sw.js sits at the site's root
// Other sites of the same origin (GitHub Pages: every project site of a user) keep their caches.
const PREFIX = `lmlab-book:${ROOT.pathname}:`;
const CACHE = PREFIX + BUILD;
const LIST_KEY = new URL("lmlab-offline/files", ROOT).href; // this build's FILES, for the next
const COMPLETE_KEY = new URL("lmlab-offline/complete", ROOT).href;
const KEPT = new Map(Object.entries(FILES).map(([path, sha256]) => [new URL(path, ROOT).href, sha256]));

async function sha256Hex(bytes) {
  const digest = await crypto.subtle.digest("SHA-256", bytes);
  return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, "0")).join("");
}

const olderCaches = async () => (await caches.keys()).filter((name) => name.startsWith(PREFIX) && name !== CACHE);

// url -> a kept response of an older build whose file has the same sha256 as this build's.
async function reusable() {
  const found = new Map();
  for (const name of await olderCaches()) {
    const cache = await caches.open(name);
    const listed = await cache.match(LIST_KEY);
    if (!listed) continue;
    const files = await listed.json();
    for (const [path, sha256] of Object.entries(files)) {
      const url = new URL(path, ROOT).href;
      if (KEPT.get(url) !== sha256 || found.has(url)) continue;
      const response = await cache.match(url);
      if (response) found.set(url, response);
    }
  }
  return found;
}

// Puts every file of this build in its cache; rejects if one cannot be had or is not this
// build's (the site was deployed again meanwhile: the next sw.js will do it).
async function fill() {
  const cache = await caches.open(CACHE);
  if (await cache.match(COMPLETE_KEY)) return;
  await cache.put(LIST_KEY, new Response(JSON.stringify(FILES)));
  const older = await reusable();
  await inTurns([...KEPT], COPIES_AT_ONCE, async ([url, sha256]) => {
    if (await cache.match(url)) return;
    const old = older.get(url);
    if (old) return cache.put(url, old);
    // Revalidated, not blindly taken from the HTTP cache: an earlier build's copy there must not
    // pass for this one's. Unchanged files answer 304 and come from the HTTP cache.
    const response = await fetch(url, { cache: "no-cache" });
    if (!response.ok) throw new Error(`${url}: ${response.status}`);
    const got = await sha256Hex(await response.clone().arrayBuffer());
    if (got !== sha256) throw new Error(`${url} is not from build ${BUILD}`);
    await cache.put(url, response);
  });
  await cache.put(COMPLETE_KEY, new Response(BUILD));
}

// The copy runs while the reader starts reading and moving widgets: a few files at a time, not
// all 23 MB at once, so hashing and writing them leaves the page and Python their share of a
// small machine's cores.
const COPIES_AT_ONCE = 2;

/** Calls task(item) for every item, at most `limit` at a time; rejects on the first failure. */
async function inTurns(items, limit, task) {
  const queue = [...items];
  const lane = async () => {
    while (queue.length) await task(queue.shift());
  };
  await Promise.all(Array.from({ length: limit }, lane));
}

let filling = null;
function fillOnce() {
  filling ??= fill().finally(() => (filling = null));
  return filling;
}

self.addEventListener("install", (event) => {
  event.waitUntil(
    olderCaches().then((older) => (older.length ? fill() : self.skipWaiting())),
  );
});

self.addEventListener("activate", (event) => {
  event.waitUntil(
    (async () => {
      for (const name of await olderCaches()) await caches.delete(name);
      await self.clients.claim();
    })(),
  );
});

self.addEventListener("message", (event) => {
  const { type } = event.data ?? {};
  const reply = (message) => event.ports[0]?.postMessage({ build: BUILD, ...message });
  if (type === "keep-book") {
    event.waitUntil(
      fillOnce().then(
        () => reply({ kept: true }),
        (err) => {
          reply({ kept: false, reason: String(err.message || err) });
          return self.registration.update().catch(() => {});
        },
      ),
    );
  } else if (type === "build") {
    reply({});
  } else if (type === "take-over") {
    self.skipWaiting();
  }
});

// Pyodide's wasm is left to the browser while the network answers (web/runtime/kept-copy.js
// says why); with none, the Python worker asks for the kept copy with this query.
const ASK_KEPT = "lmlab-kept";

// The kept copy a request is for, or null. A folder is its index.html; a page's query is not
// part of it.
function keptUrl(request) {
  const url = new URL(request.url);
  if (url.searchParams.has(ASK_KEPT)) {
    url.search = "";
  } else if (url.pathname.endsWith(".wasm")) {
    return null;
  } else if (request.mode === "navigate") {
    url.search = "";
    if (url.pathname.endsWith("/")) url.pathname += "index.html";
  }
  url.hash = "";
  return KEPT.has(url.href) ? url.href : null;
}

function isolated(response) {
  if (response.status === 0) return response;
  const headers = new Headers(response.headers);
  headers.set("Cross-Origin-Embedder-Policy", "require-corp");
  headers.set("Cross-Origin-Opener-Policy", "same-origin");
  headers.set("Cross-Origin-Resource-Policy", "same-origin");
  return new Response(response.body, { status: response.status, statusText: response.statusText, headers });
}

async function respond(request, key, isolate) {
  let kept = null;
  if (key) {
    kept = await caches
      .open(CACHE)
      .then((cache) => cache.match(key))
      .catch(() => null);
  }
  const response = kept ?? (await fetch(request));
  // Only pages and worker scripts need the headers. Anything else is given as it was kept (or
  // left to the browser): a copied response would lose its compiled-code cache.
  return isolate ? isolated(response) : response;
}

self.addEventListener("fetch", (event) => {
  const request = event.request;
  if (request.method !== "GET" || new URL(request.url).origin !== self.location.origin) return;
  if (request.cache === "only-if-cached" && request.mode !== "same-origin") return;
  const isolate = request.mode === "navigate" || request.destination === "worker";
  const key = keptUrl(request);
  if (!key && !isolate) return; // not part of the book (data sets, notebooks): as usual
  event.respondWith(respond(request, key, isolate));
});
