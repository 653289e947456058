"""lmlab.chat_stages: one line answered by the book's GPT, its fine-tuned and its aligned model
(chapter 9's chat-stages widget).

The view's replies are checked against lmlab.finetune.reply (which generates the whole budget and
cuts at <|end|>, where the view stops early) and against GPT.generate directly; the
log-probabilities against a sum of log-softmaxes written out here; the marked repeats against the
regex; the streamed views, call by call, against the finished view and each other. These tests
use the models the build trains (`built`), so they run inside Pyodide too.
"""

import json
import sys
from pathlib import Path

import numpy as np
import pytest
from lmlab import book_chat, chat_stages, finetune
from lmlab.book_model import split_text
from lmlab.chat_stages import (
    PRESETS,
    TOKENS_PER_CALL,
    reply_logprobs,
    stages_stream,
    stages_view,
)

REPO = Path(__file__).resolve().parents[2]
CASES = [(PRESETS[0], 0.0, 0), (PRESETS[1], 0.8, 3), (PRESETS[2], 1.5, 7),
         ("What is your name?", 1.0, 11), ("Tell me, good sir, how fares the king?", 0.5, 2)]


@pytest.fixture(scope="module")
def models():
    if sys.platform != "emscripten":  # Pyodide reads what CPython's build made
        sys.path.insert(0, str(REPO / "build"))
        import data as book_data

        book_data.prepare(["book_gpt", "book_chat", "shakespeare"])
    return chat_stages.book_model(), chat_stages.chat_models()


@pytest.mark.built
@pytest.mark.parametrize(("line", "temperature", "seed"), CASES)
def test_the_replies_are_what_the_models_write_for_the_seed(models, line, temperature, seed):
    book, chat = models
    view = stages_view(line, temperature, seed)
    pretrained, tuned, aligned = view["columns"]
    budget = min(chat_stages.MAX_NEW_TOKENS, 64 - len(chat.tokenizer.prompt(line)))
    assert [c["budget"] for c in view["columns"]] == [budget] * 3
    for col, model in [(tuned, chat.model), (aligned, chat.aligned)]:
        assert col["reply"] == finetune.reply(model, chat.tokenizer, line,
                                              max_new_tokens=chat_stages.MAX_NEW_TOKENS,
                                              temperature=temperature, seed=seed)
    plain = book.tokenizer.encode(line)
    written = book.model.generate(plain, budget, temperature=temperature, seed=seed)[len(plain):]
    assert pretrained["reply"] == book.tokenizer.decode(written)
    assert pretrained["new_tokens"] == budget and pretrained["ended"] is None


@pytest.mark.built
@pytest.mark.parametrize(("line", "temperature", "seed"), CASES)
def test_only_the_chat_models_read_special_tokens_and_they_stop_at_end(models, line,
                                                                       temperature, seed):
    _, chat = models
    view = stages_view(line, temperature, seed)
    pretrained, *chats = view["columns"]
    read_and_written = pretrained["prompt_tokens"] + pretrained["reply_tokens"]
    assert not any(special for _, special in read_and_written)
    assert "".join(text for text, _ in pretrained["prompt_tokens"]) == \
        line.replace(" ", "␣").replace("\n", "↵")
    prompt = chat.tokenizer.prompt(line)
    names = [chat.tokenizer.names.get(int(i)) for i in prompt]
    for col, model in zip(chats, [chat.model, chat.aligned], strict=True):
        assert [text for text, special in col["prompt_tokens"] if special] == \
            ["<|user|>", "<|assistant|>"]
        assert [t for t, s in col["prompt_tokens"] if s] == [n for n in names if n]
        reply = written(chat, model, line, temperature, seed)
        assert col["new_tokens"] == len(reply) == len(col["reply_tokens"])
        assert col["ended"] == (reply[-1] == chat.tokenizer.special[finetune.END])
        specials = [text for text, special in col["reply_tokens"] if special]
        assert specials == (["<|end|>"] if col["ended"] else [])
        assert col["reply_tokens"][-1] == ["<|end|>", True] or col["new_tokens"] == col["budget"]


def written(chat, model, line, temperature, seed) -> np.ndarray:
    """The model's reply ids, its <|end|> included if it wrote one: the whole budget generated
    without stopping, cut after its first <|end|>."""
    prompt = chat.tokenizer.prompt(line)
    budget = min(chat_stages.MAX_NEW_TOKENS, 64 - len(prompt))
    full = model.generate(prompt, budget, temperature=temperature, seed=seed)[len(prompt):]
    ends = np.flatnonzero(full == chat.tokenizer.special[finetune.END])
    return full[: ends[0] + 1] if len(ends) else full


