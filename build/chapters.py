"""Markdown chapters to HTML: front matter, KaTeX math, runnable cells, callouts, hints, widgets.

Authoring syntax (see web/chapters/00-how-this-book-works.md for every feature in use):

    ```python                      a runnable cell
    ```python readonly autorun     options: readonly, hidden, autorun, raises, id=NAME
    ::: insight | warning | misconception [Title]     a callout
    ::: hint [Title]               a collapsed hint (<details>)
    :::: exercise NAME             an exercise: the reader's cell (defining NAME), hints and a
      ```python ...```             ::: solution inside; a Check button runs the cell, then
      ::: hint ... :::             lmlab.exercises.report(NAME, NAME) on hidden cases
      ::: solution ... :::         (web/runtime/exercise.js)
    ::::
    ::: widget NAME {json config}  a widget, drawn by web/runtime/widgets/NAME.js
    data: [names]                  (front matter) data sets the page loads, see build/data.py
    difficulty:                    (front matter) how much a section asks of the reader, by its
      section-anchor: moderate     heading's id: gentle, moderate or hard; shown beside the
                                   heading and in the contents (difficulty_label)
    $x$ and $$x$$                  math, rendered by KaTeX at build time
"""

import hashlib
import html
import json
import re
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

import yaml
from markdown_it import MarkdownIt
from mdit_py_plugins.anchors import anchors_plugin
from mdit_py_plugins.container import container_plugin
from mdit_py_plugins.dollarmath import dollarmath_plugin
from mdit_py_plugins.front_matter import front_matter_plugin

REPO = Path(__file__).resolve().parent.parent
CELL_OPTIONS = {"readonly", "hidden", "autorun", "raises"}
DISPLAY_MATH = {"math_block", "math_block_label", "math_inline_double"}
CALLOUTS = {"insight": "Insight", "warning": "Watch out", "misconception": "Common misconception"}
DIFFICULTIES = ("gentle", "moderate", "hard")


@dataclass
class CellSpec:
    number: int
    id: str
    code: str
    options: dict

    @property
    def hash(self) -> str:
        return hashlib.sha256(self.code.encode()).hexdigest()[:16]


@dataclass
class Chapter:
    slug: str
    meta: dict
    source: str
    cells: list[CellSpec] = field(default_factory=list)
    widgets: list[dict] = field(default_factory=list)
    sections: list[tuple[str, str]] = field(default_factory=list)  # (heading id, text) of each h2

    @property
    def title(self) -> str:
        return self.meta["title"]

    @property
    def data(self) -> list[str]:
        """The data sets (build/data.py) the chapter's cells and widgets read."""
        return list(self.meta.get("data", []))

    @property
    def difficulty(self) -> dict[str, str]:
        """Section anchor -> gentle, moderate or hard, for the sections the author marked."""
        return dict(self.meta.get("difficulty") or {})


def parse_cell_info(info: str) -> dict:
    """'python readonly id=softmax' -> {'readonly': True, 'id': 'softmax'}"""
    options = {}
    for word in info.split()[1:]:
        key, _, value = word.partition("=")
        if key not in CELL_OPTIONS | {"id"}:
            raise ValueError(f"unknown cell option {key!r} in {info!r}")
        options[key] = value or True
    return options


def markdown() -> MarkdownIt:
    md = MarkdownIt("commonmark", {"typographer": True}).enable(["table", "strikethrough"])
    md.use(front_matter_plugin).use(dollarmath_plugin, double_inline=True)
    md.use(anchors_plugin, min_level=2, max_level=2)  # ids for the contents' section links
    for name in [*CALLOUTS, "hint", "widget", "exercise", "solution"]:
        md.use(container_plugin, name)
    return md


def load(path: Path) -> Chapter:
    """Parse a chapter: its front matter, its cells and its widgets, in order."""
    md = markdown()
    tokens = md.parse(path.read_text())
    meta = next((yaml.safe_load(t.content) for t in tokens if t.type == "front_matter"), None)
    if not meta or "title" not in meta:
        raise ValueError(f"{path} needs front matter with a title")
    chapter = Chapter(slug=path.stem, meta=meta, source=path.read_text())
    for token, following in zip(tokens, tokens[1:], strict=False):
        if token.type == "heading_open" and token.tag == "h2":
            chapter.sections.append((token.attrs["id"], following.content))
    for token in tokens:
        if token.type == "fence" and token.info.split()[:1] == ["python"]:
            options = parse_cell_info(token.info)
            number = len(chapter.cells) + 1
            cell_id = options.pop("id", None) or f"c{number}"
            code = token.content.removesuffix("\n")
            chapter.cells.append(CellSpec(number, str(cell_id), code, options))
        elif token.type == "container_widget_open":
            name, _, config = token.info.strip().removeprefix("widget").strip().partition(" ")
            chapter.widgets.append({"name": name, "config": json.loads(config or "{}")})
    ids = [c.id for c in chapter.cells]
    if len(ids) != len(set(ids)):
        raise ValueError(f"{path}: cell ids must be unique, got {ids}")
    check_difficulty(path, meta.get("difficulty"), [anchor for anchor, _ in chapter.sections])
    return chapter


