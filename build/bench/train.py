"""Training the small GPT and the MLP language model: lmlab (numpy) against PyTorch, same work.

Run from the repo root:
    .venv/bin/python build/bench/train.py [steps]                   CPython, PyTorch baseline
    node tests/pyodide/run.mjs --script build/bench/train.py [steps]   Pyodide (no PyTorch)
Corpus: commander's README from node_modules (42 KB of English and code), character level.
Both sides start from the same weights, see the same batches and take the same AdamW / SGD steps,
single-threaded, in float32; their losses should agree to a few decimals. The baseline is
PyTorch CPU where it exists; everywhere, a plain numpy matmul is timed as a yardstick, so that
CPython and Pyodide runs can be compared through it.
"""

import os

for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[var] = "1"  # a browser has one thread; threads also make timings erratic

import math  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

# Pyodide's runner executes this file without __file__, from the repo root.
REPO = Path(globals().get("__file__", "build/bench/train.py")).resolve().parents[2]
sys.path[:0] = [str(REPO / "py"), str(REPO / "tests" / "unit")]

from lmlab.gpt import GPT, GPTConfig, get_batch, hf_state_dict  # noqa: E402
from lmlab.mlp_lm import MLPLanguageModel, build_dataset, char_vocabulary, evaluate  # noqa: E402
from lmlab.nn import matmul  # noqa: E402
from lmlab.optim import SGD, AdamW, train_step  # noqa: E402

TEXT_FILE = REPO / "node_modules" / "commander" / "Readme.md"
GPT_STEPS = int(sys.argv[1]) if len(sys.argv) > 1 else 200
GPT_BATCH, GPT_LR = 16, 3e-3
MLP_STEPS, MLP_BATCH, MLP_LR = 5 * GPT_STEPS, 32, 0.1

try:
    import torch

    torch.set_num_threads(1)
except ImportError:
    torch = None


def timed(fn):
    start = time.perf_counter()
    result = fn()
    return time.perf_counter() - start, result


def matmul_yardstick():
    """ms for one float32 (512, 64) @ (64, 256) product (the GPT's c_fc), as lmlab.nn.matmul
    computes it: BLAS in CPython, einsum's loop in Pyodide."""
    rng = np.random.default_rng(0)
    a = rng.standard_normal((512, 64)).astype(np.float32)
    b = rng.standard_normal((64, 256)).astype(np.float32)
    seconds, _ = timed(lambda: [matmul(a, b) for _ in range(200)])
    return seconds / 200 * 1e3


def gpt_bench(data, vocab_size):
    config = GPTConfig(vocab_size=vocab_size, block_size=32, n_layer=2, n_head=4, n_embd=64)
    model = GPT(config, rng=0)
    initial = hf_state_dict(model)
    eval_rng = np.random.default_rng(123)
    eval_batches = [get_batch(data, 32, GPT_BATCH, eval_rng) for _ in range(8)]
    rng = np.random.default_rng(1)
    batches = [get_batch(data, 32, GPT_BATCH, rng) for _ in range(GPT_STEPS)]

    def eval_loss():
        return float(np.mean([model(x, y)[1] for x, y in eval_batches]))

    row = {"name": f"GPT {config.n_layer}x{config.n_embd}, {config.n_head} heads, ctx 32",
           "params": model.num_parameters(), "steps": GPT_STEPS, "start": eval_loss()}
    optimizer = AdamW(model, lr=GPT_LR)
    seconds, _ = timed(lambda: [
        train_step(model, optimizer, x, y, max_grad_norm=1.0) for x, y in batches
    ])
    row["ms"], row["end"] = seconds / GPT_STEPS * 1e3, eval_loss()

    if torch is not None:
        from test_gpt import is_conv1d, torch_gpt

        reference = torch_gpt(config).float()
        reference.load_state_dict({
            name: torch.tensor(value.T if is_conv1d(name) else value)
            for name, value in initial.items()
        })
        params = list(reference.parameters())  # lm_head is wte: listed once
        optimizer_t = torch.optim.AdamW([
            {"params": [p for p in params if p.ndim >= 2]},
            {"params": [p for p in params if p.ndim < 2], "weight_decay": 0.0},
        ], lr=GPT_LR)

        def torch_step(x, y):
            optimizer_t.zero_grad()
            _, loss = reference(torch.from_numpy(x), torch.from_numpy(y))
            loss.backward()
            torch.nn.utils.clip_grad_norm_(params, 1.0)
            optimizer_t.step()

        seconds, _ = timed(lambda: [torch_step(x, y) for x, y in batches])
        with torch.no_grad():
            row["torch_end"] = float(np.mean([
                reference(torch.from_numpy(x), torch.from_numpy(y))[1].item()
                for x, y in eval_batches
            ]))
        row["torch_ms"] = seconds / GPT_STEPS * 1e3
    return row, model


