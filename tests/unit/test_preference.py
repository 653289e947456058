"""lmlab.preference: every loss and gradient against PyTorch autograd (`reference`), and against
brute force and finite differences (also inside Pyodide)."""

import math

import numpy as np
import pytest
from lmlab.gpt import GPT, GPTConfig
from lmlab.nn import numerical_gradient
from lmlab.optim import SGD, AdamW
from lmlab.preference import (
    RewardModel,
    bradley_terry_loss,
    dpo_backward,
    dpo_loss,
    dpo_step,
    implicit_rewards,
    kl_to_reference,
    response_logprobs,
    sequence_logprobs,
    sequence_logprobs_backward,
)

TINY = GPTConfig(vocab_size=7, block_size=6, n_layer=2, n_head=2, n_embd=8)


def tiny_gpt(seed=0):
    """A float64 GPT with every parameter random, so that no gradient vanishes by symmetry."""
    rng = np.random.default_rng(seed)
    model = GPT(TINY, rng=rng, dtype=np.float64)
    for _, param, _ in model.named_parameters():
        param[...] = rng.standard_normal(param.shape) * 0.3
    return model


def token_batch(rng, B=3, T=5, V=7):
    """logits (B, T, V), targets (B, T) with -100 where masked (padding), mask (B, T)."""
    logits = rng.standard_normal((B, T, V)) * 2
    targets = rng.integers(0, V, (B, T))
    mask = np.zeros((B, T), dtype=np.int64)
    for b in range(B):
        start = rng.integers(0, T - 1)  # the prompt ends here, the response follows
        mask[b, start:rng.integers(start + 1, T + 1)] = 1
    return logits, np.where(mask == 1, targets, -100), mask


def preference_pairs(rng, B=2, T=6, V=7):
    """chosen and rejected (ids, targets, mask) triples sharing a prompt of 2 tokens."""
    def one():
        ids = rng.integers(0, V, (B, T))
        ids[:, :2] = prompt
        mask = np.zeros((B, T), dtype=np.int64)
        mask[:, 1:] = 1  # targets[t] = ids[t + 1]: the response tokens are from position 2 on
        mask[0, -1] = 0  # the first pair's response is one token shorter (padding)
        return ids, np.roll(ids, -1, axis=1), mask

    prompt = rng.integers(0, V, (B, 2))
    return one(), one()


# --- sequence log-probs ------------------------------------------------------------------------

def test_sequence_logprobs_sum_the_response_tokens():
    logits, targets, mask = token_batch(np.random.default_rng(0))
    expected = [
        sum(math.log(np.exp(logits[b, t, targets[b, t]]) / np.exp(logits[b, t]).sum())
            for t in range(logits.shape[1]) if mask[b, t])
        for b in range(len(logits))
    ]
    np.testing.assert_allclose(sequence_logprobs(logits, targets, mask), expected, rtol=1e-12)


def test_sequence_logprobs_backward_matches_finite_differences():
    rng = np.random.default_rng(1)
    logits, targets, mask = token_batch(rng)
    dseq = rng.standard_normal(len(logits))
    dlogits = sequence_logprobs_backward(logits, targets, mask, dseq)
    numeric = numerical_gradient(lambda: sequence_logprobs(logits, targets, mask) @ dseq, logits)
    np.testing.assert_allclose(dlogits, numeric, rtol=1e-6, atol=1e-9)
    assert not dlogits[mask == 0].any()


def test_sequence_logprobs_refuse_bad_input():
    logits, targets, mask = token_batch(np.random.default_rng(2))
    with pytest.raises(ValueError, match="need logits"):
        sequence_logprobs(logits, targets[:, :-1], mask)
    with pytest.raises(ValueError, match="lie in"):
        sequence_logprobs(logits, np.where(mask == 1, 99, 0), mask)
    with pytest.raises(ValueError, match="dseq"):
        sequence_logprobs_backward(logits, targets, mask, np.ones(2))


