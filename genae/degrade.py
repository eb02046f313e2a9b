"""Do the metrics rank what they should? Controlled degradations of real images (issue 24).

Before trusting FID, KID, precision, recall and the MMD in features to say
whether the chain's samples improved, check that they rank damage we control:
held-out real images blurred (a Gaussian of growing sigma, pixels), noised
(additive Gaussian noise of growing std, clamped to [0, 1]) and thinned out
(one or more digit classes dropped: mode dropping, which a sharp sampler that
covers only some classes would show). :func:`degradation_table` measures every
metric at every level against a disjoint reference set; :func:`ranking_check`
says, per degradation and metric, whether the metric gets worse as the damage
grows.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F
from torch import Tensor

from genae.evaluate import IMAGE_METRICS, feature_bandwidth, feature_metrics
from genae.metrics import gaussian_stats
from genae.validate import check_int, check_number, check_pixel_values, check_tensor

#: the severities measured: blur sigma (pixels at 32x32), noise std, and how many classes dropped
SEVERITIES: dict[str, tuple[float, ...]] = {
    "blur": (0.5, 1.0, 2.0, 3.0),
    "noise": (0.05, 0.1, 0.2, 0.4),
    "drop classes": (1, 3, 5),
}
#: -1 where lower is better, +1 where higher is (as genae.evaluate.BETTER)
DIRECTION = {"fid": -1, "kid": -1, "mmd_feat": -1, "precision": 1, "recall": 1}


def _check_batch(images: Tensor) -> None:
    check_tensor(images, "images", "(N, C, H, W) in [0, 1]")
    if images.dim() != 4:
        raise ValueError(f"images must be a batch (N, C, H, W), got shape {tuple(images.shape)}")
    check_pixel_values(images)


def blur(images: Tensor, sigma: float) -> Tensor:
    """Images convolved with a Gaussian of standard deviation ``sigma`` pixels (0: unchanged).

    Separable, truncated at 3 sigma, with reflected borders so the edges do not darken.
    """
    _check_batch(images)
    sigma = check_number(sigma, "sigma", low=0.0)
    if sigma == 0:
        return images.clone()
    radius = max(1, int(np.ceil(3 * sigma)))
    if radius >= min(images.shape[-2:]):
        raise ValueError(f"sigma={sigma} is too wide for {images.shape[-1]}-pixel images")
    t = torch.arange(-radius, radius + 1, dtype=images.dtype)
    kernel = torch.exp(-t.square() / (2 * sigma**2))
    kernel = kernel / kernel.sum()
    c = images.shape[1]
    x = F.pad(images, (radius, radius, radius, radius), mode="reflect")
    x = F.conv2d(x, kernel.view(1, 1, 1, -1).expand(c, 1, 1, -1), groups=c)  # along rows
    x = F.conv2d(x, kernel.view(1, 1, -1, 1).expand(c, 1, -1, 1), groups=c)  # along columns
    return x.clamp(0, 1)


def add_noise(images: Tensor, std: float, seed: int = 0) -> Tensor:
    """Images plus N(0, std^2) noise per pixel, clamped to [0, 1] (still valid images)."""
    _check_batch(images)
    std = check_number(std, "std", low=0.0)
    g = torch.Generator().manual_seed(seed)
    noise = torch.randn(images.shape, generator=g, dtype=images.dtype)
    return (images + std * noise.to(images.device)).clamp(0, 1)


def drop_classes(images: Tensor, labels: Tensor, classes: Sequence[int]) -> Tensor:
    """The images whose label is not in ``classes`` (mode dropping)."""
    _check_batch(images)
    check_tensor(labels, "labels", "(N,)")
    if labels.shape != images.shape[:1]:
        raise ValueError(f"labels must have one entry per image ({len(images)}), got shape "
                         f"{tuple(labels.shape)}")
    keep = ~torch.isin(labels.cpu(), torch.as_tensor(list(classes), dtype=labels.dtype))
    if not keep.any():
        raise ValueError(f"dropping classes {list(classes)} leaves no image")
    return images[keep.to(images.device)]


def _check_severities(severities: Mapping[str, Sequence[float]]) -> dict[str, list[float]]:
    unknown = [k for k in severities if k not in SEVERITIES]
    if unknown:
        raise ValueError(f"unknown degradation(s) {unknown}: choose from {list(SEVERITIES)}")
    out = {}
    for kind, levels in severities.items():
        levels = list(levels)
        if not levels or any(not isinstance(v, (int, float)) or v <= 0 for v in levels):
            raise ValueError(f"severities of {kind!r} must be a non-empty list of numbers > 0, "
                             f"got {levels!r}")
        out[kind] = sorted(levels)
    return out


def degraded_sets(images: Tensor, labels: Tensor,
                  severities: Mapping[str, Sequence[float]] = SEVERITIES, n: int | None = None,
                  seed: int = 0) -> list[tuple[str, float, Tensor]]:
    """(degradation, severity, images) for the clean images (``"none"``, 0) and every level.

    Every set has the same ``n`` images (FID depends on the count): by default as many as remain
    after the largest class drop. Dropping ``m`` classes drops the digits 0 to m - 1 (which classes
    matters less than how many); the kept images are a random ``n`` of the rest.
    """
    levels = _check_severities(severities)
    most = int(max(levels.get("drop classes", [0])))
    classes = labels.unique().tolist()
    if most >= len(classes):
        raise ValueError(f"cannot drop {most} of the {len(classes)} classes present")
    fewest = len(drop_classes(images, labels, classes[:most])) if most else len(images)
    n = fewest if n is None else check_int(n, "n", low=2, high=fewest,
                                           what=" (images left after the largest class drop)")
    g = torch.Generator().manual_seed(seed)

    def pick(x: Tensor) -> Tensor:
        return x[torch.randperm(len(x), generator=g)[:n]]

    clean = pick(images)
    out = [("none", 0.0, clean)]
    for kind, values in levels.items():
        for v in values:
            if kind == "blur":
                x = blur(clean, v)
            elif kind == "noise":
                x = add_noise(clean, v, seed=seed)
            else:
                x = pick(drop_classes(images, labels, classes[:int(v)]))
            out.append((kind, float(v), x))
    return out


def degradation_table(extractor, reference: Tensor, images: Tensor, labels: Tensor,
                      severities: Mapping[str, Sequence[float]] = SEVERITIES,
                      n: int | None = None, k: int = 3, seed: int = 0,
                      kid_normalise: str | None = None) -> pd.DataFrame:
    """Every image metric at every degradation level, against ``reference`` real images.

    Args:
        extractor: a feature network with ``features(images)`` (:func:`genae.features.
            feature_extractor` or :func:`genae.features.pixel_pca`).
        reference: real images (N, C, H, W), disjoint from ``images``.
        images, labels: the real images to degrade and their class labels.
        severities: levels per degradation (:data:`SEVERITIES`).
        n, k, seed: images per set (see :func:`degraded_sets`), the neighbour of precision and
            recall, the seed of the noise and the subsets.
        kid_normalise: KID's feature normalisation (:func:`genae.metrics.kid`).

    Returns:
        One row per level (``"none"`` first): ``degradation``, ``severity``, ``n``, then
        :data:`genae.evaluate.IMAGE_METRICS` and ``fid_mean``, ``fid_cov``, ``kid_se``.
    """
    if not hasattr(extractor, "features"):
        raise TypeError(f"extractor must have features(images); {type(extractor).__name__} "
                        "has not: use genae.features.feature_extractor(dataset)")
    _check_batch(reference)
    check_int(k, "k", low=1)
    sets = degraded_sets(images, labels, severities, n, seed)
    ref = extractor.features(reference).double()
    stats, h = gaussian_stats(ref), feature_bandwidth(ref)  # one scale for every level
    rows = []
    for kind, severity, x in sets:
        feats = extractor.features(x).double()
        rows.append({"degradation": kind, "severity": severity, "n": len(x),
                     **feature_metrics(feats, ref, k=k, real_stats=stats, bandwidth=h,
                                       kid_normalise=kid_normalise)})
    return pd.DataFrame(rows)


def ranking_check(table: pd.DataFrame, metrics: Sequence[str] = IMAGE_METRICS,
                  directions: Mapping[str, int] | None = None) -> pd.DataFrame:
    """Per degradation and metric: does the metric get worse at every step up in severity?

    ``directions`` adds or overrides metrics' directions (-1: lower is better), beside
    :data:`DIRECTION`.

    Each degradation's levels are preceded by the clean row (``"none"``, severity 0). Returns
    ``degradation``, ``metric``, ``values`` (from clean to most severe), ``monotone`` (worse at
    every step; ties count as not worse) and ``spearman`` (rank correlation of severity with
    badness, 1 for a perfect ranking).
    """
    from scipy import stats

    direction = {**DIRECTION, **(directions or {})}
    unknown = [m for m in metrics if m not in direction]
    if unknown:
        raise ValueError(f"no direction for metric(s) {unknown}: pass directions={{name: -1 or 1}}")
    missing = [c for c in ("degradation", "severity", *metrics) if c not in table]
    if missing:
        raise ValueError(f"the table has no column(s) {missing}: pass degradation_table's output")
    clean = table[table.degradation == "none"]
    if len(clean) != 1:
        raise ValueError("the table needs exactly one clean row (degradation 'none')")
    rows = []
    for kind in (d for d in dict.fromkeys(table.degradation) if d != "none"):
        levels = pd.concat([clean, table[table.degradation == kind].sort_values("severity")])
        for metric in metrics:
            badness = -direction[metric] * levels[metric].to_numpy(dtype=float)
            rho = stats.spearmanr(levels["severity"], badness).statistic
            rows.append({"degradation": kind, "metric": metric,
                         "values": [round(float(v), 6) for v in levels[metric]],
                         "monotone": bool((np.diff(badness) > 0).all()),
                         "spearman": float(rho)})
    return pd.DataFrame(rows)
