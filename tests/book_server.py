"""The built book served on localhost for the browser tests (tests/test_browser.py and
tests/test_explorer_browser.py): a quiet static server on a free port, skipped or failed when the
browser or the build is missing."""

from __future__ import annotations

import contextlib
import functools
import http.server
import os
import shutil
import threading
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest

CHROMIUM = os.environ.get("GENAE_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
REQUIRED = os.environ.get("GENAE_REQUIRE_BROWSER") == "1"  # CI: a missing browser or build fails


def unavailable(page: Path) -> str | None:
    """Why the browser tests cannot open the built ``page`` here, or None."""
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "Playwright for Python is not installed (pip install playwright)"
    if not Path(CHROMIUM).exists():
        return f"no Chromium at {CHROMIUM} (apt-get install chromium, or set GENAE_CHROMIUM)"
    if not page.exists():
        return f"the book is not built: no {page} (run `make book`)"
    return None


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format, *args):  # noqa: A002 (the base class's name)
        pass


@contextlib.contextmanager
def serve(directory: Path, page: str) -> Iterator[str]:
    """Serve the built book in ``directory`` and yield its URL; skip (or, with REQUIRED, fail)
    when the browser or the built ``page`` is missing."""
    reason = unavailable(directory / page)
    if reason:
        if REQUIRED:
            pytest.fail(f"GENAE_REQUIRE_BROWSER=1 but {reason}")
        pytest.skip(reason)
    handler = functools.partial(QuietHandler, directory=str(directory))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def block_other_hosts(tab, site: str) -> list[str]:
    """Abort every request ``tab`` makes outside ``site`` (data:, blob: and about: stay local);
    return the list that collects the blocked URLs (websockets included)."""
    here, outside = urlsplit(site).netloc, []

    def route(route):
        url = urlsplit(route.request.url)
        if url.scheme in ("data", "blob", "about") or url.netloc == here:
            route.continue_()
        else:
            outside.append(route.request.url)
            route.abort()

    tab.route("**/*", route)
    tab.on("websocket", lambda ws: outside.append(ws.url))
    return outside


def wait_for_explorer(tab, timeout_ms: int = 180_000) -> None:
    """Wait until chapter 7's explorer in ``tab`` has started or shown its fallback; fail with the
    sentence the page shows the reader when it did not start."""
    tab.wait_for_function("() => window.genaeExplorer !== undefined || "
                          "!!document.querySelector('.genae-explorer .gx-fallback:not([hidden])')",
                          timeout=timeout_ms)
    why = tab.evaluate("() => (document.querySelector('.genae-explorer .gx-why') || {}).textContent")
    assert tab.evaluate("() => window.genaeExplorer !== undefined"), f"the explorer did not start: {why}"
