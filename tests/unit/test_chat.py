"""lmlab.chat: the conversation with SmolLM2 kept token by token. The cut-back cache on a tiny
Llama (CPython and Pyodide); on the real model: the turns are the model's own chat template, a
step looked at afterwards is the step as it was drawn, and its attention weights and tree equal
transformers' and fresh forward passes."""

import sys

import numpy as np
import pytest
from lmlab import chat
from lmlab.llama import chat_prompt
from test_llama import tiny_llama


def test_a_cut_back_cache_is_the_cache_of_the_shorter_context():
    model = tiny_llama()
    ids = [3, 1, 4, 1, 5, 9, 2, 6]
    cache = model.new_cache()
    model.forward(ids, cache)
    for length in (1, 4, 7):
        cut = chat.cut_cache(cache, length)
        again = model.forward(ids[length:length + 1], cut)[-1]
        np.testing.assert_allclose(again, model.forward(ids[:length + 1])[-1], rtol=1e-4, atol=1e-5)
    assert cache[0]["k"].shape[1] == 8  # the conversation's own cache is untouched


def test_filters_are_those_of_sampling():
    logits = np.array([2.0, 1.0, 0.5, -1.0, 3.0])
    probs = chat.filtered_probs(logits, 0.7, 2, None)
    assert np.count_nonzero(probs) == 2 and probs.sum() == pytest.approx(1)
    assert chat.filtered_probs(logits, 0, None, None).tolist() == [0, 0, 0, 0, 1]
    assert np.count_nonzero(chat.filtered_probs(logits, 1.0, None, 0.5)) == 1


def test_the_model_file_asks_for_the_button_in_a_page(monkeypatch, tmp_path):
    from lmlab import data

    monkeypatch.setenv("LMLAB_DATA", str(tmp_path))
    monkeypatch.setattr(sys, "platform", "emscripten")
    with pytest.raises(data.DataUnavailable, match="Load the model"):
        data.smollm2()
    (tmp_path / f"{data.SMOLLM2}.error").write_text("the site answered 404")
    with pytest.raises(data.DataUnavailable, match="404"):
        data.smollm2()


# ---------------------------------------------------------------- SmolLM2 itself


@pytest.fixture(scope="module")
def talk(smollm2_file):
    chat.load()
    return chat.conversation()


def reply(**settings) -> list[dict]:
    tokens = []
    while not tokens or not tokens[-1]["done"]:
        tokens.append(chat.next_token(**settings))
    return tokens


@pytest.mark.pretrained
def test_two_turns_are_the_models_chat_template(talk):
    chat.new_conversation(seed=0)
    said = chat.say("What is the capital of France?")
    first = [{"role": "user", "content": "What is the capital of France?"}]
    assert [t["id"] for t in said["tokens"]] == talk.tokenizer.encode(chat_prompt(first))
    answer = reply(temperature=0)
    assert "".join(t["text"] for t in answer) == "The capital of France is Paris.<|im_end|>"
    assert answer[-1]["special"] and answer[-1]["done"]
    chat.say("And of Germany?")
    both = first + [{"role": "assistant", "content": "The capital of France is Paris."},
                    {"role": "user", "content": "And of Germany?"}]
    assert talk.ids == talk.tokenizer.encode(chat_prompt(both))


@pytest.mark.pretrained
def test_a_stopped_reply_is_closed_before_the_next_turn(talk):
    chat.new_conversation(seed=1)
    chat.say("Tell me a story.")
    cut = "".join(chat.next_token(temperature=0.7)["text"] for _ in range(3))
    chat.say("Shorter, please.")
    said = [{"role": "user", "content": "Tell me a story."},
            {"role": "assistant", "content": cut}, {"role": "user", "content": "Shorter, please."}]
    assert talk.tokenizer.decode(talk.ids) == chat_prompt(said)


@pytest.mark.pretrained
def test_the_same_seed_draws_the_same_reply(talk):
    runs = []
    for _ in range(2):
        chat.new_conversation(seed=7)
        chat.say("Name a colour.")
        runs.append([t["id"] for t in reply(temperature=1.0, top_k=50, top_p=0.9)])
    assert runs[0] == runs[1]


@pytest.mark.pretrained
def test_a_step_looked_at_again_is_the_step_that_was_drawn(talk):
    chat.new_conversation(seed=3)
    chat.say("What is 2 + 2?")
    drawn = reply(temperature=0.8, top_k=40, top_p=0.95)
    for step in (0, len(drawn) // 2, len(drawn) - 1):
        seen = chat.inspect(step, temperature=0.8, top_k=40, top_p=0.95)
        assert seen["chosen"]["id"] == drawn[step]["id"]
        # the forward pass run again from the cut-back cache gives the probability it was drawn
        # with (float32 in the same order: equal to far below the 3 digits shown)
        assert seen["chosen"]["kept_prob"] == pytest.approx(drawn[step]["prob"], abs=1e-5)
        assert sum(c["prob"] for c in seen["candidates"]) <= 1 + 1e-9
        assert seen["kept"] <= 40


@pytest.mark.reference
@pytest.mark.pretrained
def test_attention_weights_equal_transformers(talk, hugging_face):
    import torch

    chat.new_conversation(seed=0)
    chat.say("Why is the sky blue?")
    reply(temperature=0)
    step = 4
    position = talk.reply[step]
    hugging_face[1].config._attn_implementation = "eager"  # weights are returned by eager only
    with torch.no_grad():
        out = hugging_face[1](torch.tensor([talk.ids[:position]]), output_attentions=True)
    for layer, head in [(0, 0), (11, 4), (29, 8)]:
        ours = chat.attention(step, layer, head)
        want = out.attentions[layer][0, head, -1].numpy()
        assert len(ours["tokens"]) == position
        np.testing.assert_allclose(ours["weights"], want, atol=2e-4)


@pytest.mark.pretrained
def test_the_tree_is_the_models_own_probabilities(talk):
    chat.new_conversation(seed=0)
    chat.say("What is the capital of France?")
    reply(temperature=0)
    grown = chat.tree(1, depth=2, branches=3, temperature=0.7)
    start = talk.reply[1]
    context = talk.ids[:start]
    probs = chat.softmax(talk.model.forward(context)[-1].astype(np.float64) / 0.7)
    for child in grown["children"]:
        assert child["prob"] == pytest.approx(probs[child["id"]], abs=1e-5)
        deeper = chat.softmax(talk.model.forward(context + [child["id"]])[-1] / 0.7)
        for grandchild in child["children"]:
            assert grandchild["prob"] == pytest.approx(deeper[grandchild["id"]], abs=1e-5)
            assert grandchild["path_prob"] == pytest.approx(child["prob"] * grandchild["prob"])
    assert grown["children"][0]["word"] == talk.tokenizer.decode([talk.ids[start]])
