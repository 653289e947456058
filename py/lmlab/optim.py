"""Optimisers: how a gradient becomes a change of the weights.

Both optimisers update the parameters in place, so every layer (and every tied use of a
matrix) sees the new values without being told. A matrix shared by two layers, like GPT's
token embedding and output projection, is one parameter: it is stepped once, with the sum of
the gradients of all its uses.
"""

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from lmlab.module import Module


def unique_parameters(model: Module) -> list[tuple[str, np.ndarray, list[np.ndarray]]]:
    """(first name, parameter, its distinct gradient arrays), once per distinct parameter array.

    A tied parameter appears under several names; if its uses keep separate gradient arrays,
    all of them are listed so that the step can add them up.
    """
    found: dict[int, tuple[str, np.ndarray, list[np.ndarray]]] = {}
    for name, param, grad in model.named_parameters():
        _, _, grads = found.setdefault(id(param), (name, param, []))
        if all(grad is not g for g in grads):
            grads.append(grad)
    return list(found.values())


def _total(grads: list[np.ndarray]) -> np.ndarray:
    return grads[0] if len(grads) == 1 else sum(grads[1:], grads[0].copy())


class SGD:
    """Stochastic gradient descent: p -= lr * g, or with momentum (as torch.optim.SGD):
    velocity = momentum * velocity + g; p -= lr * velocity."""

    def __init__(self, model: Module, lr: float, momentum: float = 0.0) -> None:
        if lr <= 0:
            raise ValueError(f"lr must be positive, got {lr}")
        if not 0 <= momentum < 1:
            raise ValueError(f"momentum must be in [0, 1), got {momentum}")
        self.model, self.lr, self.momentum = model, lr, momentum
        self.params = unique_parameters(model)
        self.velocity = [np.zeros_like(param) for _, param, _ in self.params]

    def step(self) -> None:
        for (_, param, grads), velocity in zip(self.params, self.velocity, strict=True):
            grad = _total(grads)
            if self.momentum:
                velocity *= self.momentum
                velocity += grad
                grad = velocity
            param -= self.lr * grad

    def zero_grad(self) -> None:
        self.model.zero_grad()


class AdamW:
    """Adam with decoupled weight decay, step for step as torch.optim.AdamW (same defaults).

    Each parameter gets its own step size from running averages of its gradient (m) and squared
    gradient (v); dividing by 1 - beta^t undoes their start at zero. Weight decay shrinks the
    weights directly rather than through the gradient. As in nanoGPT, only matrices (ndim >= 2:
    linear weights, embeddings) decay; biases and layer-norm gains do not.
    """

    def __init__(
        self,
        model: Module,
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0.01,
    ) -> None:
        if lr <= 0:
            raise ValueError(f"lr must be positive, got {lr}")
        if not all(0 <= beta < 1 for beta in betas):
            raise ValueError(f"betas must be in [0, 1), got {betas}")
        if weight_decay < 0:
            raise ValueError(f"weight_decay must be >= 0, got {weight_decay}")
        self.model, self.lr, self.betas, self.eps = model, lr, betas, eps
        self.weight_decay = weight_decay
        self.params = unique_parameters(model)
        self.m = [np.zeros_like(param) for _, param, _ in self.params]
        self.v = [np.zeros_like(param) for _, param, _ in self.params]
        self.t = 0

    def step(self) -> None:
        self.t += 1
        beta1, beta2 = self.betas
        step_size = self.lr / (1 - beta1**self.t)
        sqrt_correction2 = math.sqrt(1 - beta2**self.t)
        for (_, param, grads), m, v in zip(self.params, self.m, self.v, strict=True):
            grad = _total(grads)
            if param.ndim >= 2:
                param *= 1 - self.lr * self.weight_decay
            m *= beta1
            m += (1 - beta1) * grad
            v *= beta2
            v += (1 - beta2) * grad * grad
            param -= step_size * m / (np.sqrt(v) / sqrt_correction2 + self.eps)

    def zero_grad(self) -> None:
        self.model.zero_grad()


def clip_grad_norm(model: Module, max_norm: float) -> float:
    """Scale all gradients down together if their global L2 norm exceeds max_norm.

    Returns the norm before clipping. The direction of the update is kept; only a rare huge
    step is shortened. Same rule as torch.nn.utils.clip_grad_norm_.
    """
    params = unique_parameters(model)
    squares = [float((_total(grads).astype(np.float64) ** 2).sum()) for _, _, grads in params]
    total = math.sqrt(sum(squares))
    scale = max_norm / (total + 1e-6)
    if scale < 1:
        for _, _, grads in params:
            for grad in grads:
                grad *= scale
    return total


