"""The book's configuration: the publishing workflow, the table of contents, offline assets.

The workflow cannot run here, so these tests check what can be checked without
GitHub: it parses, it calls only make targets that exist, and the table of
contents matches the notebooks on disk.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
BOOK = ROOT / "book"
WORKFLOW = ROOT / ".github" / "workflows" / "book.yml"


def makefile_targets() -> set[str]:
    """Names of the explicit targets in the Makefile (rules like ``name: deps``, not variables)."""
    text = (ROOT / "Makefile").read_text()
    return set(re.findall(r"^([A-Za-z0-9_.-]+)\s*:(?!=)", text, flags=re.MULTILINE))


def workflow_make_targets(workflow: dict) -> list[str]:
    """Every ``make TARGET`` called in a ``run:`` step of the workflow."""
    targets = []
    for job in workflow["jobs"].values():
        for step in job.get("steps", []):
            for line in str(step.get("run", "")).splitlines():
                for match in re.finditer(r"(?:^|[;&|]\s*)make\s+((?:-\S+\s+|\w+=\S+\s+)*)([A-Za-z0-9_.-]+)", line):
                    targets.append(match.group(2))
    return targets


def toc_files(toc: dict) -> list[str]:
    """Every ``file:`` entry of a jb-book table of contents, in order, including the root."""
    files = [toc["root"]]

    def walk(entries):
        for entry in entries or []:
            if "file" in entry:
                files.append(entry["file"])
            walk(entry.get("sections"))
            walk(entry.get("chapters"))

    walk(toc.get("chapters"))
    for part in toc.get("parts", []):
        walk(part.get("chapters"))
    return files


@pytest.fixture(scope="module")
def workflow() -> dict:
    return yaml.safe_load(WORKFLOW.read_text())


@pytest.fixture(scope="module")
def toc() -> dict:
    return yaml.safe_load((BOOK / "_toc.yml").read_text())


def test_makefile_target_parser_finds_the_known_targets():
    assert {"book", "test", "publish"} <= makefile_targets()
    assert "PYTHON" not in makefile_targets()  # a variable, not a target


def test_workflow_parses_and_builds_then_deploys(workflow):
    # PyYAML reads the bare key `on` as True.
    triggers = workflow.get("on", workflow.get(True))
    assert triggers["push"]["branches"] == ["main"]
    uses = [step.get("uses", "") for job in workflow["jobs"].values() for step in job.get("steps", [])]
    assert any(u.startswith("actions/upload-pages-artifact@") for u in uses)
    assert any(u.startswith("actions/deploy-pages@") for u in uses)
    uploads = [s for job in workflow["jobs"].values() for s in job["steps"]
               if s.get("uses", "").startswith("actions/upload-pages-artifact@")]
    assert uploads[0]["with"]["path"] == "book/_build/html"
    assert workflow["permissions"]["pages"] == "write" and workflow["permissions"]["id-token"] == "write"


def test_workflow_calls_only_real_make_targets(workflow):
    called = workflow_make_targets(workflow)
    assert "book" in called, "the workflow must build the book with the same `make book` as a laptop"
    missing = sorted(set(called) - makefile_targets())
    assert not missing, f"the workflow calls make targets that the Makefile does not define: {missing}"


def test_workflow_target_parser_sees_through_options():
    wf = {"jobs": {"a": {"steps": [{"run": "make book PYTHON=python\nmake -j2 test && make nope"}]}}}
    assert workflow_make_targets(wf) == ["book", "test", "nope"]


def test_toc_lists_only_files_that_exist(toc):
    missing = [f for f in toc_files(toc)
               if not any((BOOK / f).with_suffix(s).is_file() for s in (".md", ".ipynb"))
               and not (BOOK / f).is_file()]
    assert not missing, f"book/_toc.yml lists files that do not exist: {missing}"


def test_every_notebook_is_in_the_toc(toc):
    listed = set(toc_files(toc))
    notebooks = sorted(p.stem for p in (ROOT / "notebooks").glob("*.ipynb"))
    unlisted = [n for n in notebooks if f"notebooks/{n}" not in listed]
    assert not unlisted, f"notebooks missing from book/_toc.yml (add `- file: notebooks/NAME`): {unlisted}"


def test_book_reads_notebooks_through_the_symlink():
    link = BOOK / "notebooks"
    assert link.is_symlink() and link.resolve() == (ROOT / "notebooks").resolve()


def test_static_javascript_is_not_added_to_every_page():
    # Jupyter Book adds every .js file under the static paths to every page once book/_static
    # exists; the widget manager would then load twice (drawing each widget twice).
    config = yaml.safe_load((BOOK / "_config.yml").read_text())
    static_paths = config["sphinx"]["config"]["html_static_path"]
    if (BOOK / "_static").is_dir():
        scripts = [p for d in {*static_paths, "_static"} for p in (BOOK / d).rglob("*.js")]
        assert not scripts, f"move these scripts out of the static paths or out of book/_static: {scripts}"


def test_widget_scripts_are_served_from_the_book():
    config = yaml.safe_load((BOOK / "_config.yml").read_text())
    scripts = config["sphinx"]["config"]["nb_ipywidgets_js"]
    static = [BOOK / d for d in config["sphinx"]["config"]["html_static_path"]]
    for name, attrs in scripts.items():
        assert "://" not in name, f"{name} loads from another host"
        assert any((d / name).is_file() for d in static), f"{name} is not in the book's static folders"
        assert "://" not in attrs.get("data-jupyter-widgets-cdn", "")


def test_bibliography_and_citation_files_parse():
    bib = (BOOK / "references.bib").read_text()
    keys = re.findall(r"@\w+\{([^,]+),", bib)
    assert "creswell2016improving" in keys and len(keys) == len(set(keys))
    cff = yaml.safe_load((ROOT / "CITATION.cff").read_text())
    assert cff["cff-version"] == "1.2.0"
    assert "1610.09296" in str(cff["preferred-citation"])
