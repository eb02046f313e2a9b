"""Reading a notebook's exercises (CONTRIBUTING.md, "Exercises"): shared by tests/test_exercises.py and
tests/test_student.py.

An exercise opens with a sphinx-exercise ``{exercise-start}`` (or ``{exercise}``)
directive that has a ``:label:``; its solution is the cells between a
``{solution-start} <label>`` fence cell and a ``{solution-end}`` fence cell. A
coding exercise's solution defines a function, and its check is the first code
cell after the solution that calls a ``check_*`` function; an open question's
solution is markdown, perhaps with code cells that compute the answer.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass, field

import nbformat

EXERCISE = re.compile(r"```\{exercise(?:-start)?\}[^\n]*\n(?::[^\n]*\n)*?:label:\s*(\S+)")
SOLUTION_START = re.compile(r"```\{solution-start\}\s*(\S+)")
SOLUTION_END = "```{solution-end}"
# The cells classroom/nbgrader_config.py drops from student copies: one fence, alone.
FENCE_ALONE = re.compile(r"\s*```\{solution-(start|end)\}[^`]*```\s*\Z")
BEGIN, END = "### BEGIN SOLUTION", "### END SOLUTION"


@dataclass
class Exercise:
    label: str
    start: int  # the cell that opens the exercise
    solution: list[int] = field(default_factory=list)  # cells inside the solution fences
    end: int | None = None  # the solution-end cell
    check: int | None = None  # the cell that calls a coding exercise's check
    problems: list[str] = field(default_factory=list)


def nbgrader(cell) -> dict:
    return cell.metadata.get("nbgrader", {})


def parse(source: str) -> ast.Module:
    """A code cell's syntax tree, with IPython's magics (``%matplotlib inline``) turned into Python first."""
    from IPython.core.inputtransformer2 import TransformerManager

    return ast.parse(TransformerManager().transform_cell(source))


def check_calls(source: str) -> list[ast.Call]:
    """Calls of a function whose name starts with ``check_``."""
    calls = []
    for node in ast.walk(parse(source)):
        if isinstance(node, ast.Call):
            func = node.func
            name = func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else ""
            if name.startswith("check_"):
                calls.append(node)
    return calls


def parse_exercises(nb: nbformat.NotebookNode) -> list[Exercise]:
    """The notebook's exercises in order, with the cells of their gated solutions and their check cells."""
    exercises: list[Exercise] = []
    by_label: dict[str, Exercise] = {}
    current: Exercise | None = None  # the exercise whose solution block is open
    for i, cell in enumerate(nb.cells):
        if cell.cell_type != "markdown":
            if current is not None:
                current.solution.append(i)
            continue
        for label in EXERCISE.findall(cell.source):
            by_label[label] = Exercise(label, i)
            exercises.append(by_label[label])
        start = SOLUTION_START.search(cell.source)
        if start:
            current = by_label.get(start.group(1))
            if current is None:
                raise AssertionError(f"cell {i}: solution for unknown exercise {start.group(1)!r}")
            if not FENCE_ALONE.match(cell.source):
                current.problems.append(f"cell {i}: the solution-start fence must be alone in its cell "
                                        "(make student removes that cell; anything beside the fence would stay)")
        if SOLUTION_END in cell.source and current is not None:
            current.end = i
            if not FENCE_ALONE.match(cell.source):
                current.problems.append(f"cell {i}: the solution-end fence must be alone in its cell")
            current = None
        elif current is not None and not start:
            current.solution.append(i)
    starts = sorted(e.start for e in exercises)
    for ex in exercises:
        if ex.end is None or not is_coding(nb, ex):
            continue
        stop = min([s for s in starts if s > ex.start] + [len(nb.cells)])
        following = [i for i in range(ex.end + 1, stop) if nb.cells[i].cell_type == "code"]
        if following and check_calls(nb.cells[following[0]].source):
            ex.check = following[0]
    return exercises


def is_coding(nb: nbformat.NotebookNode, ex: Exercise) -> bool:
    """A coding exercise asks for a function: its solution defines one (an open question's code only computes)."""
    return any(defined_functions(nb.cells[i].source) for i in ex.solution if nb.cells[i].cell_type == "code")


def check_imports(nb: nbformat.NotebookNode) -> dict[str, tuple[str, str]]:
    """Names imported from genae.checks modules anywhere in the notebook: name -> (module, name there)."""
    imported = {}
    for cell in nb.cells:
        if cell.cell_type == "code":
            for node in ast.walk(parse(cell.source)):
                if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("genae.checks"):
                    imported.update({alias.asname or alias.name: (node.module, alias.name) for alias in node.names})
    return imported


def defined_functions(source: str) -> set[str]:
    return {node.name for node in parse(source).body if isinstance(node, ast.FunctionDef)}


def solution_text(cell) -> str:
    """What nbgrader removes from a solution cell: the code between the markers, or a markdown cell's text."""
    if cell.cell_type == "code" and BEGIN in cell.source:
        return "\n".join(re.findall(re.escape(BEGIN) + r"[^\n]*\n(.*?)" + re.escape(END), cell.source, re.S))
    return cell.source
