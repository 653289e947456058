"""The autoregressive loop's trace and tree (lmlab.generation), against the loop written out by
hand with lmlab.sampling.sample and against probabilities multiplied straight from the table."""

import numpy as np
import pytest
from lmlab.generation import STOP, generation_explorer, generation_trace, sampling_tree
from lmlab.sampling import sample

TABLE = {
    "the": {"cat": 0.4, "dog": 0.3, "mat": 0.2, "moon": 0.1},
    "a": {"mat": 0.4, "cat": 0.3, "dog": 0.3},
    "cat": {"sat": 0.5, "slept": 0.3, "ran": 0.2},
    "dog": {"ran": 0.4, "sat": 0.4, "barked": 0.2},
    "sat": {"on": 0.7, "down": 0.2, ".": 0.1},
    "slept": {"on": 0.6, ".": 0.4},
    "ran": {"to": 0.5, "away": 0.3, ".": 0.2},
    "barked": {".": 0.6, "at": 0.4},
    "on": {"the": 0.8, "a": 0.2},
    "to": {"the": 0.9, "a": 0.1},
    "at": {"the": 0.8, "a": 0.2},
    "down": {".": 0.7, "on": 0.3},
    "away": {".": 1.0},
    "mat": {".": 0.7, "and": 0.3},
    "moon": {".": 0.6, "and": 0.4},
    "and": {"the": 0.6, "a": 0.4},
}


def loop_by_hand(prompt, steps, temperature, seed):
    """The chapter's loop: sample() on log-probabilities, one rng for the whole run."""
    rng = np.random.default_rng(seed)
    context = list(prompt)
    for _ in range(steps):
        options = TABLE[context[-1]]
        index = int(sample(np.log(list(options.values())), temperature=temperature, rng=rng))
        context.append(list(options)[index])
        if context[-1] == STOP:
            break
    return context[len(prompt):]


@pytest.mark.parametrize("temperature", [0.3, 1.0, 2.5])
@pytest.mark.parametrize("seed", range(6))
def test_trace_draws_what_the_loop_by_hand_draws(temperature, seed):
    prompt = ["the", "cat", "sat", "on", "the"]
    trace = generation_trace(TABLE, prompt, 8, temperature, seed)
    assert [step["word"] for step in trace] == loop_by_hand(prompt, 8, temperature, seed)
    for n, step in enumerate(trace):
        assert step["context"] == prompt + [s["word"] for s in trace[:n]]


def test_each_step_shows_its_draw():
    trace = generation_trace(TABLE, ["the"], 10, 1.0, seed=3)
    path_prob = 1.0
    for step in trace:
        words = [c["word"] for c in step["candidates"]]
        probs = np.array([c["prob"] for c in step["candidates"]])
        # in the table's order: the order in which the inverse-CDF draw walks them
        assert words == [w for w in TABLE[step["context"][-1]]]
        np.testing.assert_allclose(probs, list(TABLE[step["context"][-1]].values()), rtol=1e-12)
        cumulative = np.cumsum(probs)
        assert step["chosen"] == int(np.argmax(cumulative > step["roll"] * cumulative[-1]))
        assert step["word"] == words[step["chosen"]] and step["prob"] == probs[step["chosen"]]
        path_prob *= step["prob"]
        assert step["path_prob"] == pytest.approx(path_prob, rel=1e-12)
    assert trace[-1]["word"] == STOP or len(trace) == 10


def test_temperature_reshapes_each_steps_distribution():
    step = generation_trace(TABLE, ["the"], 1, temperature=0.5, seed=0)[0]
    p = np.array([0.4, 0.3, 0.2, 0.1]) ** 2  # T = 0.5 squares and renormalises
    np.testing.assert_allclose([c["prob"] for c in step["candidates"]], p / p.sum(), rtol=1e-12)


def leaves(node):
    if not node["children"]:
        return [node]
    return [leaf for child in node["children"] for leaf in leaves(child)]


def paths(node, prefix=()):
    prefix = prefix + (node["word"],)
    if not node["children"]:
        return [prefix]
    return [p for child in node["children"] for p in paths(child, prefix)]


@pytest.mark.parametrize("depth", [1, 2, 3, 4])
def test_the_full_tree_accounts_for_all_probability(depth):
    # With every branch kept, the leaves (paths cut at `depth`, or ended by STOP) partition all
    # outcomes, so their path probabilities sum to 1.
    tree = sampling_tree(TABLE, ["the"], depth, branches=4)
    total = sum(leaf["path_prob"] for leaf in leaves(tree))
    assert total == pytest.approx(1.0, rel=1e-12)
    for path, leaf in zip(paths(tree), leaves(tree), strict=True):
        direct = np.prod([TABLE[a][b] for a, b in zip(path, path[1:], strict=False)])
        assert leaf["path_prob"] == pytest.approx(direct, rel=1e-12)
        assert len(path) == depth + 1 or path[-1] == STOP


