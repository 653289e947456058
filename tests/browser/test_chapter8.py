"""Chapter 8 as a reader uses it: the three exercises failing as given and passing with their
solutions, with the feedback a common slip gets. (The widgets have their own files,
test_gpt_size.py and test_gpt_lens.py; axe in both themes and at 375 px: test_book.py, for every
chapter.) (Every cell's live output equal to the built one: test_prerendered.py, for every
chapter.)"""

import conftest as ui
import pytest

PAGE = "08-the-transformer.html"


@pytest.mark.parametrize("name", ["layer_norm", "count_parameters", "online_softmax"])
def test_each_exercise_fails_as_given_and_passes_with_its_solution(open_page, name):
    page = open_page(PAGE)
    ui.assert_exercise_fails_then_passes(page, name, ui.cell_number(page, f"{name}_exercise"), "")


def test_batch_statistics_are_named_in_the_feedback(open_page):
    page = open_page(PAGE)
    ui.set_code(page, ui.cell_number(page, "layer_norm_exercise"), (
        "import numpy as np\n\n"
        "def layer_norm(x, gamma, beta):\n"
        "    mean = x.mean(axis=0, keepdims=True)\n"
        "    var = x.var(axis=0, keepdims=True)\n"
        "    return (x - mean) / np.sqrt(var + 1e-5) * gamma + beta\n"))
    assert ui.check_exercise(page, "layer_norm") == "fail"
    feedback = page.locator('.exercise[data-exercise="layer_norm"] .exercise-feedback').inner_text()
    assert "batch norm" in feedback
