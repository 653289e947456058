// Inlined by the builder into every page's <head>: starts Python before the page has been read,
// let alone its scripts fetched. python.js adopts this worker and the messages it sent meanwhile.
// Isolated or not: isolation.js never reloads the page, so this worker is never thrown away. Not
// from file://, where a worker cannot be made from a file's URL.
import { pageDataFiles, startWorker } from "./worker-start.js";

if (location.protocol !== "file:") {
  // Every page of the book lives at the site's root. The page's data files (listed above this
  // script in the head) start downloading with Python.
  const root = new URL("./", location.href);
  const started = startWorker(root, pageDataFiles(root));
  started.messages = [];
  started.worker.onmessage = ({ data }) => started.messages.push(data);
  started.worker.onerror = (event) => started.messages.push({ type: "fatal", message: event.message });
  globalThis.lmlabEarlyStart = started;
}
