// The Python worker: loads Pyodide, numpy and lmlab once, then runs cells and widget calls for
// every page of the book. It speaks the protocol in protocol.js; all Python lives in kernel.py.
import kernelSource from "./kernel.py";
import { fromWorker } from "./protocol.js";

let pyodide = null;
let kernel = null;
let readyPromise = null;

function post(message) {
  self.postMessage(message);
}

async function boot({ indexURL, packages, interrupt }) {
  post(fromWorker.progress("Downloading Python", 0.1));
  self.importScripts(`${indexURL}pyodide.js`);
  pyodide = await self.loadPyodide({ indexURL, lockFileURL: `${indexURL}pyodide-lock.json` });
  post(fromWorker.progress("Loading numpy and lmlab", 0.6));
  if (interrupt) pyodide.setInterruptBuffer(interrupt); // the page writes 2 (SIGINT) to stop
  await pyodide.loadPackage(packages, { messageCallback: () => {}, errorCallback: (m) => console.warn(m) });
  const module = pyodide.runPython(`
import sys, types
kernel_module = types.ModuleType("lmlab_kernel")
exec(compile(${JSON.stringify(kernelSource)}, "lmlab_kernel.py", "exec"), kernel_module.__dict__)
sys.modules["lmlab_kernel"] = kernel_module
kernel_module`);
  kernel = module.Kernel();
  module.destroy();
  post(fromWorker.ready());
}

function run({ id, page, cell, code }) {
  const emit = (kind, payload) => {
    post(fromWorker.output(id, kind, payload.toJs({ dict_converter: Object.fromEntries })));
    payload.destroy();
  };
  post(fromWorker.done(id, kernel.run(page, cell, code, emit)));
}

function call({ id, page, fn, args }) {
  const reply = JSON.parse(kernel.call(page, fn, JSON.stringify(args)));
  post(fromWorker.result(id, reply));
}

const handlers = {
  run,
  call,
  forget: ({ page }) => kernel.forget(page),
};

self.onmessage = async ({ data }) => {
  if (data.type === "boot") {
    readyPromise = boot(data).catch((err) => post(fromWorker.fatal(String(err && err.stack || err))));
    return;
  }
  await readyPromise;
  if (!kernel) return;
  try {
    handlers[data.type](data);
  } catch (err) {
    // Only a broken runtime gets here (the reader's errors are results); say so and stop.
    post(fromWorker.fatal(String(err && err.stack || err)));
  }
};
