"""Writing files atomically, so an interrupted write never leaves a half-written file.

Every file the library writes (checkpoints, cached models, figures, tables) goes
through :func:`atomic_path`: the content is written to a temporary file in the
same folder, flushed to disk, then renamed over the target in one step.

An exception or Ctrl-C during the write removes the temporary file. A process
killed outright (SIGKILL, a dead Colab kernel) cannot clean up after itself, so
its temporary file carries the host and process id, and the next write of the
same target removes temporary files whose process no longer exists.
"""

from __future__ import annotations

import contextlib
import glob
import os
import re
import secrets
import socket
from collections.abc import Iterator
from pathlib import Path


def _owner() -> str:
    """``host-pid`` of this process, in characters safe in a file name (and no dots)."""
    return f"{re.sub(r'[^A-Za-z0-9_-]', '_', socket.gethostname())}-{os.getpid()}"


def _temporaries(target: Path) -> list[Path]:
    """Temporary files of :func:`atomic_path` for ``target``: ``.NAME.HOST-PID.RANDOM.tmpSUFFIX``"""
    pattern = f".{glob.escape(target.name)}.*.tmp{glob.escape(target.suffix)}"
    return sorted(target.parent.glob(pattern))


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)  # signal 0 checks that the process exists, and sends nothing
    except ProcessLookupError:
        return False
    except PermissionError:  # it exists, run by another user
        return True
    return True


def remove_stale(target: str | os.PathLike) -> list[Path]:
    """Remove temporary files for ``target`` left by killed processes on this host; return them.

    Files of live processes (another writer of the same target) and of other
    hosts (a shared network folder) are left alone.
    """
    target = Path(target)
    if os.name == "nt":  # os.kill would terminate the process on Windows: never guess there
        return []
    host, me = _owner().rsplit("-", 1)
    removed = []
    for tmp in _temporaries(target):
        owner = tmp.name[len(target.name) + 2:].split(".", 1)[0]
        name, _, pid = owner.rpartition("-")
        if name == host and pid.isdigit() and int(pid) != int(me) and not _alive(int(pid)):
            tmp.unlink(missing_ok=True)
            removed.append(tmp)
    return removed


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path to write; on success it replaces ``path`` atomically.

    The temporary file sits beside ``path`` and ends with the same suffix, so
    writers that pick a format from the name (``savefig``, ``to_csv``) work.
    If the body raises (or the process is interrupted), the temporary file is
    removed and whatever was at ``path`` before is left untouched.
    """
    target = Path(path)
    if target.is_dir():
        raise IsADirectoryError(f"{target} is a folder: give the path of a file to write")
    target.parent.mkdir(parents=True, exist_ok=True)
    remove_stale(target)
    while True:  # os.open, not mkstemp: the file gets the usual permissions (umask), not 0600
        name = f".{target.name}.{_owner()}.{secrets.token_hex(4)}.tmp{target.suffix}"
        tmp_path = target.parent / name
        try:
            os.close(os.open(tmp_path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o666))
            break
        except FileExistsError:
            continue
    try:
        yield tmp_path
        with open(tmp_path, "rb+") as fh:  # make the bytes durable before the rename
            os.fsync(fh.fileno())
        os.replace(tmp_path, target)
    except BaseException:
        tmp_path.unlink(missing_ok=True)
        raise
