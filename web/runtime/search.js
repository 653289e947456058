// Search across the book. The index is Pagefind's (build/search_index.mjs): static files on the
// site, loaded the first time the reader reaches for the box, so a page that is only read pays
// nothing. "/" anywhere outside a text field focuses the box; Down arrow enters the results, the
// arrows move through them, Escape closes them.
import { inFolder } from "./folder.js";

const SHOWN = 8;
// From a folder (file://) a page may read no other file, so Pagefind cannot load its index.
const NO_SEARCH_IN_FOLDER = "Search works on the book's website, not in the downloaded folder: a page opened from a folder may not read the search index. The contents list every chapter and its sections.";
const SECTIONS_PER_PAGE = 3;

let api = null;

function loadIndex(siteRoot) {
  api ??= import(new URL("pagefind/pagefind.js", siteRoot).href).then(async (pagefind) => {
    await pagefind.options({ baseUrl: siteRoot.pathname });
    await pagefind.init();
    return pagefind;
  });
  return api;
}

function resultHtml(page) {
  const link = (url, title, excerpt, cls) =>
    `<li class="${cls}"><a href="${url}" data-nav>${title}</a><p>${excerpt}</p></li>`;
  // Pagefind's titles and excerpts are the pages' own text, escaped by Pagefind, with <mark>s.
  // The sections where the words occur most often, in the page's order.
  const sections = page.sub_results
    .filter((sub) => sub.url !== page.url)
    .map((sub, order) => ({ ...sub, order }))
    .sort((a, b) => b.locations.length - a.locations.length)
    .slice(0, SECTIONS_PER_PAGE)
    .sort((a, b) => a.order - b.order)
    .map((sub) => link(sub.url, sub.title, sub.excerpt, "search-section"));
  return link(page.url, page.meta.title, page.excerpt, "search-page").replace(
    "</li>", sections.length ? `<ul>${sections.join("")}</ul></li>` : "</li>");
}

export function bindSearch(siteRoot) {
  const form = document.querySelector("form.search");
  const input = document.getElementById("search-input");
  const panel = document.getElementById("search-results");
  const count = document.getElementById("search-count");
  let latest = 0;

  const close = () => (panel.hidden = true);
  const links = () => [...panel.querySelectorAll("a")];

  async function search() {
    const query = input.value.trim();
    const ticket = ++latest;
    if (!query) {
      panel.replaceChildren();
      count.textContent = "";
      return close();
    }
    if (inFolder) {
      panel.innerHTML = `<p class="search-none">${NO_SEARCH_IN_FOLDER}</p>`;
      panel.hidden = false;
      count.textContent = "Search is not available in the downloaded folder";
      return;
    }
    const pagefind = await loadIndex(siteRoot);
    const found = await pagefind.search(query);
    const pages = await Promise.all(found.results.slice(0, SHOWN).map((result) => result.data()));
    if (ticket !== latest) return; // the reader has typed on
    panel.innerHTML = pages.length
      ? `<ol>${pages.map(resultHtml).join("")}</ol>`
      : `<p class="search-none">Nothing in the book matches “${query.replace(/[<&]/g, "")}”.</p>`;
    panel.hidden = false;
    count.textContent = `${found.results.length} page${found.results.length === 1 ? "" : "s"} found`;
    panel.dispatchEvent(new CustomEvent("search:shown", { detail: { query } }));
  }

  if (!inFolder) input.addEventListener("focus", () => loadIndex(siteRoot), { once: true });
  input.addEventListener("input", search);
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    links()[0]?.click();
  });
  form.addEventListener("keydown", (event) => {
    const all = links();
    const at = all.indexOf(document.activeElement);
    if (event.key === "Escape") {
      close();
      input.focus();
    } else if (event.key === "ArrowDown" && all.length) {
      event.preventDefault();
      all[Math.min(at + 1, all.length - 1)].focus();
    } else if (event.key === "ArrowUp" && at >= 0) {
      event.preventDefault();
      (at === 0 ? input : all[at - 1]).focus();
    }
  });
  panel.addEventListener("click", (event) => {
    if (event.target.closest("a")) close();
  });
  document.addEventListener("keydown", (event) => {
    if (event.key !== "/" || event.ctrlKey || event.metaKey || event.altKey) return;
    const target = event.target;
    if (target.closest?.("input, textarea, select, [contenteditable], .cm-editor")) return;
    event.preventDefault();
    input.focus();
  });
  document.addEventListener("click", (event) => {
    if (!form.contains(event.target)) close();
  });
}
