"""The contract every trainable layer in lmlab follows.

A layer owns its parameters (``params``) and their gradients (``grads``, same keys and shapes).
``forward`` computes the output and keeps whatever ``backward`` will need; ``backward`` takes the
gradient of the loss with respect to the output, *adds* the parameter gradients into ``grads``
(so repeated uses of a layer accumulate, as in PyTorch) and returns the gradient with respect to
the input. Nothing is hidden: a reader can print any of these arrays.
"""

from collections.abc import Iterator

import numpy as np


class Module:
    """Base class: parameters, their gradients, and the sub-layers that hold more of them."""

    def __init__(self) -> None:
        self.params: dict[str, np.ndarray] = {}
        self.grads: dict[str, np.ndarray] = {}

    def add_param(self, name: str, value: np.ndarray) -> np.ndarray:
        """Register a parameter and a zero gradient of the same shape."""
        self.params[name] = value
        self.grads[name] = np.zeros_like(value)
        return value

    def children(self) -> Iterator[tuple[str, "Module"]]:
        """Sub-layers, found among the attributes (lists of layers included)."""
        for name, value in vars(self).items():
            if isinstance(value, Module):
                yield name, value
            elif isinstance(value, list | tuple):
                for i, item in enumerate(value):
                    if isinstance(item, Module):
                        yield f"{name}.{i}", item

    def named_parameters(self, prefix: str = "") -> Iterator[tuple[str, np.ndarray, np.ndarray]]:
        """Every (dotted name, parameter, gradient) in this layer and its sub-layers."""
        for name, value in self.params.items():
            yield prefix + name, value, self.grads[name]
        for child_name, child in self.children():
            yield from child.named_parameters(f"{prefix}{child_name}.")

    def zero_grad(self) -> None:
        for _, _, grad in self.named_parameters():
            grad.fill(0.0)

    def num_parameters(self) -> int:
        """How many numbers the layer learns (a tied matrix is counted once)."""
        seen: set[int] = set()
        total = 0
        for _, value, _ in self.named_parameters():
            if id(value) not in seen:
                seen.add(id(value))
                total += value.size
        return total

    def forward(self, x: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def backward(self, dout: np.ndarray) -> np.ndarray | None:
        raise NotImplementedError

    def __call__(self, x: np.ndarray) -> np.ndarray:
        return self.forward(x)