def cosine_lr(
    step: int, max_lr: float, warmup_steps: int, total_steps: int, min_lr: float = 0.0
) -> float:
    """Learning rate at a step: linear warm-up, then a half cosine from max_lr down to min_lr.

    Warm-up avoids large steps while Adam's statistics are still noise; the slow decay at the
    end lets the weights settle. After total_steps the rate stays at min_lr.
    """
    if step < warmup_steps:
        return max_lr * (step + 1) / warmup_steps
    if step >= total_steps:
        return min_lr
    progress = (step - warmup_steps) / max(1, total_steps - warmup_steps)
    return min_lr + 0.5 * (1 + math.cos(math.pi * progress)) * (max_lr - min_lr)


def train_step(
    model: Module,
    optimizer: SGD | AdamW,
    inputs: np.ndarray,
    targets: np.ndarray,
    max_grad_norm: float | None = None,
) -> float:
    """One step of training a language model; returns the loss before the update.

    The model's forward takes (inputs, targets) and returns (logits, loss); its backward then
    starts from that loss (``MLPLanguageModel`` and ``GPT`` both work this way).
    """
    optimizer.zero_grad()
    _, loss = model(inputs, targets)
    model.backward()
    if max_grad_norm is not None:
        clip_grad_norm(model, max_grad_norm)
    optimizer.step()
    return loss


# Gradient descent on a toy loss of one or two numbers, where the whole landscape can be drawn
# and every step seen: too small a learning rate crawls, a good one walks down, too large a one
# overshoots, bounces from wall to wall and flies off. Each loss is written out with its gradient
# worked by hand; both take points of any leading shape, so one call draws a whole grid.


@dataclass(frozen=True)
class Landscape:
    """A toy loss: loss(P (..., d)) -> (...), grad(P (..., d)) -> (..., d), for d in dims;
    minima (k, 2): the x, y of each minimum (y unused in 1-D); a default start and the
    drawing bounds [low, high] of x and y."""

    name: str
    loss: Callable[[np.ndarray], np.ndarray]
    grad: Callable[[np.ndarray], np.ndarray]
    dims: tuple[int, ...]
    minima: np.ndarray
    start: tuple[float, float]
    bounds: tuple[tuple[float, float], tuple[float, float]]


def _bowl(p: np.ndarray) -> np.ndarray:
    return (p**2).sum(axis=-1)


def _bowl_grad(p: np.ndarray) -> np.ndarray:
    return 2 * p


# The valley is VALLEY_STEEPNESS times steeper across (y) than along (x): a step size that is safe
# across is tiny along, which is why plain gradient descent zigzags down such valleys.
VALLEY_STEEPNESS = 10.0


def _valley(p: np.ndarray) -> np.ndarray:
    return 0.5 * (p[..., 0] ** 2 + VALLEY_STEEPNESS * p[..., 1] ** 2)


def _valley_grad(p: np.ndarray) -> np.ndarray:
    return p * np.array([1.0, VALLEY_STEEPNESS])


# Two minima: a double well x^4 - 2x^2 tilted by TILT * x, so that the left one is deeper (and a
# bowl y^2 across, in 2-D). Started on the right, small steps settle in the shallower minimum.
TILT = 0.5


def _two_minima(p: np.ndarray) -> np.ndarray:
    x = p[..., 0]
    return x**4 - 2 * x**2 + TILT * x + (p[..., 1:] ** 2).sum(axis=-1)


def _two_minima_grad(p: np.ndarray) -> np.ndarray:
    x = p[..., :1]
    return np.concatenate([4 * x**3 - 4 * x + TILT, 2 * p[..., 1:]], axis=-1)


def _two_minima_xs() -> np.ndarray:
    """The x of both minima: the outer real roots of the gradient 4x^3 - 4x + TILT = 0."""
    roots = np.sort(np.roots([4.0, 0.0, -4.0, TILT]).real)
    return roots[[0, 2]]


LANDSCAPES = {
    landscape.name: landscape
    for landscape in (
        Landscape(
            "bowl", _bowl, _bowl_grad, dims=(1, 2), minima=np.zeros((1, 2)), start=(1.6, 1.2),
            bounds=((-2.0, 2.0), (-2.0, 2.0)),
        ),
        Landscape(
            "valley", _valley, _valley_grad, dims=(2,), minima=np.zeros((1, 2)),
            start=(-2.6, 1.0), bounds=((-3.0, 3.0), (-1.5, 1.5)),
        ),
        Landscape(
            "two_minima", _two_minima, _two_minima_grad, dims=(1, 2),
            minima=np.stack([_two_minima_xs(), np.zeros(2)], axis=1), start=(1.5, 1.0),
            bounds=((-2.0, 2.0), (-1.5, 1.5)),
        ),
    )  # fmt: skip
}
ESCAPE = 1e3  # a point this far from the origin has flown off: the trace stops there
SETTLED = 1e-4  # a gradient norm this small counts as having reached a minimum


