// Chat: talk to a real model, SmolLM2-135M-Instruct, run by lmlab's numpy in this page. The model
// (98 MB) is downloaded only when the reader presses Load; its reply streams one token per call
// to lmlab.chat.next_token, so Stop simply stops asking. Any token of a reply opens the step it
// was drawn at: the distribution (with its own temperature), the tree of what else could have
// followed, and where the query looked (attention weights of a chosen layer and head).
//
// Config: fn "lmlab.chat.about" (the builder calls it: {file, bytes, layers, heads}), kwargs {}.
import { visible } from "./bpe-visualizer.js";
import { treeHtml } from "./generation-explorer.js";
import { latest } from "./latest.js";
import { escapeHtml, widgetFooter } from "./markup.js";
import { showError, showLive } from "./status.js";

const fixed = (x, digits) => Number(x).toFixed(digits);
const megabytes = (bytes) => `${Math.round(bytes / 1e6)} MB`;
const CHAT = "lmlab.chat";

function slider(id, cls, label, min, max, step, value) {
  return `<div class="chat-slider"><label for="${id}">${label} <output class="${cls}-out">${fixed(value, 2)}</output></label>
    <input type="range" id="${id}" class="${cls}" min="${min}" max="${max}" step="${step}" value="${value}" disabled></div>`;
}

function number(id, cls, label, min, max, value) {
  return `<div><label for="${id}">${label}</label>
    <input type="number" id="${id}" class="${cls}" min="${min}" max="${max}" value="${value}" disabled></div>`;
}

/** The widget before the model is loaded; pure, so the builder draws it in Node. */
export function render(config, state, key) {
  const id = (part) => `${key}-${part}`;
  return `<div class="chat" role="group" aria-labelledby="${id("title")}">
  <p class="widget-title" id="${id("title")}">Talk to SmolLM2-135M-Instruct, running in this page</p>
  <div class="chat-load">
    <button type="button" class="chat-load-button" disabled>Load the model (${megabytes(state.bytes)})</button>
    <progress class="chat-progress" max="1" value="0" hidden aria-label="Model download"></progress>
    <span class="chat-load-text">${state.layers} layers, ${state.heads} attention heads; downloaded once, then kept by your browser.</span>
  </div>
  <div class="chat-settings">
    ${slider(id("t"), "chat-t", "Temperature", 0, 2, 0.05, 0.2)}
    ${number(id("k"), "chat-k", "Top-k (0: off)", 0, 500, 50)}
    ${slider(id("p"), "chat-p", "Top-p", 0.05, 1, 0.05, 0.9)}
    ${number(id("max"), "chat-max", "Longest reply (tokens)", 1, 1000, 200)}
    <div><input type="checkbox" id="${id("tokens")}" class="chat-show-tokens" disabled>
      <label for="${id("tokens")}">Show tokens</label></div>
    <div><button type="button" class="chat-new" disabled>New conversation</button></div>
  </div>
  <ol class="chat-log" aria-label="The conversation"></ol>
  <form class="chat-form">
    <label for="${id("message")}">Your message</label>
    <textarea id="${id("message")}" class="chat-message" rows="2" disabled>What is the capital of France?</textarea>
    <div class="chat-buttons"><button type="submit" class="chat-send" disabled>Send</button>
      <button type="button" class="chat-stop" disabled>Stop</button></div>
  </form>
  <p class="chat-speed"></p>
  <section class="chat-step" hidden aria-labelledby="${id("step-title")}">
    <p class="chat-step-title" id="${id("step-title")}"></p>
    ${slider(id("step-t"), "chat-step-t", "Temperature for this view", 0.05, 2, 0.05, 0.2)}
    <ol class="chat-cands" aria-label="The likeliest next tokens"></ol>
    <p class="chat-step-facts"></p>
    <div class="chat-tree-controls">
      <label for="${id("depth")}">Tree depth</label>
      <select id="${id("depth")}" class="chat-depth">${[1, 2, 3].map((n) => `<option${n === 2 ? " selected" : ""}>${n}</option>`).join("")}</select>
      <label for="${id("branches")}">Branches</label>
      <select id="${id("branches")}" class="chat-branches">${[2, 3, 4].map((n) => `<option${n === 3 ? " selected" : ""}>${n}</option>`).join("")}</select>
      <button type="button" class="chat-grow">Grow the tree</button>
    </div>
    <div class="chat-tree"></div>
    <div class="chat-attn-controls">
      <label for="${id("layer")}">Layer</label>
      <select id="${id("layer")}" class="chat-layer">${Array.from({ length: state.layers }, (_, i) => `<option value="${i}"${i === state.layers - 1 ? " selected" : ""}>${i + 1}</option>`).join("")}</select>
      <label for="${id("head")}">Head</label>
      <select id="${id("head")}" class="chat-head">${Array.from({ length: state.heads }, (_, i) => `<option value="${i}">${i + 1}</option>`).join("")}</select>
    </div>
    <p class="chat-attn-title"></p>
    <p class="chat-attn" aria-hidden="true"></p>
    <ol class="chat-attn-top" aria-label="The tokens it attended to most"></ol>
  </section>
  ${widgetFooter("the model's size; the Load button works once Python is ready", "chat-announce")}
</div>`;
}

