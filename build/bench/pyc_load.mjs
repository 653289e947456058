// One measurement for build/bench/pyc.py: a fresh Pyodide under Node loads numpy and lmlab from
// the folder given (Pyodide's core files, a pyodide-lock.json and the wheels it names) and imports
// them. Prints the milliseconds of each step as JSON.
//
//   node build/bench/pyc_load.mjs FOLDER
import { join, resolve } from "node:path";
import { loadPyodide } from "pyodide";

const folder = resolve(process.argv[2]);
const times = {};
async function timed(name, step) {
  const start = performance.now();
  await step();
  times[name] = performance.now() - start;
}

let pyodide;
await timed("start", async () => {
  pyodide = await loadPyodide({ indexURL: `${folder}/`, lockFileURL: join(folder, "pyodide-lock.json") });
});
const quiet = { messageCallback: () => {} };
await timed("loadPackage numpy", () => pyodide.loadPackage(["numpy"], quiet));
await timed("import numpy", () => pyodide.runPython("import numpy"));
await timed("loadPackage lmlab", () => pyodide.loadPackage(["lmlab"], quiet));
// lmlab's __init__ imports nothing: every module, as the book's chapters come to use them.
await timed("import lmlab.*", () => pyodide.runPython(`
import importlib, pkgutil, lmlab
for module in pkgutil.iter_modules(lmlab.__path__):
    importlib.import_module(f"lmlab.{module.name}")
`));
console.log(JSON.stringify(times));