def landscape(name: str) -> Landscape:
    if name not in LANDSCAPES:
        raise ValueError(f"no landscape named {name!r}; there are {sorted(LANDSCAPES)}")
    return LANDSCAPES[name]


def descent_trace(
    name: str, lr: float, steps: int = 30, start: Sequence[float] | None = None, dim: int = 2
) -> dict:
    """Plain gradient descent p <- p - lr * grad(p) on the toy loss ``name``, from ``start``
    (a list of ``dim`` numbers; by default the landscape's own start).

    -> {points (n + 1, d), losses (n + 1,), gradients (n + 1, d): each point with its loss and
    gradient, the start first; outcome: "settled" (the gradient has all but vanished),
    "diverged" (the trace stopped at ESCAPE from the origin, or at an overflow) or "moving";
    minimum: the index in the landscape's minima of the one the last point is nearest (null if
    diverged), deepest: whether that minimum is the lowest}. n <= steps.
    """
    land = landscape(name)
    point = np.array(land.start[:dim] if start is None else start, dtype=np.float64)
    if point.shape not in [(d,) for d in land.dims]:
        raise ValueError(f"{name} takes a start of {' or '.join(map(str, land.dims))} numbers, "
                         f"got {point.tolist()}")  # fmt: skip
    if not lr > 0 or steps < 0:
        raise ValueError(f"need lr > 0 and steps >= 0, got {lr}, {steps}")
    points = [point]
    with np.errstate(over="ignore", invalid="ignore"):
        for _ in range(steps):
            point = point - lr * land.grad(point)
            if not np.isfinite(point).all():
                break
            points.append(point)
            if np.linalg.norm(point) > ESCAPE:
                break
        points = np.array(points)
        losses, gradients = land.loss(points), land.grad(points)
    last = points[-1]
    if np.linalg.norm(last) > ESCAPE or len(points) < steps + 1:
        outcome = "diverged"
    elif np.linalg.norm(gradients[-1]) < SETTLED:
        outcome = "settled"
    else:
        outcome = "moving"
    minima = land.minima[:, : len(last)]
    nearest = int(np.argmin(np.linalg.norm(minima - last, axis=1)))
    depths = land.loss(minima)
    return {
        "points": points,
        "losses": losses,
        "gradients": gradients,
        "outcome": outcome,
        "minimum": None if outcome == "diverged" else nearest,
        "deepest": outcome != "diverged" and bool(depths[nearest] == depths.min()),
    }


def landscape_view(name: str, dim: int = 2, resolution: int = 61) -> dict:
    """The loss over the drawing bounds, for the picture behind a trace.

    -> {dims, bounds, start, minima (k, dim), minima_losses (k,), xs (resolution,), ys
    (resolution,) in 2-D, losses: (resolution,) in 1-D, (resolution [y], resolution [x]) in 2-D}.
    """
    land = landscape(name)
    if dim not in land.dims:
        raise ValueError(f"{name} is defined in {land.dims} dimensions, not {dim}")
    xs = np.linspace(*land.bounds[0], resolution)
    minima = land.minima[:, :dim]
    view = {"dims": dim, "bounds": land.bounds[:dim], "start": land.start[:dim],
            "minima": minima, "minima_losses": land.loss(minima), "xs": xs}  # fmt: skip
    if dim == 1:
        return {**view, "losses": land.loss(xs[:, None])}
    ys = np.linspace(*land.bounds[1], resolution)
    grid = np.stack(np.meshgrid(xs, ys), axis=-1)  # (y, x, 2)
    return {**view, "ys": ys, "losses": land.loss(grid)}


def descent_view(name: str = "two_minima", lr: float = 0.1, steps: int = 30) -> dict:
    """A 1-D toy loss and one descent on it from the landscape's start, for the chapter's
    widget (one call per redraw). -> {"name", "lr", "landscape": landscape_view(name, 1),
    "trace": descent_trace(name, lr, steps, dim=1)}."""
    return {
        "name": name,
        "lr": float(lr),
        "landscape": landscape_view(name, dim=1),
        "trace": descent_trace(name, lr, steps, dim=1),
    }
