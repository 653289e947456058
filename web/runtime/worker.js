// The Python worker: loads Pyodide, numpy and lmlab once, then runs cells and widget calls for
// every page of the book. It speaks the protocol in protocol.js; all Python lives in kernel.py.
import { WorkerEnd } from "./channel.js";
import kernelSource from "./kernel.py";
import { fetchData, writeData } from "./data-files.js";
import { fetchViaPage, settleFetch } from "./fetch-via-page.js";
import { fallBackToKeptCopies } from "./kept-copy.js";
import { fromWorker, jsonReplacer, jsonReviver } from "./protocol.js";

let pyodide = null;
let kernel = null;
let readyPromise = null;
let channel = null; // WorkerEnd, where the page is cross-origin isolated
// The page's SharedArrayBuffer for it (or null), which comes as a message of its own.
let channelSent = null;
const channelArrived = new Promise((resolve) => (channelSent = resolve));
let jobId = null; // the job running now, whose cell an input() question belongs to
// Settles once every data file the page asked for is in Python's file system (or marked as
// missing): cells and widget calls wait for it, so they never read a half-arrived file.
let dataWritten = Promise.resolve();
fallBackToKeptCopies(self); // Pyodide's wasm with no network: the service worker's copy

function post(message) {
  self.postMessage(message);
}

// A download's progress, at most every 100 ms per file (and its end): enough for a progress bar.
const lastReport = new Map();
function reportProgress(file, received, total) {
  const now = performance.now();
  if (received < total && now - (lastReport.get(file) ?? -Infinity) < 100) return;
  lastReport.set(file, now);
  post(fromWorker.dataProgress(file, received, total));
}

// Starting CPython inside Pyodide (it imports its own modules: about two seconds here) is done
// once per browser. The first boot saves the interpreter's memory right after start-up, with the
// kernel loaded, to Cache Storage; later boots (a new visit, Restart, a Stop that had to replace
// the worker) restore it. numpy and lmlab are loaded afterwards on every boot: a memory snapshot
// cannot hold the compiled code of numpy's extension modules.
const SNAPSHOT_CACHE = "lmlab-python-start";
const SNAPSHOT_SIZE = "x-snapshot-bytes";

async function snapshotRequest(indexURL) {
  // Keyed by the kernel's source (it is inside the snapshot) and by where Pyodide lives; a
  // snapshot from another Pyodide build is refused by Pyodide itself (build id check).
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(kernelSource));
  const hex = [...new Uint8Array(digest).slice(0, 8)].map((b) => b.toString(16).padStart(2, "0")).join("");
  return new Request(`${indexURL}python-start-${hex}`);
}

async function startPython(options, mark) {
  const request = await snapshotRequest(options.indexURL);
  // No Cache Storage (some browsers have none for a page opened from a folder): no snapshot.
  const cache = await globalThis.caches?.open(SNAPSHOT_CACHE).catch(() => null);
  const saved = await cache?.match(request);
  if (saved) {
    try {
      const snapshot = await saved.arrayBuffer();
      // A cut-short snapshot would size the wasm memory wrongly, and Pyodide then waits forever
      // instead of failing; anything else wrong with it, Pyodide refuses by itself.
      if (snapshot.byteLength !== Number(saved.headers.get(SNAPSHOT_SIZE))) throw new Error("cut short");
      const restored = await self.loadPyodide({ ...options, _loadSnapshot: snapshot });
      mark("interpreter");
      // The snapshot holds the random module's state: without a reseed every visit would draw
      // the same "random" numbers.
      restored.runPython("import random; random.seed()");
      return { pyodide: restored, restored: true, keep: () => {} };
    } catch (err) {
      console.warn("Python's saved start-up could not be restored; starting afresh.", err);
      await cache.delete(request);
    }
  }
  const fresh = await self.loadPyodide({ ...options, _makeSnapshot: true });
  mark("interpreter");
  fresh.runPython(`
import sys, types
kernel = types.ModuleType("lmlab_kernel")
exec(compile(${JSON.stringify(kernelSource)}, "lmlab_kernel.py", "exec"), kernel.__dict__)
sys.modules["lmlab_kernel"] = kernel
del kernel`);
  // Taken now, while the memory holds only the start-up; written once the book is ready.
  const snapshot = cache && fresh.makeMemorySnapshot();
  const keep = () => snapshot && saveSnapshot(cache, request, snapshot, options.indexURL);
  return { pyodide: fresh, restored: false, keep };
}

