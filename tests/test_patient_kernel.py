"""book/_ext/patient_kernel.py: a reply that a poll missed is picked up by the next slice, not at the timeout."""

import asyncio
import sys
import time
from pathlib import Path
from queue import Empty

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "book" / "_ext"))
import patient_kernel  # noqa: E402


def test_a_missed_reply_arrives_with_the_next_slice(monkeypatch):
    monkeypatch.setattr(patient_kernel, "SLICE_S", 0.05)
    polls = []

    async def get_msg(timeout=None):  # the reply is there, but the first two polls are not woken for it
        polls.append(timeout)
        if len(polls) < 3:
            await asyncio.sleep(timeout)
            raise Empty
        return {"msg_type": "execute_reply"}

    start = time.monotonic()
    reply = asyncio.run(patient_kernel._sliced(get_msg)(timeout=30))
    assert reply == {"msg_type": "execute_reply"} and len(polls) == 3
    assert time.monotonic() - start < 1, "the reply must not wait for the 30 s timeout"
    assert all(t <= 0.05 for t in polls)


def test_no_reply_still_times_out_at_the_deadline(monkeypatch):
    monkeypatch.setattr(patient_kernel, "SLICE_S", 0.05)

    async def get_msg(timeout=None):
        await asyncio.sleep(timeout)
        raise Empty

    start = time.monotonic()
    with pytest.raises(Empty):
        asyncio.run(patient_kernel._sliced(get_msg)(timeout=0.3))
    assert 0.25 < time.monotonic() - start < 1


def test_patching_twice_wraps_once():
    from nbclient import NotebookClient

    patient_kernel.patch_nbclient()
    first = NotebookClient.async_start_new_kernel_client
    patient_kernel.patch_nbclient()
    assert NotebookClient.async_start_new_kernel_client is first and first.patient
