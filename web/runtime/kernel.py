"""Runs a reader's cell: the one piece of Python between the page and their code.

The browser's worker runs this file inside Pyodide; the site builder runs the same file with
CPython to put each cell's output into the page before Python has loaded. Everything it sends
back goes through one callback, ``emit(kind, payload)``:

    ("stream", {"name": "stdout" | "stderr", "text": str})
    ("display", {"mime": "text/plain" | "text/html" | "image/svg+xml" | "image/png", "data": str})
    ("error", {"ename": str, "evalue": str, "traceback": str})

Output is text unless the reader's code asks for something richer through ``display(obj)`` or an
object with a ``_repr_html_`` / ``_repr_svg_`` / ``_repr_png_`` method.
"""

import ast
import base64
import builtins
import importlib
import json
import linecache
import math
import sys
import time
import traceback
from collections.abc import Callable, Iterable

Emit = Callable[[str, dict], None]
# What the browser's worker lends the kernel (Kernel.connect): a sleep that Stop ends (True when
# it did), and a question to the reader (their answer, or None when they pressed Stop).
Sleep = Callable[[float], bool]
Ask = Callable[[str], str | None]

# This file's name as its frames show it (the worker compiles it under another name than the
# builder's), so that a traceback never shows the kernel's own lines to the reader.
_KERNEL_FILE = (lambda: None).__code__.co_filename

NO_INPUT = (
    "input() cannot ask you anything on this page: waiting for your answer needs a page that is "
    "cross-origin isolated, and this one is not (its host sends no COOP/COEP headers, and the "
    "book's service worker, which adds them, isolates only the pages loaded after it started: "
    "reload the page to try again). Or put the value in the code instead, for example "
    "name = \"Ada\" in place of name = input(\"name? \"), or open the book from a host that "
    "isolates it (build/lab serve does)."
)

# What a cell or a widget's call the reader stopped says.
STOPPED = "KeyboardInterrupt: stopped by you"

# A cell that prints more than this is cut off, so a runaway print cannot sink the page.
MAX_OUTPUT_CHARS = 1_000_000
# Streamed text is sent in pieces at least this far apart, so a tight print loop stays cheap.
FLUSH_SECONDS = 0.05


def cell_filename(cell: str) -> str:
    return f"<cell {cell}>"


class _Stream:
    """A file-like stdout/stderr that forwards text to the page while the cell is running.

    Text goes out at most every FLUSH_SECONDS, whatever the cell does: a reader's flush (print(...,
    flush=True)) in a tight loop would otherwise send one message per line, and the page would
    spend its time drawing them. The kernel sends what is pending before a display, a sleep, an
    input() question and at the end of the cell, so nothing waits longer than that.
    """

    def __init__(self, name: str, run: "_Run") -> None:
        self.name, self.run = name, run
        self.pending: list[str] = []
        self.last_sent = time.monotonic()
        self.sent_any = False

    def write(self, text: str) -> int:
        if not isinstance(text, str):
            raise TypeError(f"write() argument must be str, not {type(text).__name__}")
        run = self.run
        room = MAX_OUTPUT_CHARS - run.written
        run.written += len(text)
        if room > 0:
            self.pending.append(text[:room])
        if len(text) > room and not run.cut_off:
            run.cut_off = True
            self.pending.append(f"\n[output cut off after {MAX_OUTPUT_CHARS:,} characters]\n")
            self.send()
        elif time.monotonic() - self.last_sent >= FLUSH_SECONDS:
            self.send()
        return len(text)

    def flush(self) -> None:
        """The reader's flush: sends the first time, then if the last piece went out long enough
        ago."""
        if not self.sent_any or time.monotonic() - self.last_sent >= FLUSH_SECONDS:
            self.send()

    def send(self) -> None:
        if self.pending:
            self.run.emit("stream", {"name": self.name, "text": "".join(self.pending)})
            self.pending.clear()
            self.last_sent, self.sent_any = time.monotonic(), True

    def isatty(self) -> bool:
        return False

    @property
    def encoding(self) -> str:
        return "utf-8"


