"""Every notebook parameter that papermill can set out of range is caught by the cell right after the parameters.

For each notebook, the parameters cell and the check cell after it are run in
plain Python (no kernel) with one parameter at a time set to a bad value, as
``papermill -p NAME VALUE`` would inject it; the check cell must raise a
``ValueError`` that names the parameter and the value.
"""

from pathlib import Path

import nbformat
import pytest

NOTEBOOKS = sorted((Path(__file__).parents[1] / "notebooks").glob("[0-9][0-9]-*.ipynb"))


def cells(path):
    nb = nbformat.read(path, as_version=4)
    i = next(i for i, c in enumerate(nb.cells) if "parameters" in c.metadata.get("tags", []))
    return nb.cells[i].source, nb.cells[i + 1].source


def parameters(path):
    namespace = {}
    exec(cells(path)[0], namespace)  # noqa: S102 - the notebook's own parameters cell
    return {k: v for k, v in namespace.items() if not k.startswith("__")}


def bad_value(value):
    """A value papermill could inject that no notebook may accept for a parameter of this type."""
    if isinstance(value, bool):
        return "yes"
    if isinstance(value, int):
        return -1
    if isinstance(value, float):
        return float("nan")
    if isinstance(value, str):
        return "no-such-data-set"
    return None  # root=None: any folder may be valid; load_images checks it


CASES = [(path, name) for path in NOTEBOOKS for name, value in parameters(path).items()
         if bad_value(value) is not None]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_the_defaults_pass_the_check(path):
    namespace = parameters(path)
    exec(cells(path)[1], namespace)  # noqa: S102


@pytest.mark.parametrize("path, name", CASES, ids=lambda x: x.stem if isinstance(x, Path) else x)
def test_an_out_of_range_parameter_is_caught_by_the_check_cell(path, name):
    namespace = parameters(path)
    namespace[name] = bad = bad_value(namespace[name])
    with pytest.raises(ValueError) as err:
        exec(cells(path)[1], namespace)  # noqa: S102
    assert f"{name}={bad!r}" in str(err.value), str(err.value)
