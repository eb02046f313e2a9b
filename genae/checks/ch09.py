"""Checks for chapter 9 (does the chain help? measuring section 4.5).

:func:`check_mmd` compares the student's unbiased squared MMD with
:func:`genae.metrics.mmd`; :func:`check_precision_recall` compares their
improved precision and recall with :func:`genae.metrics.precision_recall`.
Both recognise the usual slips (the biased estimate, a kernel without the 2,
a neighbour radius that counts the point itself, precision and recall swapped)
and say which one it is.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
from torch import Tensor

from genae.checks import ExerciseError, attempt, passed
from genae.metrics import mmd, precision_recall


def reference_mmd(a: Tensor, b: Tensor, bandwidth: float) -> float:
    """The book's answer: the unbiased squared MMD with the Gaussian kernel
    exp(-|x - y|^2 / (2 h^2))."""

    def k(x, y):
        return torch.exp(-torch.cdist(x, y).square() / (2 * bandwidth**2))

    m, n = len(a), len(b)
    kaa, kbb = k(a, a), k(b, b)
    return float(
        (kaa.sum() - kaa.diagonal().sum()) / (m * (m - 1))
        + (kbb.sum() - kbb.diagonal().sum()) / (n * (n - 1))
        - 2 * k(a, b).mean()
    )


def _as_float(value: object, what: str) -> float:
    if isinstance(value, Tensor):
        if value.numel() != 1:
            raise ExerciseError(
                f"{what} should be one number, but it is a tensor of shape {tuple(value.shape)}"
            )
        value = value.item()
    if not isinstance(value, (int, float)):
        raise ExerciseError(f"{what} should be a number, but it is a {type(value).__name__}")
    return float(value)


def _mmd_variant(
    a: Tensor, b: Tensor, h: float, biased: bool = False, scale: float = 2.0, power: int = 2
) -> float:
    def k(x, y):
        return torch.exp(-torch.cdist(x, y).pow(power) / (scale * h**2))

    kaa, kbb, kab = k(a, a), k(b, b), k(a, b)
    if biased:
        return float(kaa.mean() + kbb.mean() - 2 * kab.mean())
    m, n = len(a), len(b)
    return float(
        (kaa.sum() - kaa.diagonal().sum()) / (m * (m - 1))
        + (kbb.sum() - kbb.diagonal().sum()) / (n * (n - 1))
        - 2 * kab.mean()
    )


def _mmd_cases() -> list[tuple[Tensor, Tensor, float]]:
    """Samples of unequal and equal sizes, shifted and not, with three kernel widths."""
    g = torch.Generator().manual_seed(9)

    def draw(n: int, d: int) -> Tensor:
        return torch.randn(n, d, generator=g, dtype=torch.float64)

    return [(draw(20, 3), draw(30, 3) + 0.5, 1.0), (draw(25, 2), draw(25, 2), 0.7),
            (draw(15, 5) * 2, draw(12, 5), 3.0)]


def _mmd_hints(a: Tensor, b: Tensor, h: float, want: float) -> tuple[tuple[float, str], ...]:
    """The values of the usual slips, each with what to fix."""
    return (
        (_mmd_variant(a, b, h, biased=True),
         "that is the biased estimate: leave out the i = j terms k(a_i, a_i) = 1 (divide the rest "
         "by m(m-1), not m^2), so that the estimate of 0 is unbiased"),
        (_mmd_variant(a, b, h, scale=1.0),
         "the kernel is exp(-|x - y|^2 / (2 h^2)): you left out the 2"),
        (_mmd_variant(a, b, h, power=1),
         "the kernel takes the squared distance |x - y|^2, not |x - y|"),
        (-want, "the signs are reversed: MMD^2 = E k(a, a') + E k(b, b') - 2 E k(a, b)"),
    )


def check_mmd(fn: Callable) -> None:
    """Check ``fn(a, b, bandwidth)`` returns the unbiased squared MMD with a Gaussian kernel of
    width ``bandwidth``."""
    cases = _mmd_cases()
    for a, b, h in cases:
        what = f"my_mmd(a of shape {tuple(a.shape)}, b of shape {tuple(b.shape)}, bandwidth={h})"
        got = _as_float(attempt(fn, a.clone(), b.clone(), h, name="my_mmd"), what)
        want = mmd(a, b, bandwidth=h)
        if math.isclose(got, want, rel_tol=1e-5, abs_tol=1e-7):
            continue
        for value, hint in _mmd_hints(a, b, h, want):
            if math.isclose(got, value, rel_tol=1e-5, abs_tol=1e-7):
                raise ExerciseError(f"{what} returned {got:.6g}, not {want:.6g}: {hint}")
        raise ExerciseError(
            f"{what} returned {got:.6g}, but the unbiased squared MMD is {want:.6g}: "
            "check the three kernel means and their weights"
        )
    a, b, h = cases[0]
    swapped = _as_float(
        attempt(fn, b.clone(), a.clone(), h, name="my_mmd"), "my_mmd(b, a, bandwidth)"
    )
    if not math.isclose(swapped, mmd(a, b, bandwidth=h), rel_tol=1e-5, abs_tol=1e-7):
        raise ExerciseError(
            "my_mmd(a, b) and my_mmd(b, a) differ: the MMD is symmetric in its two samples, "
            "so divide each within-sample sum by its own sample's m(m-1)"
        )
    passed("check_mmd", len(cases) + 1)


def reference_precision_recall(real: Tensor, fake: Tensor, k: int = 3) -> tuple[float, float]:
    """The book's answer: Kynkäänniemi et al.'s improved precision and recall."""
    cross = torch.cdist(fake, real)
    real_r = torch.cdist(real, real).kthvalue(k + 1, dim=1).values  # the 1st is the point itself
    fake_r = torch.cdist(fake, fake).kthvalue(k + 1, dim=1).values
    return float((cross <= real_r).any(1).double().mean()), float(
        (cross.T <= fake_r).any(1).double().mean()
    )


def _pr_variant(real: Tensor, fake: Tensor, k: int, radius_k: int) -> tuple[float, float]:
    cross = torch.cdist(fake, real)
    real_r = torch.cdist(real, real).kthvalue(radius_k, dim=1).values
    fake_r = torch.cdist(fake, fake).kthvalue(radius_k, dim=1).values
    return float((cross <= real_r).any(1).double().mean()), float(
        (cross.T <= fake_r).any(1).double().mean()
    )


def check_precision_recall(fn: Callable) -> None:
    """Check ``fn(real, fake, k)`` returns ``(precision, recall)`` as in Kynkäänniemi et al.
    (2019)."""
    g = torch.Generator().manual_seed(19)
    real = torch.randn(60, 2, generator=g, dtype=torch.float64)
    cases = [
        (real, real[:30] * 0.6, 3),  # concentrated fakes: high precision, low recall
        (
            real,
            torch.randn(40, 2, generator=g, dtype=torch.float64) * 2.5,
            3,
        ),  # spread-out fakes: the other way
        (real, torch.randn(50, 2, generator=g, dtype=torch.float64) + 1.0, 1),
        (real, real + 100.0, 2),  # disjoint sets
    ]
    for real_x, fake_x, k in cases:
        what = f"my_precision_recall(real {tuple(real_x.shape)}, fake {tuple(fake_x.shape)}, k={k})"
        got = attempt(fn, real_x.clone(), fake_x.clone(), k, name="my_precision_recall")
        if not (isinstance(got, (tuple, list)) and len(got) == 2):
            raise ExerciseError(
                f"{what} should return a pair (precision, recall), got {type(got).__name__}"
            )
        got = tuple(_as_float(v, what) for v in got)
        want = precision_recall(real_x, fake_x, k=k)
        if all(math.isclose(x, y, abs_tol=1e-9) for x, y in zip(got, want)):
            continue
        if all(math.isclose(x, y, abs_tol=1e-9) for x, y in zip(got, want[::-1])):
            raise ExerciseError(
                f"{what} returned {got}, the right numbers swapped: precision is the share of "
                "fake samples inside the real manifold, recall the share of real ones inside "
                "the fake"
            )
        if k > 1 and all(
            math.isclose(x, y, abs_tol=1e-9) for x, y in zip(got, _pr_variant(real_x, fake_x, k, k))
        ):
            raise ExerciseError(
                f"{what} returned {got}, not {want}: each ball's radius is the distance to the "
                "k-th nearest *other* point; the nearest point in a set to itself is itself, at 0"
            )
        raise ExerciseError(f"{what} returned {got}, but (precision, recall) is {want}")
    passed("check_precision_recall", len(cases))


def reference_holm(p_values) -> list[float]:
    """The book's answer: Holm's step-down adjusted p-values, in the order given."""
    p = [float(v) for v in p_values]
    order = sorted(range(len(p)), key=lambda i: p[i])
    adjusted, running = [0.0] * len(p), 0.0
    for rank, i in enumerate(order):
        running = max(running, (len(p) - rank) * p[i])  # never below an earlier step's value
        adjusted[i] = min(running, 1.0)
    return adjusted


def _holm_slips(p: list[float]) -> tuple[tuple[list[float], str], ...]:
    """The values of the usual slips, each with what to fix."""
    m, order = len(p), sorted(range(len(p)), key=lambda i: p[i])
    raw, uncapped = [0.0] * m, [0.0] * m
    for rank, i in enumerate(order):
        raw[i] = min((m - rank) * p[i], 1.0)
    running = 0.0
    for rank, i in enumerate(order):
        running = max(running, (m - rank) * p[i])
        uncapped[i] = running
    return (
        ([min(m * v, 1.0) for v in p], "that is Bonferroni's correction (every p times m): Holm "
         "multiplies the smallest p by m, the next by m - 1, and so on"),
        (raw, "each adjusted p must be at least the one before it in sorted order: keep a "
         "running maximum, or a larger raw p could get a smaller adjusted one"),
        (uncapped, "an adjusted p-value is a probability: cap it at 1"),
        (sorted(reference_holm(p)), "the adjusted values are right but sorted: return them in "
         "the order of the p-values given"),
    )


def check_holm(fn: Callable) -> None:
    """Check ``fn(p_values)`` returns Holm's adjusted p-values, in the order given."""
    cases = [[0.01, 0.04, 0.03, 0.005], [0.2, 0.01, 0.5, 0.04], [0.03, 0.03], [0.6, 0.9, 0.02]]
    for p in cases:
        what = f"my_holm({p})"
        got = attempt(fn, list(p), name="my_holm")
        if isinstance(got, Tensor):
            got = got.tolist()
        try:
            got = [float(v) for v in got]
        except (TypeError, ValueError) as err:
            raise ExerciseError(f"{what} should return a list of {len(p)} numbers, got "
                                f"{type(got).__name__}") from err
        want = reference_holm(p)
        if len(got) == len(p) and all(math.isclose(x, y, abs_tol=1e-9) for x, y in zip(got, want)):
            continue
        for value, hint in _holm_slips(p):
            if len(got) == len(p) and all(math.isclose(x, y, abs_tol=1e-9)
                                          for x, y in zip(got, value)):
                raise ExerciseError(f"{what} returned {got}, not {want}: {hint}")
        raise ExerciseError(f"{what} returned {got}, but Holm's adjusted p-values are {want}")
    passed("check_holm", len(cases))