// One token as a chip: the text with spaces, tabs and newlines made visible; special tokens
// (<|im_start|> and kin) marked. A reply's tokens are buttons that open their step.
function chipHtml(token, step) {
  const cls = `chat-chip${token.special ? " is-special" : ""}`;
  const text = escapeHtml(visible(token.text));
  if (step === undefined) return `<span class="${cls}">${text}</span>`;
  return `<button type="button" class="${cls} chat-tok" data-step="${step}" tabindex="-1" ` +
    `aria-label="${escapeHtml(visible(token.text))}, token ${step + 1} of the reply">${text}</button>`;
}

// Each candidate: its probability at the view's temperature (the bar), and after top-k and top-p
// have cut the tail (0 when cut: its bar turns grey).
function candidatesHtml(view) {
  const head = `<li class="chat-cand chat-cand-head" aria-hidden="true"><span>token</span><span></span>` +
    `<span>prob.</span><span>after cut</span></li>`;
  return head + view.candidates.map((c) => {
    const chosen = c.id === view.chosen.id;
    const cut = c.kept_prob === 0;
    const label = `${visible(c.text)}: probability ${fixed(c.prob, 3)}, ${cut ? "cut by top-k or top-p" : `${fixed(c.kept_prob, 3)} after the cut`}${chosen ? "; the drawn token" : ""}`;
    return `<li class="chat-cand${chosen ? " is-chosen" : ""}${cut ? " is-cut" : ""}" aria-label="${escapeHtml(label)}">` +
      `<span class="chat-cand-text">${escapeHtml(visible(c.text))}</span>` +
      `<svg class="chat-bar" viewBox="0 0 1 1" preserveAspectRatio="none" aria-hidden="true" focusable="false">` +
      `<rect class="chat-bar-track" width="1" height="1"/><rect class="chat-bar-fill" width="${c.prob}" height="1"/></svg>` +
      `<span class="chat-num">${fixed(c.prob, 3)}</span>` +
      `<span class="chat-num chat-kept">${cut ? "cut" : fixed(c.kept_prob, 3)}</span></li>`;
  }).join("");
}

