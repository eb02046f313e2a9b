"""Automatic checks for the book's exercises.

Each chapter's checks live in their own module (``genae.checks.chNN``). A check
takes the student's function, runs it on cases with known answers, and either
prints one line saying it passed or raises :class:`ExerciseError` with a
sentence a student understands: what went wrong, on which input, and what to
look at. Checks test behaviour (values, shapes, edge cases), never source text.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch


class ExerciseError(AssertionError):
    """A check found a mistake; the message says what and where to look."""


def attempt(fn: Callable, *args: Any, name: str | None = None, **kwargs: Any) -> Any:
    """Call the student's ``fn``; turn a stub's NotImplementedError or a crash into a clear
    ExerciseError."""
    label = name or getattr(fn, "__name__", "your function")
    try:
        return fn(*args, **kwargs)
    except NotImplementedError as err:
        raise ExerciseError(
            f"{label} is not written yet: replace `raise NotImplementedError()` with your code"
        ) from err
    except Exception as err:
        raise ExerciseError(f"{label} raised {type(err).__name__}: {err}") from err


def expect_close(
    got: Any, want: torch.Tensor, what: str, atol: float = 1e-5, rtol: float = 1e-4
) -> None:
    """Raise ExerciseError unless ``got`` is a tensor of ``want``'s shape whose values are close to
    it."""
    if not isinstance(got, torch.Tensor):
        raise ExerciseError(f"{what} should be a torch.Tensor, but it is a {type(got).__name__}")
    if got.shape != want.shape:
        raise ExerciseError(
            f"{what} should have shape {tuple(want.shape)}, but it has shape {tuple(got.shape)}"
        )
    if not torch.allclose(got.double(), want.double(), atol=atol, rtol=rtol):
        worst = (got.double() - want.double()).abs().max().item()
        raise ExerciseError(
            f"{what} is wrong: it differs from the right answer by up to {worst:.3g}"
        )


def passed(name: str, n_cases: int) -> None:
    """Tell the student the check passed."""
    print(f"✔ {name}: all {n_cases} checks passed.")
