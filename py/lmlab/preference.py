"""Preferences: teaching a model which of two answers people liked better.

The data are pairs: a prompt with a *chosen* and a *rejected* response. Two ways to learn from them:

- A reward model scores a whole response with one number r. The Bradley-Terry model says the
  chosen one wins with probability sigmoid(r_chosen - r_rejected); training maximises that, i.e.
  minimises -log sigmoid(r_chosen - r_rejected). RLHF would then steer the language model
  towards high rewards.
- DPO (direct preference optimisation) skips the reward model. Its implicit reward of a response
  is beta * (log pi(response) - log ref(response)): how much more likely the policy pi makes it
  than a frozen reference copy. Plugging that into Bradley-Terry gives a loss on the language
  model itself, and the log-ratio keeps it close to the reference (beta sets how close).

Both use the log-probability of a whole response given its prompt: the sum over the response's
tokens of log p(token | everything before it), which ``sequence_logprobs`` reads off the logits.
"""

import numpy as np

from lmlab.gpt import GPT
from lmlab.losses import log_softmax
from lmlab.module import Module
from lmlab.nn import Linear, Rng
from lmlab.optim import SGD, AdamW, clip_grad_norm

Batch = tuple[np.ndarray, np.ndarray, np.ndarray]  # ids (B, T), targets (B, T), mask (B, T)


