"""Every notebook has the book's shape (CONTRIBUTING.md), and its parameters cell is honoured by papermill.

The structure tests read the committed ``.ipynb`` files; the papermill test
executes one cheap notebook with a non-default parameter and reads the value
back from the executed notebook's output. (``make test`` also re-runs every
notebook under nbval.)
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]-*.ipynb"))
SETUP_CELL = (ROOT / "notebooks" / "setup_cell.py").read_text()
REQUIRED_PARAMETERS = {"dataset", "image_size", "latent_dim", "epochs", "quick", "seed", "width", "root"}
CHEAP_NOTEBOOK = ROOT / "notebooks" / "02-transition-operator.ipynb"


def read(path: Path) -> nbformat.NotebookNode:
    return nbformat.read(path, as_version=4)


def assigned_names(source: str) -> set[str]:
    """Names assigned at the top level of a code cell."""
    names = set()
    for node in ast.parse(source).body:
        targets = node.targets if isinstance(node, ast.Assign) else [node.target] if isinstance(
            node, ast.AnnAssign) else []
        names |= {t.id for t in targets if isinstance(t, ast.Name)}
    return names


def heading_level(line: str) -> int:
    match = re.match(r"^(#{1,6})\s", line)
    return len(match.group(1)) if match else 0


def exercises_section(nb: nbformat.NotebookNode) -> tuple[int, list[nbformat.NotebookNode]]:
    """The level of the last "Exercises" heading and the cells from it to the end."""
    for i in range(len(nb.cells) - 1, -1, -1):
        cell = nb.cells[i]
        if cell.cell_type != "markdown":
            continue
        for line in cell.source.splitlines():
            if heading_level(line) and re.search(r"\bExercises\b", line):
                return heading_level(line), nb.cells[i:]
    return 0, []


def exercise_labels(cells) -> tuple[list[str], list[str]]:
    """Labels of the sphinx-exercise exercises and of the dropdown solutions in ``cells``."""
    text = "\n".join(c.source for c in cells if c.cell_type == "markdown")
    exercises = re.findall(r"```\{exercise(?:-start)?\}[^\n]*\n(?::[^\n]*\n)*?:label:\s*(\S+)", text)
    solutions = [m.group(1) for m in re.finditer(
        r"```\{solution(?:-start)?\}\s*(\S+)\s*\n((?::[^\n]*\n)*)", text) if ":class: dropdown" in m.group(2)]
    return exercises, solutions


def test_there_are_notebooks_or_none_yet():
    # A guard for the glob: notebooks are named NN-slug.ipynb and nothing else in notebooks/ is one.
    stray = [p.name for p in (ROOT / "notebooks").glob("*.ipynb") if p not in NOTEBOOKS]
    assert not stray, f"notebooks must be named NN-slug.ipynb: {stray}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_opens_with_title_aims_and_setup_cell(path):
    nb = read(path)
    first, second = nb.cells[0], nb.cells[1]
    assert first.cell_type == "markdown" and first.source.startswith("# "), "cell 1 must be the '# Title' cell"
    assert "What you will learn" in first.source, "cell 1 must list what the reader will learn"
    assert second.cell_type == "code", "cell 2 must be the setup code cell"
    assert second.source.rstrip("\n") == SETUP_CELL.rstrip("\n"), \
        "cell 2 must be notebooks/setup_cell.py verbatim: paste the file again"


CODE_WIDTH = 80  # what a code cell shows without scrolling sideways (book/_vendor/genae.css)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_code_lines_fit_the_page(path):
    long = [(i, len(line)) for i, cell in enumerate(read(path).cells) if cell.cell_type == "code"
            for line in cell.source.splitlines() if len(line) > CODE_WIDTH]
    assert not long, (f"code lines longer than {CODE_WIDTH} characters (cell, length): {long}; "
                      f"wrap them (for example ruff format --line-length {CODE_WIDTH})")


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_one_parameters_cell_followed_by_its_check(path):
    nb = read(path)
    tagged = [i for i, c in enumerate(nb.cells) if "parameters" in c.metadata.get("tags", [])]
    assert len(tagged) == 1, f"exactly one cell must be tagged 'parameters', found {len(tagged)}"
    assert not [c for c in nb.cells if "injected-parameters" in c.metadata.get("tags", [])], \
        "commit the notebook itself, not papermill's output (it has an injected-parameters cell)"
    i = tagged[0]
    missing = REQUIRED_PARAMETERS - assigned_names(nb.cells[i].source)
    assert not missing, f"the parameters cell does not set {sorted(missing)}"
    following = nb.cells[i + 1]
    assert following.cell_type == "code" and "check_notebook_parameters(" in following.source, \
        "the cell after the parameters must call genae.notebook.check_notebook_parameters"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_ends_with_exercises_that_have_folded_solutions(path):
    nb = read(path)
    level, cells = exercises_section(nb)
    assert cells, "the notebook must end with an 'Exercises' section"
    later = [line for c in cells[1:] if c.cell_type == "markdown" for line in c.source.splitlines()
             if heading_level(line) and heading_level(line) <= level and not line.lstrip().startswith("```")]
    assert not later, f"the Exercises section must come last, but these headings follow it: {later}"
    exercises, solutions = exercise_labels(cells)
    assert len(exercises) >= 2, f"the Exercises section needs at least 2 sphinx-exercise exercises, has {exercises}"
    unsolved = [label for label in exercises if label not in solutions]
    assert not unsolved, f"exercises without a dropdown solution (solution-start + ':class: dropdown'): {unsolved}"


PLOTS = re.compile(r"\bmatplotlib\b|\bgenae\.plots\b|from genae import[^\n]*\bplots\b")


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_figures_are_drawn_inline_even_under_agg(path):
    # `make book`, nbval and the team's nbconvert runs set MPLBACKEND=Agg; a kernel started with it
    # draws nothing on plt.show(), so the book would have no figures. `%matplotlib inline` overrides it.
    code_cells = [c.source for c in read(path).cells if c.cell_type == "code"]
    first_plot = next((i for i, s in enumerate(code_cells) if PLOTS.search(s)), None)
    if first_plot is None:
        return
    inline = next((i for i, s in enumerate(code_cells) if re.search(r"^%matplotlib inline\b", s, re.M)), None)
    assert inline is not None and inline <= first_plot, \
        "put `%matplotlib inline` at the top of the first cell that imports matplotlib or genae.plots"


def test_exercise_parser_on_a_known_notebook():
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_markdown_cell("## Exercises"),
                nbformat.v4.new_markdown_cell("```{exercise-start}\n:label: ex-a\n```\nDo.\n```{exercise-end}\n```"),
                nbformat.v4.new_markdown_cell("```{solution-start} ex-a\n:class: dropdown\n```"),
                nbformat.v4.new_markdown_cell("```{exercise}\n:label: ex-b\nThink.\n```\n"
                                              "```{solution} ex-b\n:label: sol-b\n```")]
    level, cells = exercises_section(nb)
    assert level == 2
    assert exercise_labels(cells) == (["ex-a", "ex-b"], ["ex-a"])  # ex-b's solution is not folded


def test_papermill_honours_a_non_default_parameter(tmp_path, monkeypatch):
    """Run the cheap chapter on tiny models (into an empty model cache) and read the parameters back."""
    if not CHEAP_NOTEBOOK.is_file():
        pytest.skip(f"{CHEAP_NOTEBOOK.name} is not written yet")
    papermill = pytest.importorskip("papermill")
    monkeypatch.setenv("GENAE_CACHE", str(tmp_path / "models"))
    monkeypatch.setenv("MPLBACKEND", "Agg")
    out = tmp_path / "out.ipynb"
    parameters = {"epochs": 1, "seed": 1, "image_size": 16, "width": 8, "chain_steps": 2}
    papermill.execute_notebook(str(CHEAP_NOTEBOOK), str(out), parameters=parameters,
                               cwd=str(CHEAP_NOTEBOOK.parent), kernel_name="python3", progress_bar=False)
    nb = read(out)
    assert any("injected-parameters" in c.metadata.get("tags", []) for c in nb.cells)
    text = "\n".join(o.get("text", "") for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])
                     if o.get("output_type") == "stream")
    assert re.search(r"trained for 1 epoch\b", text), "the notebook did not report training for epochs=1"
    assert "seed 1" in text, "the notebook did not report seed=1"
    assert re.search(r"after 2 steps\b", text), "the notebook did not run the chain for chain_steps=2"
    assert list((tmp_path / "models").glob("*.pt")), "the model was not trained into the (empty) cache"
