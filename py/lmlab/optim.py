"""Optimisers: how a gradient becomes a change of the weights.

Both optimisers update the parameters in place, so every layer (and every tied use of a
matrix) sees the new values without being told. A matrix shared by two layers, like GPT's
token embedding and output projection, is one parameter: it is stepped once, with the sum of
the gradients of all its uses.
"""

import math

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
