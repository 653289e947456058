// Entry point of every page: starts Python (or adopts the worker start-early.js started), brings
// the page's cells and widgets to life, and keeps Python alive across chapters by swapping pages
// in place (router.js). This module and what it imports are kept small, so it runs early; the
// editor (CodeMirror) is a separate chunk that cells load when they first need it.
import { Cell } from "./cell.js";
import { bindContentsToggle, trackSections } from "./contents.js";
import { mountExercises } from "./exercise.js";
import { folderStorageWarning } from "./folder.js";
import { followHeaderHeight } from "./header-height.js";
import { downloadNotebook } from "./notebook.js";
import { Offline } from "./offline.js";
import { Python } from "./python.js";
import { enableRouter } from "./router.js";
import { bindSearch } from "./search.js";
import { watchFormulas } from "./scrollable.js";
import { showStatus } from "./status.js";
import { bindThemeSwitch } from "./theme.js";
import { mountWidgets } from "./widgets.js";
import { showProgress } from "./progress.js";
import { forgetPasses } from "./storage.js";
import { downloadWork, uploadWork } from "./work.js";
import { pageDataFiles } from "./worker-start.js";

const siteRoot = new URL("../", import.meta.url);

class Page {
  constructor(python) {
    this.python = python;
    this.slug = document.body.dataset.page;
    python.loadData(pageDataFiles(siteRoot));
    this.liveRegion = document.getElementById("announcer");
    const announce = (text) => this.announce(text);
    const onRunAndNext = (cell) => this.runAndNext(cell);
    this.cells = [...document.querySelectorAll(".cell")].map(
      (element) => new Cell(element, { page: this.slug, python, announce, onRunAndNext }),
    );
    this.widgets = mountWidgets(document, { page: this.slug, python, siteRoot });
    this.exercises = mountExercises(document, { page: this.slug, python, cells: this.cells });
    this.bindToolbar();
    for (const cell of this.cells) if (cell.options.autorun) cell.run();
    this.editorsOnScreen = buildEditorsOnScreen(this.cells, python);
    this.stopTrackingSections = trackSections();
    this.stopWatchingFormulas = watchFormulas(document);
  }

  leave() {
    this.editorsOnScreen.stop();
    this.stopTrackingSections();
    this.stopWatchingFormulas();
  }

  announce(text) {
    this.liveRegion.textContent = text;
  }

  runAndNext(cell) {
    cell.run();
    const next = this.cells[this.cells.indexOf(cell) + 1];
    if (next) next.focus();
  }

  // Like a notebook's Run all: stop at the first error, except the ones the book shows on purpose.
  async runAll() {
    const runs = this.cells.map((cell) => [cell, cell.run()]);
    for (const [cell, run] of runs) {
      if (!(await run) && !cell.options.raises) {
        this.python.cancelQueued();
        break;
      }
    }
  }

  bindToolbar() {
    const actions = {
      "run-all": () => this.runAll(),
      stop: () => this.python.stop(),
      restart: () => this.python.restart(),
      "reset-all": () => {
        const question = "Put every cell on this page back to the book's code, and forget which of its " +
          "exercises you passed? Your edits here will be lost.";
        if (!confirm(question)) return;
        for (const cell of this.cells) cell.reset();
        forgetPasses(this.slug);
        for (const exercise of this.exercises) exercise.markPassed(false);
        showProgress();
      },
      download: () => downloadWork(),
      notebook: () => downloadNotebook(this, siteRoot).catch((err) => this.python.emit("notice", {
        text: `The notebook could not be made: ${err.message}`,
      })),
      upload: () => uploadWork((text) => this.python.emit("notice", { text })),
    };
    for (const button of document.querySelectorAll("[data-action]")) {
      button.addEventListener("click", () => actions[button.dataset.action]());
    }
  }
}

// Each cell's editor is built while the cell is on screen, one per idle moment, so neither the
// first paint nor a chapter switch waits for a dozen editors. Only on screen: CodeMirror measures
// its lines only while visible, and an editor built off screen would guess its height and then
// correct it as the reader scrolls to it. The static view it replaces has the same geometry, so
// the swap itself changes no pixel.
function buildEditorsOnScreen(cells, python) {
  const cellOf = new Map(cells.map((cell) => [cell.source, cell]));
  const onScreen = new Set();
  const whenIdle = globalThis.requestIdleCallback ?? ((task) => setTimeout(task, 50));
  const observer = new IntersectionObserver((entries) => {
    for (const { isIntersecting, target } of entries) {
      if (!isIntersecting) {
        onScreen.delete(target);
        continue;
      }
      onScreen.add(target);
      whenIdle(() => {
        if (!onScreen.has(target)) return; // scrolled away first: wait for the next visit
        observer.unobserve(target);
        cellOf.get(target).mountEditor();
      }, { timeout: 500 });
    }
  });
  // Not while Python starts: the editor is 370 KB of script to read and compile on the page's
  // thread, while the worker needs the machine. A click on the code builds its editor at once.
  let stopped = false;
  python.whenReady().then(() => {
    if (!stopped) for (const source of cellOf.keys()) observer.observe(source);
  });
  return {
    stop() {
      stopped = true;
      observer.disconnect();
      onScreen.clear(); // and so the builds already waiting for an idle moment are dropped
    },
  };
}

// The page loads this module with `async`, so it may run before the document is parsed: Python
// starts at once, and the cells and widgets are brought to life once they exist.
async function main() {
  performance.mark("lmlab:page-script"); // for the boot benchmark
  const python = new Python(siteRoot);
  if (document.readyState === "loading") {
    await new Promise((resolve) => document.addEventListener("DOMContentLoaded", resolve, { once: true }));
  }
  showStatus(python);
  followHeaderHeight();
  const storageWarning = folderStorageWarning();
  if (storageWarning) python.emit("notice", { text: storageWarning });
  bindThemeSwitch();
  bindContentsToggle();
  bindSearch(siteRoot);
  const offline = new Offline(python, siteRoot, () => pageDataFiles(siteRoot));
  showProgress();
  let page = new Page(python);
  globalThis.lmlab = { python, offline, get page() { return page; } }; // for the curious reader's console, and tests
  enableRouter(() => {
    page.leave();
    page = new Page(python);
    showProgress(); // the contents came with the new page
    offline.pageChanged();
  });
}

main();
