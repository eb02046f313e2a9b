"""Checks for chapter 8 (what denoising reveals, section 4.5): total variation as a measure of
sharpness.

:func:`check_total_variation` tests the student's ``total_variation(images)``:
for a batch (N, C, H, W), the mean absolute difference between neighbouring
pixels (horizontal and vertical pairs together), one number per image. A blurry
image has a small total variation and a flat one has none. The reference is
:func:`genae.chainstats.total_variation` (torchmetrics' summed total variation
divided by the number of neighbouring pairs).
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor

from genae.chainstats import total_variation as reference_total_variation
from genae.checks import ExerciseError, attempt, expect_close, passed


def _call(fn: Callable, images: Tensor) -> Tensor:
    got = attempt(fn, images.clone(), name="total_variation")
    if isinstance(got, Tensor):
        got = got.detach()
    return got


def check_total_variation(fn: Callable) -> None:
    """Check ``fn(images)`` on flat, striped, checkerboard and random batches."""
    size = 6
    ii, jj = torch.meshgrid(torch.arange(size), torch.arange(size), indexing="ij")
    flat = torch.full((1, 1, size, size), 0.3)
    checker = ((ii + jj) % 2).float().view(1, 1, size, size)
    rows = (
        (ii % 2).float().view(1, 1, size, size)
    )  # horizontal stripes: only vertical neighbours differ
    cols = (jj % 2).float().view(1, 1, size, size)
    g = torch.Generator().manual_seed(0)
    cases = (
        (flat, "a flat image (no edges at all)"),
        (checker, "a checkerboard (every neighbour differs by 1)"),
        (rows, "horizontal stripes (only vertically neighbouring pixels differ)"),
        (cols, "vertical stripes (only horizontally neighbouring pixels differ)"),
        (torch.rand(5, 1, 8, 8, generator=g), "a batch of 5 random grey 8x8 images"),
        (torch.rand(3, 3, 7, 5, generator=g), "a batch of 3 random colour 7x5 images"),
    )
    for images, what in cases:
        want = reference_total_variation(images)
        got = _call(fn, images)
        if isinstance(got, Tensor) and got.dim() == 0:
            raise ExerciseError(
                f"on {what} total_variation returned one number for the whole batch: "
                "return one value per image, shape (N,)"
            )
        if (
            isinstance(got, Tensor)
            and got.shape == want.shape
            and not torch.allclose(got, want, atol=1e-5)
        ):
            if images is rows or images is cols:
                raise ExerciseError(
                    f"on {what} the total variation should be {want.item():.3f}, but yours is "
                    f"{got.flatten()[0].item():.3f}: count both horizontal and vertical neighbours"
                )
            if torch.allclose(got, want * _pairs(images), atol=1e-3):
                raise ExerciseError(
                    f"on {what} your total variation is a sum over pixel pairs; take the mean "
                    "(divide by the number of neighbouring pairs) so images of any size compare"
                )
        expect_close(got, want, f"total_variation on {what}", atol=1e-5)
    passed("total_variation", len(cases))


def _pairs(images: Tensor) -> int:
    _, c, h, w = images.shape
    return c * (h * (w - 1) + (h - 1) * w)