@pytest.mark.built
@pytest.mark.parametrize(("line", "temperature", "seed"), CASES[:3])
def test_log_probabilities_sum_the_reply_tokens_under_each_model(models, line, temperature,
                                                                 seed):
    _, chat = models
    view = stages_view(line, temperature, seed)
    prompt = chat.tokenizer.prompt(line)
    for col, writer in zip(view["columns"][1:], [chat.model, chat.aligned], strict=True):
        ids = np.concatenate([prompt, written(chat, writer, line, temperature, seed)])
        for name, model in [("fine-tuned", chat.model), ("aligned", chat.aligned)]:
            logits, _ = model.forward(ids[None, :-1])
            z = logits[0] - logits[0].max(axis=-1, keepdims=True)
            logp = z - np.log(np.exp(z).sum(axis=-1, keepdims=True))
            expected = sum(logp[t - 1, ids[t]] for t in range(len(prompt), len(ids)))
            assert col["logprob"][name] == pytest.approx(expected, abs=1e-9)


def test_repeats_are_marked_where_the_regex_finds_them():
    text = "Nay, sir, sir, sir. No, no. Ay ay AY ay, my lord"
    parts = chat_stages.marked(text)
    assert "".join(part for part, _ in parts) == text
    assert [part for part, repeats in parts if repeats] == \
        [m.group(0) for m in book_chat.REPEAT.finditer(text)] == ["sir, sir, sir", "Ay ay AY ay"]
    assert chat_stages.marked("No, no.") == [["No, no.", False]]


@pytest.mark.built
@pytest.mark.parametrize(("line", "temperature", "seed"), CASES)
def test_the_flags_agree_with_the_regex_and_the_view_is_json(models, line, temperature, seed):
    view = stages_view(line, temperature, seed)
    for col in view["columns"]:
        assert "".join(part for part, _ in col["parts"]) == col["reply"]
        assert col["repeats"] == bool(book_chat.REPEAT.search(col["reply"]))
        assert [p for p, r in col["parts"] if r] == \
            [m.group(0) for m in book_chat.REPEAT.finditer(col["reply"])]
    assert json.loads(json.dumps(view)) == view


@pytest.mark.built
def test_the_presets_are_held_out_lines_the_fine_tuned_model_answers_with_repeats(models):
    from lmlab import data

    book, chat = models
    text = data.path("shakespeare.txt").read_text()
    held_out = {line for line, _ in finetune.dialogue_pairs(split_text(text, 0.1)[1])}
    assert book.settings.held_out == 0.1
    for line in PRESETS:
        assert line in held_out
        view = stages_view(line)  # greedy by default: what the preference pairs were made of
        assert view["temperature"] == 0 and view["play_reply"] == dict(
            (a, b) for a, b, _ in chat.test_triples)[line]
        assert view["columns"][1]["repeats"]
    assert stages_view("What is your name?")["play_reply"] is None


@pytest.mark.built
def test_the_same_seed_gives_the_same_replies_and_another_seed_others(models):
    first = stages_view(PRESETS[1], 1.0, 5)
    chat_stages._writings.clear()
    assert stages_view(PRESETS[1], 1.0, 5) == first
    others = [stages_view(PRESETS[1], 1.0, s) for s in range(6, 9)]
    assert any(o["columns"][2]["reply"] != first["columns"][2]["reply"] for o in others)


@pytest.mark.built
def test_bad_input_is_explained(models):
    for args, match in [(("",), "type a line"), (("  \n",), "type a line"),
                        (("Hi", 2.0), "temperature must be 0 to 1.5"),
                        (("Hi", -0.1), "temperature"), (("Hi", 0.5, -1), "seed"),
                        (("Hi", 0.5, 1.5), "seed"),
                        (("word " * 60,), "leave room for a reply")]:
        with pytest.raises(ValueError, match=match):
            stages_view(*args)
        with pytest.raises(ValueError, match=match):
            stages_stream(*args)
    for calls in (-1, 0.5):
        with pytest.raises(ValueError, match="calls"):
            stages_stream("Hi", 0.5, 1, calls)


def streamed(line, temperature, seed) -> list[dict]:
    """Every answer of stages_stream for a request, from calls=0 until done, in a fresh process
    as far as chat_stages knows (no earlier replies kept)."""
    chat_stages._writings.clear()
    views = [stages_stream(line, temperature, seed, 0)]
    while not views[-1]["done"]:
        views.append(stages_stream(line, temperature, seed, len(views)))
    return views


@pytest.mark.built
@pytest.mark.parametrize(("line", "temperature", "seed"), CASES)
def test_the_stream_ends_with_the_finished_view(models, line, temperature, seed):
    chat_stages._writings.clear()
    finished = stages_view(line, temperature, seed)
    views = streamed(line, temperature, seed)
    assert views[-1] == finished and finished["done"]
    assert json.loads(json.dumps(views[-1])) == views[-1]
    assert not views[-2]["done"] and len(views) <= chat_stages.LAST_CALL + 1


