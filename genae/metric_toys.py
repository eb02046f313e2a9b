"""The image metrics of section 4.5 on toy Gaussians, where the answer is known.

Chapter 09 defines the Fréchet distance, the MMD, KID and improved precision and recall, and
before it trusts them on digits it checks each one where a closed form or common sense gives the
answer: two Gaussians with known means and spreads, two samples of one distribution, a shifted
copy, a set against half of itself. :func:`toy_checks` runs those cases and returns one row per
case, the expected value beside the measured one.
"""

from __future__ import annotations

import math

import pandas as pd
import torch

from genae.metrics import frechet_parts, kid, mmd, precision_recall


def _frechet_rows(g: torch.Generator) -> list[dict]:
    """Diagonal Gaussians: d_F^2 = |mu_a - mu_b|^2 + sum (sd_a - sd_b)^2, term by term."""
    mu_a, mu_b = torch.tensor([0.0, 1.0, -2.0]), torch.tensor([1.0, 1.0, 0.0])
    sd_a, sd_b = torch.tensor([1.0, 2.0, 0.5]), torch.tensor([3.0, 1.0, 0.5])
    parts = frechet_parts(mu_a + sd_a * torch.randn(50_000, 3, generator=g),
                          mu_b + sd_b * torch.randn(50_000, 3, generator=g))
    mean_term = float(((mu_a - mu_b) ** 2).sum())
    cov_term = float(((sd_a - sd_b) ** 2).sum())
    return [
        {"metric": "Fréchet distance", "case": "two Gaussians, 50,000 samples each",
         "expected": f"{mean_term + cov_term:.2f}",
         "measured": f"{parts['mean'] + parts['cov']:.2f}"},
        {"metric": "Fréchet mean term", "case": "the same", "expected": f"{mean_term:.2f}",
         "measured": f"{parts['mean']:.2f}"},
        {"metric": "Fréchet covariance term", "case": "the same", "expected": f"{cov_term:.2f}",
         "measured": f"{parts['cov']:.2f}"},
    ]


def _mmd_rows(g: torch.Generator) -> list[dict]:
    """Unbiased MMD^2: mean 0 over repeats of one distribution (so single values can be < 0)."""
    repeats = torch.tensor([mmd(torch.randn(40, 3, generator=g), torch.randn(40, 3, generator=g),
                                bandwidth=1.0) for _ in range(300)])
    se = float(repeats.std()) / math.sqrt(len(repeats))
    shifted = mmd(torch.randn(200, 3, generator=g), torch.randn(200, 3, generator=g) + 1,
                  bandwidth=1.0)
    return [
        {"metric": "MMD²", "case": "one distribution, mean of 300 repeats",
         "expected": f"0 ± {3 * se:.4f} (three standard errors)",
         "measured": f"{float(repeats.mean()):.4f}"},
        {"metric": "MMD²", "case": "one distribution, repeats below 0", "expected": "some",
         "measured": f"{int((repeats < 0).sum())} of 300"},
        {"metric": "MMD²", "case": "one set shifted by 1 in every coordinate",
         "expected": "clearly > 0", "measured": f"{shifted:.2f}"},
    ]


def _kid_rows(g: torch.Generator) -> list[dict]:
    same = kid(torch.randn(300, 3, generator=g), torch.randn(300, 3, generator=g))
    moved = kid(torch.randn(300, 3, generator=g), torch.randn(300, 3, generator=g) + 0.5)
    return [
        {"metric": "KID", "case": "one distribution", "expected": "0 within its s.e.",
         "measured": f"{same[0]:.4f} ± {same[1]:.4f}"},
        {"metric": "KID", "case": "one set shifted by 0.5", "expected": "clearly > 0",
         "measured": f"{moved[0]:.3f} ± {moved[1]:.3f}"},
    ]


def _precision_recall_rows(g: torch.Generator) -> list[dict]:
    """Two clusters of real points: all of them, one cluster, and a far-away copy."""
    real = torch.cat([torch.randn(50, 2, generator=g), torch.randn(50, 2, generator=g) + 20])
    cases = (("the real set itself", real, "1.00, 1.00"),
             ("one of its two clusters", real[:50], "1.00, about 0.50"),
             ("the real set moved far away", real + 100, "0.00, 0.00"))
    rows = []
    for case, fake, expected in cases:
        p, r = precision_recall(real, fake)
        rows.append({"metric": "precision, recall", "case": case, "expected": expected,
                     "measured": f"{p:.2f}, {r:.2f}"})
    return rows


def toy_checks(seed: int = 0) -> pd.DataFrame:
    """Every metric on toy Gaussians with a known answer: one row per case (metric, case,
    expected, measured), all from one seeded generator so the table repeats exactly."""
    g = torch.Generator().manual_seed(seed)
    rows = [*_frechet_rows(g), *_mmd_rows(g), *_kid_rows(g), *_precision_recall_rows(g)]
    return pd.DataFrame(rows).set_index(["metric", "case"])
