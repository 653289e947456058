"""BPE training: lmlab's incremental trainer against the straightforward recount-every-merge loop.

Run from the repo root: .venv/bin/python build/bench/bpe.py
The baseline is the reference implementation kept in tests/unit/test_bpe.py; both must learn the
same merges (checked here too). Text: commander's README from node_modules (English prose + code).
"""

import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path[:0] = [str(REPO / "py"), str(REPO / "tests" / "unit")]

from lmlab.bpe import char_alphabet, text_to_ids, train_bpe  # noqa: E402
from test_bpe import naive_train_bpe  # noqa: E402
from timing import best_of  # noqa: E402

TEXT_FILE = REPO / "node_modules" / "commander" / "Readme.md"


def main():
    text = TEXT_FILE.read_text(encoding="utf-8")
    cases = [
        ("bytes", text[:10_000], 300),
        ("bytes", text, 300),
        ("bytes", text, 1000),
        ("chars", text, 1000),
    ]
    print(f"text: {TEXT_FILE.relative_to(REPO)} ({len(text.encode()):,} bytes)")
    print(f"{'level':6} {'input':>8} {'merges':>7} {'naive s':>9} {'lmlab s':>9} {'speed-up':>9}")
    for level, sample, num_merges in cases:
        alphabet = char_alphabet(sample) if level == "chars" else None
        ids = text_to_ids(sample, alphabet)
        first_id = 256 if alphabet is None else len(alphabet)
        naive_s, naive = best_of(1, naive_train_bpe, ids, num_merges, first_id)
        fast_s, fast = best_of(3, train_bpe, ids, num_merges, alphabet=alphabet)
        assert fast == naive, "the fast trainer must learn exactly the reference merges"
        print(f"{level:6} {len(ids):>8,} {len(fast):>7} {naive_s:>9.3f} {fast_s:>9.3f} "
              f"{naive_s / fast_s:>8.1f}x")


if __name__ == "__main__":
    main()
