// Inlined by the builder into every page's <head>: starts Python before the page has been read,
// let alone its scripts fetched. python.js adopts this worker and the messages it sent meanwhile.
// Only where the page is already cross-origin isolated: elsewhere isolation.js may first reload
// the page under the service worker, and an early worker would be thrown away.
import { canInterrupt, startWorker } from "./worker-start.js";

if (canInterrupt()) {
  // Every page of the book lives at the site's root.
  const started = startWorker(new URL("./", location.href));
  started.messages = [];
  started.worker.onmessage = ({ data }) => started.messages.push(data);
  started.worker.onerror = (event) => started.messages.push({ type: "fatal", message: event.message });
  globalThis.lmlabEarlyStart = started;
}
