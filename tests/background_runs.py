"""Slow single-threaded commands that run beside the rest of the test session.

The two tests that regenerate stored results from scratch (tests/test_reference.py and
tests/test_reference_ch10.py) each run a reference script for about a minute and a half on
one thread. On 2 cores, one sequential session leaves the other core idle for that long, so a
test marks its command with ``@pytest.mark.background(command=...)``; once pytest has collected
the session, tests/conftest.py starts every marked command that was selected, and the test's
``background`` fixture (tests/conftest.py) waits for its own and returns the finished run. ``command(folder)``
returns the argument list and the environment variables to add, ``folder`` being a fresh
folder for the run's outputs and model cache.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

Command = Callable[[Path], tuple[list[str], dict[str, str]]]


@dataclass
class Run:
    folder: Path  # the command's outputs
    process: subprocess.Popen

    def result(self, timeout: float = 900) -> subprocess.CompletedProcess:
        """Wait for the command; its return code and output."""
        out, err = self.process.communicate(timeout=timeout)
        return subprocess.CompletedProcess(self.process.args, self.process.returncode, out, err)


_runs: dict[str, Run] = {}


def start(node_id: str, command: Command, cwd: Path) -> None:
    """Start ``command`` for the test ``node_id`` (once) in a fresh folder."""
    if node_id in _runs:
        return
    folder = Path(tempfile.mkdtemp(prefix="genae-background-"))
    args, env = command(folder)
    process = subprocess.Popen(args, cwd=cwd, env={**os.environ, **env}, text=True,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    _runs[node_id] = Run(folder, process)


def run_for(node_id: str, command: Command, cwd: Path) -> Run:
    """The run of ``node_id``'s command, started now if the session did not start it."""
    start(node_id, command, cwd)
    return _runs[node_id]


def stop_all() -> None:
    """Kill whatever is still running (a session that ended early); remove the runs' folders."""
    for run in _runs.values():
        if run.process.poll() is None:
            run.process.kill()
            run.process.communicate()
        shutil.rmtree(run.folder, ignore_errors=True)
