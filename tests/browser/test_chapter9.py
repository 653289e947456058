"""Chapter 9 as a reader uses it: the three exercises failing as given and passing with their
solutions, with the feedback a common slip gets. (The widgets have their own files,
test_scaling_law.py and test_chat_stages.py; axe in both themes and at 375 px: test_book.py, for
every chapter.) (Every cell's live output equal to the built one: test_prerendered.py, for every
chapter.)"""

import conftest as ui
import pytest

PAGE = "09-from-gpt-to-chatgpt.html"


@pytest.mark.parametrize("name", ["answer_mask", "bradley_terry", "dpo_loss"])
def test_each_exercise_fails_as_given_and_passes_with_its_solution(open_page, name):
    page = open_page(PAGE)
    ui.assert_exercise_fails_then_passes(page, name, ui.cell_number(page, f"{name}_exercise"), "")


def test_a_forgotten_end_token_is_named_in_the_feedback(open_page):
    page = open_page(PAGE)
    ui.set_code(page, ui.cell_number(page, "answer_mask_exercise"), (
        "import numpy as np\n\n"
        "def answer_mask(ids, assistant_id, end_id):\n"
        "    mask = np.zeros(len(ids), dtype=bool)\n"
        "    inside = False\n"
        "    for i, token in enumerate(ids):\n"
        "        if token == end_id:\n"
        "            inside = False\n"
        "        mask[i] = inside\n"
        "        if token == assistant_id:\n"
        "            inside = True\n"
        "    return mask\n"))
    assert ui.check_exercise(page, "answer_mask") == "fail"
    feedback = page.locator('.exercise[data-exercise="answer_mask"] .exercise-feedback').inner_text()
    assert "closing <|end|>" in feedback
