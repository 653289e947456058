import math

import numpy as np
import pytest
from lmlab.module import Module
from lmlab.nn import LayerNorm, Linear
from lmlab.optim import SGD, AdamW, clip_grad_norm, cosine_lr, train_step, unique_parameters


class TwoLayers(Module):
    """A matrix and a vector parameter, to exercise decayed and undecayed parameters."""

    def __init__(self, rng):
        super().__init__()
        self.linear = Linear(4, 3, rng=rng, dtype=np.float64)
        self.norm = LayerNorm(3, dtype=np.float64)
        self.norm.params["weight"][...] = rng.standard_normal(3)


class Tied(Module):
    """Two linear layers holding the same weight array (and, optionally, the same grad array)."""

    def __init__(self, share_grad):
        super().__init__()
        self.a = Linear(2, 2, bias=False, rng=0, dtype=np.float64)
        self.b = Linear(2, 2, bias=False, rng=1, dtype=np.float64)
        self.b.params["weight"] = self.a.params["weight"]
        if share_grad:
            self.b.grads["weight"] = self.a.grads["weight"]


def fill_random_grads(model, rng):
    for _, _, grad in model.named_parameters():
        grad[...] = rng.standard_normal(grad.shape)


def test_sgd_step_is_minus_lr_times_gradient():
    rng = np.random.default_rng(0)
    model = TwoLayers(rng)
    before = [p.copy() for _, p, _ in model.named_parameters()]
    fill_random_grads(model, rng)
    SGD(model, lr=0.1).step()
    for old, (_, new, grad) in zip(before, model.named_parameters(), strict=True):
        np.testing.assert_allclose(new, old - 0.1 * grad, rtol=1e-15)


@pytest.mark.parametrize("share_grad", [True, False])
def test_tied_parameter_is_stepped_once_with_all_its_gradient(share_grad):
    model = Tied(share_grad)
    assert len(unique_parameters(model)) == 1
    assert model.num_parameters() == 4
    weight = model.a.params["weight"]
    before = weight.copy()
    model.a.grads["weight"][...] = 1.0
    if not share_grad:
        model.b.grads["weight"][...] = 2.0
    SGD(model, lr=0.5).step()
    expected_grad = 1.0 if share_grad else 3.0
    np.testing.assert_allclose(weight, before - 0.5 * expected_grad)
    assert model.b.params["weight"] is weight


def test_adamw_first_step_moves_each_weight_by_about_lr():
    rng = np.random.default_rng(1)
    model = TwoLayers(rng)
    before = [p.copy() for _, p, _ in model.named_parameters()]
    fill_random_grads(model, rng)
    AdamW(model, lr=0.01, weight_decay=0.0).step()
    # m / sqrt(v) = g / |g| after bias correction, whatever the gradient's size.
    for old, (_, new, grad) in zip(before, model.named_parameters(), strict=True):
        np.testing.assert_allclose(new - old, -0.01 * np.sign(grad), rtol=1e-5)


def test_adamw_decays_matrices_only():
    rng = np.random.default_rng(2)
    model = TwoLayers(rng)
    weight, gain = model.linear.params["weight"].copy(), model.norm.params["weight"].copy()
    AdamW(model, lr=0.1, weight_decay=0.5).step()  # zero gradients: only decay acts
    np.testing.assert_allclose(model.linear.params["weight"], weight * (1 - 0.1 * 0.5))
    np.testing.assert_array_equal(model.norm.params["weight"], gain)


def test_clip_grad_norm():
    rng = np.random.default_rng(3)
    model = TwoLayers(rng)
    fill_random_grads(model, rng)
    grads = [g.copy() for _, _, g in model.named_parameters()]
    norm = math.sqrt(sum(float((g**2).sum()) for g in grads))
    assert clip_grad_norm(model, max_norm=10 * norm) == pytest.approx(norm)
    for old, (_, _, new) in zip(grads, model.named_parameters(), strict=True):
        np.testing.assert_array_equal(new, old)
    assert clip_grad_norm(model, max_norm=norm / 4) == pytest.approx(norm)
    clipped = math.sqrt(sum(float((g**2).sum()) for _, _, g in model.named_parameters()))
    assert clipped == pytest.approx(norm / 4, rel=1e-5)


