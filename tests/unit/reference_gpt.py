"""nanoGPT's model written out in torch.nn: the reference that lmlab's numpy GPT (test_gpt) and
its size counts (test_model_size) are checked against. torch is imported when a model is built,
so that only tests marked `reference` (CPython) need it."""


def torch_gpt(config, tie_weights: bool = True):
    """A GPT-2 of the configuration's shape in PyTorch, float32 and torch's default initialisation.

    forward(idx (B, T), targets (B, T) or None) -> (logits (B, T, V), mean cross-entropy or None).
    Attention is written out (q k^T / sqrt(d), the causal mask, softmax, times v) rather than
    F.scaled_dot_product_attention, so that torch's FLOP counter sees each of its products.
    Names as nanoGPT's: transformer.wte.weight, transformer.h.0.attn.c_attn.weight, ...,
    lm_head.weight, which is transformer.wte.weight itself when tied.
    """
    import math

    import torch
    import torch.nn as nn
    import torch.nn.functional as F

    C, H = config.n_embd, config.n_head

    class CausalSelfAttention(nn.Module):
        def __init__(self):
            super().__init__()
            self.c_attn = nn.Linear(C, 3 * C)
            self.c_proj = nn.Linear(C, C)

        def forward(self, x):
            B, T, _ = x.shape
            q, k, v = self.c_attn(x).split(C, dim=2)
            q, k, v = (a.view(B, T, H, C // H).transpose(1, 2) for a in (q, k, v))
            scores = (q @ k.transpose(-1, -2)) / math.sqrt(C // H)
            future = torch.ones(T, T, dtype=torch.bool, device=x.device).triu(1)
            y = scores.masked_fill(future, float("-inf")).softmax(dim=-1) @ v
            return self.c_proj(y.transpose(1, 2).contiguous().view(B, T, C))

    class MLP(nn.Module):
        def __init__(self):
            super().__init__()
            self.c_fc = nn.Linear(C, 4 * C)
            self.c_proj = nn.Linear(4 * C, C)

        def forward(self, x):
            return self.c_proj(F.gelu(self.c_fc(x), approximate="tanh"))

    class Block(nn.Module):
        def __init__(self):
            super().__init__()
            self.ln_1, self.attn = nn.LayerNorm(C), CausalSelfAttention()
            self.ln_2, self.mlp = nn.LayerNorm(C), MLP()

        def forward(self, x):
            x = x + self.attn(self.ln_1(x))
            return x + self.mlp(self.ln_2(x))

    class TorchGPT(nn.Module):
        def __init__(self):
            super().__init__()
            self.transformer = nn.ModuleDict({
                "wte": nn.Embedding(config.vocab_size, C),
                "wpe": nn.Embedding(config.block_size, C),
                "h": nn.ModuleList(Block() for _ in range(config.n_layer)),
                "ln_f": nn.LayerNorm(C),
            })
            self.lm_head = nn.Linear(C, config.vocab_size, bias=False)
            if tie_weights:
                self.lm_head.weight = self.transformer.wte.weight

        def forward(self, idx, targets=None):
            pos = torch.arange(idx.shape[1], device=idx.device)
            x = self.transformer.wte(idx) + self.transformer.wpe(pos)
            for block in self.transformer.h:
                x = block(x)
            logits = self.lm_head(self.transformer.ln_f(x))
            if targets is None:
                return logits, None
            loss = F.cross_entropy(logits.view(-1, logits.shape[-1]), targets.view(-1))
            return logits, loss

    return TorchGPT()