def mlp_bench(text):
    words = sorted({word for word in text.lower().split() if word.isalpha() and word.isascii()})
    vocab = char_vocabulary(words)
    X, Y = build_dataset(words, vocab, block_size=3)
    model = MLPLanguageModel(len(vocab), block_size=3, n_embd=10, n_hidden=64, rng=0)
    initial = {name: param.copy() for name, param, _ in model.named_parameters()}
    rng = np.random.default_rng(2)
    batches = [rng.integers(0, len(X), size=MLP_BATCH) for _ in range(MLP_STEPS)]
    row = {"name": f"MLP LM ctx 3, {len(words)} words", "params": model.num_parameters(),
           "steps": MLP_STEPS, "start": evaluate(model, X, Y)}
    optimizer = SGD(model, lr=MLP_LR)
    seconds, _ = timed(lambda: [train_step(model, optimizer, X[b], Y[b]) for b in batches])
    row["ms"], row["end"] = seconds / MLP_STEPS * 1e3, evaluate(model, X, Y)

    if torch is not None:
        F = torch.nn.functional
        p = {name: torch.tensor(value, requires_grad=True) for name, value in initial.items()}
        optimizer_t = torch.optim.SGD(list(p.values()), lr=MLP_LR)

        def forward(idx, targets):
            emb = F.embedding(torch.from_numpy(idx), p["emb.weight"]).view(len(idx), -1)
            hidden = torch.tanh(emb @ p["hidden.weight"] + p["hidden.bias"])
            return F.cross_entropy(hidden @ p["out.weight"] + p["out.bias"],
                                   torch.from_numpy(targets))

        def torch_step(batch):
            optimizer_t.zero_grad()
            forward(X[batch], Y[batch]).backward()
            optimizer_t.step()

        seconds, _ = timed(lambda: [torch_step(b) for b in batches])
        row["torch_ms"] = seconds / MLP_STEPS * 1e3
        with torch.no_grad():
            row["torch_end"] = forward(X, Y).item()
    return row


def generation_bench(model):
    """ms per new token, filling the 32-token window from a 1-token prompt."""
    new = model.config.block_size - 1
    best, outputs = {False: math.inf, True: math.inf}, {}
    for _ in range(3):  # best of 3, alternating, so that both see the same machine
        for use_cache in (False, True):
            seconds, outputs[use_cache] = timed(
                lambda: model.generate([0], new, seed=0, use_cache=use_cache)  # noqa: B023
            )
            best[use_cache] = min(best[use_cache], seconds / new * 1e3)
    assert np.array_equal(outputs[False], outputs[True]), "the cache must not change the tokens"
    return best[False], best[True]


def main():
    text = TEXT_FILE.read_text(encoding="utf-8")
    chars = sorted(set(text))
    data = np.array([chars.index(c) for c in text], dtype=np.int64)
    runtime = "Pyodide" if sys.platform == "emscripten" else "CPython"
    print(f"{runtime} {sys.version.split()[0]}, numpy {np.__version__}, "
          f"torch {torch.__version__ if torch else 'absent'} (1 thread)")
    print(f"corpus: {TEXT_FILE.relative_to(REPO)} ({len(text):,} chars, {len(chars)} symbols); "
          f"uniform-guess loss ln {len(chars)} = {math.log(len(chars)):.3f}")
    print(f"yardstick: numpy float32 (512,64)@(64,256) matmul = {matmul_yardstick():.3f} ms")

    gpt_row, model = gpt_bench(data, len(chars))
    rows = [gpt_row, mlp_bench(text)]
    header = (f"{'model':34} {'params':>7} {'steps':>6} {'ms/step':>8} {'torch ms':>9} "
              f"{'ratio':>6} {'loss start':>10} {'loss end':>9} {'torch end':>9}")
    print(header)
    for row in rows:
        torch_cols = (f"{row['torch_ms']:>9.2f} {row['ms'] / row['torch_ms']:>5.1f}x"
                      if "torch_ms" in row else f"{'-':>9} {'-':>6}")
        torch_end = f"{row['torch_end']:>9.4f}" if "torch_end" in row else f"{'-':>9}"
        print(f"{row['name']:34} {row['params']:>7,} {row['steps']:>6} {row['ms']:>8.2f} "
              f"{torch_cols} {row['start']:>10.4f} {row['end']:>9.4f} {torch_end}")
    uncached, cached = generation_bench(model)
    print(f"GPT generation, 31 tokens: {uncached:.2f} ms/token without KV cache, "
          f"{cached:.2f} with ({uncached / cached:.1f}x)")


if __name__ == "__main__":
    main()
