"""Section 4.3: the training log of a command-line run, one row per epoch.

Every loss term :func:`genae.train.fit` reports (``reconstruction``, ``prior``,
and for the AAEs ``adversary`` and ``adversary_accuracy``) plus ``z_std`` goes
to ``metrics.csv``, rewritten whole and atomically after each epoch so that a
killed run never leaves a half-written row; and to TensorBoard (the folder
``tensorboard/``) when the ``tensorboard`` package is installed.
"""

from __future__ import annotations

import csv
import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from genae.infra.files import atomic_path

CSV_NAME = "metrics.csv"
TENSORBOARD_DIR = "tensorboard"


def write_csv(history: Sequence[dict[str, float]], path: str | os.PathLike) -> Path:
    """Write a training history as CSV, columns in order of first appearance, atomically."""
    columns: list[str] = []
    for record in history:
        columns += [k for k in record if k not in columns]
    with atomic_path(path) as tmp, open(tmp, "w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=columns, restval="")
        writer.writeheader()
        writer.writerows(history)
    return Path(path)


def read_csv(path: str | os.PathLike) -> list[dict[str, float]]:
    """Read a history written by :func:`write_csv` (empty cells are left out)."""
    with open(path, newline="") as fh:
        return [{k: (int(v) if k == "epoch" else float(v)) for k, v in row.items() if v != ""}
                for row in csv.DictReader(fh)]


def tensorboard_writer(logdir: Path) -> Any | None:
    """A TensorBoard ``SummaryWriter`` for ``logdir``; ``None`` without the tensorboard package."""
    try:
        from torch.utils.tensorboard import SummaryWriter
    except ImportError:  # torch's writer needs the separate tensorboard package
        return None
    return SummaryWriter(str(logdir))


class RunLog:
    """The ``on_epoch`` callback of :func:`genae.train.fit` for a run folder: CSV, and TensorBoard.

    Args:
        out: the run folder.
        echo: called with one summary line per epoch (``print``, or ``tqdm.write`` beside a bar).
        writer_factory: makes the TensorBoard writer (replaceable in tests).
    """

    def __init__(self, out: str | os.PathLike, echo: Callable[[str], None] | None = print,
                 writer_factory: Callable[[Path], Any | None] = tensorboard_writer) -> None:
        self.out = Path(out)
        self.echo = echo
        self._writer_factory = writer_factory
        self._writer: Any | None = None
        self._logged = 0  # epochs already sent to TensorBoard (a resumed run starts after them)
        csv_path = self.out / CSV_NAME
        if csv_path.is_file():
            self._logged = len(read_csv(csv_path))

    def __call__(self, history: Sequence[dict[str, float]]) -> None:
        write_csv(history, self.out / CSV_NAME)
        new = [r for r in history if r["epoch"] > self._logged]
        if new and self._writer is None:
            # purge_step would need the writer to know the resume point; skipping logged epochs is
            # simpler.
            self._writer = self._writer_factory(self.out / TENSORBOARD_DIR)
        for record in new:
            if self._writer is not None:
                for key, value in record.items():
                    if key != "epoch":
                        self._writer.add_scalar(f"train/{key}", value, record["epoch"])
            if self.echo is not None:
                terms = "  ".join(f"{k} {v:.4g}" for k, v in record.items() if k != "epoch")
                self.echo(f"epoch {record['epoch']}: {terms}")
            self._logged = record["epoch"]
        if self._writer is not None:
            self._writer.flush()

    def close(self) -> None:
        """Close the TensorBoard writer, if one was opened."""
        if self._writer is not None:
            self._writer.close()
            self._writer = None
