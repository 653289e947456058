// Runs the lmlab unit suite inside Pyodide 0.27.7 under Node, with the very files the site
// ships (_site/pyodide: the lock file, numpy's wasm wheel, the lmlab wheel). Tests marked
// `reference` need PyTorch or tiktoken, which Pyodide lacks; they run on CPython only. Those
// marked `built` use the model the site build trains (chapter 8 needs it, so it is there).
//
//   node tests/pyodide/run.mjs [pytest args...]      (after build/make_site.py)
//   node tests/pyodide/run.mjs --script FILE          run one Python file instead (benchmarks)
import { readdirSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { loadPyodide } from "pyodide";

const repo = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
const site = join(repo, "_site", "pyodide");
const wheels = join(repo, ".cache", "pyodide-test-wheels");

const pyodide = await loadPyodide({ indexURL: `${site}/`, lockFileURL: join(site, "pyodide-lock.json") });
await pyodide.loadPackage(["numpy", "lmlab"], { messageCallback: () => {} });

// The repository at the same path inside Pyodide, so test paths and fixtures resolve unchanged.
pyodide.FS.mkdirTree(repo);
pyodide.FS.mount(pyodide.FS.filesystems.NODEFS, { root: repo }, repo);

const args = process.argv.slice(2);
pyodide.globals.set("ARGS", pyodide.toPy(args));
pyodide.globals.set("REPO", repo);
pyodide.globals.set("WHEELS", readdirSync(wheels).map((name) => join(wheels, name)));
const code = await pyodide.runPythonAsync(`
import os, sys
sys.path[:0] = list(WHEELS)       # pure-Python wheels import straight from their zip files
os.chdir(REPO)
if ARGS[:1] == ["--script"]:
    path = ARGS[1]
    sys.argv = [path, *ARGS[2:]]
    exec(compile(open(path).read(), path, "exec"), {"__name__": "__main__", "__file__": path})
    exit_code = 0
else:
    import pytest
    exit_code = int(pytest.main(["tests/unit", "-m", "not reference and not pretrained", "-p", "no:cacheprovider", "-o", "pythonpath=", "-q", *ARGS]))
exit_code
`);
process.exit(code);