def check_difficulty(path: Path, marked, anchors: list[str]) -> None:
    """The front matter's difficulty map names only the chapter's sections (h2 anchors) and only
    the levels in DIFFICULTIES; a typo would otherwise drop a marker without a word."""
    if marked is None:
        return
    if not isinstance(marked, dict):
        raise ValueError(f"{path}: difficulty must map section anchors to a level, "
                         f"e.g. difficulty: {{{anchors[0] if anchors else 'a-section'}: moderate}}")
    for anchor, level in marked.items():
        if anchor not in anchors:
            raise ValueError(f"{path}: difficulty names the section {anchor!r}, but the chapter "
                             f"has no section with that anchor; its sections are: "
                             f"{', '.join(anchors)}")
        if level not in DIFFICULTIES:
            raise ValueError(f"{path}: difficulty of {anchor!r} is {level!r}; "
                             f"it must be one of {', '.join(DIFFICULTIES)}")


def difficulty_label(level: str) -> str:
    """The marker beside a section's heading and its link in the contents: the word itself (so
    no colour or shape has to carry it), read as ", difficulty: moderate" after the heading."""
    return (f'<span class="difficulty" data-level="{level}">'
            f'<span class="visually-hidden">, difficulty: </span>{level}</span>')


def node_render(script: str, items: list) -> list[str]:
    """Runs build/<script> (JSON items on stdin, JSON list of HTML on stdout); fails the build
    with the script's message if it fails."""
    if not items:
        return []
    done = subprocess.run(
        ["node", str(REPO / "build" / script)],
        input=json.dumps(items), capture_output=True, text=True, cwd=REPO, check=False,
    )
    if done.returncode != 0:
        raise ValueError(f"{script} failed: {done.stderr.strip()}")
    return json.loads(done.stdout)


def render_math(items: list[tuple[str, bool]]) -> list[str]:
    return node_render("katex_render.mjs", [{"tex": t, "display": d} for t, d in items])


