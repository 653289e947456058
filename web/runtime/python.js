// The page's handle on Python: one worker for the whole visit, a queue of jobs (cell runs and
// widget calls) sent one at a time, Stop, and Restart. Jobs queued before Python is ready wait.
import { PageEnd } from "./channel.js";
import { spawnWorker } from "./folder.js";
import { toWorker } from "./protocol.js";
import { startWorker } from "./worker-start.js";

// How long Stop waits for Python to stop in place before it replaces the worker. CPython checks
// for the interrupt only between bytecodes, and not even every time: code inside one long C call
// (a big numpy operation, sum(range(10**10))) never sees it.
const STOP_GRACE_MS = 400;

export class Python extends EventTarget {
  constructor(siteRoot) {
    super();
    this.siteRoot = siteRoot;
    this.queue = [];
    this.current = null;
    this.idleWaiters = [];
    this.nextId = 1;
    // page -> Map(cell -> code) of the cells that ran without error, in the order they last ran:
    // what a replacement worker runs again to restore the page's variables.
    this.history = new Map();
    this.latest = {};
    this.dataFiles = new Map(); // file -> {file, url, sha256}: what every worker must have
    this.start();
  }

  start() {
    this.ready = false;
    const early = takeEarlyStart(this.siteRoot);
    const { worker, channel, messages = [], dataFiles } =
      early ?? startWorker(this.siteRoot, [...this.dataFiles.values()], spawnWorker);
    for (const entry of dataFiles) this.dataFiles.set(entry.file, entry);
    this.worker = worker;
    this.channel = channel ? new PageEnd(channel) : null;
    this.worker.onmessage = ({ data }) => this.receive(data);
    this.worker.onerror = (event) => this.fatal(event.message);
    this.emit("status", { state: "loading", stage: "Starting Python", fraction: 0.02 });
    for (const message of messages) this.receive(message);
  }

  // A page's data files ({file, url, sha256}, url absolute): sent to the worker at once (unless
  // its start already had them), so they download while Python starts; cells and calls sent
  // later wait for them.
  loadData(files) {
    const fresh = files.filter(({ file, url }) => this.dataFiles.get(file)?.url !== url);
    for (const entry of fresh) this.dataFiles.set(entry.file, entry);
    if (fresh.length) this.worker.postMessage(toWorker.data(fresh));
  }

  /** Resolves once Python is ready: at once if it is, else when it says so. */
  whenReady() {
    if (this.ready) return Promise.resolve();
    return new Promise((resolve) => {
      const listen = ({ detail }) => {
        if (detail.state !== "ready") return;
        this.removeEventListener("status", listen);
        resolve();
      };
      this.addEventListener("status", listen);
    });
  }

  /** Resolves once Python is ready and has nothing to do: no job running, none queued. */
  whenIdle() {
    return this.whenReady().then(() => new Promise((resolve) => {
      if (!this.current && !this.queue.length) resolve();
      else this.idleWaiters.push(resolve);
    }));
  }

  // Events: "status" {state, stage, fraction} and "notice" {text}. The latest of each is kept, as
  // the page may start listening only after Python has begun (page.js runs before the DOM exists).
  emit(type, detail) {
    this.latest[type] = detail;
    this.dispatchEvent(new CustomEvent(type, { detail }));
  }

  // Run a cell. handlers: {onStart, onOutput(kind, payload), onInput(prompt), onStopping,
  // onDone(ok, {stopPressed}), onCancel}; resolves to ok. The handlers object also names the job
  // for withdraw().
  run(page, cell, code, handlers = {}) {
    return this.enqueue({ kind: "run", page, cell, code, handlers });
  }

  // Call a Python function for a widget; resolves to {ok, value} or {ok: false, error}.
  call(page, fn, args = [], kwargs = {}) {
    return this.enqueue({ kind: "call", page, fn, args: { args, kwargs }, handlers: {} });
  }

  forget(page) {
    this.history.delete(page);
    this.enqueue({ kind: "forget", page, handlers: {} });
  }

  enqueue(job) {
    return new Promise((resolve) => {
      job.id = this.nextId++;
      job.resolve = resolve;
      this.queue.push(job);
      this.pump();
    });
  }

  pump() {
    if (!this.ready || this.current || !this.queue.length) return;
    const job = (this.current = this.queue.shift());
    // Cleared here, not in the worker: a Stop pressed before the worker picks the job up must
    // still stop it.
    this.channel?.clear();
    job.handlers.onStart?.();
    if (job.kind === "run") this.worker.postMessage(toWorker.run(job.id, job.page, job.cell, job.code));
    else if (job.kind === "call") this.worker.postMessage(toWorker.call(job.id, job.page, job.fn, job.args));
    else if (job.kind === "warm") this.worker.postMessage(toWorker.warm(job.id));
    else {
      this.worker.postMessage(toWorker.forget(job.page));
      this.finish(undefined);
    }
  }

  finish(value) {
    const job = this.current;
    this.current = null;
    job.resolve(value);
    this.pump();
    if (!this.current) for (const resolve of this.idleWaiters.splice(0)) resolve();
  }