@pytest.mark.reference
def test_sequence_logprobs_and_gradient_match_torch():
    import torch

    rng = np.random.default_rng(3)
    logits, targets, mask = token_batch(rng, B=4, T=6, V=11)
    dseq = rng.standard_normal(4)
    logits_t = torch.tensor(logits, requires_grad=True)
    safe_targets = torch.tensor(np.maximum(targets, 0))[..., None]
    picked = torch.log_softmax(logits_t, -1).gather(-1, safe_targets)
    seq_t = (picked[..., 0] * torch.tensor(mask)).sum(1)
    (seq_t @ torch.tensor(dseq)).backward()
    np.testing.assert_allclose(sequence_logprobs(logits, targets, mask), seq_t.detach().numpy(),
                               rtol=1e-12)
    np.testing.assert_allclose(sequence_logprobs_backward(logits, targets, mask, dseq),
                               logits_t.grad.numpy(), rtol=1e-10, atol=1e-14)


# --- Bradley-Terry and DPO ---------------------------------------------------------------------

def test_bradley_terry_is_stable_at_huge_margins():
    loss, d_chosen, d_rejected = bradley_terry_loss(np.array([1000.0, -1000.0]),
                                                     np.array([0.0, 0.0]))
    assert loss == pytest.approx((0 + 1000) / 2, rel=1e-12)
    np.testing.assert_allclose(d_chosen, [0.0, -0.5], atol=1e-300)
    np.testing.assert_array_equal(d_rejected, -d_chosen)
    loss, d_chosen, _ = bradley_terry_loss(np.array([2000.0]), np.array([-2000.0]))
    assert loss == 0.0 and d_chosen[0] == 0.0


def test_bradley_terry_gradient_matches_finite_differences():
    rng = np.random.default_rng(4)
    r_c, r_r = rng.standard_normal(5) * 3, rng.standard_normal(5) * 3
    _, d_chosen, d_rejected = bradley_terry_loss(r_c, r_r)
    for r, d in ((r_c, d_chosen), (r_r, d_rejected)):
        numeric = numerical_gradient(lambda: bradley_terry_loss(r_c, r_r)[0], r)
        np.testing.assert_allclose(d, numeric, rtol=1e-7, atol=1e-10)


@pytest.mark.reference
def test_bradley_terry_matches_torch():
    import torch
    import torch.nn.functional as F

    rng = np.random.default_rng(5)
    r_c, r_r = rng.standard_normal(8) * 4, rng.standard_normal(8) * 4
    r_c[0], r_r[0] = -900.0, 900.0  # past where exp overflows
    c, r = torch.tensor(r_c, requires_grad=True), torch.tensor(r_r, requires_grad=True)
    loss_t = -F.logsigmoid(c - r).mean()
    loss_t.backward()
    loss, d_chosen, d_rejected = bradley_terry_loss(r_c, r_r)
    assert loss == pytest.approx(loss_t.item(), rel=1e-13)
    np.testing.assert_allclose(d_chosen, c.grad.numpy(), rtol=1e-12, atol=1e-300)
    np.testing.assert_allclose(d_rejected, r.grad.numpy(), rtol=1e-12, atol=1e-300)


def test_dpo_loss_is_log_2_when_the_policy_is_the_reference():
    logps = np.array([-12.0, -30.5, -7.25])
    rejected = logps - 3
    loss, d_chosen, d_rejected = dpo_loss(logps, rejected, logps, rejected, beta=0.1)
    assert loss == pytest.approx(math.log(2), rel=1e-15)
    np.testing.assert_allclose(d_chosen, -0.1 * 0.5 / 3, rtol=1e-15)
    np.testing.assert_allclose(d_rejected, 0.1 * 0.5 / 3, rtol=1e-15)


def test_dpo_loss_is_bradley_terry_on_the_implicit_rewards():
    rng = np.random.default_rng(6)
    pi_c, pi_r, ref_c, ref_r = (rng.uniform(-40, -5, 4) for _ in range(4))
    beta = 0.3
    rewards_c, rewards_r = implicit_rewards(pi_c, ref_c, beta), implicit_rewards(pi_r, ref_r, beta)
    np.testing.assert_allclose(rewards_c, beta * (pi_c - ref_c), rtol=1e-15)
    loss, d_pi_c, d_pi_r = dpo_loss(pi_c, pi_r, ref_c, ref_r, beta)
    expected = np.mean([math.log1p(math.exp(-m)) for m in rewards_c - rewards_r])
    assert loss == pytest.approx(expected, rel=1e-13)
    for logp, d in ((pi_c, d_pi_c), (pi_r, d_pi_r)):
        numeric = numerical_gradient(lambda: dpo_loss(pi_c, pi_r, ref_c, ref_r, beta)[0], logp)
        np.testing.assert_allclose(d, numeric, rtol=1e-6, atol=1e-10)
    with pytest.raises(ValueError, match="beta"):
        dpo_loss(pi_c, pi_r, ref_c, ref_r, 0.0)


