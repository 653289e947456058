"""word2vec on the toy corpus (20 words, 100 epochs): vectorised SGD against plain loops.

Run from the repo root: .venv/bin/python build/bench/word2vec.py
The baseline is the word-by-word loop implementation kept in tests/unit/test_word2vec.py
(`loop_train`); lmlab's batch="sentence" must give the same vectors (checked here too).
batch="example" is lmlab's classic one-update-per-example SGD: slightly different numbers,
the cost of a Python loop over examples. The target is under 0.2 s for skip-gram in CPython.
"""

import sys
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[2]
sys.path[:0] = [str(REPO / "py"), str(REPO / "tests" / "unit")]

from lmlab.word2vec import TOY_CORPUS, train_word2vec  # noqa: E402
from test_word2vec import loop_train  # noqa: E402
from timing import best_of  # noqa: E402

SETTINGS = dict(dim=10, window=2, epochs=100, lr=0.025, seed=0)


def main():
    print("toy corpus (15 sentences, 81 tokens, 20 words), dim 10, window 2, k 5, 100 epochs")
    print(f"{'model':9} {'version':24} {'seconds':>8} {'speed-up':>9} {'final loss':>11}")
    for model in ("skipgram", "cbow"):
        loop_s, (loop_vectors, _, loop_loss) = best_of(
            1, loop_train, TOY_CORPUS, model, k=5, batch="sentence", **SETTINGS
        )
        rows = [("loop reference (tests)", loop_s, loop_loss[-1])]
        for batch, repeats in (("example", 2), ("sentence", 5)):
            seconds, result = best_of(
                repeats, train_word2vec, TOY_CORPUS, model=model, batch=batch, **SETTINGS
            )
            if batch == "sentence":
                assert np.allclose(result["vectors"], loop_vectors, rtol=1e-10, atol=1e-12)
            rows.append((f'lmlab batch="{batch}"', seconds, result["loss"][-1]))
        for version, seconds, loss in rows:
            print(f"{model:9} {version:24} {seconds:>8.3f} {loop_s / seconds:>8.1f}x {loss:>11.4f}")


if __name__ == "__main__":
    main()
