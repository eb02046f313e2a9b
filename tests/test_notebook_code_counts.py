"""The book's code stays small enough to read (issue 21): counted from the notebooks and genae/.

A code line is a line of a code cell's source (``str.splitlines``), blank lines
and comments included: what a reader scrolls past. (This rule gives the issue's
numbers for the notebooks it measured: 5,103 code lines, 2,788 of them unfolded.)
A cell is folded when its tags include hide-input, remove-input, remove-cell or
hide-cell; every other code cell is unfolded, shown in full on the page.

The chapters are notebooks/0*.ipynb, 10-*.ipynb and 11-*.ipynb. A function's
length runs from its ``def`` line to its last line (docstring included,
decorators not), for every function and method in genae/, nested ones too.
"""

from __future__ import annotations

import ast
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
CHAPTERS = sorted(p for pattern in ("0*.ipynb", "10-*.ipynb", "11-*.ipynb")
                  for p in (ROOT / "notebooks").glob(pattern))
FOLDED = {"hide-input", "remove-input", "remove-cell", "hide-cell"}
MAX_CODE_LINES = 2500
MAX_UNFOLDED_LINES = 1400
MAX_UNFOLDED_CELL = 40
MAX_FUNCTION = 60


def code_cells(path: Path) -> list[tuple[int, int, bool]]:
    """(cell index, code lines, folded) for each code cell of the notebook."""
    nb = nbformat.read(path, as_version=4)
    return [(i, len(c.source.splitlines()), bool(FOLDED & set(c.metadata.get("tags", []))))
            for i, c in enumerate(nb.cells) if c.cell_type == "code"]


def per_chapter() -> dict[str, list[tuple[int, int, bool]]]:
    return {path.stem: code_cells(path) for path in CHAPTERS}


def table(counts: dict[str, list[tuple[int, int, bool]]]) -> str:
    return "\n".join(f"  {name}: {sum(n for _, n, _ in cells)} lines, "
                     f"{sum(n for _, n, folded in cells if not folded)} unfolded"
                     for name, cells in counts.items())


def test_the_chapters_are_there():
    assert len(CHAPTERS) >= 10, [p.name for p in CHAPTERS]


def test_total_code_lines():
    counts = per_chapter()
    total = sum(n for cells in counts.values() for _, n, _ in cells)
    assert total <= MAX_CODE_LINES, (
        f"the chapters have {total:,} code lines, more than {MAX_CODE_LINES:,}; per chapter:\n"
        + table(counts))


def test_unfolded_code_lines():
    counts = per_chapter()
    unfolded = sum(n for cells in counts.values() for _, n, folded in cells if not folded)
    assert unfolded <= MAX_UNFOLDED_LINES, (
        f"the chapters show {unfolded:,} unfolded code lines, more than {MAX_UNFOLDED_LINES:,} "
        f"(fold a cell with the tag hide-input, or move code into genae); per chapter:\n" + table(counts))


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.stem)
def test_no_unfolded_cell_is_long(path):
    long = [(i, n) for i, n, folded in code_cells(path) if not folded and n > MAX_UNFOLDED_CELL]
    assert not long, (f"unfolded code cells over {MAX_UNFOLDED_CELL} lines (cell index, lines): {long}; "
                      "split them, fold them (hide-input) or move code into genae")


def long_functions(path: Path) -> list[tuple[str, int, int]]:
    """(name, first line, length) of each function in ``path`` longer than MAX_FUNCTION lines."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    return [(node.name, node.lineno, node.end_lineno - node.lineno + 1) for node in ast.walk(tree)
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))
            and node.end_lineno - node.lineno + 1 > MAX_FUNCTION]


def test_no_function_in_genae_is_long():
    long = {str(path.relative_to(ROOT)): found for path in sorted((ROOT / "genae").rglob("*.py"))
            if (found := long_functions(path))}
    assert not long, (f"functions over {MAX_FUNCTION} lines (name, line, length): {long}; "
                      "split them into smaller functions")


def test_the_counting_rule_on_a_known_notebook(tmp_path):
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell("a = 1\n\n# b\nb = 2\n"),
                nbformat.v4.new_code_cell("plot()", metadata={"tags": ["hide-input"]}),
                nbformat.v4.new_markdown_cell("text\nmore")]
    nbformat.write(nb, tmp_path / "nb.ipynb")
    assert code_cells(tmp_path / "nb.ipynb") == [(0, 4, False), (1, 1, True)]
