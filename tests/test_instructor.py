"""The instructor page (book/instructor.md) keeps up with the notebooks.

It is in the table of contents after every chapter, names every notebook, and
links every exercise by its label, so a new exercise without a word for
teachers fails here.
"""

import re
import sys
from pathlib import Path

import nbformat
import pytest
import yaml

sys.path.insert(0, str(Path(__file__).parent))
from notebook_exercises import parse_exercises  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
PAGE = ROOT / "book" / "instructor.md"
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]-*.ipynb"))


def toc_files() -> list[str]:
    toc = yaml.safe_load((ROOT / "book" / "_toc.yml").read_text())
    entries = [*toc.get("chapters", []), *(c for part in toc.get("parts", []) for c in part.get("chapters", []))]
    return [entry["file"] for entry in entries if "file" in entry]


@pytest.fixture(scope="module")
def page() -> str:
    if not PAGE.exists():
        pytest.fail("book/instructor.md is missing")
    return PAGE.read_text()


def test_the_page_comes_after_every_chapter_in_the_toc():
    files = toc_files()
    assert "instructor" in files, "book/_toc.yml must list `file: instructor`"
    chapters = [i for i, f in enumerate(files) if f.startswith("notebooks/")]
    assert all(i < files.index("instructor") for i in chapters), files


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_the_page_covers_each_notebook_and_its_exercises(page, path):
    assert f"notebooks/{path.stem}" in page, f"instructor.md does not link {{doc}}`notebooks/{path.stem}`"
    labels = [e.label for e in parse_exercises(nbformat.read(path, as_version=4))]
    linked = set(re.findall(r"\{(?:ref|numref)\}`(?:[^`<]*<)?([^`>]+)>?`", page))
    missing = [label for label in labels if label not in linked]
    assert not missing, f"instructor.md does not link these exercises of {path.name}: {missing}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_the_table_counts_each_notebooks_exercises(page, path):
    exercises = parse_exercises(nbformat.read(path, as_version=4))
    checked = sum(e.check is not None for e in exercises)
    want = f"{checked} checked, {len(exercises) - checked} open"
    rows = [line for line in page.splitlines() if line.startswith("|") and f"notebooks/{path.stem}`" in line]
    assert rows and want in rows[0], f"the table row of {path.stem} should say '{want}': {rows}"