@pytest.mark.reference
def test_dpo_loss_matches_torch():
    import torch
    import torch.nn.functional as F

    rng = np.random.default_rng(7)
    pi_c, pi_r, ref_c, ref_r = (rng.uniform(-60, -5, 6) for _ in range(4))
    beta = 0.5
    pc, pr = torch.tensor(pi_c, requires_grad=True), torch.tensor(pi_r, requires_grad=True)
    logits = beta * ((pc - torch.tensor(ref_c)) - (pr - torch.tensor(ref_r)))
    loss_t = -F.logsigmoid(logits).mean()
    loss_t.backward()
    loss, d_pi_c, d_pi_r = dpo_loss(pi_c, pi_r, ref_c, ref_r, beta)
    assert loss == pytest.approx(loss_t.item(), rel=1e-13)
    np.testing.assert_allclose(d_pi_c, pc.grad.numpy(), rtol=1e-12)
    np.testing.assert_allclose(d_pi_r, pr.grad.numpy(), rtol=1e-12)


# --- DPO through a GPT -------------------------------------------------------------------------

def dpo_setup(seed):
    """A policy GPT, preference pairs, and reference log-probs from a different (frozen) GPT."""
    rng = np.random.default_rng(seed)
    chosen, rejected = preference_pairs(rng)
    reference = tiny_gpt(seed + 100)
    ref_c, ref_r = response_logprobs(reference, chosen), response_logprobs(reference, rejected)
    return tiny_gpt(seed), chosen, rejected, ref_c, ref_r


def test_dpo_backward_matches_finite_differences_through_a_gpt():
    model, chosen, rejected, ref_c, ref_r = dpo_setup(8)
    beta = 0.7

    def loss():
        pi_c, pi_r = response_logprobs(model, chosen), response_logprobs(model, rejected)
        return dpo_loss(pi_c, pi_r, ref_c, ref_r, beta)[0]

    model.zero_grad()
    got_loss, margin = dpo_backward(model, chosen, rejected, ref_c, ref_r, beta)
    assert got_loss == pytest.approx(loss(), rel=1e-12)
    pi_c, pi_r = response_logprobs(model, chosen), response_logprobs(model, rejected)
    assert margin == pytest.approx(np.mean(beta * ((pi_c - ref_c) - (pi_r - ref_r))), rel=1e-12)
    checked = ("wte.weight", "wpe.weight", "h.0.attn.c_attn.weight", "h.1.mlp.c_proj.bias",
               "ln_f.weight")
    params = {name: (param, grad) for name, param, grad in model.named_parameters()}
    for name in checked:
        param, grad = params[name]
        assert np.abs(grad).max() > 1e-6, name  # a gradient that reaches this far
        np.testing.assert_allclose(grad, numerical_gradient(loss, param), rtol=1e-5, atol=1e-9,
                                   err_msg=name)


def test_dpo_starts_at_log_2_against_itself_and_learns_the_preferences():
    model, chosen, rejected, _, _ = dpo_setup(9)
    ref_c, ref_r = response_logprobs(model, chosen), response_logprobs(model, rejected)
    optimizer = AdamW(model, lr=1e-2, weight_decay=0.0)
    first, margin = dpo_step(model, optimizer, chosen, rejected, ref_c, ref_r, beta=0.5)
    assert first == pytest.approx(math.log(2), rel=1e-12) and margin == 0.0
    for _ in range(30):
        loss, margin = dpo_step(model, optimizer, chosen, rejected, ref_c, ref_r, beta=0.5)
    assert loss < 0.2 and margin > 3
    pi_c, pi_r = response_logprobs(model, chosen), response_logprobs(model, rejected)
    assert ((pi_c - ref_c) > (pi_r - ref_r)).all()


