"""Slow single-threaded commands that run beside the rest of the test session.

The tests that regenerate stored results from scratch (tests/test_stored_regenerates.py)
run two reference scripts for over two minutes on one thread. On 2 cores, one sequential
session leaves the other core idle for that long, so a test marks its command with ``@pytest.mark.background(command=...)``; once pytest has collected
the session, tests/conftest.py starts every marked command that was selected, and the test's
``background`` fixture (tests/conftest.py) waits for its own and returns the finished run. ``command(folder)``
returns the argument list and the environment variables to add, ``folder`` being a fresh
folder for the run's outputs and model cache. Tests that mark the same command share one run.
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
    done: subprocess.CompletedProcess | None = None

    def result(self, timeout: float = 900) -> subprocess.CompletedProcess:
        """Wait for the command; its return code and output (each test that asks gets them)."""
        if self.done is None:
            out, err = self.process.communicate(timeout=timeout)
            self.done = subprocess.CompletedProcess(self.process.args, self.process.returncode, out, err)
        return self.done


_runs: dict[str, Run] = {}


def _key(command: Command) -> str:
    return f"{command.__module__}.{command.__qualname__}"


def start(command: Command, cwd: Path) -> None:
    """Start ``command`` (once per session) in a fresh folder."""
    if _key(command) in _runs:
        return
    folder = Path(tempfile.mkdtemp(prefix="genae-background-"))
    args, env = command(folder)
    process = subprocess.Popen(args, cwd=cwd, env={**os.environ, **env}, text=True,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    _runs[_key(command)] = Run(folder, process)


def run_for(command: Command, cwd: Path) -> Run:
    """The run of ``command``, started now if the session did not start it."""
    start(command, cwd)
    return _runs[_key(command)]


def stop_all() -> None:
    """Kill whatever is still running (a session that ended early); remove the runs' folders."""
    for run in _runs.values():
        if run.process.poll() is None:
            run.process.kill()
            run.process.communicate()
        shutil.rmtree(run.folder, ignore_errors=True)
