"""Checks for chapter 7 (watching the chain converge, section 3.2): a burn-in rule.

A chain has "burnt in" once a statistic of its samples (here, a distance from
the chain's latents at step t to Q(Z)) has come down to the level that two
independent draws from Q(Z) show, and stays there. :func:`check_burn_in` tests
the student's ``burn_in(stats, floor)`` on short sequences with known answers,
including one that dips below the floor and comes back up.
"""

from __future__ import annotations

import numbers
from collections.abc import Callable, Sequence

import numpy as np
import torch

from genae.checks import ExerciseError, attempt, passed

#: (statistic per step, floor, the right answer, what the case tests)
CASES: tuple[tuple[Sequence[float], float, int | None, str], ...] = (
    (
        [5.0, 3.0, 1.0, 0.5, 0.4],
        1.0,
        2,
        "a statistic that comes down and stays (a value equal to the floor counts)",
    ),
    ([0.1, 0.2, 0.1], 1.0, 0, "a chain that starts converged"),
    (
        [5.0, 0.5, 2.0, 0.6, 0.4, 0.3],
        1.0,
        3,
        "a statistic that dips below the floor at step 1 and rises again",
    ),
    ([3.0, 2.0, 2.5], 1.0, None, "a statistic that never reaches the floor"),
    ([3.0, 2.0, 0.5, 1.5], 1.0, None, "a statistic that ends above the floor"),
)


def reference_burn_in(stats: Sequence[float], floor: float) -> int | None:
    """The first step t with stats[s] <= floor for every s >= t; None when the last value is above
    the floor."""
    values = torch.as_tensor(np.asarray(stats, dtype=float))
    above = torch.nonzero(values > floor).flatten()
    if len(above) == 0:
        return 0
    last = int(above[-1])
    return None if last == len(values) - 1 else last + 1


def check_burn_in(fn: Callable) -> None:
    """Check ``fn(stats, floor)`` on sequences given as lists, numpy arrays and tensors."""
    for i, (stats, floor, want, what) in enumerate(CASES):
        kind = (list, np.asarray, torch.tensor)[i % 3]
        got = attempt(fn, kind(list(stats)), floor, name="burn_in")
        shown = f"burn_in({list(stats)}, floor={floor:g})"
        if want is None:
            if got is not None:
                raise ExerciseError(
                    f"{shown} returned {got!r}, but the chain has not burnt in by its last step "
                    f"({what}): return None in that case"
                )
            continue
        if isinstance(got, torch.Tensor) and got.numel() == 1:
            got = got.item()
        if got is None or isinstance(got, bool) or not isinstance(got, numbers.Integral):
            raise ExerciseError(
                f"{shown} should return the step number {want} (an int), but returned {got!r}"
            )
        if int(got) != want:
            hint = (
                " Your answer is the first step below the floor; the chain must also stay below "
                "it from then on (look for the last step above the floor instead)"
                if stats[int(got)] <= floor
                else ""
            )
            raise ExerciseError(
                f"{shown} should be {want} ({what}), but you returned {int(got)}.{hint}"
            )
    passed("burn_in", len(CASES))
