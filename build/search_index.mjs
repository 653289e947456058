// The book's full-text search index, built by Pagefind (npm) from the rendered pages into
// <site>/pagefind/: static files that the page's search box (web/runtime/search.js) queries in the
// reader's browser, from the site's own origin. Only each page's text and code are indexed (the
// element marked data-pagefind-body), with a sub-result per section heading.
//   node build/search_index.mjs <site folder>   ->   stdout: {"pages": N}
import * as pagefind from "pagefind";

const site = process.argv[2];
const fail = (what, errors) => {
  if (errors?.length) throw new Error(`Pagefind could not ${what}: ${errors.join("; ")}`);
};
// Not indexed: KaTeX's hidden MathML (the TeX source again), cell outputs and widgets (numbers),
// and the difficulty beside a heading (a section's title is its words, not "hard"). ".difficulty"
// alone still left its nested screen-reader text in the section's title: hence ".difficulty *".
const excludeSelectors = [".katex-mathml", ".cell-output", ".widget", ".difficulty", ".difficulty *"];
const { index, errors } = await pagefind.createIndex({ forceLanguage: "en", excludeSelectors });
fail("start", errors);
const added = await index.addDirectory({ path: site });
fail("index the pages", added.errors);
fail("write the index", (await index.writeFiles({ outputPath: `${site}/pagefind` })).errors);
await pagefind.close();
process.stdout.write(JSON.stringify({ pages: added.page_count }));
