"""What a KV cache saves: the arithmetic of generating text with and without one, from shapes.

Counts multiply-adds (one multiplication and one addition; FLOPs are twice as many) in the
matrix products of ``lmlab.gpt.GPT.generate``, exactly as that code performs them:
  per layer, for n tokens fed in while the model attends over k keys (k >= n):
    c_attn n*C*3C, c_proj n*C*C, MLP n*C*4C + n*4C*C      -> 12 n C^2
    scores q k^T n*k*C and weights @ v n*k*C (all heads)   -> 2 n k C
  and the output projection to the vocabulary, n*C*V: our forward makes logits for every
  position it is fed; with ``last_logits_only`` only the last position's, C*V, are counted,
  as a generator that projects just the position it samples from would do.
Layer norms, GELU and softmax are elementwise and left out: they are a few per cent at most.

Without a cache every step feeds the whole context again; with one, the first step feeds the
prompt and each later step only the newest token, which attends to the cached keys. Past
block_size tokens both modes slide the window, and the cache is rebuilt at each step, as
``generate`` does.
"""

from lmlab.gpt import GPTConfig


def forward_multiply_adds(
    config: GPTConfig, n_new: int, n_keys: int, last_logits_only: bool = False
) -> int:
    """Multiply-adds of one forward pass feeding n_new tokens that attend over n_keys keys."""
    C, V, L = config.n_embd, config.vocab_size, config.n_layer
    per_layer = 12 * n_new * C * C + 2 * n_new * n_keys * C
    return L * per_layer + (1 if last_logits_only else n_new) * C * V


def generation_steps(
    config: GPTConfig, prompt_len: int, new_tokens: int, use_cache: bool
) -> list[tuple[int, int]]:
    """(tokens fed, keys attended over) for each of generate's new_tokens forward passes."""
    if prompt_len < 1 or new_tokens < 0:
        raise ValueError(
            f"need prompt_len >= 1 and new_tokens >= 0, got {prompt_len}, {new_tokens}"
        )
    block = config.block_size
    steps, cached = [], 0
    for i in range(new_tokens):
        length = prompt_len + i  # tokens so far
        if not use_cache:
            window = min(length, block)
            steps.append((window, window))
            continue
        pending = prompt_len if i == 0 else 1
        if cached + pending > block:  # the window slides: start a fresh cache
            cached, pending = 0, min(length, block)
        steps.append((pending, cached + pending))
        cached += pending
    return steps


def generation_cost(
    config: GPTConfig,
    prompt_len: int,
    new_tokens: int,
    use_cache: bool,
    last_logits_only: bool = False,
) -> int:
    """Multiply-adds of ``GPT.generate`` extending a prompt of prompt_len tokens (batch 1) by
    new_tokens, with or without the KV cache. Times batch size for a batch."""
    steps = generation_steps(config, prompt_len, new_tokens, use_cache)
    return sum(
        forward_multiply_adds(config, n_new, n_keys, last_logits_only) for n_new, n_keys in steps
    )


def cache_speedup(
    config: GPTConfig, new_tokens: int, prompt_len: int = 1, last_logits_only: bool = False
) -> float:
    """How many times more multiply-adds generating takes without the cache than with it."""
    costs = [
        generation_cost(config, prompt_len, new_tokens, use_cache, last_logits_only)
        for use_cache in (False, True)
    ]
    return costs[0] / costs[1]
