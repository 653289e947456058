"""Difficulty markers: the front matter's `difficulty:` map (section anchor -> gentle, moderate or
hard), the build errors for a level or an anchor that does not exist, the label beside the
heading, the heading's text in the notebook, and chapters 1-5 marked where seed 001 names
a topic."""

import re
import sys

import pytest
from chapter_numbers import REPO

pytestmark = pytest.mark.reference  # needs the builder (markdown-it, PyYAML): CPython only


@pytest.fixture(scope="module")
def chapters():
    sys.path.insert(0, str(REPO / "build"))  # the builder's modules (not importable in Pyodide)
    import chapters

    return chapters


@pytest.fixture(scope="module")
def notebooks(chapters):
    import notebooks

    return notebooks


BODY = """
# A chapter

## Counting pairs

Some prose.

## The gradient, by hand

More prose.
"""


def write(tmp_path, front: str):
    path = tmp_path / "07-test.md"
    path.write_text(f'---\ntitle: "A chapter"\n{front}---\n{BODY}')
    return path


def test_marked_sections_get_their_level_and_unmarked_ones_none(chapters, tmp_path):
    chapter = chapters.load(write(tmp_path, "difficulty:\n  the-gradient-by-hand: hard\n"))
    assert [anchor for anchor, _ in chapter.sections] == ["counting-pairs", "the-gradient-by-hand"]
    assert chapter.difficulty == {"the-gradient-by-hand": "hard"}
    assert chapters.load(write(tmp_path, "")).difficulty == {}


def test_the_flow_style_map_works_too(chapters, tmp_path):
    path = write(tmp_path, "difficulty: {counting-pairs: gentle, the-gradient-by-hand: moderate}\n")
    assert chapters.load(path).difficulty == {"counting-pairs": "gentle",
                                              "the-gradient-by-hand": "moderate"}


def test_an_unknown_level_stops_the_build_and_names_the_levels(chapters, tmp_path):
    path = write(tmp_path, "difficulty:\n  counting-pairs: easy\n")
    with pytest.raises(ValueError, match="'counting-pairs' is 'easy'") as error:
        chapters.load(path)
    assert "gentle, moderate, hard" in str(error.value) and str(path) in str(error.value)


def test_an_unknown_anchor_stops_the_build_and_lists_the_sections(chapters, tmp_path):
    # The anchor is made from the heading's words; a comma dropped by hand is a typo to catch.
    path = write(tmp_path, "difficulty:\n  the-gradient-by-hand,: hard\n")
    with pytest.raises(ValueError, match="no section with that anchor") as error:
        chapters.load(path)
    assert "counting-pairs, the-gradient-by-hand" in str(error.value)


def test_a_subsection_cannot_be_marked_only_sections_can(chapters, tmp_path):
    path = tmp_path / "07-test.md"
    path.write_text('---\ntitle: "A"\ndifficulty: {a-subsection: hard}\n---\n## A section\n'
                    "### A subsection\n")
    with pytest.raises(ValueError, match="'a-subsection'.*its sections are: a-section"):
        chapters.load(path)


@pytest.mark.parametrize("front", ["difficulty: hard\n", "difficulty: [counting-pairs]\n"])
def test_difficulty_must_be_a_map(chapters, tmp_path, front):
    with pytest.raises(ValueError, match="must map section anchors to a level"):
        chapters.load(write(tmp_path, front))


def test_the_label_follows_the_heading_text_and_reads_as_a_difficulty(chapters, tmp_path):
    chapter = chapters.load(write(tmp_path, "difficulty:\n  the-gradient-by-hand: hard\n"))
    body = chapters.render(chapter, {}, {})
    headings = re.findall(r"<h2[^>]*>.*?</h2>", body)
    assert headings[0] == '<h2 id="counting-pairs">Counting pairs</h2>'
    assert headings[1].startswith('<h2 id="the-gradient-by-hand">The gradient, by hand<span ')
    assert 'class="difficulty" data-level="hard"' in headings[1]
    # What a screen reader hears (the heading's text, hidden text included) and what is seen.
    assert chapters.plain_text(headings[1]) == "The gradient, by hand, difficulty: hard"
    seen = re.sub(r'<span class="visually-hidden">.*?</span>', "", headings[1])
    assert chapters.plain_text(seen) == "The gradient, by handhard"  # CSS sets the gap


def test_the_notebook_heading_carries_the_level_as_text(chapters, notebooks, tmp_path):
    chapter = chapters.load(write(tmp_path, "difficulty:\n  the-gradient-by-hand: hard\n"))
    text = notebooks.plain_markdown(BODY, chapter)
    assert "\n## The gradient, by hand *(hard)*\n" in text
    assert "\n## Counting pairs\n" in text  # unmarked, unchanged
    # Only a heading line matches: the same words in prose or a deeper heading are left alone.
    prose = "The gradient, by hand\n### The gradient, by hand\n"
    assert notebooks.plain_markdown(prose, chapter) == prose.strip("\n")


SEED = {  # seed 001's difficulty markers, where chapters 1-5 teach the topic
    "03-tokenization": {"byte-pair-encoding": "gentle"},
    "04-embeddings": {"a-lookup-is-a-matrix-product": "gentle"},
    "05-position": {"attention-sees-a-bag-of-words": "moderate",
                    "sinusoidal-encodings": "moderate",
                    "rope-rotate-the-queries-and-keys": "hard",
                    "alibi-a-penalty-for-distance": "hard"},
}


@pytest.mark.parametrize("slug", ["01-what-is-a-language-model", "02-counting", "03-tokenization",
                                  "04-embeddings", "05-position"])
def test_chapters_one_to_five_mark_some_sections_and_follow_the_seed(chapters, slug):
    chapter = chapters.load(REPO / "web" / "chapters" / f"{slug}.md")  # raises on a bad marker
    marked = chapter.difficulty
    assert marked and len(marked) < len(chapter.sections)  # some, not every section
    assert SEED.get(slug, {}).items() <= marked.items()
