// The data files a chapter asks for (its front matter's `data:`; the builder lists them in the
// page as [{file, url, sha256, bytes}]). The worker fetches them from the site itself as soon as
// the page names them, while Python is still starting; once Python is ready (until then the
// machine is Python's), checks each by sha256 and writes it into Pyodide's file system, where
// lmlab.data reads it; and keeps it in Cache Storage, so a later visit or another chapter needs
// no download. A file that cannot be had is written as FILE.error
// with the reason instead, and lmlab.data raises that reason as a readable error in the cell.
const CACHE = "lmlab-data";
export const DATA_DIR = "/lmlab/data";

async function sha256Hex(bytes) {
  const digest = await crypto.subtle.digest("SHA-256", bytes);
  return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, "0")).join("");
}

async function openCache() {
  try {
    return await caches.open(CACHE);
  } catch {
    return null; // no Cache Storage here: every visit downloads again
  }
}

// The body, read piece by piece so that onProgress(received, total) can follow a big download.
async function readBody(response, onProgress) {
  const total = Number(response.headers.get("content-length")) || 0;
  if (!onProgress || !response.body) return new Uint8Array(await response.arrayBuffer());
  const pieces = [];
  let received = 0;
  for (const reader = response.body.getReader(); ;) {
    const { done, value } = await reader.read();
    if (done) break;
    pieces.push(value);
    received += value.length;
    onProgress(received, total);
  }
  const bytes = new Uint8Array(received);
  let at = 0;
  for (const piece of pieces) {
    bytes.set(piece, at);
    at += piece.length;
  }
  return bytes;
}

// The file's bytes, from the cache or the site, checked once `checkAfter` settles; throws an
// Error whose message says what failed.
async function fetchChecked({ url, sha256 }, cache, { onProgress, checkAfter, keep, priority }) {
  const saved = await cache?.match(url);
  if (saved) {
    const bytes = new Uint8Array(await saved.arrayBuffer());
    await checkAfter;
    if ((await sha256Hex(bytes)) === sha256) return bytes;
    await cache.delete(url); // damaged in storage: fetch it again
  }
  let response;
  try {
    response = await fetch(url, { cache: "no-cache", priority });
  } catch (err) {
    throw new Error(`it could not be downloaded from ${url} (${err.message}). Check your connection and reload the page.`);
  }
  if (!response.ok) {
    throw new Error(`the site answered ${response.status} ${response.statusText} for ${url}. Reload the page; if it persists, the site is missing the file.`);
  }
  const bytes = await readBody(response, onProgress);
  await checkAfter;
  const got = await sha256Hex(bytes);
  if (got !== sha256) {
    throw new Error(`it arrived damaged from ${url}: its sha256 is ${got.slice(0, 16)}…, not ${sha256.slice(0, 16)}…. Reload the page.`);
  }
  // The cell waiting for these bytes need not wait for the disk.
  if (cache) keep(() => keepFile(cache, url, bytes).catch(() => {}));
  return bytes;
}

// Files are named by their content, "data/glove-50d-words-1a2b3c4d5e6f.txt": the same name with
// another hash is an older edition of the file. (Not every name that begins alike:
// "data/glove-50d-" is the start of "data/glove-50d-words-…", another file.)
const nameOf = (url) => url.slice(0, url.lastIndexOf("-"));

/** Puts the file in `cache` (a Cache) and drops its older editions there. */
export async function keepFile(cache, url, bytes) {
  for (const old of await cache.keys()) {
    if (old.url !== url && nameOf(old.url) === nameOf(url)) await cache.delete(old);
  }
  await cache.put(url, new Response(bytes)).catch(() => {}); // full or refused: fetched next time
}

/** [{file, url, sha256}] -> Promise of [{file, bytes} | {file, error}]; never rejects.
 * onProgress(file, received, total), if given, follows each download from the site; each file is
 * checked once the promise `checkAfter` (if given) settles; keep(task), if given, decides when
 * task() puts a downloaded file in Cache Storage (default: at once); priority is fetch()'s
 * ("low": after the downloads the browser has at "high", such as Python's own files). */
export async function fetchData(files, { onProgress, checkAfter, keep = (task) => task(), priority = "auto" } = {}) {
  const cache = await openCache();
  return Promise.all(
    files.map(async (entry) => {
      try {
        const progress = onProgress && ((received, total) => onProgress(entry.file, received, total));
        const options = { onProgress: progress, checkAfter, keep, priority };
        return { file: entry.file, bytes: await fetchChecked(entry, cache, options) };
      } catch (err) {
        return { file: entry.file, error: String(err.message || err) };
      }
    }),
  );
}

/** Writes fetched files (or their .error notes) into Pyodide's file system. */
export function writeData(FS, results) {
  FS.mkdirTree(DATA_DIR);
  for (const { file, bytes, error } of results) {
    const path = `${DATA_DIR}/${file}`;
    if (bytes) {
      FS.writeFile(path, bytes);
      if (FS.analyzePath(`${path}.error`).exists) FS.unlink(`${path}.error`);
    } else if (!FS.analyzePath(path).exists) {
      FS.writeFile(`${path}.error`, error);
    }
  }
}
