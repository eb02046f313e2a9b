"""Checks for chapter 11 (what the book found): Holm's correction of a family of tests.

:func:`check_holm` tests the student's ``holm(p_values)`` against
:func:`genae.summary.holm` on families with known answers: Holm's own kind of
example, ties, a value capped at 1, a single test. The two usual slips each
fail with a sentence that names them: Bonferroni's correction (every p times
the family's size, which is valid but needlessly strict) and the step-down
products without the running maximum (which can make a larger raw p-value
look more significant than a smaller one).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from genae.checks import ExerciseError, attempt, passed
from genae.summary import holm as reference_holm

CASES = (
    ([0.01, 0.04, 0.03, 0.005], "four steps of one chain (Holm's step-down with a running max)"),
    ([0.2, 0.2, 0.01], "two tied p-values"),
    ([0.6, 0.3, 0.02, 0.04], "a family where m * p passes 1 (capped at 1)"),
    ([0.03], "a family of one test (nothing to adjust)"),
    ([0.001, 0.002, 0.003, 0.004, 0.5], "five tests, four small"),
)


def _diagnose(got: np.ndarray, p: np.ndarray) -> str:
    """Name the usual slip behind a wrong answer, if it is one."""
    m = len(p)
    if np.allclose(got, np.minimum(m * p, 1.0)):
        return ("you multiplied every p-value by the family's size: that is Bonferroni's "
                "correction. Holm multiplies the smallest by m, the next by m - 1, and so on")
    order = np.argsort(p, kind="stable")
    raw = np.empty(m)
    raw[order] = np.minimum((m - np.arange(m)) * p[order], 1.0)
    if np.allclose(got, raw):
        return ("the step-down products are right, but a larger raw p-value must never get a "
                "smaller adjusted one: keep a running maximum in sorted order")
    return "compare with Holm's rule: sort, multiply the i-th smallest (from 0) by m - i"


def check_holm(fn: Callable) -> None:
    """Check ``fn(p_values)`` returns Holm-adjusted p-values in the order given."""
    for values, what in CASES:
        p = np.array(values)
        got = attempt(fn, list(values), name="holm")
        got = np.asarray(got, dtype=float) if got is not None else None
        if got is None or got.shape != p.shape:
            shape = None if got is None else got.shape
            raise ExerciseError(f"holm should return {len(p)} adjusted p-values (one per test, in "
                                f"the order given) for {what}, but it returned shape {shape}")
        want = reference_holm(values)
        if not np.allclose(got, want, atol=1e-12):
            raise ExerciseError(f"holm({values}) for {what} should be "
                                f"{np.round(want, 4).tolist()}, got {np.round(got, 4).tolist()}: "
                                f"{_diagnose(got, p)}")
    passed("holm", len(CASES))
