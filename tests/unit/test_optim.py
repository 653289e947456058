import math

import numpy as np
import pytest
from lmlab import optim
from lmlab.module import Module
from lmlab.nn import LayerNorm, Linear, numerical_gradient
from lmlab.optim import (
    LANDSCAPES,
    SGD,
    AdamW,
    clip_grad_norm,
    cosine_lr,
    descent_trace,
    landscape_view,
    train_step,
    unique_parameters,
)


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


# Gradient descent on the toy landscapes (chapter 6's valley widget).
def analytic(name, p):
    """Each toy loss and its gradient written out again here, coordinate by coordinate."""
    x = p[0]
    y = p[1] if len(p) > 1 else 0.0
    rest = [2 * y] if len(p) > 1 else []
    if name == "bowl":
        return x * x + y * y, [2 * x, *rest]
    if name == "valley":
        return 0.5 * x * x + 5 * y * y, [x, 10 * y]
    return x**4 - 2 * x * x + 0.5 * x + y * y, [4 * x**3 - 4 * x + 0.5, *rest]


LANDSCAPE_DIMS = [(name, dim) for name, land in LANDSCAPES.items() for dim in land.dims]


@pytest.mark.parametrize(("name", "dim"), LANDSCAPE_DIMS)
def test_landscape_gradients_match_finite_differences_and_the_formulas(name, dim):
    land = LANDSCAPES[name]
    rng = np.random.default_rng(3)
    for _ in range(5):
        p = rng.uniform(-2, 2, size=dim)
        loss, grad = analytic(name, p)
        assert float(land.loss(p)) == pytest.approx(loss, rel=1e-12, abs=1e-12)
        np.testing.assert_allclose(land.grad(p), grad, rtol=1e-12, atol=1e-12)
        numeric = numerical_gradient(lambda p=p: float(land.loss(p)), p)
        np.testing.assert_allclose(land.grad(p), numeric, rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize(("name", "dim"), LANDSCAPE_DIMS)
def test_each_step_goes_down_the_analytic_gradient(name, dim):
    lr = 0.05
    trace = descent_trace(name, lr, steps=40, dim=dim)
    points = trace["points"]
    assert points.shape == (41, dim)
    np.testing.assert_allclose(points[0], LANDSCAPES[name].start[:dim])
    for point, after, loss, grad in zip(points, [*points[1:], None], trace["losses"],
                                        trace["gradients"], strict=True):
        expected_loss, expected_grad = analytic(name, point)
        assert loss == pytest.approx(expected_loss, rel=1e-12, abs=1e-12)
        np.testing.assert_allclose(grad, expected_grad, rtol=1e-12, atol=1e-12)
        if after is not None:
            np.testing.assert_allclose(after, point - lr * np.array(expected_grad), rtol=1e-12,
                                       atol=1e-15)


def test_quadratic_descent_follows_its_closed_form():
    # On the bowl each step multiplies p by (1 - 2 lr); across and along the valley by
    # (1 - 10 lr) and (1 - lr): the step is safe only while that factor lies in (-1, 1).
    t = np.arange(26)[:, None]
    for lr in (0.1, 0.3, 0.8):
        bowl = descent_trace("bowl", lr, steps=25, start=[1.5, -0.5])
        np.testing.assert_allclose(bowl["points"], [1.5, -0.5] * (1 - 2 * lr) ** t, rtol=1e-10)
    for lr in (0.05, 0.15):
        valley = descent_trace("valley", lr, steps=25, start=[-2.0, 1.0])
        factors = np.array([1 - lr, 1 - 10 * lr])
        np.testing.assert_allclose(valley["points"], [-2.0, 1.0] * factors**t, rtol=1e-10)


def test_too_small_right_and_too_large_a_step():
    assert descent_trace("bowl", 0.01, steps=30, dim=1)["outcome"] == "moving"
    right = descent_trace("bowl", 0.3, steps=30, dim=1)
    assert right["outcome"] == "settled" and right["minimum"] == 0 and right["deepest"]
    assert np.all(np.diff(right["losses"]) <= 0)
    large = descent_trace("bowl", 1.2, steps=60, dim=1)  # each step: p -> -1.4 p
    assert large["outcome"] == "diverged" and large["minimum"] is None and not large["deepest"]
    assert np.linalg.norm(large["points"][-1]) > optim.ESCAPE
    assert np.linalg.norm(large["points"][-2]) <= optim.ESCAPE
    assert len(large["points"]) < 61
    # Across the valley the safe step is ten times smaller than along it.
    assert descent_trace("valley", 0.25, steps=60)["outcome"] == "diverged"
    assert descent_trace("valley", 0.15, steps=300)["outcome"] == "settled"


def test_two_minima_a_small_step_settles_in_the_nearer_shallower_one():
    land = LANDSCAPES["two_minima"]
    for point in land.minima:  # both are stationary points
        np.testing.assert_allclose(land.grad(point), 0, atol=1e-12)
    depths = land.loss(land.minima)
    assert depths[0] < depths[1]  # the tilt makes the left one deeper
    small = descent_trace("two_minima", 0.05, steps=200, dim=1)
    assert small["outcome"] == "settled" and small["minimum"] == 1 and not small["deepest"]
    np.testing.assert_allclose(small["points"][-1], land.minima[1, :1], atol=1e-5)
    # A larger step overshoots the hump between them and lands in the deeper one.
    bold = descent_trace("two_minima", 0.19, steps=200, dim=1)
    assert bold["outcome"] == "settled" and bold["minimum"] == 0 and bold["deepest"]


def test_an_overflowing_trace_stops_with_finite_numbers():
    trace = descent_trace("two_minima", 5.0, steps=50, start=[1.9, 0.0])
    assert trace["outcome"] == "diverged"
    assert np.isfinite(trace["points"]).all() and len(trace["points"]) < 51


def test_landscape_view_is_the_loss_on_a_grid():
    view = landscape_view("valley", dim=2, resolution=11)
    assert view["losses"].shape == (11, 11)
    assert view["xs"][0] == -3.0 and view["xs"][-1] == 3.0 and view["ys"][-1] == 1.5
    row, col = 2, 7  # losses[y index, x index]
    expected, _ = analytic("valley", [view["xs"][col], view["ys"][row]])
    assert view["losses"][row, col] == pytest.approx(expected, rel=1e-12)
    curve = landscape_view("two_minima", dim=1, resolution=9)
    assert curve["losses"].shape == (9,) and "ys" not in curve
    expected = [analytic("two_minima", [x])[0] for x in curve["xs"]]
    np.testing.assert_allclose(curve["losses"], expected, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(curve["minima_losses"], LANDSCAPES["two_minima"].loss(
        LANDSCAPES["two_minima"].minima[:, :1]))


def test_descent_misuse_is_reported():
    with pytest.raises(ValueError, match="no landscape named"):
        descent_trace("saddle", 0.1)
    with pytest.raises(ValueError, match="takes a start of 2 numbers"):
        descent_trace("valley", 0.1, start=[1.0])
    with pytest.raises(ValueError, match="lr > 0"):
        descent_trace("bowl", 0.0)
    with pytest.raises(ValueError, match="not 1"):
        landscape_view("valley", dim=1)


@pytest.mark.reference
@pytest.mark.parametrize(("name", "dim"), LANDSCAPE_DIMS)
def test_descent_matches_torch_sgd_with_autograd(name, dim):
    import torch

    def torch_loss(p):
        x = p[0]
        y = p[1] if dim > 1 else torch.zeros((), dtype=p.dtype)
        if name == "bowl":
            return x**2 + y**2
        if name == "valley":
            return 0.5 * (x**2 + 10 * y**2)
        return x**4 - 2 * x**2 + 0.5 * x + y**2

    lr, steps = 0.04, 30
    trace = descent_trace(name, lr, steps=steps, dim=dim)
    p = torch.tensor(trace["points"][0], requires_grad=True)
    sgd = torch.optim.SGD([p], lr=lr)
    for i in range(steps):
        sgd.zero_grad()
        loss = torch_loss(p)
        loss.backward()
        assert trace["losses"][i] == pytest.approx(loss.item(), rel=1e-12, abs=1e-14)
        np.testing.assert_allclose(trace["gradients"][i], p.grad.numpy(), rtol=1e-12, atol=1e-14)
        sgd.step()
        np.testing.assert_allclose(trace["points"][i + 1], p.detach().numpy(), rtol=1e-12,
                                   atol=1e-14)
