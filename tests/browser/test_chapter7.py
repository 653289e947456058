"""Chapter 7 as a reader uses it: the three exercises failing as given and passing with their
solutions, with the feedback a common slip gets. (The widgets have their own files,
test_attention_matrix.py and test_attention_heads.py; axe in both themes and at 375 px:
test_book.py, for every chapter.) (Every cell's live output equal to the built one:
test_prerendered.py, for every chapter.)"""

import conftest as ui
import pytest

PAGE = "07-attention.html"


@pytest.mark.parametrize("name", ["attention", "causal_weights", "split_heads"])
def test_each_exercise_fails_as_given_and_passes_with_its_solution(open_page, name):
    page = open_page(PAGE)
    ui.assert_exercise_fails_then_passes(page, name, ui.cell_number(page, f"{name}_exercise"), "")


def test_a_forgotten_scaling_is_named_in_the_feedback(open_page):
    page = open_page(PAGE)
    ui.set_code(page, ui.cell_number(page, "attention_exercise"), (
        "import numpy as np\n\n"
        "def attention(q, k, v):\n"
        "    scores = q @ k.T\n"
        "    e = np.exp(scores - scores.max(axis=1, keepdims=True))\n"
        "    return e / e.sum(axis=1, keepdims=True) @ v\n"))
    assert ui.check_exercise(page, "attention") == "fail"
    feedback = page.locator('.exercise[data-exercise="attention"] .exercise-feedback').inner_text()
    assert "divide the scores by sqrt(d_k)" in feedback