// Saves in the background; a snapshot of an earlier edition of this site (another kernel) is
// dropped, so they do not pile up at 20 MB each. Other sites on this origin keep theirs.
async function saveSnapshot(cache, request, snapshot, indexURL) {
  try {
    for (const old of await cache.keys()) {
      if (old.url.startsWith(indexURL) && old.url !== request.url) await cache.delete(old);
    }
    await cache.put(request, new Response(snapshot, { headers: { [SNAPSHOT_SIZE]: String(snapshot.byteLength) } }));
  } catch {
    // Storage full or refused: the next boot simply starts afresh.
  }
}

// The modules this page's widgets call: imported by the page's "warm" job (python.js), which
// comes after the cells the reader ran while Python started and before anything asked later.
let pageModules = [];

async function boot({ indexURL, packages, warm, warmLater = [] }) {
  // When each stage ended, in ms since the epoch (the page converts them; the boot benchmark
  // prints them): where start-up time goes, measured on every boot.
  const stages = { worker: performance.timeOrigin + performance.now() };
  if (self.lmlabThreadStart) stages.thread = self.lmlabThreadStart; // worker-start.js
  const mark = (stage) => (stages[stage] = performance.timeOrigin + performance.now());
  post(fromWorker.progress("Downloading Python", 0.1));
  // The worker of the book opened from a folder has Pyodide's loader in its own code already.
  if (!self.loadPyodide) self.importScripts(`${indexURL}pyodide.js`);
  mark("loader");
  const started = await startPython({ indexURL, lockFileURL: `${indexURL}pyodide-lock.json` }, mark);
  pyodide = started.pyodide;
  mark("python");
  post(fromWorker.progress("Loading numpy and lmlab", 0.6));
  const buffer = await channelArrived;
  channel = buffer ? new WorkerEnd(buffer) : null;
  if (channel) pyodide.setInterruptBuffer(channel.interrupt); // the page writes 2 (SIGINT) to stop
  // Reading sys.stdin directly is an OSError, not Pyodide's default window.prompt() (there is no
  // window in a worker); input() goes through the kernel, which asks the reader.
  pyodide.setStdin({ error: true });
  const problems = [];
  await pyodide.loadPackage(packages, { messageCallback: () => {}, errorCallback: (m) => problems.push(m) });
  // Pyodide reports a package that failed to download or install and carries on without it;
  // without numpy or lmlab the book cannot work, so say so instead of seeming ready.
  const missing = packages.filter((name) => !(name in pyodide.loadedPackages));
  if (missing.length) throw new Error(`could not load ${missing.join(" and ")}. ${problems.join(" ")}`);
  mark("packages");
  const module = pyodide.pyimport("lmlab_kernel");
  kernel = module.Kernel();
  module.destroy();
  // Blocking waits that Stop can end, where the channel exists; elsewhere input() says it cannot.
  kernel.connect(channel && ((seconds) => channel.sleep(seconds)), channel && ask);
  pageModules = warm;
  mark("kernel");
  post(fromWorker.ready(started.restored, stages));
  whenQuiet(started.keep);
  for (const module of warmLater) whenQuiet(() => kernel.warm_up([module]));
}