@pytest.mark.built
@pytest.mark.parametrize(("line", "temperature", "seed"), CASES[:2])
def test_each_call_computes_at_most_one_log_probability(models, monkeypatch, line, temperature,
                                                        seed):
    computed = []
    monkeypatch.setattr(chat_stages, "reply_logprobs",
                        lambda *args: computed.append(args) or reply_logprobs(*args))
    chat_stages._writings.clear()
    end = chat_stages.chat_models().tokenizer.special[finetune.END]
    calls, done = 0, False
    while not done:
        before = len(computed)
        done = stages_stream(line, temperature, seed, calls)["done"]
        assert len(computed) - before <= 1
        calls += 1
    assert len(computed) == 4 and all(len(scorers) == 1 for scorers, _, _ in computed)
    for _, _, (reply,) in computed:  # each a finished reply: to its end or its budget
        assert reply[-1] == end or len(reply) == stages_view(line, temperature, seed)[
            "columns"][1]["budget"]


@pytest.mark.built
@pytest.mark.parametrize(("line", "temperature", "seed"), CASES[:3])
def test_each_call_adds_a_few_tokens_to_each_unfinished_reply(models, line, temperature, seed):
    views = streamed(line, temperature, seed)
    first = views[0]  # the pretrained model's first tokens at once; each chat model a call later
    assert [col["new_tokens"] for col in first["columns"]] == [TOKENS_PER_CALL, 0, 0]
    assert [col["reply"] for col in first["columns"]][1:] == ["", ""]
    finished = views[-1]
    for call, (before, after) in enumerate(zip(views, views[1:], strict=False), start=1):
        assert before["line"] == after["line"] and not before["done"]
        for i, (was, now) in enumerate(zip(before["columns"], after["columns"], strict=True)):
            assert now["prompt_tokens"] == was["prompt_tokens"] == \
                finished["columns"][i]["prompt_tokens"]
            assert now["reply_tokens"][: was["new_tokens"]] == was["reply_tokens"]
            left = finished["columns"][i]["new_tokens"] - was["new_tokens"]
            started = call >= i
            assert now["new_tokens"] - was["new_tokens"] == min(TOKENS_PER_CALL, left) * started
    for view in views:
        for col in view["columns"]:
            if col["done"]:
                continue
            assert col["repeats"] is None and "logprob" not in col
            assert col["ended"] is (None if col["stage"] == "pretrained" else False)
            assert col["parts"] == ([[col["reply"], False]] if col["reply"] else [])


@pytest.mark.built
def test_a_reply_stops_at_its_end_token_while_the_others_write_on(models):
    _, chat = models
    end = ["<|end|>", True]
    views = streamed(PRESETS[2], 0.8, 4)
    tuned = [view["columns"][1] for view in views]
    stop = next(i for i, col in enumerate(tuned) if col["done"])
    assert tuned[stop]["ended"] and tuned[stop]["reply_tokens"][-1] == end
    assert end not in tuned[stop]["reply_tokens"][:-1]
    assert all(col["reply_tokens"] == tuned[stop]["reply_tokens"] for col in tuned[stop:])
    assert not views[stop]["done"] and views[-1]["columns"][0]["new_tokens"] == \
        views[-1]["columns"][0]["budget"]
    assert "logprob" not in tuned[stop] and set(tuned[-1]["logprob"]) == {"fine-tuned", "aligned"}
    reply = written(chat, chat.model, PRESETS[2], 0.8, 4)
    assert tuned[stop]["new_tokens"] == len(reply)


@pytest.mark.built
def test_requests_interleave_and_only_a_few_are_kept(models):
    asked = [(PRESETS[i], 1.0, 20 + i) for i in range(chat_stages.KEEP + 1)]
    alone = [streamed(*request) for request in asked]
    chat_stages._writings.clear()
    # Each request one call further in turn: more requests than are kept, so each is dropped
    # before its next call and written again from its prompt.
    together = [[] for _ in asked]
    for calls in range(4):
        for request, views in zip(asked, together, strict=True):
            views.append(stages_stream(*request, calls))
            assert len(chat_stages._writings) <= chat_stages.KEEP
    assert together == [views[:4] for views in alone]
    assert stages_stream(*asked[-1], 2) == alone[-1][2]  # an earlier call asked again


@pytest.mark.built
def test_a_kept_request_reads_its_prompt_once(models, monkeypatch):
    _, chat = models
    read = []
    forward = chat.model.forward

    def recorded(idx, *args, **kwargs):
        read.append(np.shape(idx))
        return forward(idx, *args, **kwargs)

    monkeypatch.setattr(chat.model, "forward", recorded)
    chat_stages._writings.clear()
    prompt = chat.tokenizer.prompt(PRESETS[0])
    for calls in range(4):
        stages_stream(PRESETS[0], 0.0, 0, calls)
    assert read == [(1, len(prompt))] + [(1, 1)] * (3 * TOKENS_PER_CALL - 1)
