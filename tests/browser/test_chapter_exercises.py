"""The exercises of chapters 6 to 9 as a reader meets them: each fails as given, with feedback
that says what was expected, and passes with its own solution typed into its cell; and a common
slip of each chapter's first exercise is named in the feedback. (Chapters 1 to 5 test theirs in
their own files, next to the cells they build on.)"""

import conftest as ui
import pytest

EXERCISES = {
    "06-neural-next-token-prediction.html": ["windows", "mean_nll", "mlp_logits"],
    "07-attention.html": ["attention", "causal_weights", "split_heads"],
    "08-the-transformer.html": ["layer_norm", "count_parameters", "online_softmax"],
    "09-from-gpt-to-chatgpt.html": ["answer_mask", "bradley_terry", "dpo_loss"],
}

# (page, exercise, the reader's slip, words the feedback must use)
SLIPS = [
    ("07-attention.html", "attention", (
        "import numpy as np\n\n"
        "def attention(q, k, v):\n"
        "    scores = q @ k.T\n"
        "    e = np.exp(scores - scores.max(axis=1, keepdims=True))\n"
        "    return e / e.sum(axis=1, keepdims=True) @ v\n"),
     "divide the scores by sqrt(d_k)"),
    ("08-the-transformer.html", "layer_norm", (
        "import numpy as np\n\n"
        "def layer_norm(x, gamma, beta):\n"
        "    mean = x.mean(axis=0, keepdims=True)\n"
        "    var = x.var(axis=0, keepdims=True)\n"
        "    return (x - mean) / np.sqrt(var + 1e-5) * gamma + beta\n"),
     "batch norm"),
    ("09-from-gpt-to-chatgpt.html", "answer_mask", (
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
        "    return mask\n"),
     "closing <|end|>"),
]


@pytest.mark.parametrize(("page_path", "name"),
                         [(page, name) for page, names in EXERCISES.items() for name in names])
def test_each_exercise_fails_as_given_and_passes_with_its_solution(open_page, page_path, name):
    page = open_page(page_path)
    ui.assert_exercise_fails_then_passes(page, name, ui.cell_number(page, f"{name}_exercise"), "")


@pytest.mark.parametrize(("page_path", "name", "code", "words"), SLIPS,
                         ids=[name for _, name, _, _ in SLIPS])
def test_a_common_slip_is_named_in_the_feedback(open_page, page_path, name, code, words):
    page = open_page(page_path)
    ui.set_code(page, ui.cell_number(page, f"{name}_exercise"), code)
    assert ui.check_exercise(page, name) == "fail"
    feedback = page.locator(f'.exercise[data-exercise="{name}"] .exercise-feedback').inner_text()
    assert words in feedback
