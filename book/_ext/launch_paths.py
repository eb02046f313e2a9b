"""Point the Colab and Binder launch buttons at notebooks/, where the notebooks live in the repository.

The book reads its chapters through the symlink ``book/notebooks -> ../notebooks``,
so sphinx-book-theme builds launch URLs such as ``.../blob/main/book/notebooks/01-x.ipynb``.
GitHub (and so Colab, which opens notebooks through GitHub) does not follow a
symlinked folder inside a URL, so those links would be 404s. This extension runs
after the theme has made the buttons and rewrites ``book/notebooks/`` to
``notebooks/`` in every launch URL.
"""

from __future__ import annotations

from sphinx.application import Sphinx

LINKED = "book/notebooks/"
REAL = "notebooks/"


def rewrite_launch_urls(app: Sphinx, pagename: str, templatename: str, context: dict, doctree) -> None:
    """Replace the symlinked path with the real one in the theme's launch buttons."""
    for group in context.get("header_buttons", []):
        if group.get("label") != "launch-buttons":
            continue
        for button in group.get("buttons", []):
            url = button.get("url")
            if url and LINKED in url:
                button["url"] = url.replace(LINKED, REAL)


def setup(app: Sphinx) -> dict:
    # sphinx-book-theme adds the launch buttons at priority 501; run after it.
    app.connect("html-page-context", rewrite_launch_urls, priority=600)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
