"""Every notebook, as the book build executed it, checked the way nbval checked it.

``make book`` executes each notebook once and keeps the executed copy in the
build's jupyter-cache (``book/_build/.jupyter_cache``); ``make test`` builds the
book first and then runs this file instead of executing every notebook a second
time under ``pytest --nbval-lax``. For each notebook in ``notebooks/``:

- the cache holds an execution of the notebook as it is now (jupyter-cache
  matches a notebook by the hash of its code cells' sources and metadata, so an
  edited code cell has no match: run ``make book``);
- no cell raised, except cells tagged ``raises-exception`` or marked
  ``# NBVAL_RAISES_EXCEPTION`` (nbval's exceptions);
- every cell marked ``# NBVAL_CHECK_OUTPUT`` (or tagged ``nbval-check-output``)
  printed in that execution what the committed notebook shows. The comparison
  is nbval's own (``nbval.plugin.IPyNbCell.compare_outputs``, no sanitize file):
  the stream outputs of one name are joined and their ``\\r`` and ``\\b``
  applied, then every text field (stdout, stderr, text/plain, text/html,
  text/markdown, ...) must be equal character for character; PNG and JPEG
  images, widget ids, metadata, execution counts and tracebacks are not
  compared. As with nbval, a marked cell the committed notebook shows unrun
  (no execution count) is not compared.

Without a built book the tests are skipped, unless ``GENAE_REQUIRE_BOOK=1``
(set by ``make test``, which builds it first) makes that a failure.
``GENAE_JUPYTER_CACHE`` points them at another cache folder.
"""

from __future__ import annotations

import copy
import os
from collections import defaultdict
from pathlib import Path

import nbformat
import pytest

pytestmark = pytest.mark.book  # reads what `make book` made (pyproject.toml's markers)
ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]-*.ipynb"))
CACHE = Path(os.environ.get("GENAE_JUPYTER_CACHE") or ROOT / "book" / "_build" / ".jupyter_cache")
REQUIRED = os.environ.get("GENAE_REQUIRE_BOOK") == "1"
# nbval's defaults without --nbdime: what it leaves out of the comparison.
SKIP_COMPARE = ("metadata", "traceback", "prompt_number", "output_type", "name", "execution_count",
                "application/vnd.jupyter.widget-view+json", "image/png", "image/jpeg")


def nbval_options(cell) -> dict:
    """nbval's options for a code cell (check, check_exception, skip), from its tags and comments."""
    from nbval.plugin import find_comment_markers, find_metadata_tags

    options = defaultdict(bool, find_metadata_tags(cell.metadata))
    options.update(dict(find_comment_markers(cell.source)))
    return options


class _Comparison:
    """Just enough of an ``nbval.plugin.IPyNbCell`` to run its ``compare_outputs`` unchanged."""

    def __init__(self):
        from nbval.plugin import IPyNbCell, nocolors

        self.colors = nocolors
        self.comparison_traceback: list[str] = []
        self._compare = IPyNbCell.compare_outputs

    def sanitize(self, text):  # no sanitize file: nbval leaves the text as it is
        return text

    def format_output_compare(self, key, committed, fresh):
        from nbval.plugin import _trim_base64

        self.comparison_traceback.append(f"{key!r} differs.\n  committed: {_trim_base64(committed)!r}"
                                         f"\n  executed:  {_trim_base64(fresh)!r}")

    def equal(self, fresh_outputs, committed_outputs) -> bool:
        from nbval.plugin import coalesce_streams

        fresh = coalesce_streams(copy.deepcopy(fresh_outputs))
        committed = coalesce_streams(copy.deepcopy(committed_outputs))
        return self._compare(self, fresh, committed, skip_compare=SKIP_COMPARE)


def executed(path: Path) -> nbformat.NotebookNode:
    """The build's execution of ``path``: the notebook with the cached outputs merged in."""
    if not CACHE.is_dir():
        reason = f"the book is not built: no {CACHE} (run `make book`)"
        if REQUIRED:
            pytest.fail(reason)
        pytest.skip(reason)
    try:
        from jupyter_cache import get_cache  # comes with the book's extra (jupyter-book)
    except ImportError:
        (pytest.fail if REQUIRED else pytest.skip)("jupyter-cache is not installed (pip install -e '.[book]')")
    notebook = nbformat.read(path, as_version=4)
    try:
        _, merged = get_cache(str(CACHE)).merge_match_into_notebook(notebook)
    except KeyError:
        pytest.fail(f"{path.name} has changed since the book last executed it (its code cells match "
                    f"nothing in {CACHE.relative_to(ROOT) if CACHE.is_relative_to(ROOT) else CACHE}): "
                    "run `make book` to execute it, then the tests again", pytrace=False)
    return merged


def code_cells(nb: nbformat.NotebookNode) -> list:
    return [c for c in nb.cells if c.cell_type == "code"]


def test_there_are_notebooks():
    assert NOTEBOOKS, "no notebooks/NN-slug.ipynb found"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_the_books_execution_raised_nothing_and_matches_the_checked_outputs(path):
    notebook = nbformat.read(path, as_version=4)
    committed, fresh = code_cells(notebook), code_cells(executed(path))
    where = [i for i, c in enumerate(notebook.cells) if c.cell_type == "code"]
    assert len(fresh) == len(committed)
    errors, differences = [], []
    for number, (cell, ran) in enumerate(zip(committed, fresh)):
        options = nbval_options(cell)
        raised = [o for o in ran.get("outputs", []) if o.get("output_type") == "error"]
        if raised and not options["check_exception"]:
            errors.append(f"cell {where[number]} raised {raised[0].get('ename')}: {raised[0].get('evalue')}")
        if options["check"] and not options["skip"] and cell.get("execution_count") is not None:
            comparison = _Comparison()
            if not comparison.equal(ran.get("outputs", []), cell.get("outputs", [])):
                lines = [line for line in cell.source.splitlines() if line.strip() and "NBVAL" not in line]
                first_line = lines[0] if lines else ""
                differences.append(f"cell {where[number]} ({first_line!r}, marked NBVAL_CHECK_OUTPUT): "
                                   + "; ".join(comparison.comparison_traceback))
    assert not errors, f"{path.name}: " + "\n".join(errors)
    assert not differences, (
        f"{path.name}: the book's fresh execution printed something else than the committed notebook "
        "shows (execute the notebook, look at the difference, commit the outputs if they are right):\n"
        + "\n".join(differences))


def test_the_comparison_is_nbvals():
    """Streams are joined before comparing, images are ignored, any text difference counts."""
    out = nbformat.v4.new_output
    committed = [out("stream", name="stdout", text="✔ all 3 checks passed.\n"),
                 out("display_data", data={"text/plain": "<Figure>", "image/png": "AAAA"})]
    fresh = [out("stream", name="stdout", text="✔ all 3 "), out("stream", name="stdout", text="checks passed.\n"),
             out("display_data", data={"text/plain": "<Figure>", "image/png": "BBBB"})]
    assert _Comparison().equal(fresh, committed)
    fresh[1].text = "checks failed.\n"
    comparison = _Comparison()
    assert not comparison.equal(fresh, committed)
    assert "checks failed" in comparison.comparison_traceback[0]
    assert not _Comparison().equal(fresh[:1], committed)  # a missing output counts too
