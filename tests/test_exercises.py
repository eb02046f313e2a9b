"""Every exercise can be stripped for students, every coding exercise is checked, every check is proven to fail.

Reads the committed notebooks (CONTRIBUTING.md, "Exercises"):
- each exercise's folded solution holds only nbgrader solution cells, between
  solution-start / solution-end fences that stand alone in their cells, so
  `make student` removes all of it; nbgrader's own validator accepts the metadata;
- each coding exercise is followed by a cell that calls a ``check_*`` from
  ``genae.checks`` on the function the solution defines, and that cell's
  committed output says the reference solution passed.
Runs the chapters' check tests (tests/test_checks_chNN.py) under
tests/check_recorder.py and requires, for every check in genae/checks/, at
least one call that passed, one that failed on a stub ("not written yet") and
one that failed on a wrong answer.
"""

from __future__ import annotations

import ast
import importlib
import json
import os
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

sys.path.insert(0, str(Path(__file__).parent))
from check_recorder import check_functions  # noqa: E402
from notebook_exercises import (  # noqa: E402
    check_calls,
    check_imports,
    defined_functions,
    is_coding,
    nbgrader,
    parse_exercises,
)

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]-*.ipynb"))
STUB_MESSAGE = "not written yet"  # genae.checks.attempt's words for a NotImplementedError


def exercise_problems(nb: nbformat.NotebookNode) -> list[str]:
    """Everything about the notebook's exercises that `make student` or a student would trip over."""
    problems = []
    exercises = parse_exercises(nb)
    imported = check_imports(nb)
    for ex in exercises:
        where = f"{ex.label}:"
        problems += [f"{where} {p}" for p in ex.problems]
        if ex.end is None:
            problems.append(f"{where} no solution-start ... solution-end block")
            continue
        cells = [nb.cells[i] for i in ex.solution]
        if not cells:
            problems.append(f"{where} the solution block is empty")
        unmarked = [i for i in ex.solution if not nbgrader(nb.cells[i]).get("solution")]
        if unmarked:
            problems.append(f"{where} cells {unmarked} inside the solution lack nbgrader solution metadata, "
                            "so student copies would keep them")
        ids = [nbgrader(c).get("grade_id", "") for c in cells if nbgrader(c)]
        if any(not grade_id.startswith(ex.label) for grade_id in ids):
            problems.append(f"{where} grade_ids {ids} must start with the exercise's label")
        if not is_coding(nb, ex):
            continue  # an open question: its answer becomes "YOUR ANSWER HERE" (and its code cells stubs)
        code = [i for i in ex.solution if nb.cells[i].cell_type == "code"]
        if ex.check is None:
            problems.append(f"{where} a coding exercise must be followed by a code cell that calls its check "
                            "(from genae.checks.chNN import check_...)")
            continue
        check_cell = nb.cells[ex.check]
        defined = set().union(*(defined_functions(nb.cells[i].source) for i in code))
        for call in check_calls(check_cell.source):
            name = call.func.id if isinstance(call.func, ast.Name) else call.func.attr
            if isinstance(call.func, ast.Name):
                module, real = imported.get(name, (None, name))
                if module is None:
                    problems.append(f"{where} {name} is not imported from a genae.checks module")
                elif not hasattr(importlib.import_module(module), real):
                    problems.append(f"{where} {module} has no {real}")
            arguments = {a.id for a in [*call.args, *(k.value for k in call.keywords)] if isinstance(a, ast.Name)}
            if not arguments & defined:
                problems.append(f"{where} {name}(...) must be given the function the solution cell defines "
                                f"({sorted(defined) or 'none: wrap the solution in a def'})")
        outputs = check_cell.get("outputs", [])
        text = "".join(o.get("text", "") for o in outputs if o.get("output_type") == "stream")
        if any(o.get("output_type") == "error" for o in outputs) or "passed" not in text:
            problems.append(f"{where} the committed output of its check cell does not say the reference "
                            "solution passed: execute the notebook and commit its outputs")
    return problems


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_exercises_can_be_stripped_and_are_checked(path):
    nb = nbformat.read(path, as_version=4)
    problems = exercise_problems(nb)
    assert not problems, f"{path.name}:\n- " + "\n- ".join(problems)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_nbgrader_accepts_the_metadata(path):
    from nbgrader.nbgraderformat import MetadataValidator, ValidationError

    nb = nbformat.read(path, as_version=4)
    try:
        MetadataValidator().validate_nb(nb)
    except ValidationError as err:
        pytest.fail(f"{path.name}: nbgrader rejects the notebook's metadata: {str(err)[:300]}. "
                    "A markdown (open question) solution cell needs \"grade\": true and \"points\".")
    ids = [nbgrader(c)["grade_id"] for c in nb.cells if nbgrader(c).get("grade_id")]
    assert len(ids) == len(set(ids)), f"{path.name}: grade_ids repeat: {sorted(ids)}"


def test_exercise_labels_are_unique_across_the_book():
    labels = [e.label for p in NOTEBOOKS for e in parse_exercises(nbformat.read(p, as_version=4))]
    assert len(labels) == len(set(labels)), sorted(labels)