  receive(message) {
    const job = this.current;
    switch (message.type) {
      case "progress":
        this.emit("status", { state: "loading", stage: message.stage, fraction: message.fraction });
        break;
      case "ready":
        this.ready = true;
        // For the curious, the tests and the boot benchmark: how this worker started, and when
        // each stage of its start ended (ms since this page's navigation began).
        this.restoredStart = message.restored;
        this.bootStages = Object.fromEntries(
          Object.entries(message.stages).map(([stage, t]) => [stage, t - performance.timeOrigin]),
        );
        // The cells the reader ran while Python started go first (the queue holds them); then
        // the modules this page's widgets call are imported, so that a widget's first call, and
        // anything else asked from now on, is as quick as the later ones.
        this.enqueue({ kind: "warm", handlers: {} });
        this.emit("status", { state: "ready" });
        break;
      case "output":
        if (job && job.id === message.id) job.handlers.onOutput?.(message.kind, message.payload);
        break;
      case "input":
        if (job && job.id === message.id) job.handlers.onInput?.(message.prompt);
        break;
      case "done":
        if (!job || job.id !== message.id) break;
        if (message.ok) this.remember(job);
        job.handlers.onDone?.(message.ok, { stopPressed: Boolean(job.stopPressed) });
        this.finish(message.ok);
        break;
      case "data-progress":
        this.emit("data-progress", { file: message.file, received: message.received, total: message.total });
        break;
      case "result":
        if (job && job.id === message.id) this.finish(message.reply);
        break;
      case "fatal":
        this.fatal(message.message);
        break;
    }
  }

  remember({ page, cell, code }) {
    if (!this.history.has(page)) this.history.set(page, new Map());
    const cells = this.history.get(page);
    cells.delete(cell);
    cells.set(cell, code);
  }

  // Stop whatever is running and drop what is queued. Where the page is isolated this raises
  // KeyboardInterrupt in Python (it also ends a time.sleep() or an input() at once) and every
  // variable survives; if Python has not stopped after STOP_GRACE_MS, or where there is no
  // channel, the worker is replaced and the cells that had run are run again to restore state.
  stop() {
    this.cancelQueued();
    const job = this.current;
    if (!job || job.stopPressed) return;
    job.stopPressed = true;
    job.handlers.onStopping?.();
    if (this.channel) {
      this.channel.stop();
      setTimeout(() => {
        if (this.current === job) this.stopByReplacing("Python did not stop in place (it was inside a long computation), so it was restarted.");
      }, STOP_GRACE_MS);
      return;
    }
    this.stopByReplacing("Python was restarted to stop your code.");
  }

  stopByReplacing(why) {
    const replayed = this.replaceAndReplay("stopped");
    this.emit("notice", {
      text: replayed ? `${why} The ${replayed} cell(s) that had run were run again, so their variables are back.` : why,
    });
  }

  // The reader's answer to an input() question of the running cell.
  answer(text) {
    this.channel?.answer(text);
  }

  // Takes one queued job out of the queue (its Run button said "Leave queue"); the running job
  // and the rest of the queue are untouched. False if it was not queued (it may have started).
  withdraw(handlers) {
    const index = this.queue.findIndex((job) => job.handlers === handlers);
    if (index < 0) return false;
    const [job] = this.queue.splice(index, 1);
    this.cancel(job, true);
    return true;
  }

  restart() {
    this.cancelQueued();
    this.history.clear();
    this.replace("restarted");
    this.emit("notice", { text: "Python restarted: every page starts with a fresh namespace." });
  }

  // A new worker, then every page's successful cells again, in the order they last ran.
  replaceAndReplay(reason) {
    const pages = [...this.history].map(([page, cells]) => [page, [...cells]]);
    this.history.clear();
    this.replace(reason);
    let count = 0;
    for (const [page, cells] of pages) {
      for (const [cell, code] of cells) {
        this.enqueue({ kind: "run", page, cell, code, handlers: {} });
        count++;
      }
    }
    return count;
  }

  replace(reason) {
    const job = this.current;
    this.current = null;
    this.worker.terminate();
    if (job) {
      job.handlers.onOutput?.("error", { ename: "Stopped", evalue: reason, traceback: `Stopped: Python was ${reason}.` });
      job.handlers.onDone?.(false, { stopPressed: Boolean(job.stopPressed) });
      job.resolve(job.kind === "call" ? { ok: false, error: `Python was ${reason}` } : false);
    }
    this.start();
  }

  cancelQueued() {
    for (const job of this.queue.splice(0)) this.cancel(job);
  }

  cancel(job, withdrawn = false) {
    job.handlers.onCancel?.(withdrawn);
    job.resolve(job.kind === "call" ? { ok: false, error: "cancelled" } : false);
  }

  // The worker died (out of memory, a broken runtime). Before Python was ever ready that means
  // it cannot load here, and retrying would loop; after, replace it and restore the state.
  fatal(message) {
    message ||= "the Python worker failed to start"; // an error event may carry no message
    console.warn("Python worker failed:", message);
    if (!this.ready) {
      this.emit("status", { state: "failed", stage: "Python could not start" });
      this.emit("notice", { text: `Python could not start in this browser: ${message.split("\n")[0]}` });
      return;
    }
    this.replaceAndReplay("restarted after a crash");
    this.emit("notice", { text: "Python crashed (out of memory?) and was restarted; the cells that had run were run again." });
  }
}

// The worker start-early.js began for this page, if it did (and for this site root), once.
function takeEarlyStart(siteRoot) {
  const early = globalThis.lmlabEarlyStart;
  delete globalThis.lmlabEarlyStart;
  if (!early || early.root === siteRoot.href) return early ?? null;
  early.worker.terminate();
  return null;
}
