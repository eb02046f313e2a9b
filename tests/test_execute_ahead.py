"""book/_ext/execute_ahead.py: notebooks executed ahead land in the cache myst-nb reads; failures do not."""

import sys
from pathlib import Path

import nbformat
import pytest
import yaml
from jupyter_cache import get_cache

BOOK = Path(__file__).resolve().parents[1] / "book"
sys.path.insert(0, str(BOOK / "_ext"))
import execute_ahead  # noqa: E402


def _notebook(path: Path, source: str, title: str | None = None) -> Path:
    cells = [nbformat.v4.new_markdown_cell(f"# {title}")] if title else []
    nb = nbformat.v4.new_notebook(cells=[*cells, nbformat.v4.new_code_cell(source)])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, path)
    return path


def test_executed_notebooks_are_cached_and_a_failing_one_is_not(tmp_path, monkeypatch):
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    good = [_notebook(tmp_path / f"ok{i}.ipynb", f"import os\nprint({i}, os.environ['OMP_NUM_THREADS'])")
            for i in range(2)]
    bad = _notebook(tmp_path / "bad.ipynb", "raise ValueError('this notebook fails')")
    cache_path = str(tmp_path / "cache")

    seconds = execute_ahead.execute_ahead(cache_path, [*good, bad], workers=2, timeout=120,
                                          allow_errors=False)

    assert seconds[bad] is None and all(seconds[p] > 0 for p in good)
    cache = get_cache(cache_path)
    for i, path in enumerate(good):  # what myst-nb will match: the source notebook, unexecuted
        _, merged = cache.merge_match_into_notebook(nbformat.read(path, as_version=4))
        assert merged.cells[0].outputs[0]["text"] == f"{i} 1\n"
    with pytest.raises(KeyError):
        cache.match_cache_notebook(nbformat.read(bad, as_version=4))
    # Run again: everything cached is skipped, only the failing notebook is tried.
    assert set(execute_ahead.execute_ahead(cache_path, [*good, bad], 2, 120, False)) == {bad}


def test_kernel_threads_share_the_cores_unless_set(monkeypatch):
    monkeypatch.setattr(execute_ahead.os, "cpu_count", lambda: 4)
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    assert [execute_ahead.kernel_threads(w) for w in (1, 2, 3, 8)] == ["4", "2", "1", "1"]
    monkeypatch.setenv("OMP_NUM_THREADS", "3")
    assert execute_ahead.kernel_threads(2) == "3"


@pytest.mark.parametrize("value", ["0", "two", "-1", "1.5"])
def test_a_bad_worker_count_is_named(monkeypatch, value):
    monkeypatch.setenv("GENAE_BOOK_WORKERS", value)
    with pytest.raises(ValueError, match=f"GENAE_BOOK_WORKERS={value!r}"):
        execute_ahead.worker_count()


def test_worker_count_defaults_to_the_cores_at_most_two(monkeypatch):
    monkeypatch.delenv("GENAE_BOOK_WORKERS", raising=False)
    for cores, workers in [(1, 1), (2, 2), (16, 2)]:
        monkeypatch.setattr(execute_ahead.os, "cpu_count", lambda c=cores: c)
        assert execute_ahead.worker_count() == workers
    monkeypatch.setenv("GENAE_BOOK_WORKERS", "3")
    assert execute_ahead.worker_count() == 3


def test_the_notebooks_started_first_exist():
    first = yaml.safe_load((BOOK / "_config.yml").read_text())["sphinx"]["config"]["execute_ahead_first"]
    assert first and all((BOOK / f"{docname}.ipynb").exists() for docname in first)


def test_a_sphinx_build_renders_what_was_executed_ahead(tmp_path, monkeypatch):
    """The wiring: myst-nb finds every notebook in the cache the extension wrote, executing none."""
    from io import StringIO

    from sphinx.application import Sphinx

    src = tmp_path / "src"
    src.mkdir()
    (src / "conf.py").write_text(
        f"import sys\nsys.path.insert(0, {str(BOOK / '_ext')!r})\n"
        "extensions = ['myst_nb', 'execute_ahead']\nnb_execution_mode = 'cache'\n")
    (src / "index.md").write_text("# Index\n\n```{toctree}\nnb0\nnb1\n```\n")
    for i in range(2):
        _notebook(src / f"nb{i}.ipynb", f"print('page {i}')", title=f"Page {i}")
    monkeypatch.setenv("GENAE_BOOK_WORKERS", "2")  # whatever the cores
    status = StringIO()
    app = Sphinx(str(src), str(src), str(tmp_path / "out" / "html"), str(tmp_path / "doctrees"),
                 "html", status=status, warning=StringIO(), freshenv=True)
    app.build()
    log = status.getvalue()
    assert "execute_ahead: up to 2 notebooks on 2 workers" in log
    assert log.count("Using cached notebook") == 2 and "Executing notebook" not in log, log
    assert "page 1" in (tmp_path / "out" / "html" / "nb1.html").read_text()
