"""Chapter 6 as a reader uses it: every cell's live output (the MLP trained in the page on the
names) equal to the built one, and the three exercises failing as given and passing with their
solutions. (axe in both themes and the 375 px phone: test_book.py, for every chapter.)"""

import conftest as ui
import pytest

PAGE = "06-neural-next-token-prediction.html"


def cell_number(page, cell_id: str) -> int:
    return int(page.locator(f"#cell-{cell_id}").get_attribute("data-number"))


def test_every_cell_prints_what_the_book_printed(open_page):
    ui.run_all_and_compare_with_built(open_page(PAGE))


@pytest.mark.parametrize("name", ["windows", "mean_nll", "mlp_logits"])
def test_each_exercise_fails_as_given_and_passes_with_its_solution(open_page, name):
    page = open_page(PAGE)
    ui.assert_exercise_fails_then_passes(page, name, cell_number(page, f"{name}_exercise"), "")
