"""Scaling laws: how loss falls with parameters, data and compute, and how to split a budget.

Hoffmann et al. 2022 ("Training Compute-Optimal Large Language Models", the Chinchilla paper)
fit the final loss of over 400 training runs (70 M to 16 B parameters, 5 to 500 B tokens) with

    L(N, D) = E + A / N^alpha + B / D^beta

E is the loss no model can beat (the text's own entropy), A / N^alpha what a model of N
parameters lacks in capacity, B / D^beta what D training tokens lack in evidence. Training costs
C = 6 N D FLOPs, so a fixed budget C is a curve (N, D = C / 6N) along which the loss is U-shaped:
too small a model has no capacity, too big a one sees too few tokens. Its bottom, the
compute-optimal split, grows as N_opt ~ C^(beta / (alpha + beta)) ~ C^0.45 and
D_opt ~ C^(alpha / (alpha + beta)) ~ C^0.55 with the fit's rounded constants (the paper's two
other methods give 0.50 / 0.50 and 0.49 / 0.51: both N and D grow as the square root of C, which
at Chinchilla's budget is about 20 tokens per parameter).

Kaplan et al. 2020 ("Scaling Laws for Neural Language Models") had found L ~ C^-0.050 for models
trained compute-efficiently, with most of a bigger budget going into parameters; the Chinchilla
paper showed that tokens deserve as much, and Chinchilla (70 B parameters, 1.4 T tokens) beat
Gopher (280 B, 300 B tokens) with about the same compute.
"""

import math
from dataclasses import dataclass

import numpy as np

from lmlab.book_model import BOOK_MODEL
from lmlab.gpt import parameter_counts
from lmlab.model_size import A100_BF16_FLOPS, figure, human


@dataclass(frozen=True)
class ChinchillaFit:
    """Hoffmann et al. 2022, eq. 10: the parametric loss fitted by their approach 3 (section 3.3),
    in nats per token on their MassiveText data. The constants are the paper's rounded ones."""

    E: float = 1.69
    A: float = 406.4
    B: float = 410.7
    alpha: float = 0.34
    beta: float = 0.28


CHINCHILLA = ChinchillaFit()

# The ranges of the runs the fit was made on (Hoffmann et al. 2022, abstract and section 3):
# outside them the law is an extrapolation.
FIT_PARAMS = (70e6, 16e9)
FIT_TOKENS = (5e9, 500e9)

# Kaplan et al. 2020, eq. 1.3 and Figure 1: L(C_min) = (C_c / C_min)^0.050, C_c = 3.1e8 PF-days,
# where 1 PF-day = 10^15 FLOP/s for a day = 8.64e19 FLOPs.
PF_DAY = 1e15 * 86_400
KAPLAN_C = 3.1e8 * PF_DAY
KAPLAN_EXPONENT = 0.050


def _plain(x: np.ndarray) -> np.ndarray | float:
    """An array as it is, a 0-d one as a Python float (scalars in, scalars out)."""
    return x if x.ndim else float(x)


def chinchilla_loss(N: np.ndarray | float, D: np.ndarray | float,
                    fit: ChinchillaFit = CHINCHILLA) -> np.ndarray | float:  # fmt: skip
    """L = E + A / N^alpha + B / D^beta for N parameters trained on D tokens (any shapes that
    broadcast), in nats per token of MassiveText."""
    N, D = np.asarray(N, dtype=float), np.asarray(D, dtype=float)
    return _plain(fit.E + fit.A / N**fit.alpha + fit.B / D**fit.beta)


def training_flops(N: np.ndarray | float, D: np.ndarray | float) -> np.ndarray | float:
    """C = 6 N D: each parameter costs 2 FLOPs per token going forward (a multiply and an add)
    and 4 going backward (the gradient for its input and the one for itself, each as costly as
    the forward product), on every one of D tokens."""
    return _plain(6 * np.asarray(N, dtype=float) * np.asarray(D, dtype=float))


