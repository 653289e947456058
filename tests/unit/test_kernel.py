"""The kernel that runs readers' cells (web/runtime/kernel.py), the same file the browser's worker
and the site builder run."""

import importlib.util
import json
from pathlib import Path

import pytest

KERNEL_FILE = Path(__file__).resolve().parents[2] / "web" / "runtime" / "kernel.py"


@pytest.fixture
def kernel():
    spec = importlib.util.spec_from_file_location("lmlab_kernel_under_test", KERNEL_FILE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def run(kernel_module, code, page="p", cell="1", k=None):
    k = k or kernel_module.Kernel()
    outputs = []
    ok = k.run(page, cell, code, lambda kind, payload: outputs.append((kind, payload)))
    return ok, outputs, k


def test_last_bare_expression_is_shown_and_prints_stream(kernel):
    ok, outputs, _ = run(kernel, "print('hi')\nx = 2\nx * 21")
    assert ok
    assert outputs == [
        ("stream", {"name": "stdout", "text": "hi\n"}),
        ("display", {"mime": "text/plain", "data": "42"}),
    ]


def test_each_page_keeps_its_own_numpy_print_options(kernel):
    """A page that sets np.set_printoptions prints its way; the next page prints numpy's way."""
    import numpy as np

    show = "import numpy as np\nprint(np.array([0.123456789]))"
    _, outputs, k = run(kernel, show, page="a")
    assert outputs[-1][1]["text"] == "[0.12345679]\n"
    run(kernel, "np.set_printoptions(precision=2)", page="a", k=k)
    _, outputs, _ = run(kernel, show, page="b", k=k)
    assert outputs[-1][1]["text"] == "[0.12345679]\n"
    _, outputs, _ = run(kernel, show, page="a", k=k)
    assert outputs[-1][1]["text"] == "[0.12]\n"
    assert np.get_printoptions()["precision"] == 8  # between cells numpy is left as it was
    k.forget("a")
    _, outputs, _ = run(kernel, show, page="a", k=k)
    assert outputs[-1][1]["text"] == "[0.12345679]\n"


def test_cells_of_a_page_share_a_namespace_and_pages_do_not(kernel):
    _, _, k = run(kernel, "shared = 'yes'", page="a")
    ok, outputs, _ = run(kernel, "shared", page="a", k=k)
    assert ok and outputs[-1][1]["data"] == "'yes'"
    ok, outputs, _ = run(kernel, "shared", page="b", k=k)
    assert not ok and outputs[-1][1]["ename"] == "NameError"


def test_rich_output_only_through_an_object_that_offers_it(kernel):
    code = "class S:\n    def _repr_svg_(self):\n        return '<svg/>'\ndisplay(S())\n'<b>'"
    ok, outputs, _ = run(kernel, code)
    assert ok
    assert outputs == [
        ("display", {"mime": "image/svg+xml", "data": "<svg/>"}),
        ("display", {"mime": "text/plain", "data": "'<b>'"}),
    ]


def test_traceback_shows_only_the_cells_frames_with_their_lines(kernel):
    ok, outputs, _ = run(kernel, "def f(x):\n    return 1 / x\n\nf(0)", cell="7")
    assert not ok
    (kind, error), = outputs
    assert kind == "error" and error["ename"] == "ZeroDivisionError"
    assert 'File "<cell 7>", line 4, in <module>' in error["traceback"]
    assert 'File "<cell 7>", line 2, in f' in error["traceback"]
    assert "kernel" not in error["traceback"]


def test_a_runaway_print_is_cut_off_once(kernel):
    limit = kernel.MAX_OUTPUT_CHARS
    ok, outputs, _ = run(kernel, f"for i in range({limit // 10 + 100}):\n    print('123456789')")
    assert ok
    text = "".join(payload["text"] for _, payload in outputs)
    assert text.count("[output cut off") == 1
    assert len(text) < limit + 100


def test_call_reaches_lmlab_and_the_pages_own_functions(kernel):
    _, _, k = run(kernel, "def double(xs):\n    return [2 * x for x in xs]")
    reply = json.loads(k.call("p", "double", json.dumps({"args": [[1, 2]]})))
    assert reply == {"ok": True, "value": [2, 4]}
    reply = json.loads(k.call("p", "lmlab.sampling.softmax", json.dumps({"args": [[0.0, 0.0]]})))
    assert reply == {"ok": True, "value": [0.5, 0.5]}


def test_call_of_a_missing_function_says_so_without_kernel_frames(kernel):
    k = kernel.Kernel()
    reply = json.loads(k.call("p", "softmax", json.dumps({})))
    message = "NameError: no function named 'softmax' is defined on this page"
    assert reply == {"ok": False, "error": message}
    reply = json.loads(k.call("p", "lmlab.sampling.nope", json.dumps({})))
    assert not reply["ok"] and reply["error"].startswith("AttributeError:")


def test_call_of_a_raising_function_returns_its_error(kernel):
    _, _, k = run(kernel, "def bad():\n    raise ValueError('broken')")
    reply = json.loads(k.call("p", "bad", json.dumps({})))
    assert not reply["ok"]
    assert "ValueError: broken" in reply["error"] and 'File "<cell 1>", line 2' in reply["error"]


def strict_json(text: str) -> object:
    """Parse as the browser's JSON.parse does: Python's NaN and Infinity are not JSON."""

    def refuse(name):
        raise ValueError(f"{name} is not JSON")

    return json.loads(text, parse_constant=refuse)


def test_call_carries_non_finite_numbers_as_the_protocol_says(kernel):
    """JSON has no inf or NaN; they travel as {"$float": ...} both ways (protocol.js)."""
    code = (
        "import numpy as np\n"
        "def specials(x):\n"
        "    return {'given': x, 'list': [float('inf'), 1.5],\n"
        "            'array': np.array([-np.inf, np.nan]), 'scalar': np.float32(-np.inf),\n"
        "            'ints': np.arange(3)}"
    )
    _, _, k = run(kernel, code)
    args = json.dumps({"args": [[{"$float": "NaN"}, {"$float": "-Infinity"}, 2.0]]})
    text = k.call("p", "specials", args)
    assert strict_json(text) == {"ok": True, "value": {
        "given": [{"$float": "NaN"}, {"$float": "-Infinity"}, 2.0],
        "list": [{"$float": "Infinity"}, 1.5],
        "array": [{"$float": "-Infinity"}, {"$float": "NaN"}],
        "scalar": {"$float": "-Infinity"},
        "ints": [0, 1, 2],
    }}
    # lmlab's own functions that mask with -inf, through the same path
    top_k = json.dumps({"args": [[1.0, 3.0, 2.0], 1]})
    reply = strict_json(k.call("p", "lmlab.sampling.top_k_filter", top_k))
    assert reply == {"ok": True, "value": [{"$float": "-Infinity"}, 3.0, {"$float": "-Infinity"}]}


def test_an_ordinary_dict_that_looks_nothing_like_a_float_is_left_alone(kernel):
    _, _, k = run(kernel, "def echo(x):\n    return x")
    value = {"$float": "NaN", "other": 1}
    assert json.loads(k.call("p", "echo", json.dumps({"args": [value]})))["value"] == value


@pytest.fixture
def connected(kernel, monkeypatch):
    """connect(sleep, ask) -> a Kernel wired as the browser's worker wires it. connect() replaces
    time.sleep and builtins.input; they are put back after the test."""
    import builtins
    import time

    monkeypatch.setattr(time, "sleep", time.sleep)
    monkeypatch.setattr(builtins, "input", builtins.input)

    def connect(sleep=None, ask=None):
        k = kernel.Kernel()
        k.connect(sleep, ask)
        return k

    return connect


def test_a_flush_in_a_tight_loop_is_coalesced(kernel, monkeypatch):
    monkeypatch.setattr(kernel.time, "monotonic", lambda: 100.0)  # the loop takes no time at all
    ok, outputs, _ = run(kernel, "for k in range(1000):\n    print(k, flush=True)")
    assert ok
    # The first flush goes at once; the rest wait for the clock (or the end of the cell).
    assert len(outputs) == 2
    assert "".join(p["text"] for _, p in outputs) == "".join(f"{k}\n" for k in range(1000))


def test_what_was_printed_shows_before_a_sleep_and_stop_ends_it(kernel, connected):
    seen = []
    k = connected(sleep=lambda seconds: seen.append((seconds, len(outputs))) or len(seen) > 1)
    outputs = []
    code = "import time\nprint('a')\nprint('b')\ntime.sleep(2)\nprint('c')\ntime.sleep(60)"
    ok = k.run("p", "1", code, lambda kind, payload: outputs.append((kind, payload)))
    assert not ok
    assert seen[0] == (2.0, 1) and "".join(p["text"] for _, p in outputs[:1]) == "a\nb\n"
    assert outputs[-1][1]["traceback"] == "KeyboardInterrupt: stopped by you"


def test_a_cell_stopped_before_it_started_runs_nothing_and_says_so(kernel):
    k = kernel.Kernel()
    outputs = []
    ok = k.run("p", "1", "ran = True", lambda kind, payload: outputs.append((kind, payload)),
               stopped=True)
    assert not ok and "ran" not in k.namespace("p")
    assert outputs == [("error", {"ename": "KeyboardInterrupt", "evalue": "",
                                  "traceback": "KeyboardInterrupt: stopped by you"})]
    assert run(kernel, "1 + 1", k=k)[0]  # the next cell runs as usual


def test_a_stopped_call_answers_that_it_was_stopped(kernel):
    code = "def spin():\n    raise KeyboardInterrupt  # as Stop raises it\ndef one():\n    return 1"
    _, _, k = run(kernel, code)
    stopped = {"ok": False, "error": "KeyboardInterrupt: stopped by you"}
    assert json.loads(k.call("p", "spin", json.dumps({}))) == stopped
    assert json.loads(k.call("p", "one", json.dumps({}), stopped=True)) == stopped
    assert json.loads(k.call("p", "one", json.dumps({}))) == {"ok": True, "value": 1}


def test_input_asks_through_the_page(kernel, connected):
    asked = []
    k = connected(sleep=lambda s: False, ask=lambda prompt: asked.append(prompt) or "Ada")
    outputs = []
    ok = k.run("p", "1", "print('hello')\nname = input('name? ')\nname.upper()",
               lambda kind, payload: outputs.append((kind, payload)))
    assert ok and asked == ["name? "]
    assert outputs == [
        ("stream", {"name": "stdout", "text": "hello\n"}),
        ("stream", {"name": "stdout", "text": "name? Ada\n"}),
        ("display", {"mime": "text/plain", "data": "'ADA'"}),
    ]
    k._ask = lambda prompt: None  # the reader pressed Stop instead of answering
    ok, outputs, _ = run(kernel, "input()", k=k)
    assert not ok and outputs[-1][1]["ename"] == "KeyboardInterrupt"


def test_input_where_it_cannot_ask_says_so_plainly(kernel, connected):
    k = connected()
    ok, outputs, _ = run(kernel, "name = input('name? ')", cell="3", k=k)
    assert not ok
    traceback = outputs[-1][1]["traceback"]
    assert 'File "<cell 3>", line 1' in traceback
    assert "input() cannot ask you anything on this page" in traceback
    assert "kernel" not in traceback


def test_call_hands_lmlab_the_readers_own_function(kernel):
    _, _, k = run(kernel, "def double(x):\n    return 2 * x")
    code = "def apply(f, x):\n    return f(x)"
    k.run("p", "2", code, lambda kind, payload: None)
    def call(args):
        return json.loads(k.call("p", "apply", json.dumps(args)))

    assert call({"args": [{"reader": "double"}, 21]}) == {"ok": True, "value": 42}
    missing = "NameError: no function named 'nope' is defined on this page"
    assert call({"kwargs": {"f": {"reader": "nope"}, "x": 1}}) == {"ok": False, "error": missing}
    # Any other dict is data, passed as it is.
    reply = call({"args": [{"reader": "double", "x": 1}, 0]})
    assert not reply["ok"] and "TypeError" in reply["error"]



def test_call_hands_lmlab_a_value_the_readers_cells_made(kernel):
    _, _, k = run(kernel, "table = {'a': {'b': 1.0}}")
    k.run("p", "2", "def first(t):\n    return sorted(t)[0]", lambda kind, payload: None)
    def call(args):
        return json.loads(k.call("p", "first", json.dumps(args)))

    assert call({"args": [{"reader_data": "table"}]}) == {"ok": True, "value": "a"}
    missing = "NameError: nothing named 'nope' is defined on this page"
    assert call({"args": [{"reader_data": "nope"}]}) == {"ok": False, "error": missing}


def general_to_json(value):
    """to_json as it was before its fast path for plain values: every value asked for tolist."""
    import math

    import numpy as np

    if hasattr(value, "tolist"):
        kind = getattr(getattr(value, "dtype", None), "kind", None)
        if kind in ("b", "i", "u") or (kind == "f" and np.isfinite(value).all()):
            return value.tolist()
        value = value.tolist()
    if isinstance(value, float):
        if math.isfinite(value):
            return value
        name = "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")
        return {"$float": name}
    if isinstance(value, dict):
        return {str(k): general_to_json(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [general_to_json(v) for v in value]
    return value


def test_to_json_takes_plain_values_as_the_general_path_does(kernel):
    import numpy as np

    class Name(str):
        pass

    value = {
        "text": ["a", "", Name("b"), ("c", 1)], 1: True, None: None, (1, 2): [1.5, -0.0],
        False: {"inf": float("inf"), "nan": float("nan"), "neg": -float("inf")},
        "numpy": [np.float64(0.25), np.int64(7), np.bool_(True), np.array([1.0, np.nan]),
                  np.array([[1, 2]]), np.float32(np.inf)],
        "steps": [{"tokens": ["he", "llo"], "top": [["h", "e", 3]], "pair": None}],
    }
    fast = kernel.to_json(value)
    assert json.dumps(fast) == json.dumps(general_to_json(value))
    assert type(fast["text"][2]) is Name  # a subclass of str passes through, as it did
