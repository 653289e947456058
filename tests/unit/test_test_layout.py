"""pytest imports test modules by their file name (no __init__.py here), so two test files with one
name in tests/unit and tests/browser stop a whole run at collection. This has happened twice."""

from collections import Counter

from chapter_numbers import REPO


def test_no_two_test_modules_share_a_file_name():
    names = Counter(path.name for path in (REPO / "tests").rglob("test_*.py"))
    assert [name for name, count in names.items() if count > 1] == []