// Work that can wait: saving Python's start-up and importing the modules of the
// book's other pages (so that the next chapter's widgets answer at once too). None of it runs
// while Python starts, and none of it in the way of the reader: one piece per task, each only
// once Python is ready and the page has sent no message for a second, so a cell or widget call
// the reader starts meanwhile waits for one piece (tens of ms) at most.
const QUIET_MS = 1000;
let lastMessageAt = 0;
const deferred = [];
function whenQuiet(task) {
  deferred.push(task);
  if (deferred.length === 1) readyPromise.then(() => setTimeout(doDeferred, QUIET_MS));
}
async function doDeferred() {
  const wait = lastMessageAt + QUIET_MS - performance.now();
  if (wait > 0) return setTimeout(doDeferred, wait);
  try {
    await deferred[0]();
  } catch (err) {
    // The page sent a job while this ran and the reader stopped it: the Stop was meant for that
    // job, which runs next, so it is passed on instead of spent here.
    if (err?.type === "KeyboardInterrupt" && channel) channel.putBackStop();
    else console.warn("Work the worker did in a quiet moment failed:", err);
  }
  deferred.shift();
  if (deferred.length) setTimeout(doDeferred, 0);
}

// input() in the reader's code: the page shows a text field; the worker waits for the answer (or
// for Stop, then null) in the channel.
function ask(prompt) {
  channel.openQuestion();
  post(fromWorker.input(jobId, prompt));
  return channel.waitForAnswer();
}

// A Stop pressed before the job started (while the worker was busy with its own work, or before
// it read the message) is taken here and handed to the kernel, which ends the job as stopped
// where it expects a Stop; left to Python, it would land in the kernel's own code around the job.
const stoppedAlready = () => channel?.takeStop() ?? false;

function run({ id, page, cell, code }) {
  const emit = (kind, payload) => {
    post(fromWorker.output(id, kind, payload.toJs({ dict_converter: Object.fromEntries })));
    payload.destroy();
  };
  post(fromWorker.done(id, kernel.run(page, cell, code, emit, stoppedAlready())));
}

function call({ id, page, fn, args }) {
  const answer = kernel.call(page, fn, JSON.stringify(args, jsonReplacer), stoppedAlready());
  post(fromWorker.result(id, JSON.parse(answer, jsonReviver)));
}

function warm({ id }) {
  try {
    if (!stoppedAlready()) kernel.warm_up(pageModules);
  } catch {
    // Stopped (Stop all, Restart): a module not imported yet comes with its first call.
  }
  post(fromWorker.result(id, null));
}

const handlers = {
  run,
  call,
  warm,
  forget: ({ page }) => kernel.forget(page),
};

self.onmessage = async ({ data }) => {
  lastMessageAt = performance.now();
  if (data.type === "fetch-via-page") return fetchViaPage(data.root);
  if (data.type === "fetched") return settleFetch(data);
  if (data.type === "channel") return channelSent(data.channel);
  if (data.type === "boot") {
    readyPromise = boot(data).catch((err) => post(fromWorker.fatal(String(err && err.stack || err))));
    return;
  }
  if (data.type === "data") {
    // Downloaded now; while Python is still starting, at a lower priority than Python's own
    // files (a chapter's first cells need Python, not the data). Checked and kept in Cache
    // Storage once Python is ready (until then the machine is Python's). Not left for a quiet
    // moment, as Python's snapshot is: a file asked for later (the talk page's 98 MB model) must
    // be kept before the reader can reload.
    const afterReady = (task) => readyPromise.then(task);
    const priority = kernel ? "auto" : "low";
    const fetched = fetchData(data.files, { onProgress: reportProgress, checkAfter: readyPromise, keep: afterReady, priority });
    dataWritten = Promise.all([dataWritten, readyPromise, fetched]).then(([, , files]) => {
      if (pyodide) writeData(pyodide.FS, files);
    });
    return;
  }
  await readyPromise;
  await dataWritten;
  if (!kernel) return;
  try {
    jobId = data.id ?? null;
    handlers[data.type](data);
  } catch (err) {
    // Only a broken runtime gets here (the reader's errors are results); say so and stop.
    post(fromWorker.fatal(String(err && err.stack || err)));
  }
};

// A worker made by worker-start.js carries its first messages (boot, data) in its own code.
for (const data of self.lmlabFirstMessages ?? []) self.onmessage({ data });
