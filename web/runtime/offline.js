// The book offline: once Python is ready and idle (so that copying the book, tens of MB fetched
// and hashed, competes neither with Python's downloads nor with the cells the reader ran while it
// started, nor with the imports that follow them), asks the service worker (web/sw.js) to keep
// this build of the book, and says "Ready offline" in the
// status area when the book and this chapter's data are kept. Offers the reader a newer edition
// when one has been deployed and downloaded, and never mixes editions: a page and its runtime
// come from the same build.
import { registerServiceWorker } from "./isolation.js";

const DATA_CACHE = "lmlab-data"; // where the Python worker keeps the data sets (data-files.js)
const DATA_PATIENCE_MS = 60_000; // the data may still be arriving when Python is ready

export const buildOf = (doc) => doc.querySelector('meta[name="lmlab-build"]')?.content ?? "";

// Sends a message to a service worker and resolves to its reply.
function ask(worker, message) {
  return new Promise((resolve) => {
    const { port1, port2 } = new MessageChannel();
    port1.onmessage = ({ data }) => resolve(data);
    worker.postMessage(message, [port2]);
  });
}

const idle = () => new Promise((resolve) => (globalThis.requestIdleCallback ?? setTimeout)(resolve, { timeout: 2000 }));

async function dataKept(files) {
  const cache = await caches.open(DATA_CACHE).catch(() => null);
  if (!cache) return false;
  return (await Promise.all(files.map(({ url }) => cache.match(url)))).every(Boolean);
}

export class Offline {
  /** dataFiles() -> the current page's data files [{url}] (absolute). */
  constructor(python, siteRoot, dataFiles) {
    this.siteRoot = siteRoot;
    this.dataFiles = dataFiles;
    this.text = document.querySelector("#python-status .offline-text");
    this.notices = document.getElementById("notices");
    this.build = buildOf(document);
    this.bookKept = false;
    if (!this.build) return;
    python.whenIdle().then(idle).then(() => this.keep()).catch(() => {});
  }

  async keep() {
    const registration = await registerServiceWorker(this.siteRoot);
    if (!registration) return;
    this.watchUpdates(registration);
    const { active } = await navigator.serviceWorker.ready;
    const reply = await ask(active, { type: "keep-book" });
    // Another edition is being served (a newer deploy, taken over in another tab): this page's
    // own files are not the kept ones, so this page is not the one that works offline.
    if (reply.build !== this.build) return this.offerNewEdition();
    this.bookKept = reply.kept;
    // Not kept (a file could not be fetched or was not this build's): the next visit tries again.
    this.failure = reply.kept ? null : reply.reason;
    if (this.failure) console.warn("The book could not be kept for reading offline:", this.failure);
    this.pageChanged();
  }

  /** Called when the router shows another chapter: its data may not be kept yet. */
  async pageChanged() {
    if (!this.text) return;
    this.text.hidden = true;
    if (!this.bookKept) return;
    const files = this.dataFiles();
    const started = Date.now();
    const shown = document.body.dataset.page;
    while (!(await dataKept(files))) {
      if (Date.now() - started > DATA_PATIENCE_MS || document.body.dataset.page !== shown) return;
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
    if (document.body.dataset.page !== shown) return;
    this.text.textContent = "Ready offline";
    this.text.hidden = false;
  }

  watchUpdates(registration) {
    const offerIfWaiting = () => {
      if (registration.waiting && navigator.serviceWorker.controller) this.offerNewEdition(registration);
    };
    offerIfWaiting();
    registration.addEventListener("updatefound", () => {
      const incoming = registration.installing;
      incoming?.addEventListener("statechange", offerIfWaiting);
    });
    navigator.serviceWorker.addEventListener("controllerchange", async () => {
      const controller = navigator.serviceWorker.controller;
      if (controller && (await ask(controller, { type: "build" })).build !== this.build) this.offerNewEdition();
    });
  }

  // A calm notice with one button; the new edition takes over only when the reader reloads.
  offerNewEdition(registration = null) {
    if (this.notices.querySelector(".new-edition")) return;
    const button = Object.assign(document.createElement("button"), {
      type: "button",
      className: "new-edition",
      textContent: "Reload to read it",
    });
    button.addEventListener("click", () => {
      const waiting = registration?.waiting;
      if (!waiting) return location.reload();
      navigator.serviceWorker.addEventListener("controllerchange", () => location.reload(), { once: true });
      waiting.postMessage({ type: "take-over" });
    });
    this.notices.replaceChildren("A new edition of the book has been downloaded. Your edits are kept. ", button);
    this.notices.hidden = false;
    if (this.text) this.text.hidden = true;
  }
}
