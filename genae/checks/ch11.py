"""Checks for chapter 11 (what the book found): how many training seeds a claim needs.

:func:`check_seeds_needed` tests the student's ``seeds_needed(change, sd, alpha)``: the
smallest number of seeds n (at least 2) whose paired t-test detects a true mean change
``change`` with 80% power at level ``alpha``, when the per-seed changes have standard deviation
``sd``. The reference uses :func:`genae.summary.detectable_change` (d_z detectable with n
seeds): n is the first with ``detectable_change(n, alpha) * sd <= change``. The usual slips
each fail with a sentence that names them: the normal approximation (which forgets that a
t-test on few seeds has heavier tails and so needs more seeds), and stopping one seed short.
"""

from __future__ import annotations

from collections.abc import Callable

from scipy import stats

from genae.checks import ExerciseError, attempt, passed
from genae.summary import detectable_change

CASES = ((10.0, 5.0, 0.05), (5.0, 2.0, 0.0125), (50.0, 40.0, 0.05))


def reference_seeds_needed(change: float, sd: float, alpha: float = 0.05) -> int:
    """The smallest n >= 2 with ``detectable_change(n, alpha) * sd <= change``."""
    n = 2
    while detectable_change(n, alpha=alpha) * sd > change:
        n += 1
    return n


def _normal_guess(change: float, sd: float, alpha: float) -> int:
    z = stats.norm.ppf(1 - alpha / 2) + stats.norm.ppf(0.8)
    return max(2, int(-(-(z * sd / change) ** 2 // 1)))


def check_seeds_needed(fn: Callable) -> None:
    """Check ``fn(change, sd, alpha)`` on changes large and small against the spread."""
    for change, sd, alpha in CASES:
        got = attempt(fn, change, sd, alpha, name="seeds_needed")
        want = reference_seeds_needed(change, sd, alpha)
        if isinstance(got, bool) or not isinstance(got, int):
            raise ExerciseError(f"seeds_needed should return a whole number of seeds, got {got!r}")
        if got == want:
            continue
        hint = "compare detectable_change(n, alpha) * sd with the change for n = 2, 3, ..."
        if got == _normal_guess(change, sd, alpha) and got < want:
            hint = ("that is the normal approximation: with few seeds the t-test's critical "
                    "value is larger, so use genae.summary.detectable_change, which solves it")
        elif got == want - 1:
            hint = "one seed short: n must reach the change, not stop just before it"
        raise ExerciseError(f"seeds_needed(change={change}, sd={sd}, alpha={alpha}) should be "
                            f"{want}, got {got}: {hint}")
    passed("seeds_needed", len(CASES))