def test_cosine_lr_shape():
    lrs = [cosine_lr(s, 1.0, warmup_steps=10, total_steps=110, min_lr=0.1) for s in range(120)]
    assert lrs[0] == pytest.approx(0.1)
    assert lrs[9] == pytest.approx(1.0)
    assert lrs[10] == pytest.approx(1.0)
    assert lrs[60] == pytest.approx(0.55)  # halfway down the cosine
    assert all(a >= b for a, b in zip(lrs[10:], lrs[11:], strict=False))
    assert lrs[110:] == [0.1] * 10


class LinearRegression(Module):
    """The smallest model with the language models' interface: forward(x, y) -> (out, loss)."""

    def __init__(self):
        super().__init__()
        self.linear = Linear(3, 1, rng=0, dtype=np.float64)

    def __call__(self, x, y):
        out = self.linear(x)[:, 0]
        self.dout = (2 * (out - y) / len(y))[:, None]
        return out, float(((out - y) ** 2).mean())

    def backward(self):
        self.linear.backward(self.dout)


@pytest.mark.parametrize("make_optimizer", [
    lambda m: SGD(m, lr=0.1, momentum=0.9),
    lambda m: AdamW(m, lr=0.05, weight_decay=0.0),
])
def test_train_step_fits_a_line(make_optimizer):
    rng = np.random.default_rng(4)
    x = rng.standard_normal((64, 3))
    y = x @ np.array([1.0, -2.0, 0.5]) + 3.0
    model = LinearRegression()
    optimizer = make_optimizer(model)
    losses = [train_step(model, optimizer, x, y, max_grad_norm=5.0) for _ in range(300)]
    assert losses[-1] < 1e-3 * losses[0]


def test_bad_hyperparameters_are_rejected():
    model = TwoLayers(np.random.default_rng(5))
    with pytest.raises(ValueError, match="lr"):
        SGD(model, lr=0)
    with pytest.raises(ValueError, match="momentum"):
        SGD(model, lr=0.1, momentum=1.0)
    with pytest.raises(ValueError, match="betas"):
        AdamW(model, betas=(0.9, 1.0))
    with pytest.raises(ValueError, match="weight_decay"):
        AdamW(model, weight_decay=-1)


@pytest.mark.reference
def test_optimizers_match_torch():
    import torch

    def compare(make_ours, make_theirs, steps=5):
        rng = np.random.default_rng(6)
        model = TwoLayers(rng)
        tensors = {
            name: torch.tensor(param.copy(), requires_grad=True)
            for name, param, _ in model.named_parameters()
        }
        ours, theirs = make_ours(model), make_theirs(tensors)
        for _ in range(steps):
            fill_random_grads(model, rng)
            for name, _, grad in model.named_parameters():
                tensors[name].grad = torch.tensor(grad.copy())
            ours.step()
            theirs.step()
        for name, param, _ in model.named_parameters():
            np.testing.assert_allclose(
                param, tensors[name].detach().numpy(), rtol=1e-12, err_msg=name
            )

    def torch_adamw(tensors):
        matrices = [t for t in tensors.values() if t.ndim >= 2]
        vectors = [t for t in tensors.values() if t.ndim < 2]
        return torch.optim.AdamW(
            [{"params": matrices, "weight_decay": 0.1}, {"params": vectors, "weight_decay": 0.0}],
            lr=0.01, betas=(0.8, 0.95), eps=1e-8,
        )

    compare(lambda m: AdamW(m, lr=0.01, betas=(0.8, 0.95), weight_decay=0.1), torch_adamw)
    compare(lambda m: AdamW(m), lambda t: torch.optim.AdamW(
        [{"params": [p for p in t.values() if p.ndim >= 2]},
         {"params": [p for p in t.values() if p.ndim < 2], "weight_decay": 0.0}]))
    compare(lambda m: SGD(m, lr=0.1, momentum=0.9),
            lambda t: torch.optim.SGD(list(t.values()), lr=0.1, momentum=0.9))


@pytest.mark.reference
def test_clip_grad_norm_matches_torch():
    import torch

    rng = np.random.default_rng(7)
    model = TwoLayers(rng)
    fill_random_grads(model, rng)
    tensors = []
    for _, param, grad in model.named_parameters():
        t = torch.tensor(param.copy(), requires_grad=True)
        t.grad = torch.tensor(grad.copy())
        tensors.append(t)
    norm_t = torch.nn.utils.clip_grad_norm_(tensors, max_norm=0.5)
    assert clip_grad_norm(model, max_norm=0.5) == pytest.approx(norm_t.item(), rel=1e-12)
    for t, (_, _, grad) in zip(tensors, model.named_parameters(), strict=True):
        np.testing.assert_allclose(grad, t.grad.numpy(), rtol=1e-12)
