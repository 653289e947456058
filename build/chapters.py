"""Markdown chapters to HTML: front matter, KaTeX math, runnable cells, callouts, hints, widgets.

Authoring syntax (see web/chapters/00-how-this-book-works.md for every feature in use):

    ```python                      a runnable cell
    ```python readonly autorun     options: readonly, hidden, autorun, raises, id=NAME
    ::: insight | warning | misconception [Title]     a callout
    ::: hint [Title]               a collapsed hint (<details>)
    ::: widget NAME {json config}  a widget, drawn by web/runtime/widgets/NAME.js
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
    for name in [*CALLOUTS, "hint", "widget"]:
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
    return chapter


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

    def widget_rule(self, tokens, idx, options, env):
        if tokens[idx].nesting == -1:
            return ""
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
    for kind in [*CALLOUTS, "hint"]:
        md.add_render_rule(f"container_{kind}_open", container_rule(kind))
        md.add_render_rule(f"container_{kind}_close", container_rule(kind))
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
