// Draws every widget's initial state at build time with the widget's own render() from
// web/runtime/widgets/NAME.js, so a page shows each widget before any script has loaded.
// stdin: JSON [{name, config, state, key}], stdout: JSON [html]. A failing render fails the build.
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const runtime = join(dirname(fileURLToPath(import.meta.url)), "..", "web", "runtime");
const { jsonReviver } = await import(pathToFileURL(join(runtime, "protocol.js")).href);

let input = "";
for await (const chunk of process.stdin) input += chunk;
const html = [];
for (const { name, config, state, key } of JSON.parse(input, jsonReviver)) {
  const widget = await import(pathToFileURL(join(runtime, "widgets", `${name}.js`)).href);
  html.push(widget.render(config, state, key));
}
process.stdout.write(JSON.stringify(html));
