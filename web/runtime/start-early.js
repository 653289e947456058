// Inlined by the builder into every page's <head>: starts Python before the page has been read,
// let alone its scripts fetched. python.js adopts this worker and the messages it sent meanwhile.
// Only where the page is already cross-origin isolated: elsewhere isolation.js may first reload
// the page under the service worker, and an early worker would be thrown away.
import { canInterrupt, pageDataFiles, startWorker } from "./worker-start.js";

if (canInterrupt()) {
  // Every page of the book lives at the site's root. The page's data files (listed above this
  // script in the head) start downloading with Python.
  const root = new URL("./", location.href);
  const started = startWorker(root, pageDataFiles(root));
  started.messages = [];
  started.worker.onmessage = ({ data }) => started.messages.push(data);
  started.worker.onerror = (event) => started.messages.push({ type: "fatal", message: event.message });
  globalThis.lmlabEarlyStart = started;
}