def compute_optimal(C: np.ndarray | float, fit: ChinchillaFit = CHINCHILLA) -> tuple[
        np.ndarray | float, np.ndarray | float]:  # fmt: skip
    """(N_opt, D_opt): the split of C FLOPs that minimises L(N, D) subject to 6 N D = C.

    On the curve, L = E + A N^-alpha + B (C / 6N)^-beta; setting dL/dN = 0 gives
    alpha A N^-alpha = beta B (6N / C)^beta, so with G = (alpha A / (beta B))^(1 / (alpha + beta)):
    N_opt = G (C / 6)^(beta / (alpha + beta)) and D_opt = (C / 6)^(alpha / (alpha + beta)) / G.
    """
    s = fit.alpha + fit.beta
    G = (fit.alpha * fit.A / (fit.beta * fit.B)) ** (1 / s)
    budget = np.asarray(C, dtype=float) / 6
    return _plain(G * budget ** (fit.beta / s)), _plain(budget ** (fit.alpha / s) / G)


def isoflop_curve(C: float, N: np.ndarray, fit: ChinchillaFit = CHINCHILLA) -> np.ndarray:
    """The loss of models of N parameters (n,) each trained on the D = C / 6N tokens that a
    budget of C FLOPs buys -> (n,): the U-shaped valley whose bottom is compute_optimal(C)."""
    N = np.asarray(N, dtype=float)
    return chinchilla_loss(N, C / (6 * N), fit)


def kaplan_loss(C: np.ndarray | float) -> np.ndarray | float:
    """Kaplan et al.'s L = (C_c / C)^0.050 for C FLOPs spent compute-efficiently.

    Its loss is in their units, nats per token of WebText2 with GPT-2's tokenizer, so it is not
    comparable with chinchilla_loss (MassiveText, another tokenizer): compare slopes, not values.
    """
    return _plain((KAPLAN_C / np.asarray(C, dtype=float)) ** KAPLAN_EXPONENT)


