// "Download as notebook": the chapter as a Jupyter notebook with the reader's code in it. The
// builder wrote the chapter's notebook (build/notebooks.py) with the book's code; this puts each
// cell's current code (edits included) into the code cell with the same metadata.lmlab.cell, and
// the site's absolute address into the first cells, which install lmlab where it is missing and
// fetch the chapter's data files.
import { fetchFromSite } from "./folder.js";

const WHEEL_PLACEHOLDER = "{{LMLAB_WHEEL_URL}}";
const SITE_PLACEHOLDER = "{{SITE_URL}}";

export async function downloadNotebook(page, siteRoot) {
  const response = await fetchFromSite(`notebooks/${page.slug}.ipynb`, siteRoot);
  if (!response.ok) throw new Error(`the notebook of this chapter could not be fetched (${response.status})`);
  const notebook = await response.json();
  const lock = await (await fetchFromSite("pyodide/pyodide-lock.json", siteRoot)).json();
  const wheel = new URL(`pyodide/${lock.packages.lmlab.file_name}`, siteRoot).href;
  const code = new Map(page.cells.map((cell) => [cell.id, cell.code]));
  for (const cell of notebook.cells) {
    if (cell.cell_type !== "code") continue;
    const id = cell.metadata.lmlab?.cell;
    if (code.has(id)) cell.source = code.get(id);
    else if (cell.metadata.lmlab?.install) {
      cell.source = cell.source.replace(WHEEL_PLACEHOLDER, wheel).replaceAll(SITE_PLACEHOLDER, siteRoot.href);
    }
  }
  const blob = new Blob([JSON.stringify(notebook, null, 1)], { type: "application/x-ipynb+json" });
  const link = Object.assign(document.createElement("a"), {
    href: URL.createObjectURL(blob),
    download: `${page.slug}.ipynb`,
  });
  link.click();
  URL.revokeObjectURL(link.href);
}