class _Run:
    def __init__(self, emit: Emit) -> None:
        self.emit, self.written, self.cut_off = emit, 0, False


def mime_bundle(obj: object) -> tuple[str, str]:
    """The richest representation an object offers: (mime type, data)."""
    for method, mime in (
        ("_repr_html_", "text/html"),
        ("_repr_svg_", "image/svg+xml"),
        ("_repr_png_", "image/png"),
    ):
        render = getattr(obj, method, None)
        if callable(render) and not isinstance(obj, type):
            data = render()
            if data is None:
                continue
            if mime == "image/png" and isinstance(data, bytes):
                data = base64.b64encode(data).decode("ascii")
            return mime, data
    return "text/plain", repr(obj)


class Kernel:
    """One namespace per page of the book; cells of a page share theirs."""

    def __init__(self) -> None:
        self.namespaces: dict[str, dict] = {}
        # numpy's print options are one global setting; each page keeps its own (below).
        self._print_options: dict[str, dict] = {}
        self._numpy_defaults: dict | None = None
        self._emit: Emit | None = None
        self._streams: tuple[_Stream, ...] = ()
        self._ask: Ask | None = None

    def connect(self, sleep: Sleep | None, ask: Ask | None) -> None:
        """In the browser's worker: time.sleep() and input() go through the page.

        sleep and ask are None where the page is not cross-origin isolated: sleeping is then
        Python's own, and input() says plainly that it cannot ask.
        """
        own_sleep = time.sleep

        def interruptible_sleep(seconds: float) -> None:
            if seconds < 0:
                raise ValueError("sleep length must be non-negative")
            self._send_streams()  # what was printed before a pause shows during it
            if sleep is None:
                own_sleep(seconds)
            elif sleep(float(seconds)):
                raise KeyboardInterrupt

        time.sleep = interruptible_sleep
        self._ask = ask
        builtins.input = self.input

    @staticmethod
    def warm_up(modules: Iterable[str]) -> None:
        """Import these modules now (numpy, those the book's widgets call), so that the first
        widget call is as quick as the later ones."""
        for name in modules:
            importlib.import_module(name)

    def input(self, prompt: object = "") -> str:
        """input() for the reader's code: the page shows a text field below the cell."""
        if self._emit is None:
            raise RuntimeError("input() works only while a cell is running")
        self._send_streams()
        if self._ask is None:
            raise RuntimeError(NO_INPUT)
        answer = self._ask(str(prompt))
        if answer is None:
            raise KeyboardInterrupt
        # As in a terminal, the question and its answer stay in the output.
        sys.stdout.write(f"{prompt}{answer}\n")
        return answer

    def _send_streams(self) -> None:
        for stream in self._streams:
            stream.send()

    def namespace(self, page: str) -> dict:
        if page not in self.namespaces:
            self.namespaces[page] = {"__name__": "__main__", "display": self.display}
        return self.namespaces[page]

    def forget(self, page: str) -> None:
        self.namespaces.pop(page, None)
        self._print_options.pop(page, None)

    def _enter_print_options(self, page: str) -> None:
        """Give numpy the page's own print options, numpy's defaults for a page that set none:
        a cell of one chapter that sets np.set_printoptions must not change how the next chapter
        prints (the builder runs every chapter in one process, the reader's worker may too)."""
        numpy = sys.modules.get("numpy")
        if numpy is None:
            return
        if self._numpy_defaults is None:  # numpy was imported since the last cell ended
            self._numpy_defaults = numpy.get_printoptions()
        numpy.set_printoptions(**self._print_options.get(page, self._numpy_defaults))

    def _leave_print_options(self, page: str) -> None:
        numpy = sys.modules.get("numpy")
        if numpy is None:
            return
        self._print_options[page] = numpy.get_printoptions()
        if self._numpy_defaults is not None:
            numpy.set_printoptions(**self._numpy_defaults)

    def display(self, *objs: object) -> None:
        """Show objects below the cell, as HTML/SVG/PNG where they offer it, else as text."""
        if self._emit is None:
            raise RuntimeError("display() works only while a cell is running")
        self._send_streams()
        for obj in objs:
            mime, data = mime_bundle(obj)
            self._emit("display", {"mime": mime, "data": data})

    def run(self, page: str, cell: str, code: str, emit: Emit, stopped: bool = False) -> bool:
        """Run a cell's code in its page's namespace. Returns False if it raised. stopped: the
        reader pressed Stop before it started (it ends as if stopped at its first line)."""
        filename = cell_filename(cell)
        linecache.cache[filename] = (len(code), None, code.splitlines(True), filename)
        namespace = self.namespace(page)
        run = _Run(emit)
        streams = _Stream("stdout", run), _Stream("stderr", run)
        saved = sys.stdout, sys.stderr
        sys.stdout, sys.stderr = streams
        self._emit, self._streams = emit, streams
        self._enter_print_options(page)
        try:
            if stopped:
                raise KeyboardInterrupt
            value = self._execute(code, filename, namespace)
            if value is not None:
                namespace["_"] = value
                self.display(value)
            return True
        except BaseException as err:  # noqa: BLE001 - the reader's error is a result, not a crash
            self._send_streams()
            emit("error", self.describe(err, filename))
            return False
        finally:
            self._send_streams()
            self._leave_print_options(page)
            sys.stdout, sys.stderr = saved
            self._emit, self._streams = None, ()

    @staticmethod
    def _execute(code: str, filename: str, namespace: dict) -> object:
        """exec the cell; evaluate and return a last bare expression, like a notebook."""
        tree = ast.parse(code, filename, "exec")
        last = tree.body[-1] if tree.body else None
        if isinstance(last, ast.Expr):
            tree.body.pop()
            exec(compile(tree, filename, "exec"), namespace)
            expression = ast.Expression(last.value)
            return eval(compile(expression, filename, "eval"), namespace)
        exec(compile(tree, filename, "exec"), namespace)
        return None

    @staticmethod
    def describe(err: BaseException, filename: str) -> dict:
        """The error as the reader should see it: only frames in cells, with their lines."""
        ename = type(err).__name__
        if isinstance(err, KeyboardInterrupt):
            return {"ename": ename, "evalue": "", "traceback": STOPPED}
        if isinstance(err, SyntaxError) and (err.filename or "").startswith("<cell"):
            lines = traceback.format_exception_only(type(err), err)
            return {"ename": ename, "evalue": str(err.msg), "traceback": "".join(lines).rstrip()}
        frames = traceback.extract_tb(err.__traceback__)
        first = next((i for i, f in enumerate(frames) if f.filename.startswith("<cell")), None)
        frames = frames[first:] if first is not None else frames
        shown = [f for f in frames if f.filename.startswith("<cell")]
        if frames and frames[-1] not in shown and frames[-1].filename != _KERNEL_FILE:
            shown.append(frames[-1])  # where it was raised, even inside a library
        lines = ["Traceback (most recent call last):\n"]
        lines += traceback.format_list(shown)
        lines += traceback.format_exception_only(type(err), err)
        return {"ename": ename, "evalue": str(err), "traceback": "".join(lines).rstrip()}

    def call(self, page: str, function: str, args_json: str, stopped: bool = False) -> str:
        """Call a function for a widget: JSON in, JSON out.

        ``function`` is either a dotted path into a module ("lmlab.sampling.softmax") or the
        name of a function the reader defined on the page; an argument {"reader": NAME} is the
        reader's function NAME itself. Arrays come back as lists. A call the reader stopped
        (stopped: before it started) answers {"ok": False, "error": STOPPED}.
        """
        if stopped:
            return json.dumps({"ok": False, "error": STOPPED})
        args = json.loads(args_json, object_hook=from_json_object)
        try:
            target = self.resolve(page, function)
            positional = [self.reader_function(page, a) for a in args.get("args", [])]
            keywords = {k: self.reader_function(page, v) for k, v in args.get("kwargs", {}).items()}
        except (NameError, ImportError, AttributeError) as err:  # no frames: none are the reader's
            return json.dumps({"ok": False, "error": f"{type(err).__name__}: {err}"})
        try:
            result = target(*positional, **keywords)
            return json.dumps({"ok": True, "value": to_json(result)}, allow_nan=False)
        except KeyboardInterrupt:
            return json.dumps({"ok": False, "error": STOPPED})
        except Exception as err:  # noqa: BLE001 - shown inside the widget
            return json.dumps({"ok": False, "error": self.describe(err, "")["traceback"]})

    def reader_function(self, page: str, value: object) -> object:
        """An argument as given, except {"reader": NAME}: the function NAME the reader defined on
        the page (so a widget can hand lmlab the reader's own code, e.g. their bigram_counts),
        and {"reader_data": NAME}: any value NAME the reader's cells made (e.g. their next-word
        table)."""
        if isinstance(value, dict) and list(value) == ["reader"]:
            name = value["reader"]
            if not callable(self.namespace(page).get(name)):
                raise NameError(f"no function named {name!r} is defined on this page")
            return self.namespace(page)[name]
        if isinstance(value, dict) and list(value) == ["reader_data"]:
            name = value["reader_data"]
            if name not in self.namespace(page):
                raise NameError(f"nothing named {name!r} is defined on this page")
            return self.namespace(page)[name]
        return value

    def resolve(self, page: str, function: str) -> Callable:
        namespace = self.namespace(page)
        if function in namespace:
            return namespace[function]
        module_name, _, attribute = function.rpartition(".")
        if not module_name:
            raise NameError(f"no function named {function!r} is defined on this page")
        return getattr(importlib.import_module(module_name), attribute)


