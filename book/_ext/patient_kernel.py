"""Wait for a cell's reply in short slices, so a missed wake-up costs a second, not the whole timeout.

nbclient waits for each cell's ``execute_reply`` with one poll of the shell channel
that lasts the cell timeout. Now and then (about one run in three of chapter 7's
widget cell on ipykernel 7.4, nbclient 0.11, pyzmq 27) that poll is not woken
when the reply arrives, and only notices it when the timeout runs out: the cell
"takes" the full timeout and then succeeds (upstream: jupyter/nbclient#312).
Polling in one-second slices until the same deadline picks the reply up within a
second. Loaded by the book (a Sphinx extension: jupyter-cache executes through
nbclient) and by the tests and benchmarks that execute notebooks.
"""

from __future__ import annotations

import time
from queue import Empty

from nbclient import NotebookClient

SLICE_S = 1.0


def _sliced(get_msg):
    async def get_msg_in_slices(timeout: float | None = None, **kwargs):
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            wait = SLICE_S if deadline is None else min(SLICE_S, max(0.0, deadline - time.monotonic()))
            try:
                return await get_msg(timeout=wait, **kwargs)
            except Empty:
                if deadline is not None and time.monotonic() >= deadline:
                    raise

    get_msg_in_slices.patient = True
    return get_msg_in_slices


def patch_nbclient() -> None:
    """Make every NotebookClient poll its shell channel in slices (idempotent)."""
    start = NotebookClient.async_start_new_kernel_client
    if getattr(start, "patient", False):
        return

    async def start_patiently(self):
        kc = await start(self)
        if not getattr(kc.shell_channel.get_msg, "patient", False):
            kc.shell_channel.get_msg = _sliced(kc.shell_channel.get_msg)
        return kc

    start_patiently.patient = True
    NotebookClient.async_start_new_kernel_client = start_patiently


def setup(app):
    patch_nbclient()
    return {"parallel_read_safe": True, "parallel_write_safe": True}