export function mount(element, context) {
  const { config } = context;
  if (!element.querySelector(".chat")) element.innerHTML = render(config, context.state, context.key);
  const $ = (selector) => element.querySelector(selector);
  const log = $(".chat-log");
  const announce = (text) => ($(".chat-announce").textContent = text);
  const fail = (title) => (err) => showError(element, title, String(err.message || err));
  const [modelFile] = context.requestedData.filter((entry) => entry.file === context.state.file);

  let loaded = false;
  let generating = false;
  let stopAsked = false;
  let replyItem = null; // the latest reply's <li>; its .tokens are [{id, text, special, prob}]
  let selected = null; // the reply step the panel shows

  const settings = () => ({
    temperature: Number($(".chat-t").value),
    top_k: Number($(".chat-k").value) || null,
    top_p: Number($(".chat-p").value),
  });
  const drawn = () => element.dispatchEvent(new CustomEvent("widget:drawn"));

  function enable() {
    for (const control of element.querySelectorAll(".chat-settings input, .chat-settings button, .chat-message")) {
      control.disabled = !loaded;
    }
    $(".chat-send").disabled = !loaded || generating;
    $(".chat-stop").disabled = !generating;
    $(".chat-load-button").disabled = loaded;
  }

  async function call(fn, kwargs = {}) {
    const result = await context.call(`${CHAT}.${fn}`, [], kwargs);
    if (result.ok) return result.value;
    if (/not loaded yet/.test(result.error)) {
      // Python was replaced (a Stop elsewhere on the page, a crash): the model must be read again.
      loaded = false;
      enable();
      $(".chat-load-text").textContent = "Python was restarted, so the model must be loaded again (from this browser's storage: no download).";
    }
    throw new Error(result.error);
  }

  // ---------------------------------------------------------------- loading
  context.onDataProgress(({ file, received, total }) => {
    if (file !== modelFile?.file) return;
    const bar = $(".chat-progress");
    bar.hidden = false;
    bar.value = total ? received / total : 0;
    $(".chat-load-text").textContent = `Downloading: ${megabytes(received)} of ${megabytes(total || modelFile.bytes)}`;
  });

  async function load() {
    showError(element, null);
    if (!modelFile) return showError(element, "This page does not list the model's file.");
    $(".chat-load-button").disabled = true;
    $(".chat-load-text").textContent = "Fetching the model…";
    announce("Loading the model.");
    context.loadData([modelFile]);
    try {
      const facts = await call("load");
      loaded = true;
      $(".chat-progress").hidden = true;
      $(".chat-load-text").textContent = `Loaded: ${facts.parameters.toLocaleString("en-US")} parameters in ` +
        `${facts.layers} layers, read and dequantized to float32 in ${fixed(facts.seconds, 1)} s.`;
      announce("The model is loaded. Type a message and press Send.");
      await call("new_conversation");
      log.innerHTML = "";
    } catch (err) {
      const memory = /MemoryError|out of memory|crash/i.test(String(err.message));
      showError(element, memory
        ? "Your browser could not give Python the memory the model needs (about 800 MB). Close other tabs, or try a desktop browser."
        : "The model could not be loaded:", String(err.message));
      $(".chat-progress").hidden = true;
      $(".chat-load-text").textContent = "Not loaded. Press Load to try again.";
      $(".chat-load-button").disabled = false;
    }
    enable();
    // Said only now that the controls are enabled: a reader (or a test) told "loaded" may act at once.
    if (loaded) element.dataset.loaded = "true";
    drawn();
  }
  $(".chat-load-button").addEventListener("click", load);

  // ---------------------------------------------------------------- talking
  function showTokens() {
    return $(".chat-show-tokens").checked;
  }

  function addTurn(role, text, tokens) {
    const item = document.createElement("li");
    item.className = `chat-turn is-${role}`;
    item.innerHTML = `<span class="chat-role">${role === "user" ? "You" : "SmolLM2"}</span><p class="chat-text"></p>`;
    item.dataset.text = text;
    item.tokens = tokens;
    log.append(item);
    drawTurn(item);
    return item;
  }

  function drawTurn(item) {
    const isReply = item.classList.contains("is-model");
    const body = item.querySelector(".chat-text");
    if (isReply) {
      const current = item === replyItem;
      body.innerHTML = item.tokens.map((t, i) => (!showTokens() && t.special ? "" : chipHtml(t, current ? i : undefined))).join("");
      body.classList.toggle("as-tokens", showTokens());
      const buttons = body.querySelectorAll(".chat-tok");
      const focus = selected ?? buttons.length - 1;
      if (buttons[focus]) buttons[focus].tabIndex = 0;
    } else if (showTokens()) {
      body.innerHTML = item.tokens.map((t) => chipHtml(t)).join("");
      body.classList.add("as-tokens");
    } else {
      body.textContent = item.dataset.text;
      body.classList.remove("as-tokens");
    }
  }

  async function send(event) {
    event.preventDefault();
    const text = $(".chat-message").value.trim();
    if (!loaded || generating || !text) return;
    showError(element, null);
    generating = true;
    stopAsked = false;
    enable();
    try {
      const heard = await call("say", { text });
      addTurn("user", text, heard.tokens);
      $(".chat-message").value = "";
      const previous = replyItem;
      replyItem = addTurn("model", "", []);
      if (previous) drawTurn(previous); // its tokens stop being buttons: only the latest reply opens steps
      selected = null;
      $(".chat-step").hidden = true;
      const times = [];
      const max = Math.max(1, Number($(".chat-max").value) || 200);
      announce("SmolLM2 is replying.");
      while (!stopAsked && replyItem.tokens.length < max) {
        const token = await call("next_token", settings());
        times.push(token.ms);
        replyItem.tokens.push(token);
        drawTurn(replyItem);
        drawn();
        if (token.done) break;
      }
      const words = replyItem.tokens.map((t) => t.text).join("").replace("<|im_end|>", "");
      const perToken = times.slice(1).reduce((a, b) => a + b, 0) / Math.max(1, times.length - 1);
      $(".chat-speed").textContent = `Read ${heard.tokens.length} new tokens in ${fixed(heard.seconds, 2)} s; ` +
        `wrote ${times.length} at ${fixed(1000 / perToken, 1)} tokens/s (${Math.round(perToken)} ms each). ` +
        "Press a token of the reply to open the step it was drawn at.";
      announce(`${stopAsked ? "Stopped. " : ""}SmolLM2: ${words}`);
    } catch (err) {
      fail("The model could not reply:")(err);
    }
    generating = false;
    enable();
    drawn();
  }
  $(".chat-form").addEventListener("submit", send);
  $(".chat-message").addEventListener("keydown", (event) => {
    if (event.key === "Enter" && !event.shiftKey) send(event); // Shift+Enter: a new line
  });
  $(".chat-stop").addEventListener("click", () => {
    stopAsked = true;
    announce("Stopping after this token.");
  });
  $(".chat-new").addEventListener("click", async () => {
    if (generating) stopAsked = true;
    await call("new_conversation").catch(fail("Could not start afresh:"));
    log.innerHTML = "";
    replyItem = null;
    selected = null;
    $(".chat-step").hidden = true;
    announce("A new conversation.");
  });
  $(".chat-show-tokens").addEventListener("change", () => {
    for (const item of log.children) drawTurn(item);
    drawn();
  });
  for (const [cls, digits] of [["chat-t", 2], ["chat-p", 2]]) {
    $(`.${cls}`).addEventListener("input", (e) => ($(`.${cls}-out`).textContent = fixed(e.target.value, digits)));
  }

  // ---------------------------------------------------------------- one step, looked at
  const inspect = latest(async (temperature) => {
    const { top_k, top_p } = settings();
    const view = await call("inspect", { step: selected, temperature, top_k, top_p });
    const token = replyItem.tokens[selected];
    $(".chat-step-title").innerHTML = `Step ${selected + 1}: ${chipHtml(token)} was drawn with probability ` +
      `<span class="chat-num">${fixed(token.prob, 3)}</span> under the chat's settings; it ranks ` +
      `${view.chosen.rank.toLocaleString("en-US")} of ${view.vocab.toLocaleString("en-US")} tokens.`;
    $(".chat-cands").innerHTML = candidatesHtml(view);
    $(".chat-step-facts").textContent = `At temperature ${fixed(temperature, 2)} the distribution's entropy is ` +
      `${fixed(view.entropy_bits, 2)} bits; with top-k ${top_k ?? "off"} and top-p ${fixed(top_p, 2)}, ` +
      `${view.kept.toLocaleString("en-US")} token${view.kept === 1 ? "" : "s"} could have been drawn.`;
    element.dataset.inspected = JSON.stringify({ step: selected, temperature, chosen: view.chosen });
    drawn();
  }, fail("This step could not be shown:"));

  const attend = latest(async ({ layer, head }) => {
    const seen = await call("attention", { step: selected, layer, head });
    const top = Math.max(...seen.weights);
    $(".chat-attn-title").textContent = `Where the query of step ${selected + 1} looked, layer ${layer + 1}, head ${head + 1} ` +
      "(the thicker the bar under a token, the more attention; the weights sum to 1):";
    $(".chat-attn").innerHTML = seen.tokens.map((t, i) =>
      `<span class="chat-chip chat-attn-tok${t.special ? " is-special" : ""}" style="--w:${fixed(seen.weights[i] / top, 3)}">` +
      `${escapeHtml(visible(t.text))}</span>`).join("");
    const order = seen.weights.map((w, i) => [w, i]).sort((a, b) => b[0] - a[0]).slice(0, 5);
    $(".chat-attn-top").innerHTML = order.map(([w, i]) =>
      `<li><span class="chat-chip">${escapeHtml(visible(seen.tokens[i].text))}</span> (token ${i + 1}) ` +
      `<span class="chat-num">${fixed(w, 3)}</span></li>`).join("");
    drawn();
  }, fail("The attention weights could not be shown:"));

  const grow = latest(async ({ depth, branches, temperature }) => {
    $(".chat-tree").textContent = "Growing: one forward pass per branch…";
    const tree = await call("tree", { step: selected, depth, branches, temperature });
    const path = replyItem.tokens.slice(selected).map((t) => visible(t.text));
    const named = (node) => ({ ...node, word: visible(node.word), children: node.children.map(named) });
    $(".chat-tree").innerHTML = `<p class="gx-tree-title">What could have followed “${escapeHtml(visible(tree.word))}”, ` +
      `${depth} token${depth > 1 ? "s" : ""} deep, the ${branches} likeliest at each step (temperature ` +
      `${fixed(temperature, 2)}); the reply's own path is marked</p>${treeHtml(named(tree), path)}`;
    announce("The tree is drawn.");
    drawn();
  }, fail("The tree could not be grown:"));

  const attentionSettings = () => ({ layer: Number($(".chat-layer").value), head: Number($(".chat-head").value) });

  function open(step) {
    selected = step;
    const panel = $(".chat-step");
    panel.hidden = false;
    $(".chat-step-t").value = $(".chat-t").value;
    $(".chat-step-t").disabled = false;
    $(".chat-step-t-out").textContent = fixed($(".chat-t").value, 2);
    $(".chat-tree").innerHTML = "";
    inspect(Number($(".chat-step-t").value) || 0.05);
    attend(attentionSettings());
    announce(`Step ${step + 1} opened: its distribution and attention are below.`);
  }

  log.addEventListener("click", (event) => {
    const token = event.target.closest(".chat-tok");
    if (token && !generating) open(Number(token.dataset.step));
  });
  // The reply's tokens are one tab stop; arrows move along them (Home/End to the ends).
  log.addEventListener("keydown", (event) => {
    const token = event.target.closest(".chat-tok");
    if (!token) return;
    const all = [...token.parentElement.querySelectorAll(".chat-tok")];
    const moves = { ArrowRight: 1, ArrowDown: 1, ArrowLeft: -1, ArrowUp: -1 };
    let next = all.indexOf(token);
    if (event.key in moves) next = Math.min(all.length - 1, Math.max(0, next + moves[event.key]));
    else if (event.key === "Home") next = 0;
    else if (event.key === "End") next = all.length - 1;
    else return;
    event.preventDefault();
    token.tabIndex = -1;
    all[next].tabIndex = 0;
    all[next].focus();
  });
  $(".chat-step-t").addEventListener("input", (e) => {
    $(".chat-step-t-out").textContent = fixed(e.target.value, 2);
    inspect(Number(e.target.value));
  });
  $(".chat-layer").addEventListener("change", () => attend(attentionSettings()));
  $(".chat-head").addEventListener("change", () => attend(attentionSettings()));
  $(".chat-grow").addEventListener("click", () => grow({
    depth: Number($(".chat-depth").value), branches: Number($(".chat-branches").value),
    temperature: Number($(".chat-step-t").value),
  }));

  // Chromium tells how much memory the device has (in GB, rounded down); the model needs about
  // 0.8 GB of it. Say so before the reader waits for a load that may fail.
  if (navigator.deviceMemory && navigator.deviceMemory < 2) {
    $(".chat-load-text").textContent = `This device reports ${navigator.deviceMemory} GB of memory; ` +
      "the model needs about 0.8 GB of it in this tab, so it may not load here.";
  }

  context.ready.then(() => {
    $(".chat-load-button").disabled = false;
    showLive(element, "Live: the model runs in your browser, in lmlab's numpy; nothing you type leaves this page.");
    drawn();
  });
}
