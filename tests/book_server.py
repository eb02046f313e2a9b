"""The built book served on localhost for the browser tests (tests/test_browser.py and
tests/test_explorer_browser.py): a quiet static server on a free port, skipped or failed when the
browser or the build is missing."""

from __future__ import annotations

import contextlib
import functools
import http.server
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format, *args):  # noqa: A002 (the base class's name)
        pass


@contextlib.contextmanager
def serve(directory: Path, unavailable: str | None, required: bool) -> Iterator[str]:
    """Serve ``directory`` and yield its URL; skip (or, when ``required``, fail) for the reason
    ``unavailable`` gives, if any."""
    if unavailable:
        if required:
            pytest.fail(f"GENAE_REQUIRE_BROWSER=1 but {unavailable}")
        pytest.skip(unavailable)
    handler = functools.partial(QuietHandler, directory=str(directory))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