# JSON has no infinities or NaN, and the browser's JSON.parse rejects Python's `-Infinity`. A
# non-finite float crosses the page/worker boundary as {"$float": "Infinity" | "-Infinity" |
# "NaN"}, both ways; protocol.js reads and writes the same form.
NONFINITE = "$float"


def to_json(value: object) -> object:
    """Values as JSON data: numpy arrays and scalars to lists and numbers, tuples to lists, dicts
    recursively, and each non-finite float to {"$float": "Infinity" | "-Infinity" | "NaN"}."""
    # Plain Python values first, by their exact type: a widget's answer is mostly strings, ints
    # and lists of them (the BPE visualizer's, thousands), and asking each for a `tolist`
    # attribute it does not have costs more than the rest. Subclasses (numpy's float64 is a
    # float) take the general path below, as before.
    kind = type(value)
    if kind is str or kind is int or kind is bool or value is None:
        return value
    if kind is list or kind is tuple:
        return [to_json(v) for v in value]
    if kind is dict:
        return {str(k): to_json(v) for k, v in value.items()}
    if hasattr(value, "tolist"):
        kind = getattr(getattr(value, "dtype", None), "kind", None)
        if kind in ("b", "i", "u") or (kind == "f" and sys.modules["numpy"].isfinite(value).all()):
            return value.tolist()  # the common case, without visiting every number in Python
        value = value.tolist()
    if isinstance(value, float):
        if math.isfinite(value):
            return value
        name = "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")
        return {NONFINITE: name}
    if isinstance(value, dict):
        return {str(k): to_json(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [to_json(v) for v in value]
    return value


def from_json_object(obj: dict) -> object:
    """json.loads' object_hook: {"$float": "-Infinity"} back to float("-inf")."""
    if len(obj) == 1 and isinstance(obj.get(NONFINITE), str):
        return float(obj[NONFINITE])
    return obj
