"""lmlab: the numpy code behind LM Lab, a live book about how language models work.

One module per concept, in the order the book teaches them. Every function is plain numpy so a
reader can open it and follow the math; the book's widgets call these same functions.

    sampling     softmax with temperature, entropy, greedy, top-k, top-p, seeded sampling
    generation   the autoregressive loop on a next-word table: a step-by-step trace, the tree
    ngram        counting bigrams (and n-grams): tables, smoothing, sampling names, NLL
    tokenizers   character and word tokenizers, [UNK]
    bpe          byte-pair encoding: the five notebook functions and a trace for the visualizer
    gpt2         GPT-2's byte-level BPE tokenizer, exact, from its own files
    wordbpe      BPE inside GPT-2's pre-tokenized pieces: the textbook trainer, encoding, the
                 BpeVisualizer and the tokenizer playground
    wordbpe_fast the same training with pair counts kept up to date (as production trainers
                 do), and a trained background that a reader's text is added to
    embeddings   one-hot, the Embedding table and its sparse gradient, word-vector queries
    word2vec     skip-gram and CBOW with negative sampling, PMI
    position     sinusoidal, learned, RoPE and ALiBi position information
    attention    scaled dot-product and multi-head attention, causal masks
    module       the forward/backward contract of every trainable layer
    losses       log-softmax and cross-entropy with its gradient
    nn           Linear, GELU, LayerNorm, MLP, causal self-attention, the transformer block
    mlp_lm       a Bengio-style MLP language model over characters
    rnn          RNN and LSTM layers with backpropagation through time, the LSTM's gates, and
                 the vanishing/exploding gradient through time in numbers
    rnn_lm       a character language model with an RNN instead of a fixed window
    gpt          a GPT-2-style transformer: training, KV-cached generation, parameter counts
    model_size   a GPT's size from its configuration: parameters per part, memory (weights,
                 training, KV cache), FLOPs per token, arithmetic intensity
    optim        SGD and AdamW
    preference   learning from preferred/rejected pairs: sequence log-probs, Bradley-Terry, a
                 reward head on a frozen GPT, DPO and the KL to the reference
    gguf         llama.cpp's GGUF files: metadata, tensors, Q8_0 and Q4_1 blocks
    llama        a Llama-style model (RMSNorm, RoPE, grouped-query attention, SwiGLU) from
                 GGUF, its tokenizer with special tokens, and the chat template
    scaling      Chinchilla's loss L(N, D), training compute 6ND, the compute-optimal split,
                 Kaplan's compute law, power-law fits, and the published models' budgets
    chat_stages  one line answered by the book's GPT, its instruction-tuned and its DPO-aligned
                 model side by side (chapter 9's widget)
"""

__version__ = "0.1.0"
