// Draws every widget's initial state at build time with the widget's own render() from
// web/runtime/widgets/NAME.js, so a page shows each widget before any script has loaded.
// stdin: JSON [{name, config, state, key}], stdout: JSON [{html, embed?}]: embed is what the page
// carries instead of the whole state, where the widget exports embeddedState(state) (a state too
// big for the page, whose first paint needs only part of it). A failing render fails the build.
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const runtime = join(dirname(fileURLToPath(import.meta.url)), "..", "web", "runtime");
const { jsonReplacer, jsonReviver } = await import(pathToFileURL(join(runtime, "protocol.js")).href);

let input = "";
for await (const chunk of process.stdin) input += chunk;
const rendered = [];
for (const { name, config, state, key } of JSON.parse(input, jsonReviver)) {
  const widget = await import(pathToFileURL(join(runtime, "widgets", `${name}.js`)).href);
  const drawn = { html: widget.render(config, state, key) };
  if (widget.embeddedState) drawn.embed = widget.embeddedState(state);
  rendered.push(drawn);
}
process.stdout.write(JSON.stringify(rendered, jsonReplacer));