def fit_power_law(x: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    """(a, b) of y = a x^b by least squares on log y = log a + b log x; x, y (n,) positive."""
    log_x, log_y = np.log(np.asarray(x, dtype=float)), np.log(np.asarray(y, dtype=float))
    dx = log_x - log_x.mean()
    b = float(dx @ (log_y - log_y.mean()) / (dx @ dx))
    return float(np.exp(log_y.mean() - b * log_x.mean())), b


@dataclass(frozen=True)
class PublishedModel:
    key: str
    name: str
    params: float
    tokens: float


_BOOK_PARAMS = parameter_counts(BOOK_MODEL.config())["total"]
_BOOK_TOKENS = BOOK_MODEL.steps * BOOK_MODEL.batch_size * BOOK_MODEL.block_size

MODELS = (
    # Brown et al. 2020 (GPT-3), Table 2.1 and section 2.2: 175 B parameters, 300 B tokens.
    PublishedModel("gpt3", "GPT-3", 175e9, 300e9),
    # Rae et al. 2021 (Gopher), Table 1: 280 B parameters; every model trained on 300 B tokens.
    PublishedModel("gopher", "Gopher", 280e9, 300e9),
    # Hoffmann et al. 2022, section 4.1: 70 B parameters, 1.4 T tokens, Gopher's budget.
    PublishedModel("chinchilla", "Chinchilla", 70e9, 1.4e12),
    # Touvron et al. 2023 (Llama 2), Table 1: 7 B (6.7 B exactly) parameters, 2.0 T tokens.
    PublishedModel("llama2-7b", "Llama 2 7B", 7e9, 2e12),
    # Meta, "Introducing Meta Llama 3" (April 2024), and Dubey et al. 2024: 8 B parameters,
    # over 15 T tokens.
    PublishedModel("llama3-8b", "Llama 3 8B", 8e9, 15e12),
    # lmlab.book_model: the book's GPT, 1,200 steps of 16 sequences of 64 tokens.
    PublishedModel("book", "The book's GPT", float(_BOOK_PARAMS), float(_BOOK_TOKENS)),
)

COMPUTE_RANGE = (12.0, 26.0)  # log10 FLOPs: the book's GPT (3.7e12) to beyond Llama 3 (7.2e23)
SIZE_RANGE = (-2.0, 2.0)  # log10(N / N_opt): the size slider, and the valley's width
VALLEY_POINTS = 81
FRONTIER_POINTS = 29
PARAMS_AXIS = (3.0, 13.0)  # log10 N on the size-against-compute plot
TOKENS_PER_PARAM_RULE = 20  # approaches 1 and 2 at Chinchilla's budget: D = 20 N


def flops_text(C: float) -> str:
    """5.88e23 -> "5.9e23 FLOPs"."""
    mantissa, exponent = f"{C:.1e}".split("e")
    return f"{mantissa}e{int(exponent)} FLOPs"


def a100_time(C: float) -> str:
    """How long one A100 at its full bfloat16 speed (312 TFLOP/s) takes for C FLOPs, in words."""
    seconds = C / A100_BF16_FLOPS
    for unit, length in (("year", 365.25 * 86_400), ("day", 86_400), ("hour", 3_600),
                         ("minute", 60), ("second", 1)):  # fmt: skip
        if seconds >= length:
            amount = seconds / length
            return f"{figure(amount)} {unit}{'' if figure(amount) == '1.00' else 's'} of one A100"
    return f"{human(seconds, 's')} of one A100"


def _point(C: float, N: float) -> dict:
    """A model of N parameters spending C FLOPs: its tokens, loss and texts."""
    D = C / (6 * N)
    loss = chinchilla_loss(N, D)
    inside = FIT_PARAMS[0] <= N <= FIT_PARAMS[1] and FIT_TOKENS[0] <= D <= FIT_TOKENS[1]
    return {
        "params": N, "tokens": D, "loss": loss, "tokens_per_param": D / N,
        "log10_params": math.log10(N), "in_fit_range": inside,
        "params_text": human(N, ""), "tokens_text": human(D, ""), "loss_text": f"{loss:.3f}",
        "tokens_per_param_text": figure(D / N),
    }  # fmt: skip


def _model_view(model: PublishedModel) -> dict:
    C = training_flops(model.params, model.tokens)
    N_opt, _ = compute_optimal(C)
    return {
        "key": model.key, "name": model.name, "params": model.params, "tokens": model.tokens,
        "compute": C, "log10_compute": math.log10(C), "log10_params": math.log10(model.params),
        "compute_text": flops_text(C), "params_text": human(model.params, ""),
        "tokens_text": human(model.tokens, ""),
        "tokens_per_param_text": figure(model.tokens / model.params),
        "vs_optimum": model.params / N_opt, "above": model.params > N_opt,
    }  # fmt: skip


def _nice_range(low: float, high: float) -> tuple[float, float, list[float], list[str]]:
    """An axis from low to high widened to whole steps of 0.05, 0.1, 0.2, 0.5, 1, 2 or 5, at
    most 6 of them: (lo, hi, ticks, their labels)."""
    for step in (0.05, 0.1, 0.2, 0.5, 1, 2, 5):
        lo, hi = math.floor(low / step) * step, math.ceil(high / step) * step
        if (hi - lo) / step <= 6:
            break
    decimals = max(0, -math.floor(math.log10(step)))
    ticks = [round(lo + i * step, 2) for i in range(round((hi - lo) / step) + 1)]
    return ticks[0], ticks[-1], ticks, [f"{t:.{decimals}f}" for t in ticks]


def scaling_view(log10_compute: float = 20.0, log10_params: float | None = None,
                 size_vs_optimum: float | None = None,
                 model: str | None = None) -> dict:  # fmt: skip
    """The scaling-law widget's numbers for a budget of 10^log10_compute FLOPs.

    The chosen model is 10^log10_params parameters, or size_vs_optimum decades from the optimum
    (log10(N / N_opt)), or the optimum if neither is given; ``model``, a key of MODELS, stands
    for that model's own budget and size. -> {compute, compute_text, compute_words, optimum,
    chosen, rule (the size with 20 tokens per parameter), gap, valley {log10_params, loss,
    x_range, y_range, y_ticks, y_labels}, frontier {log10_compute, optimal, rule}, models,
    matches, note, summary}; sizes are clamped to SIZE_RANGE around the optimum, budgets to
    COMPUTE_RANGE.
    """
    if model is not None:
        known = {m.key: m for m in MODELS}
        if model not in known:
            raise ValueError(f"unknown model {model!r}; there are {', '.join(known)}")
        chosen_model = known[model]
        log10_compute = math.log10(training_flops(chosen_model.params, chosen_model.tokens))
        log10_params = math.log10(chosen_model.params)
    log10_compute = min(max(float(log10_compute), COMPUTE_RANGE[0]), COMPUTE_RANGE[1])
    C = 10.0**log10_compute
    N_opt, _ = compute_optimal(C)
    log10_opt = math.log10(N_opt)
    if log10_params is None:
        log10_params = log10_opt + (size_vs_optimum or 0.0)
    log10_params = min(max(float(log10_params), log10_opt + SIZE_RANGE[0]),
                       log10_opt + SIZE_RANGE[1])  # fmt: skip
    optimum, chosen = _point(C, N_opt), _point(C, 10.0**log10_params)
    rule = _point(C, math.sqrt(C / (6 * TOKENS_PER_PARAM_RULE)))  # 6 N (20 N) = C
    chosen["size_vs_optimum"] = log10_params - log10_opt

    xs = np.linspace(log10_opt + SIZE_RANGE[0], log10_opt + SIZE_RANGE[1], VALLEY_POINTS)
    losses = isoflop_curve(C, 10.0**xs)
    y_lo, y_hi, y_ticks, y_labels = _nice_range(optimum["loss"], float(losses.max()))
    frontier_c = np.linspace(*COMPUTE_RANGE, FRONTIER_POINTS)
    models = [_model_view(m) for m in MODELS]
    matches = next((m["key"] for m in models
                    if abs(m["log10_compute"] - log10_compute) < 1e-9
                    and abs(m["log10_params"] - log10_params) < 1e-9), None)  # fmt: skip
    gap = chosen["loss"] - optimum["loss"]
    name = next((m["name"] for m in models if m["key"] == matches), None)
    return {
        "log10_compute": log10_compute, "compute": C,
        "compute_text": flops_text(C) + (f" ({name})" if name else ""),
        "compute_words": a100_time(C),
        "optimum": optimum, "chosen": chosen, "rule": rule, "gap": gap, "gap_text": f"{gap:.3f}",
        "ranges": {"compute": list(COMPUTE_RANGE), "size": list(SIZE_RANGE)},
        "valley": {"log10_params": xs.tolist(), "loss": losses.tolist(),
                   "x_range": [float(xs[0]), float(xs[-1])], "y_range": [y_lo, y_hi],
                   "y_ticks": y_ticks, "y_labels": y_labels},
        "frontier": {"log10_compute": frontier_c.tolist(),
                     "optimal": np.log10(compute_optimal(10.0**frontier_c)[0]).tolist(),
                     "rule": (0.5 * (frontier_c - math.log10(6 * TOKENS_PER_PARAM_RULE))).tolist(),
                     "x_range": list(COMPUTE_RANGE), "y_range": list(PARAMS_AXIS)},
        "models": models, "matches": matches,
        "note": "" if chosen["in_fit_range"] else (
            "Outside the runs the law was fitted on (70 M to 16 B parameters, 5 B to 500 B "
            "tokens): an extrapolation."),
        "summary": f"{chosen['params_text']} parameters on {chosen['tokens_text']} tokens "
                   f"({chosen['tokens_per_param_text']} per parameter): predicted loss "
                   f"{chosen['loss_text']}, {gap:.3f} above the optimum of this budget, "
                   f"{optimum['params_text']} parameters.",
    }  # fmt: skip
