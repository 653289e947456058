"""GPT-2 encoding throughput: lmlab.gpt2 against tiktoken on the same text, in the same run.

Run from the repo root: .venv/bin/python build/bench/gpt2_encode.py
Text: every Markdown file under node_modules (English prose, code samples, tables) followed by a
multilingual block (accents, Cyrillic, Greek, CJK, emoji, numbers), about 300 KB. Both
tokenizers are built from GPT-2's files (prepared by build/data.py); their ids are checked to be
identical.

lmlab caches the ids of every pre-token, so it is measured twice: "cold" is a fresh tokenizer
(every distinct piece goes through BPE once), "warm" encodes the same text again (every piece is
a dictionary hit). tiktoken has no such cache; it is timed as the best of three runs.
"""

import os
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "py"))
os.environ["TIKTOKEN_CACHE_DIR"] = ""  # read the local GPT-2 files, cache nothing

import tiktoken  # noqa: E402
from lmlab import data  # noqa: E402
from lmlab.gpt2 import END_OF_TEXT, GPT2_PATTERN, GPT2Tokenizer  # noqa: E402
from tiktoken.load import data_gym_to_mergeable_bpe_ranks  # noqa: E402

GPT2 = data.gpt2_files()
MULTILINGUAL = (
    "Zürich, São Paulo, Ærøskøbing, naïve café. Привет, мир! Γειά σου κόσμε! "
    "東京タワーは高いです。中文分词很难。한국어 문장입니다. नमस्ते दुनिया. "
    "emoji 🙂👍🏽 ❤️ 3.14159 2024 1,000,000 ½ ² Ⅻ\n"
) * 200


def load_text():
    markdown = sorted((REPO / "node_modules").rglob("*.md"))
    prose = "\n".join(path.read_text(encoding="utf-8", errors="replace") for path in markdown)
    return prose + MULTILINGUAL


def timed(fn, *args):
    start = time.perf_counter()
    result = fn(*args)
    return time.perf_counter() - start, result


def main():
    text = load_text()
    megabytes = len(text.encode("utf-8")) / 1e6

    load_s, tokenizer = timed(GPT2Tokenizer.from_files, GPT2["encoder.json"], GPT2["vocab.bpe"])
    ranks = data_gym_to_mergeable_bpe_ranks(
        vocab_bpe_file=str(GPT2["vocab.bpe"]), encoder_json_file=str(GPT2["encoder.json"])
    )
    reference = tiktoken.Encoding(
        name="gpt2", pat_str=GPT2_PATTERN, mergeable_ranks=ranks,
        special_tokens={END_OF_TEXT: 50256}, explicit_n_vocab=50257,
    )

    cold_s, ids = timed(tokenizer.encode, text)
    warm_s = min(timed(tokenizer.encode, text)[0] for _ in range(3))
    tiktoken_s, expected = min(timed(reference.encode_ordinary, text) for _ in range(3))
    assert ids == expected, "lmlab and tiktoken disagree"
    pieces_s = min(timed(tokenizer.pretokenize, text)[0] for _ in range(3))

    print(f"text: {megabytes * 1000:,.0f} KB, {len(ids):,} tokens, "
          f"{len(tokenizer.cache):,} distinct pre-tokens; lmlab tokenizer load {load_s:.2f} s")
    print(f"{'encoder':24} {'seconds':>8} {'MB/s':>7} {'tokens/s':>11} {'vs tiktoken':>12}")
    for name, seconds in [
        ("tiktoken (baseline)", tiktoken_s),
        ("lmlab cold cache", cold_s),
        ("lmlab warm cache", warm_s),
        ("lmlab pre-tokenize only", pieces_s),
    ]:
        print(f"{name:24} {seconds:>8.3f} {megabytes / seconds:>7.2f} "
              f"{len(ids) / seconds:>11,.0f} {seconds / tiktoken_s:>11.1f}x")


if __name__ == "__main__":
    main()