def _check_tokens(logits: np.ndarray, targets: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Validates (B, T, V), (B, T), (B, T); -> targets with masked-out entries set to 0, so that
    padding ids such as -100 can still index."""
    if logits.ndim != 3 or logits.shape[:2] != targets.shape or mask.shape != targets.shape:
        raise ValueError(f"need logits (B, T, V) and targets, mask (B, T), got "
                         f"{logits.shape}, {targets.shape}, {mask.shape}")
    if not np.issubdtype(targets.dtype, np.integer):
        raise ValueError(f"targets must be integer token ids, got dtype {targets.dtype}")
    safe = np.where(mask != 0, targets, 0)
    if safe.min(initial=0) < 0 or safe.max(initial=0) >= logits.shape[-1]:
        raise ValueError(f"targets must lie in [0, {logits.shape[-1]}) where mask is 1")
    return safe


def sequence_logprobs(logits: np.ndarray, targets: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """log p(response | prompt) per sequence: (B, T, V), (B, T), (B, T) 0/1 -> (B,).

    The sum, over the positions where mask is 1 (the response's tokens), of the log-probability
    the model gave the target there. A sum, not a mean: it is the probability of the whole
    response, so a longer response is less likely.
    """
    logits, targets, mask = np.asarray(logits), np.asarray(targets), np.asarray(mask)
    safe = _check_tokens(logits, targets, mask)
    picked = np.take_along_axis(log_softmax(logits), safe[..., None], axis=-1)[..., 0]
    return (picked * (mask != 0)).sum(axis=1)


def sequence_logprobs_backward(
    logits: np.ndarray, targets: np.ndarray, mask: np.ndarray, dseq: np.ndarray
) -> np.ndarray:
    """The gradient of sequence_logprobs: dseq (B,), d(loss)/d(each sequence's log-prob)
    -> dlogits (B, T, V).

    d log p(target) / d logits = one_hot(target) - softmax(logits) at each counted position,
    scaled by its sequence's dseq; positions outside the mask get zero.
    """
    logits, targets, mask = np.asarray(logits), np.asarray(targets), np.asarray(mask)
    safe = _check_tokens(logits, targets, mask)
    dseq = np.asarray(dseq)
    if dseq.shape != targets.shape[:1]:
        raise ValueError(f"dseq must have shape ({targets.shape[0]},), got {dseq.shape}")
    dlogits = -np.exp(log_softmax(logits))
    np.put_along_axis(dlogits, safe[..., None],
                      np.take_along_axis(dlogits, safe[..., None], axis=-1) + 1, axis=-1)
    dlogits *= ((mask != 0) * dseq[:, None])[..., None]
    return dlogits


def log_sigmoid(x: np.ndarray) -> np.ndarray:
    """log sigmoid(x) = -log(1 + e^-x), as -logaddexp(0, -x): finite for any x (the direct
    formula overflows to -inf once e^-x does, near x = -710)."""
    return -np.logaddexp(0.0, -np.asarray(x))


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return np.exp(log_sigmoid(x))


def bradley_terry_loss(
    r_chosen: np.ndarray, r_rejected: np.ndarray
) -> tuple[float, np.ndarray, np.ndarray]:
    """Mean of -log sigmoid(r_chosen - r_rejected) over B pairs of rewards (B,), (B,)
    -> (loss, d_chosen (B,), d_rejected (B,)).

    d/d(margin) of -log sigmoid(margin) is -sigmoid(-margin): large while the rejected response
    still scores higher, near zero once the chosen one wins clearly.
    """
    r_chosen, r_rejected = np.asarray(r_chosen), np.asarray(r_rejected)
    if r_chosen.ndim != 1 or r_chosen.shape != r_rejected.shape or not len(r_chosen):
        raise ValueError(f"need two rewards of shape (B,), got {r_chosen.shape}, "
                         f"{r_rejected.shape}")
    margin = r_chosen - r_rejected
    loss = -log_sigmoid(margin).mean()
    d_chosen = -_sigmoid(-margin) / len(margin)
    return float(loss), d_chosen, -d_chosen


def implicit_rewards(policy_logprobs: np.ndarray, ref_logprobs: np.ndarray,
                     beta: float) -> np.ndarray:
    """DPO's reward of each response: beta * (log pi - log ref), (B,), (B,) -> (B,)."""
    return beta * (np.asarray(policy_logprobs) - np.asarray(ref_logprobs))


def dpo_loss(
    pi_chosen: np.ndarray,
    pi_rejected: np.ndarray,
    ref_chosen: np.ndarray,
    ref_rejected: np.ndarray,
    beta: float,
) -> tuple[float, np.ndarray, np.ndarray]:
    """Mean of -log sigmoid(beta * ((pi_c - ref_c) - (pi_r - ref_r))), from sequence
    log-probs (B,) each -> (loss, d_pi_chosen (B,), d_pi_rejected (B,)).

    It is the Bradley-Terry loss of the implicit rewards, so its gradient is Bradley-Terry's
    times beta. While the policy equals the reference every margin is 0 and the loss is log 2.
    """
    if beta <= 0:
        raise ValueError(f"beta must be positive, got {beta}")
    loss, d_chosen, d_rejected = bradley_terry_loss(
        implicit_rewards(pi_chosen, ref_chosen, beta),
        implicit_rewards(pi_rejected, ref_rejected, beta),
    )
    return loss, beta * d_chosen, beta * d_rejected


def _stack(chosen: Batch, rejected: Batch) -> Batch:
    """Chosen over rejected: three (2B, T) arrays, so that one forward pass does both."""
    parts = []
    for c, r in zip(chosen, rejected, strict=True):
        c, r = np.asarray(c), np.asarray(r)
        if c.shape != r.shape or c.ndim != 2:
            raise ValueError(f"chosen and rejected need equal (B, T) shapes, got {c.shape}, "
                             f"{r.shape}: pad them to one length (mask 0 on the padding)")
        parts.append(np.concatenate([c, r]))
    return parts[0], parts[1], parts[2]


def response_logprobs(model: GPT, batch: Batch) -> np.ndarray:
    """log p(response | prompt) of each sequence of a (ids, targets, mask) batch -> (B,).

    Run it once on the frozen reference model to get DPO's ref_chosen and ref_rejected.
    """
    ids, targets, mask = batch
    logits, _ = model.forward(ids)
    return sequence_logprobs(logits, targets, mask)


def dpo_backward(
    model: GPT,
    chosen: Batch,
    rejected: Batch,
    ref_chosen: np.ndarray,
    ref_rejected: np.ndarray,
    beta: float,
) -> tuple[float, float]:
    """The DPO loss of the model on B preference pairs, and its gradient added into the model's
    grads. -> (loss, mean implicit reward margin).

    chosen, rejected: (ids, targets, mask) triples of (B, T), mask 1 on the response tokens;
    ref_chosen, ref_rejected: (B,) log-probs from the frozen reference. Both halves go through
    the model as one (2B, T) batch, then back through GPT.backward in one pass.
    """
    ids, targets, mask = _stack(chosen, rejected)
    B = len(ids) // 2
    logits, _ = model.forward(ids)
    seq = sequence_logprobs(logits, targets, mask)
    loss, d_chosen, d_rejected = dpo_loss(seq[:B], seq[B:], ref_chosen, ref_rejected, beta)
    margin = implicit_rewards(seq[:B], ref_chosen, beta) - implicit_rewards(
        seq[B:], ref_rejected, beta)
    dseq = np.concatenate([d_chosen, d_rejected])
    model.backward(sequence_logprobs_backward(logits, targets, mask, dseq).astype(logits.dtype))
    return loss, float(margin.mean())


def dpo_step(
    model: GPT,
    optimizer: SGD | AdamW,
    chosen: Batch,
    rejected: Batch,
    ref_chosen: np.ndarray,
    ref_rejected: np.ndarray,
    beta: float = 0.1,
    max_grad_norm: float | None = 1.0,
) -> tuple[float, float]:
    """One DPO update of the policy: forward, the loss, backward, clip, step.

    Arguments as dpo_backward. -> (the loss before the update, the mean implicit reward margin
    beta * ((pi_c - ref_c) - (pi_r - ref_r)), which grows as the policy learns the preferences).
    """
    optimizer.zero_grad()
    loss, margin = dpo_backward(model, chosen, rejected, ref_chosen, ref_rejected, beta)
    if max_grad_norm is not None:
        clip_grad_norm(model, max_grad_norm)
    optimizer.step()
    return loss, margin


def kl_to_reference(logits: np.ndarray, ref_logits: np.ndarray, mask: np.ndarray) -> float:
    """Mean per-token KL(policy || reference) over the positions where mask is 1:
    (B, T, V), (B, T, V), (B, T) -> float.

    KL = sum_v p(v) (log p(v) - log q(v)): how far the tuned model's next-token distributions
    have drifted from the reference's. 0 when they agree, never negative.
    """
    logits, ref_logits, mask = np.asarray(logits), np.asarray(ref_logits), np.asarray(mask)
    if logits.shape != ref_logits.shape or logits.ndim != 3 or mask.shape != logits.shape[:2]:
        raise ValueError(f"need two (B, T, V) logits and a (B, T) mask, got {logits.shape}, "
                         f"{ref_logits.shape}, {mask.shape}")
    counted = mask != 0
    if not counted.any():
        raise ValueError("the mask selects no position")
    logp, logq = log_softmax(logits[counted]), log_softmax(ref_logits[counted])
    return float((np.exp(logp) * (logp - logq)).sum(axis=-1).mean())


class RewardModel(Module):
    """A scalar head on a frozen GPT: "add a head, freeze the backbone", the classification
    fine-tuning recipe, here with one output, the reward.

    The backbone is not part of this module (``features`` takes it as an argument), so an
    optimiser given the reward model trains the head alone: weight (C, 1) and bias (1,).
    Trained with the Bradley-Terry loss on the features of chosen and rejected responses.
    """

    def __init__(self, n_embd: int, rng: Rng = None, dtype: type = np.float32) -> None:
        super().__init__()
        self.head = Linear(n_embd, 1, std=0.0, rng=rng, dtype=dtype)  # starts neutral: r = 0

    @staticmethod
    def features(gpt: GPT, ids: np.ndarray, lengths: np.ndarray) -> np.ndarray:
        """The backbone's final layer-normed hidden state at each sequence's last real token:
        ids (B, T) padded on the right, lengths (B,) -> (B, C).

        The causal mask lets that position see the whole prompt and response, and nothing of
        the padding after it.
        """
        ids, lengths = np.asarray(ids), np.asarray(lengths)
        if ids.ndim != 2 or lengths.shape != ids.shape[:1]:
            raise ValueError(f"need ids (B, T) and lengths (B,), got {ids.shape}, {lengths.shape}")
        if lengths.min() < 1 or lengths.max() > ids.shape[1]:
            raise ValueError(f"lengths must lie in [1, {ids.shape[1]}]")
        gpt.forward(ids)
        return gpt.x_final[np.arange(len(ids)), lengths - 1]

    def score(self, features: np.ndarray) -> np.ndarray:
        """The reward of each response: (B, C) -> (B,)."""
        return self.head(np.asarray(features))[:, 0]

    def train_step(self, optimizer: SGD | AdamW, features_chosen: np.ndarray,
                   features_rejected: np.ndarray) -> float:
        """One step of Bradley-Terry on (B, C) features of B pairs; -> the loss before it."""
        features = np.concatenate([features_chosen, features_rejected])
        B = len(features_chosen)
        optimizer.zero_grad()
        rewards = self.score(features)
        loss, d_chosen, d_rejected = bradley_terry_loss(rewards[:B], rewards[B:])
        self.head.backward(np.concatenate([d_chosen, d_rejected])[:, None])
        optimizer.step()
        return loss

    def accuracy(self, features_chosen: np.ndarray, features_rejected: np.ndarray) -> float:
        """The share of pairs whose chosen response gets the higher reward."""
        return float((self.score(features_chosen) > self.score(features_rejected)).mean())
