// Draws what a cell sends back. Text is always text (textContent, never parsed as HTML); only a
// display() of an object that offers HTML or SVG becomes markup.
export class OutputArea {
  constructor(element) {
    this.element = element;
    this.lastStream = null;
  }

  clear() {
    this.element.replaceChildren();
    this.lastStream = null;
  }

  add(kind, payload) {
    if (kind === "stream") this.stream(payload.name, payload.text);
    else if (kind === "display") this.display(payload.mime, payload.data);
    else if (kind === "error") this.error(payload);
  }

  stream(name, text) {
    // Consecutive writes to the same stream grow one <pre>, so a printing loop stays cheap.
    if (!this.lastStream || this.lastStream.dataset.stream !== name) {
      this.lastStream = this.block("pre", `output-${name}`);
      this.lastStream.dataset.stream = name;
    }
    this.lastStream.append(text);
  }

  display(mime, data) {
    this.lastStream = null;
    if (mime === "text/html" || mime === "image/svg+xml") {
      this.block("div", "output-rich").innerHTML = data;
    } else if (mime === "image/png") {
      const img = this.block("img", "output-image");
      img.src = `data:image/png;base64,${data}`;
      img.alt = "image output";
    } else {
      this.block("pre", "output-value").textContent = data;
    }
  }

  error({ traceback }) {
    this.lastStream = null;
    const pre = this.block("pre", "output-error");
    pre.textContent = traceback;
  }

  notice(text) {
    this.lastStream = null;
    this.block("p", "output-notice").textContent = text;
  }

  block(tag, className) {
    const node = document.createElement(tag);
    node.className = className;
    this.element.append(node);
    return node;
  }
}