def render(chapter: Chapter, outputs: dict[str, str], widget_html: dict[int, str]) -> str:
    """The chapter's body HTML. outputs: cell id -> prerendered output HTML;
    widget_html: widget index -> its prerendered initial state."""
    md = markdown()
    tokens = md.parse(chapter.source)
    math_tokens = [t for t in _walk(tokens) if t.type.startswith("math_")]
    math = [(t.content, t.type in DISPLAY_MATH) for t in math_tokens]
    rendered_math = iter(render_math(math))
    code_views = node_render("highlight_code.mjs", [c.code for c in chapter.cells])
    cells = iter(zip(chapter.cells, code_views, strict=True))
    widgets = iter(enumerate(chapter.widgets))

    def math_rule(self, tokens, idx, options, env):
        if tokens[idx].type in DISPLAY_MATH:
            return f'<div class="math-display">{next(rendered_math)}</div>\n'
        return next(rendered_math)

    def fence_rule(self, tokens, idx, options, env):
        token = tokens[idx]
        if token.info.split()[:1] != ["python"]:
            return default_fence(tokens, idx, options, env)
        cell, code_view = next(cells)
        return cell_html(cell, code_view, outputs.get(cell.id, ""))

    def container_rule(kind):
        def rule(self, tokens, idx, options, env):
            token = tokens[idx]
            if token.nesting == -1:
                return "</div></details>\n" if kind == "hint" else "</aside>\n"
            title = html.escape(token.info.strip().removeprefix(kind).strip())
            if kind == "hint":
                return f'<details class="hint"><summary>{title or "Hint"}</summary><div>\n'
            label = title or CALLOUTS[kind]
            return f'<aside class="callout callout-{kind}"><p class="callout-title">{label}</p>\n'

        return rule

    def exercise_rule(self, tokens, idx, options, env):
        token = tokens[idx]
        if token.nesting == -1:
            return """<div class="exercise-bar">\
<button type="button" class="exercise-check" disabled>Check my function</button>\
<span class="exercise-passed" hidden>✓ You passed this one before.</span></div>
<div class="exercise-feedback" role="status" aria-live="polite"></div>
</section>
"""
        name = token.info.strip().removeprefix("exercise").strip()
        if not re.fullmatch(r"[A-Za-z_]\w*", name):
            raise ValueError(f"an exercise needs the name of the function it checks, got {name!r}")
        return f'<section class="exercise" data-exercise="{name}" aria-label="Exercise: {name}">\n'

    def solution_rule(self, tokens, idx, options, env):
        if tokens[idx].nesting == -1:
            return "</div></details>\n"
        return '<details class="exercise-solution"><summary>Show a solution</summary><div>\n'

    def heading_close_rule(self, tokens, idx, options, env):
        opening = tokens[idx - 2]  # heading_open, inline, heading_close
        level = chapter.difficulty.get(opening.attrs.get("id", "")) if opening.tag == "h2" else None
        label = difficulty_label(level) if level else ""
        return label + self.renderToken(tokens, idx, options, env)

    def widget_rule(self, tokens, idx, options, env):
        if tokens[idx].nesting == -1:
            return ""
        if tokens[idx + 1].type != "container_widget_close":
            # an unclosed directive would swallow everything up to the next ":::" line
            raise ValueError(f"the widget directive on line {tokens[idx].map[0] + 1} of "
                             f"{chapter.slug}.md needs its closing ':::' on the next line")
        index, widget = next(widgets)
        config = html.escape(json.dumps(widget["config"]))
        initial = widget_html.get(index, "")
        return (
            f'<div class="widget" data-widget="{widget["name"]}" data-config="{config}">'
            f"{initial}</div>\n"
        )

    default_fence = md.renderer.rules["fence"]
    for name in ("math_inline", "math_block", "math_inline_double", "math_block_label"):
        md.add_render_rule(name, math_rule)
    md.add_render_rule("fence", fence_rule)
    md.add_render_rule("heading_close", heading_close_rule)
    for kind in [*CALLOUTS, "hint"]:
        md.add_render_rule(f"container_{kind}_open", container_rule(kind))
        md.add_render_rule(f"container_{kind}_close", container_rule(kind))
    for kind, rule in (("exercise", exercise_rule), ("solution", solution_rule)):
        md.add_render_rule(f"container_{kind}_open", rule)
        md.add_render_rule(f"container_{kind}_close", rule)
    md.add_render_rule("container_widget_open", widget_rule)
    md.add_render_rule("container_widget_close", widget_rule)
    return md.renderer.render(tokens, md.options, {})


def _walk(tokens):
    for token in tokens:
        yield token
        if token.children:
            yield from _walk(token.children)


def cell_html(cell: CellSpec, code_view: str, output_html: str) -> str:
    """code_view: the cell's code as highlight_code.mjs rendered it; the browser builds the
    editor in its place (focusable, so Tab or a click reaches it before that)."""
    options = html.escape(json.dumps(cell.options))
    editor = f'<div class="cell-source" tabindex="0">{code_view}</div>'
    if cell.options.get("hidden"):
        editor = f'<details class="cell-hidden"><summary>Show the code</summary>{editor}</details>'
    return f"""<section class="cell" id="cell-{cell.id}" data-cell="{cell.id}" \
data-number="{cell.number}" data-hash="{cell.hash}" data-options="{options}" \
aria-label="Code cell {cell.number}">
<div class="cell-bar"><span class="cell-label" aria-hidden="true">[{cell.number}]</span>\
<span class="cell-state">not run</span>\
<button type="button" class="cell-run" aria-label="Run cell {cell.number}">Run</button>\
<button type="button" class="cell-reset" hidden \
aria-label="Reset cell {cell.number} to the book's code">Reset</button></div>
<div class="cell-changed" role="note" hidden>This cell changed in the book since you edited it. \
You still have your version; <b>Reset</b> shows the new one. \
<button type="button" class="cell-changed-keep">Keep mine</button></div>
{editor}
<div class="cell-output">{output_html}</div>
</section>
"""


_TAGS = re.compile(r"<[^>]+>")


def plain_text(html_text: str) -> str:
    return html.unescape(_TAGS.sub("", html_text))
