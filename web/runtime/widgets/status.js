// What every widget's footer (markup.js widgetFooter) does in the browser: show or hide an error,
// and say that the numbers are now live.

/** title null hides the error box. */
export function showError(element, title, text = "") {
  const box = element.querySelector(".widget-error");
  box.hidden = !title;
  box.querySelector(".widget-error-title").textContent = title || "";
  box.querySelector(".widget-error-text").textContent = text;
}

export function showLive(element, text) {
  const status = element.querySelector(".widget-status");
  status.dataset.state = "live";
  status.textContent = text;
}
