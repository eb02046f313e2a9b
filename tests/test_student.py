"""`make student`: nbgrader's student copies of every notebook.

Runs `make student` into a temporary folder and compares each student copy
with its notebook: no line of any reference solution survives (each solution
line occurs no more often in the copy than outside the solutions in the
notebook), every solution cell became nbgrader's stub, the solution fences are
gone, the check cells are kept word for word, and every output is cleared.
Then each copy is executed: everything before the first exercise runs, and the
check after each stub fails with the check's ExerciseError.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections import Counter
from pathlib import Path

import nbformat
import pytest

sys.path.insert(0, str(Path(__file__).parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "book" / "_ext"))
from notebook_exercises import BEGIN, END, nbgrader, parse_exercises, solution_text  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]-*.ipynb"))
CODE_STUB, TEXT_STUB = "raise NotImplementedError()", "YOUR ANSWER HERE"  # nbgrader's ClearSolutions defaults


@pytest.fixture(scope="module")
def student(tmp_path_factory) -> Path:
    """The folder of student copies that `make student` writes."""
    out = tmp_path_factory.mktemp("student")
    run = subprocess.run(["make", "--no-print-directory", "student", f"STUDENT_DIR={out}"], cwd=ROOT,
                         capture_output=True, text=True, timeout=900)
    assert run.returncode == 0, f"make student failed:\n{run.stdout[-4000:]}\n{run.stderr[-4000:]}"
    return out / "notebooks"


def lines(text: str) -> Counter:
    return Counter(line.strip() for line in text.splitlines() if line.strip())


def without_solutions(nb: nbformat.NotebookNode) -> str:
    """The notebook's text with every solution's text taken out."""
    parts = []
    for cell in nb.cells:
        if not nbgrader(cell).get("solution"):
            parts.append(cell.source)
        elif cell.cell_type == "code" and BEGIN in cell.source:
            head, _, rest = cell.source.partition(BEGIN)
            parts += [head, rest.partition(END)[2]]
    return "\n".join(parts)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_no_solution_survives(student, path):
    reference = nbformat.read(path, as_version=4)
    copy = nbformat.read(student / path.name, as_version=4)
    copy_text = "\n".join(c.source for c in copy.cells)
    solutions = [c for c in reference.cells if nbgrader(c).get("solution")]
    assert solutions, f"{path.name} has no nbgrader solution cells: its exercises would reach students solved"
    for cell in solutions:
        whole = solution_text(cell).strip()
        assert whole and whole not in copy_text, f"{path.name}: solution {nbgrader(cell)['grade_id']} survives"
    allowed = lines(without_solutions(reference))
    in_copy = lines(copy_text)
    leaked = sorted({line for c in solutions for line in lines(solution_text(c))
                     if in_copy[line] > allowed[line] and line not in (CODE_STUB, TEXT_STUB)})
    assert not leaked, f"{path.name}: solution lines in the student copy: {leaked}"
    stubs = [c for c in copy.cells if nbgrader(c).get("solution")]
    assert len(stubs) == len(solutions)
    for cell in stubs:
        stub = CODE_STUB if cell.cell_type == "code" else TEXT_STUB
        assert stub in cell.source, f"{path.name}: {nbgrader(cell)['grade_id']} is not nbgrader's stub: {cell.source!r}"
    assert "{solution-start}" not in copy_text and "{solution-end}" not in copy_text, \
        f"{path.name}: the solution fences should be dropped from the student copy"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_checks_are_kept_and_outputs_cleared(student, path):
    reference = nbformat.read(path, as_version=4)
    copy = nbformat.read(student / path.name, as_version=4)
    checks = [reference.cells[e.check].source for e in parse_exercises(reference) if e.check is not None]
    kept = [c.source for c in copy.cells if c.cell_type == "code"]
    assert all(check in kept for check in checks), f"{path.name}: a check cell is missing from the student copy"
    code = [c for c in copy.cells if c.cell_type == "code"]
    assert not [c for c in code if c.outputs or c.execution_count is not None], f"{path.name}: outputs left"
    assert sum(c.cell_type == "code" for c in reference.cells) == len(code), f"{path.name}: code cells lost"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_student_copy_runs_and_each_check_fails_on_its_stub(student, path, monkeypatch):
    """Execute the copy (in notebooks/, as the book does): no error before the first exercise; every check
    after a stub raises ExerciseError, the first one saying the function is not written yet."""
    from nbclient import NotebookClient
    from patient_kernel import patch_nbclient

    reference = nbformat.read(path, as_version=4)
    checks = [reference.cells[e.check].source for e in parse_exercises(reference) if e.check is not None]
    if not checks:
        pytest.fail(f"{path.name} has no checked coding exercise")
    copy = nbformat.read(student / path.name, as_version=4)
    first_solution = next(i for i, c in enumerate(copy.cells) if nbgrader(c).get("solution"))
    monkeypatch.setenv("GENAE_CACHE", os.environ.get("GENAE_CACHE", str(ROOT / ".cache" / "models")))  # shared models
    monkeypatch.delenv("MPLBACKEND", raising=False)  # as in Jupyter or Colab: the notebooks say %matplotlib inline
    patch_nbclient()  # a missed wake-up would otherwise make chapter 7's widget cell wait out the whole timeout
    NotebookClient(copy, timeout=900, kernel_name="python3", allow_errors=True,
                   resources={"metadata": {"path": str(ROOT / "notebooks")}}).execute()
    errors = [(i, o) for i, c in enumerate(copy.cells) if c.cell_type == "code"
              for o in c.outputs if o.output_type == "error"]
    early = [(i, o.ename, o.evalue) for i, o in errors if i < first_solution]
    assert not early, f"{path.name}: the student copy fails before its first exercise: {early}"
    check_cells = [i for i, c in enumerate(copy.cells) if c.cell_type == "code" and c.source in checks]
    assert len(check_cells) == len(checks)
    for n, i in enumerate(check_cells):
        raised = [(o.ename, o.evalue) for j, o in errors if j == i]
        assert raised and raised[0][0] == "ExerciseError", \
            f"{path.name}: check cell {i} should fail on the stub with an ExerciseError, got {raised or 'no error'}"
        if n == 0:
            assert "not written yet" in raised[0][1], raised[0][1]
