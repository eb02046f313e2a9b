"""Section 4.4-4.5 in numbers: how samples and interpolations change over the steps of the chain.

The paper draws z0 ~ P(Z), runs the chain of Eq. 1 (Eq. 2 for denoising
models), and shows the decoded images after 1, 5 and 10 steps (figures 4, 5
and 7), and the same for spherical interpolations (figures 3, 6 and 8).
:func:`evaluate_chain` measures those images and latents at chosen steps
against held-out real data; :func:`real_baseline` measures real data against
itself, so a reader knows what "good" looks like for each metric.

Every row holds the same columns, :data:`METRICS`:

- ``fid``: Fréchet distance of the decoded images to the real ones, in the domain features;
- ``kid``: the kernel inception distance in the same features (unbiased, so it has no
  sample-size bias), with its jackknife standard error in the extra column ``kid_se``;
- ``precision``, ``recall``: improved precision and recall (k-NN manifolds) in those features;
- ``mmd_q``: unbiased squared MMD of the latents to Q(Z), sampled encodings of the real images
  (corrupted first for a denoising model, as in training: Q(Z) of Eq. 2);
- ``mmd_p``: the same to fresh draws from the prior P(Z) = N(0, I);
- ``latent_norm``: mean |z| (close to sqrt(latent_dim) under P(Z));
- ``confidence``: the domain classifier's mean top-class probability on the images
  (left out for feature networks without one).

The extra columns :data:`PARTS` say why FID moves: ``fid_mean`` and ``fid_cov`` are its mean and
covariance terms (:func:`genae.metrics.frechet_parts`), ``kid_se`` is KID's standard error.

:func:`feature_metrics` computes the image metrics from features alone (and, beside them,
``mmd_feat``: the Gaussian-kernel MMD in the features); :func:`bootstrap_real_baseline` resplits a
pool of real images many times into two disjoint sets of the chapter's sizes and gives each
metric's mean and 95% interval: how far a perfect sampler's score may fall by chance (issue 24).

Besides the chain's rows, :func:`real_baseline` (two halves of the real data) and
:func:`posterior_baseline` (decoded Q(Z): held-out images encoded with the encoder's noise and
decoded, the target the chain is meant to reach) say what "good" and "where the chain should
land" score.
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence

import numpy as np
import pandas as pd
import torch
from torch import Tensor, nn

from genae.chainstats import aggregate_posterior, decode_latents
from genae.infra.devices import model_device
from genae.interpolate import slerp
from genae.mcmc import DECODE, default_chunk_size, run_chain, run_fixed_input, sample_prior
from genae.metrics import (
    frechet_parts_from_stats,
    gaussian_stats,
    kid,
    median_bandwidth,
    mmd,
    precision_recall,
)
from genae.models import evaluating
from genae.validate import check_choice, check_images, check_int, check_number, check_steps

DEFAULT_STEPS = (0, 1, 2, 5, 10, 20, 50)
INTERPOLATION_STEPS = (0, 1, 5, 10)
METRICS = ("fid", "kid", "precision", "recall", "mmd_q", "mmd_p", "latent_norm", "confidence")
PARTS = ("fid_mean", "fid_cov", "kid_se")
#: +1 where higher is better, -1 where lower is; mmd_p and latent_norm only describe where the chain
#: goes
BETTER = {"fid": -1, "kid": -1, "precision": 1, "recall": 1, "mmd_q": -1, "confidence": 1,
          # the referee's checks (issue 24): MMD in features, KID on standardised features, the
          # multi-bandwidth latent MMD to Q(Z)
          "mmd_feat": -1, "kid_standardised": -1, "mmd_multiscale": -1}
#: the chains :func:`evaluate_chain` runs: Eq. 1 as the authors' code runs it, and the Torch7 code's
#: loop
CHAINS = {"chain": run_chain, "fixed input": run_fixed_input}


def split_halves(images: Tensor, seed: int = 0) -> tuple[Tensor, Tensor]:
    """Two disjoint random halves of ``images`` (the first gets the odd one out)."""
    if not isinstance(images, Tensor) or len(images) < 4:
        got = (
            f"{len(images)} images" if isinstance(images, Tensor) else f"a {type(images).__name__}"
        )
        raise ValueError(f"split_halves needs a tensor of at least 4 images, got {got}")
    order = torch.randperm(len(images), generator=torch.Generator().manual_seed(seed))
    half = (len(images) + 1) // 2
    return images[order[:half]], images[order[half:]]


@torch.no_grad()
def _encode(model: nn.Module, images: Tensor, sample: bool, generator: torch.Generator,
            batch_size: int | None = None) -> Tensor:
    dev = model_device(model)
    batch_size = batch_size or default_chunk_size(dev)
    return torch.cat(
        [
            model.encode(
                images[i : i + batch_size].to(dev), sample=sample, generator=generator
            ).cpu()
            for i in range(0, len(images), batch_size)
        ]
    )


class _Reference:
    """What every measurement compares with: real images, their features and encodings, and prior
    draws."""

    def __init__(self, model: nn.Module | None, extractor, real: Tensor, seed: int, k: int) -> None:
        if not isinstance(real, Tensor) or real.dim() != 4:
            raise ValueError(
                f"real must be a batch of images (N, C, H, W), got "
                f"{tuple(real.shape) if isinstance(real, Tensor) else type(real).__name__}"
            )
        if len(real) <= k:
            raise ValueError(
                f"real has {len(real)} images; precision and recall with k={k} need more than {k}"
            )
        self.extractor, self.k = extractor, k
        self.features = extractor.features(real)
        self.stats = gaussian_stats(self.features)  # the reference's mean and covariance, once
        self.model = model
        if model is not None:
            check_images(real, model.channels, model.image_size)
            g = torch.Generator(device=model_device(model)).manual_seed(seed)
            self.generator = g
            self.q = aggregate_posterior(model, real, g)
            self.p = sample_prior(
                len(real), model.latent_dim, generator=g, device=model_device(model)
            ).cpu()
            # one kernel width for every step, so MMDs along a chain are on one scale
            self.bandwidth = median_bandwidth(self.q, self.p)

    def image_metrics(self, images: Tensor) -> dict[str, float]:
        feats = self.extractor.features(images)
        row = feature_metrics(feats, self.features, k=self.k, real_stats=self.stats,
                              with_mmd=False)
        confidence = self.extractor.confidence(images)
        if confidence is not None:
            row["confidence"] = float(confidence.mean())
        return row

    def latent_metrics(self, z: Tensor) -> dict[str, float]:
        z = z.cpu()
        return {"mmd_q": mmd(z, self.q, self.bandwidth), "mmd_p": mmd(z, self.p, self.bandwidth),
                "latent_norm": float(z.double().norm(dim=1).mean())}


IMAGE_METRICS = ("fid", "kid", "precision", "recall", "mmd_feat")


def feature_bandwidth(real_feats: Tensor) -> float:
    """The median distance between the reference's own features: one kernel width for every set
    measured against it (the two halves pooled are all of them)."""
    half = len(real_feats) // 2
    return median_bandwidth(real_feats[:half], real_feats[half:])


def feature_metrics(fake_feats: Tensor, real_feats: Tensor, k: int = 3,
                    real_stats: tuple[Tensor, Tensor] | None = None, with_mmd: bool = True,
                    bandwidth: float | None = None,
                    kid_normalise: str | None = None) -> dict[str, float]:
    """Every image metric of ``fake_feats`` against ``real_feats`` (both (N, D), one extractor).

    Returns ``fid``, ``kid`` (with ``kid_normalise``, see :func:`genae.metrics.kid`),
    ``precision``, ``recall``, ``fid_mean``, ``fid_cov``, ``kid_se`` and, with ``with_mmd``,
    ``mmd_feat``: the Gaussian-kernel MMD with ``bandwidth`` (``None``: :func:`feature_bandwidth`
    of the reference, the same for every set measured against it). ``real_stats`` (the
    reference's mean and covariance) saves recomputing them for every set.
    """
    precision, recall = precision_recall(real_feats, fake_feats, k=k)
    stats = real_stats if real_stats is not None else gaussian_stats(real_feats)
    parts = frechet_parts_from_stats(*gaussian_stats(fake_feats), *stats)
    value, se = kid(fake_feats, real_feats, normalise=kid_normalise)
    row = {"fid": parts["mean"] + parts["cov"], "kid": value, "precision": precision,
           "recall": recall, "fid_mean": parts["mean"], "fid_cov": parts["cov"], "kid_se": se}
    if with_mmd:
        h = feature_bandwidth(real_feats) if bandwidth is None else bandwidth
        row["mmd_feat"] = mmd(fake_feats, real_feats, h)
    return row


def _check_pool(pool: Tensor, n: int, n_reference: int | None, k: int) -> int:
    """The pool must hold two disjoint sets of ``n`` and ``n_reference`` images, each above k."""
    if not isinstance(pool, Tensor) or pool.dim() < 2:
        got = tuple(pool.shape) if isinstance(pool, Tensor) else type(pool).__name__
        raise ValueError(f"pool must be a batch of real images (N, C, H, W), got {got}")
    check_int(k, "k", low=1)
    check_int(n, "n", low=k + 1, what=" (samples per repetition)")
    n_reference = len(pool) - n if n_reference is None else n_reference
    check_int(n_reference, "n_reference", low=k + 1, what=f" (the pool has {len(pool)} images)")
    if n + n_reference > len(pool):
        raise ValueError(f"the pool has {len(pool)} images: too few for disjoint sets of n={n} "
                         f"and n_reference={n_reference}")
    return n_reference


def real_baseline_draws(extractor, pool: Tensor, n: int, n_reference: int | None = None,
                        repeats: int = 200, k: int = 3, seed: int = 0,
                        kid_normalise: str | None = None) -> pd.DataFrame:
    """The image metrics of real against real over ``repeats`` random resplits of ``pool``.

    Each repetition draws, without replacement, ``n`` images (standing in for the samples) and
    ``n_reference`` others (the reference; ``None``: the rest of the pool), and measures them with
    :func:`feature_metrics`. The pool's features are computed once. Returns one row per repetition.
    """
    n_reference = _check_pool(pool, n, n_reference, k)
    check_int(repeats, "repeats", low=2)
    feats = extractor.features(pool).double()
    g = torch.Generator().manual_seed(seed)
    rows = []
    for r in range(repeats):
        order = torch.randperm(len(pool), generator=g)
        a, b = feats[order[:n]], feats[order[n:n + n_reference]]
        rows.append({"repeat": r, **feature_metrics(a, b, k=k, kid_normalise=kid_normalise)})
    return pd.DataFrame(rows)


def bootstrap_real_baseline(extractor, pool: Tensor, n: int, n_reference: int | None = None,
                            repeats: int = 200, k: int = 3, seed: int = 0,
                            kid_normalise: str | None = None,
                            level: float = 0.95) -> pd.DataFrame:
    """What a perfect sampler scores, with its spread: each metric's mean and ``level`` interval
    over ``repeats`` resplits of a pool of real images (:func:`real_baseline_draws`).

    The single real-vs-real row of :func:`real_baseline` is one draw of this distribution; a
    sampler whose score lies inside the interval is as close to the data as real images of the
    same count are. Use the ``n`` (and reference size) of the rows it is compared with: FID and
    precision/recall depend on the counts.

    Returns one row per metric: ``metric``, ``mean``, ``sd``, ``low`` and ``high`` (the
    percentile interval), ``n``, ``n_reference``, ``repeats``.
    """
    check_number(level, "level", positive=True)
    if level >= 1:
        raise ValueError(f"level must be below 1, got {level!r}")
    draws = real_baseline_draws(extractor, pool, n, n_reference, repeats, k, seed, kid_normalise)
    n_reference = len(pool) - n if n_reference is None else n_reference
    tail = (1 - level) / 2 * 100
    rows = []
    for metric in (*IMAGE_METRICS, "fid_mean", "fid_cov"):
        values = draws[metric].to_numpy()
        low, high = np.percentile(values, [tail, 100 - tail])
        rows.append({"metric": metric, "mean": float(values.mean()),
                     "sd": float(values.std(ddof=1)), "low": float(low), "high": float(high),
                     "n": n, "n_reference": n_reference, "repeats": repeats})
    return pd.DataFrame(rows)


def _check_step_list(steps: Sequence[int], name: str) -> list[int]:
    if isinstance(steps, (str, bytes)) or not isinstance(steps, Sequence) or len(steps) == 0:
        raise ValueError(f"{name} must be a non-empty list of whole numbers >= 0, got {steps!r}")
    for s in steps:
        check_steps(s, name=f"every entry of {name}")
    return sorted(set(steps))


def _check_parts(model: nn.Module | None, extractor, model_optional: bool = False) -> None:
    """A trained model and a feature network with what the measurements call, or a clear error."""
    if not (model is None and model_optional):
        needs = ("encode", "decode", "corrupt", "latent_dim", "channels", "image_size")
        missing = [name for name in needs if not hasattr(model, name)]
        if missing:
            raise TypeError(
                f"model must be a genae model ({', '.join(needs)}); {type(model).__name__} has no "
                f"{', '.join(missing)}: use one from genae.infra.cache.trained_model or "
                "genae.models.make_model"
            )
    missing = [name for name in ("features", "confidence") if not hasattr(extractor, name)]
    if missing:
        raise TypeError(f"extractor must be a feature network with features() and confidence(); "
                        f"{type(extractor).__name__} has no {', '.join(missing)}: "
                        "use genae.features.feature_extractor(dataset)")


def _check_evaluate_args(model, extractor, real, n_samples, steps, interpolation_steps, n_pairs,
                         k, decode, chain) -> tuple[list[int], list[int], int, int]:
    """evaluate_chain's arguments checked, with the defaults filled in."""
    _check_parts(model, extractor)
    steps = _check_step_list(steps, "steps")
    interpolation_steps = (
        _check_step_list(interpolation_steps, "interpolation_steps") if interpolation_steps else []
    )
    check_int(k, "k", low=1)
    check_choice(chain, "chain", tuple(CHAINS))
    check_choice(decode, "decode", DECODE)
    n_samples = len(real) if n_samples is None and isinstance(real, Tensor) else n_samples
    check_int(n_samples, "n_samples", low=k + 1)
    n_pairs = n_samples if n_pairs is None else n_pairs
    if interpolation_steps:
        check_int(n_pairs, "n_pairs", low=k + 1)
    return steps, interpolation_steps, n_samples, n_pairs


def evaluate_chain(
    model: nn.Module,
    extractor,
    real: Tensor,
    n_samples: int | None = None,
    steps: Sequence[int] = DEFAULT_STEPS,
    sample: bool = True,
    interpolation_steps: Sequence[int] | None = INTERPOLATION_STEPS,
    n_pairs: int | None = None,
    k: int = 3,
    seed: int = 0,
    decode: str = "mean",
    chain: str = "chain",
) -> pd.DataFrame:
    """Measure samples and slerp midpoints at chosen steps of the chain, against held-out images.

    Args:
        model: a trained model (``encode``, ``decode``, ``corrupt``, ``latent_dim``, ``channels``,
            ``image_size``).
        extractor: the feature network (:func:`genae.features.feature_extractor`):
            ``features(images)`` and ``confidence(images)`` (which may return ``None``).
        real: held-out real images (N, C, H, W) in [0, 1]: the reference; their encodings stand for
            Q(Z).
        n_samples: chains started from z0 ~ P(Z); ``None`` takes ``len(real)`` (FID is biased by
            sample size, so compare rows with equal counts).
        steps: the steps at which to measure (0 is z0 itself).
        sample: the stochastic chain (Eq. 1 and 2) or, with ``False``, the deterministic one
            (encoder means, no corruption).
        interpolation_steps: steps at which to measure slerp midpoints of pairs of held-out images;
            ``None`` or ``()`` skips them.
        n_pairs: how many pairs; ``None`` takes ``n_samples``.
        k: the neighbour count of precision and recall. seed: seeds z0, the pairs, the noise.
        decode: ``"mean"`` (the authors' practice) or ``"sample"`` (Eq. 1 as written): see
            :func:`genae.mcmc.run_chain`.
        chain: ``"chain"`` (:func:`genae.mcmc.run_chain`) or ``"fixed input"`` (the Torch7 code's
            loop, :func:`genae.mcmc.run_fixed_input`).

    Returns:
        A DataFrame with one row per (path, step): ``path`` (``"prior sample"`` or
        ``"slerp midpoint"``), ``step``, ``sample``, ``decode``, ``chain``, ``n``, then the
        :data:`METRICS` and :data:`PARTS` columns.
    """
    steps, interpolation_steps, n_samples, n_pairs = _check_evaluate_args(
        model, extractor, real, n_samples, steps, interpolation_steps, n_pairs, k, decode, chain
    )
    with evaluating(model):
        ref = _Reference(model, extractor, real, seed, k)
        ids = {"sample": sample, "decode": decode, "chain": chain}
        dev, g = model_device(model), ref.generator

        def run(z0: Tensor, n_steps: int) -> Tensor:
            return CHAINS[chain](model, z0, n_steps, sample=sample, generator=g, decode=decode)

        z0 = sample_prior(n_samples, model.latent_dim, generator=g, device=dev)
        rows = _measure(model, ref, "prior sample", run(z0, max(steps)), steps, ids)
        if interpolation_steps:
            midpoints = _slerp_midpoints(model, real, n_pairs, seed, g).to(dev)
            trajectory = run(midpoints, max(interpolation_steps))
            rows += _measure(model, ref, "slerp midpoint", trajectory, interpolation_steps, ids)
        return _columns(pd.DataFrame(rows))


def _measure(model: nn.Module, ref: _Reference, path: str, trajectory: Tensor, at: list[int],
             ids: dict) -> list[dict]:
    """One row per step of ``at``: the images' and the latents' metrics of ``trajectory[step]``."""
    return [{"path": path, "step": s, **ids, "n": trajectory.shape[1],
             **ref.image_metrics(decode_latents(model, trajectory[s])),
             **ref.latent_metrics(trajectory[s])} for s in at]


def _slerp_midpoints(model: nn.Module, real: Tensor, n_pairs: int, seed: int,
                     g: torch.Generator) -> Tensor:
    """Midpoints of the great circles between pairs of distinct held-out images' encodings (the
    encoder's means)."""
    pick = torch.Generator().manual_seed(seed), torch.Generator().manual_seed(seed + 1)
    first = torch.randint(len(real), (n_pairs,), generator=pick[0])
    offset = torch.randint(1, len(real), (n_pairs,), generator=pick[1])
    second = (first + offset) % len(real)
    z_a = _encode(model, real[first], False, g)
    z_b = _encode(model, real[second], False, g)
    return slerp(z_a, z_b, 3)[1]


def _check_real_a(real_a: Tensor, k: int) -> None:
    """The baselines' stand-in samples: a tensor of more than ``k`` images."""
    check_int(k, "k", low=1)
    if not isinstance(real_a, Tensor) or len(real_a) <= k:
        got = (
            f"{len(real_a)} images" if isinstance(real_a, Tensor) else f"a {type(real_a).__name__}"
        )
        raise ValueError(f"real_a must be a tensor of more than k={k} images, got {got}")


def real_baseline(model: nn.Module | None, extractor, real_a: Tensor, real_b: Tensor, k: int = 3,
                  seed: int = 0) -> pd.DataFrame:
    """Every metric for real images ``real_a`` in place of samples, against ``real_b``.

    Measures exactly what :func:`evaluate_chain` measures against ``real=real_b``
    (same reference, features, bandwidth and prior draws for the same ``seed``),
    with the held-out images ``real_a`` and their encodings in place of the
    chain's images and latents: the value a perfect sampler would score. Use two
    disjoint halves of the held-out data (:func:`split_halves`), and
    ``n_samples=len(real_a)`` in :func:`evaluate_chain` so the counts match.
    With ``model=None`` only the image metrics are returned.
    """
    _check_parts(model, extractor, model_optional=True)
    _check_real_a(real_a, k)
    with evaluating(model) if model is not None else contextlib.nullcontext():
        ref = _Reference(model, extractor, real_b, seed, k)
        row = {
            "path": "real vs real",
            "step": 0,
            "sample": None,
            "n": len(real_a),
            **ref.image_metrics(real_a),
        }
        if model is not None:  # real_a's own draws from Q(Z), in place of the chain's latents
            row.update(ref.latent_metrics(aggregate_posterior(model, real_a, ref.generator)))
    return _columns(pd.DataFrame([row]))


def posterior_baseline(model: nn.Module, extractor, real_a: Tensor, real_b: Tensor, k: int = 3,
                       seed: int = 0) -> pd.DataFrame:
    """Every metric for decoded Q(Z): ``real_a`` encoded with the encoder's noise (corrupted first
    for a denoising model, as Q(Z) of Eq. 2), then decoded, measured against ``real_b``.

    This is where the chain is meant to land (Lemma 2): a chain that reached Q(Z) scores this row.
    It separates a blurry decoder (this row is far from the real-vs-real row too) from a latent
    mismatch (the chain's rows are far from this one). The same reference, features, bandwidth and
    prior draws as :func:`evaluate_chain` with ``real=real_b`` and the same ``seed``.
    """
    _check_parts(model, extractor)
    _check_real_a(real_a, k)
    check_images(real_a, model.channels, model.image_size)
    with evaluating(model):
        ref = _Reference(model, extractor, real_b, seed, k)
        z = aggregate_posterior(model, real_a, ref.generator)
        row = {"path": "decoded Q(Z)", "step": 0, "sample": None, "n": len(real_a),
               **ref.image_metrics(decode_latents(model, z)), **ref.latent_metrics(z)}
    return _columns(pd.DataFrame([row]))


def _columns(df: pd.DataFrame) -> pd.DataFrame:
    """Identifying columns first, then the metrics in the order of :data:`METRICS`, then
    :data:`PARTS`."""
    ids = [c for c in ("path", "step", "sample", "decode", "chain", "n") if c in df]
    return df[ids + [m for m in (*METRICS, *PARTS) if m in df]]

