// Moving between chapters without reloading, so the Python worker (and its loaded numpy) stays.
// Links marked data-nav are fetched and swapped in; everything else behaves as usual, and a
// failed fetch falls back to ordinary navigation, as does a page of another build (a new deploy):
// a page and its runtime always come from the same build; on file:// links are ordinary links.
import { buildOf } from "./offline.js";
import { inFolder } from "./folder.js";

export function enableRouter(onPageChange) {
  // From a folder a page cannot fetch another: links stay links, and each page starts Python.
  if (inFolder) return;
  // The page on show, without its fragment: a link within it, or Back over one, fires popstate
  // too, and must only scroll, as the browser does, not fetch the chapter again and swap it in.
  let shown = location.pathname;
  const go = async (url, push) => {
    let html;
    try {
      const response = await fetch(url);
      if (!response.ok) throw new Error(response.statusText);
      html = await response.text();
    } catch {
      location.href = url;
      return;
    }
    const next = new DOMParser().parseFromString(html, "text/html");
    if (buildOf(next) !== buildOf(document)) {
      location.href = url;
      return;
    }
    document.title = next.title;
    document.body.dataset.page = next.body.dataset.page;
    document.querySelector("main").replaceWith(document.adoptNode(next.querySelector("main")));
    for (const part of [".site-nav", "#contents", "#page-data", 'meta[name="lmlab-warm"]']) {
      document.querySelector(part).replaceWith(document.adoptNode(next.querySelector(part)));
    }
    if (push) history.pushState({}, "", url);
    shown = location.pathname;
    onPageChange();
    // Scrolling to a target and moving the focus force a layout of the whole new chapter; the
    // new page's cells can already be run while that happens.
    requestAnimationFrame(() => {
      // A fragment is an element's id (#cell-x) or a widget's shared state (#w1-word=cat&...),
      // which is no CSS selector: look it up by id, never through querySelector.
      const target = new URL(url).hash.slice(1);
      if (target) document.getElementById(safeDecode(target))?.scrollIntoView();
      else window.scrollTo(0, 0);
      document.querySelector("main h1")?.focus({ preventScroll: true });
    });
  };

  document.addEventListener("click", (event) => {
    const link = event.target.closest("a[data-nav]");
    if (!link || event.defaultPrevented || event.button !== 0) return;
    if (event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
    event.preventDefault();
    go(link.href, true);
  });
  window.addEventListener("popstate", () => location.pathname !== shown && go(location.href, false));
}

function safeDecode(text) {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}
