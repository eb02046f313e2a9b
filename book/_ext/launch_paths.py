"""Point the launch buttons at the notebooks: Binder at notebooks/, Colab at the students' copies.

The book reads its chapters through the symlink ``book/notebooks -> ../notebooks``,
so sphinx-book-theme builds launch URLs such as ``.../blob/main/book/notebooks/01-x.ipynb``.
GitHub (and so Colab, which opens notebooks through GitHub) does not follow a
symlinked folder inside a URL, so those links would be 404s. This extension runs
after the theme has made the buttons and rewrites ``book/notebooks/`` to
``notebooks/`` in every launch URL.

The Colab button opens the student copy of the chapter instead (solutions
replaced by stubs, outputs cleared: ``make student``), which the publishing
workflow (.github/workflows/book.yml) pushes to the branch named by
``genae_student_branch`` in book/_config.yml. Teachers find the links to the
copies with solutions on the instructor page.
"""

from __future__ import annotations

import re

from sphinx.application import Sphinx

LINKED = "book/notebooks/"
REAL = "notebooks/"
COLAB = "colab.research.google.com"


def rewrite_launch_urls(app: Sphinx, pagename: str, templatename: str, context: dict, doctree) -> None:
    """Replace the symlinked path with the real one in the theme's launch buttons."""
    for group in context.get("header_buttons", []):
        if group.get("label") != "launch-buttons":
            continue
        for button in group.get("buttons", []):
            url = button.get("url")
            if url and LINKED in url:
                url = url.replace(LINKED, REAL)
                if COLAB in url:  # students open their copy: .../blob/<student branch>/notebooks/
                    url = re.sub(r"/blob/[^/]+/notebooks/",
                                 f"/blob/{app.config.genae_student_branch}/notebooks/", url)
                button["url"] = url


def setup(app: Sphinx) -> dict:
    # sphinx-book-theme adds the launch buttons at priority 501; run after it.
    app.add_config_value("genae_student_branch", "student", "html")
    app.connect("html-page-context", rewrite_launch_urls, priority=600)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