def test_dpo_step_refuses_unequal_shapes():
    model, chosen, rejected, ref_c, ref_r = dpo_setup(10)
    short = tuple(a[:, :-1] for a in rejected)
    with pytest.raises(ValueError, match="pad them"):
        dpo_step(model, SGD(model, lr=0.1), chosen, short, ref_c, ref_r)


@pytest.mark.reference
def test_dpo_step_matches_a_torch_gpt():
    """One SGD step of dpo_step equals the same step by autograd through nanoGPT in PyTorch,
    unclipped and clipped."""
    import torch
    import torch.nn.functional as F
    from lmlab.gpt import load_hf_state_dict
    from test_gpt import is_conv1d, torch_gpt

    rng = np.random.default_rng(11)
    chosen, rejected = preference_pairs(rng, B=3)
    ref_c, ref_r = rng.uniform(-15, -8, 3), rng.uniform(-15, -8, 3)
    beta, lr = 0.4, 0.05
    for max_norm in (None, 0.05):
        reference = torch_gpt(TINY)
        state = {name: (t.T if is_conv1d(name) else t).detach().numpy().copy()
                 for name, t in reference.state_dict().items()}
        model = GPT(TINY, dtype=np.float64)
        load_hf_state_dict(model, state)

        ids, targets, mask = (torch.tensor(np.concatenate([c, r]))
                              for c, r in zip(chosen, rejected, strict=True))
        logits, _ = reference(ids)
        picked = torch.log_softmax(logits, -1).gather(-1, targets[..., None])[..., 0]
        seq = (picked * mask).sum(1)
        pi_c, pi_r = seq[:3], seq[3:]
        margins = beta * ((pi_c - torch.tensor(ref_c)) - (pi_r - torch.tensor(ref_r)))
        loss_t = -F.logsigmoid(margins).mean()
        loss_t.backward()
        if max_norm is not None:
            torch.nn.utils.clip_grad_norm_(reference.parameters(), max_norm)
        torch.optim.SGD(reference.parameters(), lr=lr).step()

        loss, margin = dpo_step(model, SGD(model, lr=lr), chosen, rejected, ref_c, ref_r,
                                beta=beta, max_grad_norm=max_norm)
        assert loss == pytest.approx(loss_t.item(), rel=1e-12)
        assert margin == pytest.approx(margins.mean().item(), rel=1e-12)
        torch_params = dict(reference.named_parameters())
        for name, param, grad in model.named_parameters():
            t = torch_params[f"transformer.{name}"]
            want_grad, want_param = (t.grad.T, t.T) if is_conv1d(name) else (t.grad, t)
            np.testing.assert_allclose(grad, want_grad.numpy(), rtol=1e-9, atol=1e-13,
                                       err_msg=f"{name}, clip {max_norm}")
            np.testing.assert_allclose(param, want_param.detach().numpy(), rtol=1e-12,
                                       atol=1e-14, err_msg=f"{name}, clip {max_norm}")


# --- KL to the reference -----------------------------------------------------------------------

def test_kl_to_reference_by_brute_force():
    rng = np.random.default_rng(12)
    logits, _, mask = token_batch(rng)
    ref_logits = logits + rng.standard_normal(logits.shape)
    per_token = []
    for b, t in zip(*np.nonzero(mask), strict=True):
        p = np.exp(logits[b, t]) / np.exp(logits[b, t]).sum()
        q = np.exp(ref_logits[b, t]) / np.exp(ref_logits[b, t]).sum()
        per_token.append(sum(pv * math.log(pv / qv) for pv, qv in zip(p, q, strict=True)))
    assert kl_to_reference(logits, ref_logits, mask) == pytest.approx(np.mean(per_token),
                                                                      rel=1e-12)
    assert kl_to_reference(logits, logits + 5.0, mask) == pytest.approx(0.0, abs=1e-15)
    with pytest.raises(ValueError, match="no position"):
        kl_to_reference(logits, ref_logits, np.zeros_like(mask))


