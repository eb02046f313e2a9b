"""Checks for chapter 6 (interpolation, figures 1, 3, 6 and 8): spherical interpolation (White,
2016).

:func:`check_slerp` compares the student's ``my_slerp(z_a, z_b, steps)`` with
:func:`genae.interpolate.slerp` on the cases that matter: the shape of the
path, its exact ends, unit vectors staying on the unit sphere, White's formula
on random pairs, and (nearly) parallel inputs, where the formula divides by
sin(0) and must fall back to the straight line.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor

from genae.checks import ExerciseError, attempt, expect_close, passed
from genae.interpolate import lerp, slerp


def _call(fn: Callable, z_a: Tensor, z_b: Tensor, steps: int, what: str) -> Tensor:
    got = attempt(fn, z_a.clone(), z_b.clone(), steps, name="my_slerp")
    if not isinstance(got, Tensor):
        raise ExerciseError(
            f"{what}: my_slerp should return a torch.Tensor, but it returned a {type(got).__name__}"
        )
    return got.detach()


def check_slerp(fn: Callable) -> None:
    """Check ``fn(z_a, z_b, steps)`` against :func:`genae.interpolate.slerp`; raise ExerciseError on
    a mistake."""
    g = torch.Generator().manual_seed(0)
    a, b = (
        torch.randn(3, 16, generator=g, dtype=torch.float64),
        torch.randn(3, 16, generator=g, dtype=torch.float64),
    )

    # 1. Shape: steps first, then the shape of one endpoint; a single vector works too.
    for z_a, z_b, steps in ((a, b, 7), (a[0], b[0], 5)):
        got = _call(fn, z_a, z_b, steps, "shape")
        want = (steps, *z_a.shape)
        if got.shape != want:
            hint = " (the steps should come first: stack the points along a new dimension 0)" \
                if got.dim() == len(want) and sorted(got.shape) == sorted(want) else ""
            raise ExerciseError(
                f"my_slerp(z_a, z_b, {steps}) with z_a of shape {tuple(z_a.shape)} should return "
                f"shape {want}, but returned {tuple(got.shape)}{hint}"
            )

    # 2. The ends are the inputs themselves (t = 0 and t = 1 included).
    got = _call(fn, a, b, 7, "ends")
    if not (torch.allclose(got[0], a, atol=1e-6) and torch.allclose(got[-1], b, atol=1e-6)):
        raise ExerciseError("the path should start exactly at z_a and end exactly at z_b: "
                            "use t = torch.linspace(0, 1, steps), which includes both ends")

    # 3. Unit vectors stay on the unit sphere (a straight line cuts inside it).
    ua, ub = a / a.norm(dim=1, keepdim=True), b / b.norm(dim=1, keepdim=True)
    norms = _call(fn, ua, ub, 9, "unit sphere").norm(dim=-1)
    if not torch.allclose(norms, torch.ones_like(norms), atol=1e-5):
        lo, hi = norms.min().item(), norms.max().item()
        hint = (
            " (a straight line between them, linear interpolation, sags inside the sphere "
            "like this)"
            if hi <= 1 + 1e-5
            else ""
        )
        raise ExerciseError(
            f"between two unit vectors every point of a spherical path has norm 1, but yours has "
            f"norms from {lo:.3f} to {hi:.3f}{hint}: weight z_a by sin((1-t)w)/sin(w) and z_b by "
            "sin(tw)/sin(w), where w is the angle between them"
        )

    # 4. White's formula on random, unnormalised pairs (norms differ).
    expect_close(_call(fn, a, 2.5 * b, 11, "random pairs"), slerp(a, 2.5 * b, 11),
                 "my_slerp on random 16-D pairs of different norms", atol=1e-6)

    # 5. Parallel inputs: sin(w) = 0, so the formula must fall back to the straight line.
    for scale in (2.0, 1.0):
        got = _call(fn, a, scale * a, 5, "parallel")
        if not torch.isfinite(got).all():
            raise ExerciseError(
                f"my_slerp(z, {scale:g} * z, 5) returned NaN or inf: for parallel inputs the angle "
                "is 0 and sin(0) = 0; where sin(w) is tiny, use the straight line (lerp) instead"
            )
        expect_close(
            got, lerp(a, scale * a, 5), f"my_slerp(z, {scale:g} * z, 5), parallel inputs", atol=1e-6
        )
    passed("my_slerp", 7)
