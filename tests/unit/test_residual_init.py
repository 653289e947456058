import numpy as np
import pytest
from lmlab.residual_init import residual_stream_stds

# Width 256 with std 0.02 * sqrt(768 / 256): each weight matrix scales a unit input by as much
# as GPT-2 small's 0.02 does at width 768, at a size that runs quickly.
STD_256 = 0.02 * np.sqrt(768 / 256)


@pytest.fixture(scope="module")
def stds():
    return residual_stream_stds(n_layer=12, n_embd=256, n_head=4, n_tokens=16, std=STD_256)


def test_unscaled_stream_grows_with_every_block(stds):
    unscaled = np.array(stds["unscaled"])
    assert len(unscaled) == 13
    assert np.all(np.diff(unscaled) > 0)
    assert unscaled[-1] > 1.15 * unscaled[0]


def test_scaled_stream_stays_nearly_flat(stds):
    scaled, unscaled = np.array(stds["scaled"]), np.array(stds["unscaled"])
    assert scaled[0] == unscaled[0]  # the same input
    assert np.all(np.abs(scaled / scaled[0] - 1) < 0.05)
    assert scaled[-1] - scaled[0] < (unscaled[-1] - unscaled[0]) / 5
    assert stds["proj_std_scaled"] == pytest.approx(STD_256 / np.sqrt(24))


def test_scaling_divides_the_added_variance_by_two_l(stds):
    # Layer norm makes every branch's input the same scale, so shrinking c_proj by 1/sqrt(2L)
    # should shrink the variance the blocks add by about 2L (not exactly: the inputs differ).
    unscaled, scaled = np.array(stds["unscaled"]), np.array(stds["scaled"])
    added_unscaled = unscaled[-1] ** 2 - unscaled[0] ** 2
    added_scaled = scaled[-1] ** 2 - scaled[0] ** 2
    assert 0.5 < added_unscaled / added_scaled / 24 < 2


def test_deeper_unscaled_stacks_grow_more():
    def growth(n_layer):
        stds = residual_stream_stds(n_layer=n_layer, n_embd=128, n_head=2, n_tokens=8, std=0.05)
        return {name: stds[name][-1] / stds[name][0] for name in ("unscaled", "scaled")}

    shallow, deep = growth(4), growth(16)
    assert deep["unscaled"] - 1 > 3 * (shallow["unscaled"] - 1)
    assert abs(deep["scaled"] - shallow["scaled"]) < 0.02


def test_sizes_are_validated():
    with pytest.raises(ValueError):
        residual_stream_stds(n_layer=0)
