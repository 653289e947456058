// Precompiles wheels with build/precompile_wheel.py inside Pyodide, the interpreter that will
// import them (its bytecode is CPython 3.12's; the host's Python may be another version). One
// Pyodide start serves every wheel.
//
//   node build/precompile_wheels.mjs IN.whl OUT.whl [IN.whl OUT.whl ...]
//   echo '[["IN.whl", "OUT.whl"], ...]' | node build/precompile_wheels.mjs
import { readFileSync } from "node:fs";
import { dirname, join, resolve, sep } from "node:path";
import { fileURLToPath } from "node:url";
import { loadPyodide } from "pyodide";

const script = join(dirname(fileURLToPath(import.meta.url)), "precompile_wheel.py");

function readPairs() {
  const args = process.argv.slice(2);
  if (args.length === 0) return JSON.parse(readFileSync(0, "utf8"));
  if (args.length % 2 !== 0) throw new Error("give wheels in pairs: IN.whl OUT.whl");
  const pairs = [];
  for (let i = 0; i < args.length; i += 2) pairs.push([args[i], args[i + 1]]);
  return pairs;
}

// Each folder that holds an input or an output, mounted at its own path inside Pyodide, so the
// Python side sees the same paths; a folder inside one already mounted needs no mount of its own.
function mountFolders(pyodide, paths) {
  const folders = [...new Set(paths.map((path) => dirname(path)))].sort((a, b) => a.length - b.length);
  const mounted = [];
  for (const folder of folders) {
    if (mounted.some((top) => folder === top || folder.startsWith(top + sep))) continue;
    pyodide.FS.mkdirTree(folder);
    pyodide.FS.mount(pyodide.FS.filesystems.NODEFS, { root: folder }, folder);
    mounted.push(folder);
  }
}

const pairs = readPairs().map(([input, output]) => [resolve(input), resolve(output)]);
const pyodide = await loadPyodide();
mountFolders(pyodide, pairs.flat());

const namespace = pyodide.globals.get("dict")();
namespace.set("__name__", "precompile_wheel");
pyodide.runPython(readFileSync(script, "utf8"), { globals: namespace, filename: script });
const precompile = namespace.get("precompile");
for (const [input, output] of pairs) {
  const count = precompile(input, output);
  console.log(`${output}: ${count} pycs added`);
}
