"""The launch buttons: Binder opens the repository's notebooks, Colab the students' copies."""

import sys
import types
from pathlib import Path

import yaml

BOOK = Path(__file__).resolve().parents[1] / "book"
sys.path.insert(0, str(BOOK / "_ext"))

import launch_paths  # noqa: E402


def buttons(*urls):
    return {"header_buttons": [{"label": "launch-buttons", "buttons": [{"url": u} for u in urls]}]}


def test_colab_opens_the_student_copy_and_binder_the_repository():
    app = types.SimpleNamespace(config=types.SimpleNamespace(genae_student_branch="student"))
    context = buttons(
        "https://colab.research.google.com/github/o/r/blob/main/book/notebooks/05-sampling.ipynb",
        "https://mybinder.org/v2/gh/o/r/main?urlpath=lab/tree/book/notebooks/05-sampling.ipynb")
    launch_paths.rewrite_launch_urls(app, "p", "t", context, None)
    colab, binder = (b["url"] for b in context["header_buttons"][0]["buttons"])
    assert colab == "https://colab.research.google.com/github/o/r/blob/student/notebooks/05-sampling.ipynb"
    assert binder == "https://mybinder.org/v2/gh/o/r/main?urlpath=lab/tree/notebooks/05-sampling.ipynb"


def test_the_student_branch_is_the_one_the_workflow_publishes():
    branch = yaml.safe_load((BOOK / "_config.yml").read_text())["sphinx"]["config"]["genae_student_branch"]
    workflow = (BOOK.parent / ".github" / "workflows" / "book.yml").read_text()
    assert "make student" in workflow and f"-b {branch} " in workflow
