"""Has training flattened? The held-out loss judged above its floor (issue 24).

The models' reconstruction loss is the binary cross-entropy of grey-level
targets x in [0, 1], summed over pixels. Unlike a 0/1 target, a grey target has
a loss that cannot reach 0: the smallest value, reached when the decoder
outputs exactly x, is the targets' own entropy,

    H(x) = sum over pixels of -x log x - (1 - x) log(1 - x),

(:func:`target_entropy`, mean over images). A criterion such as "the held-out
loss fell by less than 1% over the last 10 epochs" is then diluted by that
floor: a loss of 400 with a floor of 350 that falls by 3 has fallen by under 1%
of the loss but by 6% of what can still be learned. :func:`flatness` applies the
criterion to the loss *above* the floor, and :func:`flatness_table` to every
model of a curve table (``reference/ch09_curve.csv``).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
import torch
from torch import Tensor

from genae.validate import check_int, check_number, check_pixel_values, check_tensor


def target_entropy(images: Tensor) -> float:
    """The floor of the summed binary cross-entropy on grey-level targets, mean over images.

    For each image, sum over pixels of -x log x - (1 - x) log(1 - x) (with 0 log 0 = 0): the
    cross-entropy of a decoder that outputs each target exactly. Binary images give 0.
    """
    check_tensor(images, "images", "(N, ...) in [0, 1]")
    if images.dim() < 2 or len(images) == 0:
        raise ValueError(f"images must be a non-empty batch (N, ...), got shape "
                         f"{tuple(images.shape)}")
    check_pixel_values(images)
    x = images.detach().double().flatten(1)
    # xlogy gives 0 at x = 0, the limit of x log x: black and white pixels cost nothing
    per_image = -(torch.special.xlogy(x, x) + torch.special.xlogy(1 - x, 1 - x)).sum(1)
    return float(per_image.mean())


def flatness(epochs: Sequence[int], losses: Sequence[float], floor: float = 0.0,
             window: int = 10, tolerance: float = 0.01) -> dict[str, float | bool]:
    """Whether the loss above ``floor`` fell by less than ``tolerance`` over the last ``window``
    epochs.

    Compares the loss at the last epoch E with the loss at epoch E - ``window`` (which must be in
    ``epochs``), both less ``floor``. With ``floor=0`` this is the plain criterion.

    Returns ``epoch``, ``loss``, ``excess`` (loss - floor at E), ``excess_before`` (at E - window),
    ``fall`` (relative fall of the excess, (before - excess) / before) and ``flat`` (fall <
    tolerance).
    """
    check_int(window, "window", low=1)
    check_number(tolerance, "tolerance", positive=True)
    check_number(floor, "floor")
    e = np.asarray(epochs, dtype=float)
    loss = np.asarray(losses, dtype=float)
    if e.ndim != 1 or e.shape != loss.shape or len(e) < 2:
        raise ValueError(f"epochs and losses must be two lists of equal length >= 2, got "
                         f"{len(e)} and {len(loss)}")
    last = int(np.argmax(e))
    before = np.flatnonzero(e == e[last] - window)
    if not len(before):
        raise ValueError(f"the curve has no point at epoch {e[last] - window:g} (last epoch "
                         f"{e[last]:g} minus window {window}): its epochs are {sorted(e)}")
    excess, excess_before = loss[last] - floor, loss[before[0]] - floor
    if excess_before <= 0:
        raise ValueError(f"the loss at epoch {e[before[0]]:g} ({loss[before[0]]:.4g}) is not above "
                         f"the floor {floor:.4g}: is the floor in the loss's units (summed over "
                         "pixels, mean over images)?")
    fall = (excess_before - excess) / excess_before
    return {"epoch": float(e[last]), "loss": float(loss[last]), "excess": float(excess),
            "excess_before": float(excess_before), "fall": float(fall),
            "flat": bool(fall < tolerance)}


def flatness_table(curve: pd.DataFrame, floor: float, by: Sequence[str] = ("latent_dim", "model",
                   "seed"), loss: str = "heldout_bce", epoch: str = "epochs",
                   window: int = 10, tolerance: float = 0.01,
                   up_to: int | None = None) -> pd.DataFrame:
    """:func:`flatness` for every group of a curve table, both plainly and above ``floor``.

    ``up_to`` judges the curve as it stood at that epoch (e.g. the paper's 20), else at its end.
    Returns one row per group: ``epoch``, ``loss``, ``fall`` (the plain criterion's relative fall),
    ``flat``, ``excess`` (above the floor), ``fall_above_floor`` and ``flat_above_floor``.
    """
    missing = [c for c in (*by, loss, epoch) if c not in curve]
    if missing:
        raise ValueError(f"the curve table has no column(s) {missing}; its columns are "
                         f"{list(curve.columns)}")
    rows = []
    for key, group in curve.groupby(list(by), sort=False):
        if up_to is not None:
            group = group[group[epoch] <= up_to]
        plain = flatness(group[epoch], group[loss], 0.0, window, tolerance)
        above = flatness(group[epoch], group[loss], floor, window, tolerance)
        key = key if isinstance(key, tuple) else (key,)
        rows.append({**dict(zip(by, key)), "epoch": plain["epoch"], "loss": plain["loss"],
                     "fall": plain["fall"], "flat": plain["flat"], "floor": floor,
                     "excess": above["excess"], "fall_above_floor": above["fall"],
                     "flat_above_floor": above["flat"]})
    return pd.DataFrame(rows)
