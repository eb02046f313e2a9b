"""`make student`: nbgrader's student copies of every notebook.

Runs `make student` into a temporary folder and compares each student copy
with its notebook: no line of any reference solution survives (each solution
line occurs no more often in the copy than outside the solutions in the
notebook), every solution cell became nbgrader's stub, the solution fences are
gone, the check cells are kept word for word, and every output is cleared.
Then, without executing the notebook again, that each copy runs up to its first
exercise and that the check after each stub fails with the check's ExerciseError.
"""

from __future__ import annotations

import ast
import builtins
import subprocess
import sys
from collections import Counter
from pathlib import Path

import nbformat
import pytest

sys.path.insert(0, str(Path(__file__).parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "book" / "_ext"))
from notebook_exercises import (  # noqa: E402
    BEGIN,
    END,
    nbgrader,
    parse,
    parse_exercises,
    solution_text,
)

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


def imports_before(cells: list, stop: int) -> str:
    """Every import statement of the code cells before ``stop``, as one block of Python."""
    statements = []
    for cell in cells[:stop]:
        if cell.cell_type == "code":
            tree = parse(cell.source)
            statements += [ast.unparse(n) for n in tree.body if isinstance(n, (ast.Import, ast.ImportFrom))]
    return "\n".join(statements)


def code_before_first_solution(nb: nbformat.NotebookNode) -> list[str]:
    """The sources of the code cells before the notebook's first solution cell."""
    first = next(i for i, c in enumerate(nb.cells) if nbgrader(c).get("solution"))
    return [c.source for c in nb.cells[:first] if c.cell_type == "code"]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_student_copy_runs_and_each_check_fails_on_its_stub(student, path):
    """The copy runs as far as its first exercise, and every check fails on its stub with ExerciseError.

    Without executing the notebook a second time (the book build executed it once, and
    tests/test_executed_notebooks.py proves no cell raised there): the copy's cells before its first
    solution must be the committed notebook's, word for word; then each stub cell runs after the
    notebook's imports, and each check cell runs on what the stubs defined (a name the stubs do not
    define, such as chapter 2's trained ``models``, is a placeholder the check must never reach, because
    it calls the student's function first). Each check must raise ExerciseError saying "not written yet".
    """
    from genae.checks import ExerciseError

    reference = nbformat.read(path, as_version=4)
    copy = nbformat.read(student / path.name, as_version=4)
    exercises = [e for e in parse_exercises(reference) if e.check is not None]
    if not exercises:
        pytest.fail(f"{path.name} has no checked coding exercise")
    assert code_before_first_solution(copy) == code_before_first_solution(reference), \
        f"{path.name}: the code before the first exercise differs from the notebook's"
    sources = [c.source for c in copy.cells]
    for ex in exercises:
        stubs = [c for c in copy.cells if c.cell_type == "code"
                 and nbgrader(c).get("solution") and nbgrader(c)["grade_id"].startswith(ex.label)]
        assert stubs, f"{path.name}: {ex.label} has no stub in the student copy"
        check_at = sources.index(reference.cells[ex.check].source)  # the copy drops the fence cells
        namespace: dict = {}
        exec(compile(imports_before(copy.cells, check_at), f"{path.name}:imports", "exec"), namespace)
        for cell in stubs:
            exec(compile(parse(cell.source), f"{path.name}:{ex.label}", "exec"), namespace)
        check = parse(copy.cells[check_at].source)
        used = {n.id for n in ast.walk(check) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)}
        for name in used - namespace.keys() - set(dir(builtins)):
            namespace[name] = object()  # notebook state the check must not reach before the stub
        with pytest.raises(ExerciseError, match="not written yet"):
            exec(compile(check, f"{path.name}:cell {check_at}", "exec"), namespace)