def test_the_parser_finds_what_is_missing():
    """A known notebook: a good coding exercise, one without a check, an open question, a leaky solution."""
    md, code = nbformat.v4.new_markdown_cell, nbformat.v4.new_code_cell

    def solution(source, label, kind="code"):
        meta = {"nbgrader": {"solution": True, "grade": kind == "markdown", "locked": False, "grade_id": label,
                             "schema_version": 3, **({"points": 1} if kind == "markdown" else {})}}
        return (code if kind == "code" else md)(source, metadata=meta)

    passed_output = [nbformat.v4.new_output("stream", name="stdout", text="✔ f: all 2 checks passed.\n")]
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        code("from genae.checks import passed as check_ok"),
        md("```{exercise-start}\n:label: ex-a\n```\nWrite f.\n```{exercise-end}\n```"),
        md("```{solution-start} ex-a\n:class: dropdown\n```"),
        solution("def f(x):\n    ### BEGIN SOLUTION\n    return x\n    ### END SOLUTION", "ex-a"),
        md("```{solution-end}\n```"),
        code("check_ok(f, 2)", outputs=passed_output),
        md("```{exercise-start}\n:label: ex-b\n```\nWrite g.\n```{exercise-end}\n```"),
        md("```{solution-start} ex-b\n:class: dropdown\n```"),
        solution("def g(x):\n    ### BEGIN SOLUTION\n    return x\n    ### END SOLUTION", "ex-b"),
        md("```{solution-end}\n```"),
        code("g(1)"),
        md("```{exercise}\n:label: ex-c\nWhy?\n```"),
        md("```{solution-start} ex-c\n:class: dropdown\n```"),
        solution("Because.", "ex-c", kind="markdown"),
        solution("print(2 + 2)  # an open question's answer may compute", "ex-c-code"),
        md("```{solution-end}\n```"),
        md("```{exercise}\n:label: ex-d\nHow?\n```"),
        md("```{solution-start} ex-d\n:class: dropdown\n```\nLike this."),
        md("```{solution-end}\n```"),
    ]
    assert [e.label for e in parse_exercises(nb)] == ["ex-a", "ex-b", "ex-c", "ex-d"]
    problems = exercise_problems(nb)
    assert len(problems) == 3, problems
    assert problems[0].startswith("ex-b: a coding exercise must be followed by a code cell that calls its check")
    assert problems[1].startswith("ex-d: cell 17: the solution-start fence must be alone")
    assert problems[2].startswith("ex-d: the solution block is empty")


# --- every check is proven to pass and to fail -------------------------------------------------------------

CHECKS = sorted(check_functions())


@pytest.fixture(scope="module")
def check_record(tmp_path_factory, request):
    """Every tests/test_checks_*.py under the recorder: (pytest's output, the recorded calls), from this
    session if it has run them all, else from a run of them now."""
    files = sorted((ROOT / "tests").glob("test_checks_*.py"))
    if not files:
        pytest.fail("no tests/test_checks_chNN.py files, but genae/checks/ has checks")
    import check_recorder

    if check_recorder.ran_whole(request.session, {f.name for f in files}):
        return "(recorded while this session ran them)", list(check_recorder.RECORD)  # ran once
    record = tmp_path_factory.mktemp("checks") / "record.json"
    env = {**os.environ, "GENAE_CHECK_RECORD": str(record),
           "PYTHONPATH": os.pathsep.join([str(ROOT / "tests"), os.environ.get("PYTHONPATH", "")])}
    run = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "check_recorder", "-p", "no:cacheprovider",
                          *map(str, files)], cwd=ROOT, env=env, capture_output=True, text=True, timeout=1800)
    assert record.exists(), f"the recorder wrote nothing:\n{run.stdout[-3000:]}\n{run.stderr[-3000:]}"
    return run.stdout[-3000:], json.loads(record.read_text())


@pytest.mark.parametrize("check", CHECKS)
def test_each_check_passes_the_reference_and_fails_a_stub_and_a_wrong_answer(check, check_record):
    output, record = check_record
    module = check.rsplit(".", 1)[0].rsplit(".", 1)[1]
    assert (ROOT / "tests" / f"test_checks_{module}.py").exists(), f"{check} has no tests/test_checks_{module}.py"
    calls = [r for r in record if r["check"] == check]
    passes = [r for r in calls if r["outcome"] == "pass"]
    stubs = [r for r in calls if r["outcome"] == "fail" and STUB_MESSAGE in r["message"]]
    wrong = [r for r in calls if r["outcome"] == "fail" and STUB_MESSAGE not in r["message"]]
    errors = [r["message"] for r in calls if r["outcome"] == "error"]
    missing = [what for what, found in (("the reference solution passing", passes),
                                        ("a stub raising NotImplementedError failing with 'not written yet'", stubs),
                                        ("a typical wrong answer failing with an ExerciseError", wrong)) if not found]
    assert not missing, (f"tests/test_checks_{module}.py never shows {check} {' or '.join(missing)} "
                         f"({len(calls)} calls recorded; crashes instead of ExerciseError: {errors[:3]})\n{output}")