@pytest.mark.reference
def test_kl_to_reference_matches_torch():
    import torch
    import torch.nn.functional as F

    rng = np.random.default_rng(13)
    logits, _, mask = token_batch(rng, B=4, T=6, V=13)
    ref_logits = logits + 2 * rng.standard_normal(logits.shape)
    keep = torch.tensor(mask == 1)
    logp = F.log_softmax(torch.tensor(logits)[keep], -1)
    logq = F.log_softmax(torch.tensor(ref_logits)[keep], -1)
    # kl_div(input=log q, target=log p, log_target) sums p (log p - log q): KL(p || q)
    expected = F.kl_div(logq, logp, reduction="batchmean", log_target=True).item()
    assert kl_to_reference(logits, ref_logits, mask) == pytest.approx(expected, rel=1e-12)


# --- the reward model --------------------------------------------------------------------------

def test_reward_features_are_the_last_real_tokens_final_state():
    gpt = tiny_gpt(14)
    rng = np.random.default_rng(14)
    ids = rng.integers(0, 7, (3, 6))
    lengths = np.array([6, 2, 4])
    features = RewardModel.features(gpt, ids, lengths)
    assert features.shape == (3, 8)
    for b, n in enumerate(lengths):  # the sequence alone, without its padding
        gpt.forward(ids[b:b + 1, :n])
        np.testing.assert_allclose(features[b], gpt.x_final[0, -1], rtol=1e-12)
    with pytest.raises(ValueError, match="lengths"):
        RewardModel.features(gpt, ids, np.array([0, 2, 4]))


def test_reward_head_gradient_matches_finite_differences():
    rng = np.random.default_rng(15)
    f_c, f_r = rng.standard_normal((4, 5)), rng.standard_normal((4, 5))
    rm = RewardModel(5, dtype=np.float64)
    rm.head.params["weight"][...] = rng.standard_normal((5, 1))
    weight, bias = rm.head.params["weight"].copy(), rm.head.params["bias"].copy()
    grads = {}

    class Capture:  # an optimiser that keeps the gradients instead of stepping
        def zero_grad(self):
            rm.zero_grad()

        def step(self):
            grads.update({name: g.copy() for name, _, g in rm.named_parameters()})

    loss = rm.train_step(Capture(), f_c, f_r)
    assert loss == pytest.approx(bradley_terry_loss(f_c @ weight[:, 0] + bias,
                                                    f_r @ weight[:, 0] + bias)[0], rel=1e-13)
    for name, param, _ in rm.named_parameters():
        numeric = numerical_gradient(
            lambda: bradley_terry_loss(rm.score(f_c), rm.score(f_r))[0], param)
        np.testing.assert_allclose(grads[name], numeric, rtol=1e-7, atol=1e-11, err_msg=name)
    assert not grads["head.bias"].any()  # a shared bias cancels in every margin


def test_reward_head_learns_a_separable_preference_and_leaves_the_backbone_alone():
    """Chosen responses end in token 1, rejected ones in token 2: the frozen backbone's
    features tell them apart, and the head alone learns to (accuracy 1.0)."""
    gpt = tiny_gpt(16)
    frozen = [param.copy() for _, param, _ in gpt.named_parameters()]
    rng = np.random.default_rng(16)
    ids = rng.integers(3, 7, (16, 6))
    lengths = rng.integers(3, 7, 16)
    chosen, rejected = ids.copy(), ids.copy()
    chosen[np.arange(16), lengths - 1] = 1
    rejected[np.arange(16), lengths - 1] = 2
    f_c = RewardModel.features(gpt, chosen, lengths)
    f_r = RewardModel.features(gpt, rejected, lengths)

    for make in (lambda rm: SGD(rm, lr=5.0), lambda rm: AdamW(rm, lr=0.3)):
        rm = RewardModel(8, rng=0, dtype=np.float64)
        assert rm.accuracy(f_c, f_r) == 0.0  # a zero head ties every pair
        optimizer = make(rm)
        losses = [rm.train_step(optimizer, f_c, f_r) for _ in range(100)]
        assert losses[0] == pytest.approx(math.log(2), rel=1e-12)
        assert losses[-1] < 0.25 * losses[0]
        assert rm.accuracy(f_c, f_r) == 1.0
        assert (rm.score(f_c) > rm.score(f_r)).all()
    for before, (name, param, _) in zip(frozen, gpt.named_parameters(), strict=True):
        np.testing.assert_array_equal(param, before, err_msg=name)
    assert rm.num_parameters() == 8 + 1
