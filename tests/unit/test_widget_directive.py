"""A widget directive is one line and its closing `:::`; an unclosed one stops the build instead
of swallowing the page up to the next `:::` line (an exercise's hint, say)."""

import sys

import pytest
from chapter_numbers import REPO

pytestmark = pytest.mark.reference  # needs the builder (markdown-it, PyYAML): CPython only

PAGE = """---
title: "A chapter"
---
# A chapter

::: widget temperature-explorer {{"fn": "lmlab.sampling.temperature_view"}}
{closing}
Some prose.

::: hint A hint
Look closer.
:::
"""


@pytest.fixture(scope="module")
def chapters():
    sys.path.insert(0, str(REPO / "build"))
    import chapters

    return chapters


def test_a_closed_directive_renders_and_the_prose_after_it_stays_outside(chapters, tmp_path):
    path = tmp_path / "07-test.md"
    path.write_text(PAGE.format(closing=":::"))
    html = chapters.render(chapters.load(path), {}, {})
    widget = html[html.index('<div class="widget"'):]
    assert widget.index("</div>") < widget.index("Some prose.")
    assert '<details class="hint">' in html


def test_an_unclosed_directive_stops_the_build_and_names_its_line(chapters, tmp_path):
    path = tmp_path / "07-test.md"
    path.write_text(PAGE.format(closing=""))
    with pytest.raises(ValueError, match="line 6 of 07-test.md needs its closing ':::'"):
        chapters.render(chapters.load(path), {}, {})