def test_a_pruned_tree_keeps_the_likeliest_branches_and_says_what_it_left_out():
    tree = sampling_tree(TABLE, ["the", "cat"], depth=2, branches=2)
    assert tree["word"] == "cat" and tree["prob"] == 1.0
    assert [c["word"] for c in tree["children"]] == ["sat", "slept"]
    assert tree["unshown"] == pytest.approx(0.2)
    sat = tree["children"][0]
    assert [c["word"] for c in sat["children"]] == ["on", "down"]
    assert sat["children"][0]["path_prob"] == pytest.approx(0.5 * 0.7)
    # ties go to the table's order: after "dog", "ran" and "sat" both have 0.4
    dog = sampling_tree(TABLE, ["dog"], depth=1, branches=1)
    assert [c["word"] for c in dog["children"]] == ["ran"]
    # STOP ends a branch
    slept = sampling_tree(TABLE, ["slept"], depth=3, branches=2)
    assert [c["word"] for c in slept["children"]] == ["on", STOP]
    assert slept["children"][1]["children"] == []


def test_bad_arguments_say_what_is_wrong():
    with pytest.raises(ValueError, match="branches"):
        sampling_tree(TABLE, ["the"], 2, 0)
    with pytest.raises(KeyError, match="says nothing about what follows 'zebra'"):
        generation_trace(TABLE, ["zebra"], 2)
    with pytest.raises(ValueError, match="temperature"):
        generation_trace(TABLE, ["the"], 2, temperature=0)


def test_explorer_runs_the_loop_as_deep_as_the_tree():
    view = generation_explorer(TABLE, ["the"], depth=3, branches=2, temperature=1.0, seed=1)
    assert view["tree"] == sampling_tree(TABLE, ["the"], 3, 2, 1.0)
    assert view["trace"] == generation_trace(TABLE, ["the"], 3, 1.0, 1)


def test_a_readers_table_drives_the_explorer_once_it_is_a_distribution_everywhere():
    from lmlab.generation import generation_explorer, reader_explorer, table_problems

    good = {"the": {"cat": 0.5, "dog": 0.5}, "cat": {".": 1.0}, "dog": {"ran": 0.3, ".": 0.7},
            "ran": {".": 1.0}}
    assert table_problems(good, ["the"]) == []
    explored = reader_explorer(good, ["the"], depth=2, branches=2, seed=3)
    assert explored == {**generation_explorer(good, ["the"], 2, 2, 1.0, 3), "problems": []}
    # Sums within 1e-6 of 1 pass; further off, the message says by how much and which way.
    assert table_problems({**good, "cat": {".": 1 - 5e-7}}, ["the"]) == []
    short = table_problems({**good, "the": {"cat": 0.5, "dog": 0.4}}, ["the"])
    assert short == ["The probabilities after 'the' add up to 0.9, not 1: add 0.1 to them."]
    over = table_problems({**good, "the": {"cat": 0.7, "dog": 0.5}}, ["the"])
    assert over == ["The probabilities after 'the' add up to 1.2, not 1: take 0.2 from them."]
    # Every word a row leads to needs a row of its own (the end marker aside).
    stuck = table_problems({**good, "dog": {"barked": 0.5, ".": 0.5}}, ["the"])
    assert stuck == ["'barked' can follow 'dog', but the table has no row for 'barked': add one "
                     "(it may lead to '.' to end the sentence), or the loop would be stuck there."]
    assert "The prompt ends with 'a'" in table_problems(good, ["a"])[0]
    assert "number, 0 or more" in table_problems({**good, "cat": {".": -1.0, "x": 2.0}}, ["the"])[0]
    assert "number, 0 or more" in table_problems({**good, "cat": {".": "1"}}, ["the"])[0]
    assert "should be a dict" in table_problems([("the", "cat")], ["the"])[0]
    assert "row for 'cat' should be a dict" in table_problems({**good, "cat": 1.0}, ["the"])[0]
    assert reader_explorer({**good, "cat": {".": 0.5}}, ["the"])["problems"] == [
        "The probabilities after 'cat' add up to 0.5, not 1: add 0.5 to them."]
