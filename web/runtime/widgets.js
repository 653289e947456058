// Widgets placed in a chapter by the `::: widget NAME {config}` directive.
//
// A widget is an ES module in widgets/NAME.js that draws with SVG and computes nothing itself:
//   render(config, state, key) -> HTML   pure; the builder runs it in Node, so the page shows the
//                                         widget before any script has loaded
//   embeddedState(state) -> state         optional: what the page carries in place of a state
//                                         too big for it (the builder embeds this instead; mount
//                                         then gets it and asks Python for the rest once ready)
//   mount(element, context)               brings that markup to life in the browser; after every
//                                         redraw it dispatches "widget:drawn" on the element (the
//                                         benchmark times inputs by it)
// config.fn names the Python function behind the widget (a dotted path into lmlab) and
// config.args / config.kwargs its arguments; the builder calls it with CPython and embeds the
// result as the initial `state`. The context a widget gets:
//   config, state, key         as above; key is unique on the page (for element ids)
//   call(fn, args, kwargs)     run a Python function in the worker -> {ok, value} | {ok, error};
//                              fn is a dotted path or the name of a function the reader defined;
//                              an argument {reader: NAME} is the reader's function NAME, and
//                              {reader_data: NAME} any value NAME their cells made
//   ready                      a Promise that resolves once Python can answer
//   requestedData              the page's data files too big to load with it ([{file, url,
//                              sha256, bytes}]); loadData(files) fetches them into Python (calls
//                              made after it wait for them), onDataProgress({file, received,
//                              total}) follows the download
import { jsonReviver } from "./protocol.js";
import { pageDataFiles } from "./worker-start.js";
import { mount as attentionMatrix } from "./widgets/attention-matrix.js";
import { mount as attentionHeads } from "./widgets/attention-heads.js";
import { mount as bigramTable } from "./widgets/bigram-table.js";
import { mount as bpeVisualizer } from "./widgets/bpe-visualizer.js";
import { mount as chat } from "./widgets/chat.js";
import { mount as chatStages } from "./widgets/chat-stages.js";
import { mount as generationExplorer } from "./widgets/generation-explorer.js";
import { mount as gptSize } from "./widgets/gpt-size.js";
import { mount as gptLens } from "./widgets/gpt-lens.js";
import { mount as gradientThroughTime } from "./widgets/gradient-through-time.js";
import { mount as descentValley } from "./widgets/descent-valley.js";
import { mount as embeddingExplorer } from "./widgets/embedding-explorer.js";
import { mount as learningCurve } from "./widgets/learning-curve.js";
import { mount as mlpTrainer } from "./widgets/mlp-trainer.js";
import { mount as nameGenerator } from "./widgets/name-generator.js";
import { mount as positionLab } from "./widgets/position-lab.js";
import { mount as positionalHeatmap } from "./widgets/positional-heatmap.js";
import { mount as scalingLaw } from "./widgets/scaling-law.js";
import { mount as skipgramDynamics } from "./widgets/skipgram-dynamics.js";
import { mount as temperatureExplorer } from "./widgets/temperature-explorer.js";
import { mount as tokenizerPlayground } from "./widgets/tokenizer-playground.js";

// name -> mount function (named imports, not namespaces: they keep page.js one file to fetch)
const mounts = {
  "attention-matrix": attentionMatrix,
  "attention-heads": attentionHeads,
  "bigram-table": bigramTable,
  "bpe-visualizer": bpeVisualizer,
  chat,
  "chat-stages": chatStages,
  "descent-valley": descentValley,
  "generation-explorer": generationExplorer,
  "gpt-size": gptSize,
  "gpt-lens": gptLens,
  "gradient-through-time": gradientThroughTime,
  "learning-curve": learningCurve,
  "mlp-trainer": mlpTrainer,
  "name-generator": nameGenerator,
  "temperature-explorer": temperatureExplorer,
  "tokenizer-playground": tokenizerPlayground,
  "embedding-explorer": embeddingExplorer,
  "positional-heatmap": positionalHeatmap,
  "position-lab": positionLab,
  "scaling-law": scalingLaw,
  "skipgram-dynamics": skipgramDynamics,
};

export function mountWidgets(root, { page, python }) {
  const ready = python.whenReady();
  return [...root.querySelectorAll("[data-widget]")].map((element, index) => {
    try {
      const mount = mounts[element.dataset.widget];
      if (!mount) throw new Error(`there is no widget called ${element.dataset.widget}`);
      const stateScript = element.querySelector("script.widget-state");
      const context = {
        config: JSON.parse(element.dataset.config || "{}"),
        state: stateScript ? JSON.parse(stateScript.textContent, jsonReviver) : null,
        key: `w${index + 1}`,
        call: (fn, args = [], kwargs = {}) => python.call(page, fn, args, kwargs),
        ready,
        requestedData: pageDataFiles(python.siteRoot, { onRequest: true }),
        loadData: (files) => python.loadData(files),
        onDataProgress: (listener) => python.addEventListener("data-progress", ({ detail }) => listener(detail)),
      };
      return mount(element, context);
    } catch (err) {
      // One broken widget must not take the page (or the other widgets) down with it.
      console.warn("widget failed to start:", err);
      const note = document.createElement("p");
      note.className = "widget-error";
      note.textContent = `This widget could not start: ${err.message}`;
      element.append(note);
      return null;
    }
  });
}
