"""Measuring what the chain of section 3 does to samples: Fréchet distance, MMD, precision and
recall.

The paper (section 4.5, figures 4-8) shows the effect of the chain only as
pictures. These three distances between two sets of vectors (image features or
latents) turn the pictures into numbers:

- :func:`frechet_distance`: the distance between Gaussians fitted to each set,
  the formula behind FID (Heusel et al., 2017);
- :func:`mmd`: the unbiased squared maximum mean discrepancy with a Gaussian
  kernel (Gretton et al., 2012), which needs no Gaussian assumption;
- :func:`precision_recall`: improved precision and recall (Kynkäänniemi et al.,
  2019): how many samples fall on the real data's manifold, and how much of it
  the samples cover;
- :func:`kid`: the kernel inception distance (Bińkowski et al., 2018), the
  unbiased squared MMD with the cubic polynomial kernel, with a jackknife
  standard error; unlike FID it has no bias from the sample size;
- :func:`frechet_parts`: the Fréchet distance split into its mean term and its
  covariance term, to see which one moves.

Two-sample tests with power in a 200-D latent space (issue 24), for "how far are the chain's
latents from Q(Z)":

- :func:`mmd_multiscale` and :func:`mmd_permutation_test`: the MMD with a sum of Gaussian kernels
  at several multiples of the median distance, with a permutation p-value;
- :func:`classifier_two_sample_test`: a classifier's held-out accuracy at telling the two sets
  apart, with a binomial p-value (Lopez-Paz and Oquab, 2017).

And the data-copying test of Meehan, Chaudhuri and Dasgupta (2020), :func:`data_copying_ct`.

All of them take 2-D arrays or tensors (N, D) and compute in float64.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import Tensor

from genae.validate import check_choice, check_int, check_number


def _as_features(x: object, name: str, min_rows: int = 2) -> Tensor:
    """``x`` as a float64 CPU tensor of shape (N, D), N >= ``min_rows``, finite; else a clear
    error."""
    if isinstance(x, np.ndarray):
        x = torch.from_numpy(x)
    if not isinstance(x, Tensor):
        raise TypeError(
            f"{name} must be a torch.Tensor or numpy array of shape (N, D), got {type(x).__name__}"
        )
    if x.dim() != 2:
        raise ValueError(f"{name} must be 2-D (N samples, D features), got shape {tuple(x.shape)}: "
                         "flatten each sample first (x.flatten(1))")
    if not (x.is_floating_point() or x.dtype in (torch.int32, torch.int64)):
        raise ValueError(f"{name} must hold numbers, got dtype {x.dtype}")
    if x.shape[0] < min_rows:
        raise ValueError(
            f"{name} has {x.shape[0]} samples; this needs at least {min_rows}: draw more samples"
        )
    x = x.detach().to("cpu", torch.float64)
    if not torch.isfinite(x).all():
        raise ValueError(
            f"{name} contains NaN or infinite values: check the model or features that produced it"
        )
    return x


def _same_dim(a: Tensor, b: Tensor, names: tuple[str, str]) -> None:
    if a.shape[1] != b.shape[1]:
        raise ValueError(
            f"{names[0]} has {a.shape[1]} features per sample but {names[1]} has {b.shape[1]}: "
            "both sets must come from the same feature extractor (or latent space)"
        )


def gaussian_stats(feats: Tensor | np.ndarray) -> tuple[Tensor, Tensor]:
    """Mean and (unbiased, N-1) covariance of features (N, D), in float64."""
    x = _as_features(feats, "feats")
    return x.mean(0), torch.cov(x.T).reshape(x.shape[1], x.shape[1])


def frechet_parts_from_stats(mu_a: Tensor, cov_a: Tensor, mu_b: Tensor,
                             cov_b: Tensor) -> dict[str, float]:
    """The two terms of the Fréchet distance between N(mu_a, cov_a) and N(mu_b, cov_b).

    ``mean`` = |mu_a - mu_b|^2 and ``cov`` = tr(cov_a) + tr(cov_b) - 2 tr((cov_a cov_b)^(1/2))
    (the squared Bures distance of the covariances); :func:`frechet_from_stats` is their sum.

    The trace of the matrix square root is computed from a symmetric matrix,
    tr((A B)^(1/2)) = sum_i sqrt(lambda_i(A^(1/2) B A^(1/2))), so every
    eigenvalue is real; the tiny negative ones that rounding leaves in a
    rank-deficient covariance are clipped to 0, so no complex part or NaN
    appears. The covariance term is clipped at 0 for the same reason.
    """
    mu_a, mu_b, cov_a, cov_b = (
        torch.as_tensor(t, dtype=torch.float64) for t in (mu_a, mu_b, cov_a, cov_b)
    )
    cov_a, cov_b = (cov_a + cov_a.T) / 2, (cov_b + cov_b.T) / 2  # exact symmetry for eigh
    w, v = torch.linalg.eigh(cov_a)
    root_a = (v * w.clamp_min(0).sqrt()) @ v.T
    middle = root_a @ cov_b @ root_a
    eig = torch.linalg.eigvalsh((middle + middle.T) / 2).clamp_min(0)
    cov = cov_a.trace() + cov_b.trace() - 2 * eig.sqrt().sum()
    return {"mean": float((mu_a - mu_b).square().sum()), "cov": max(float(cov), 0.0)}


def frechet_from_stats(mu_a: Tensor, cov_a: Tensor, mu_b: Tensor, cov_b: Tensor) -> float:
    """Fréchet distance between N(mu_a, cov_a) and N(mu_b, cov_b), >= 0:

    d^2 = |mu_a - mu_b|^2 + tr(cov_a) + tr(cov_b) - 2 tr((cov_a cov_b)^(1/2)),

    the sum of the two terms of :func:`frechet_parts_from_stats` (which says how the square root
    stays real).
    """
    parts = frechet_parts_from_stats(mu_a, cov_a, mu_b, cov_b)
    return parts["mean"] + parts["cov"]


def frechet_parts(feats_a: Tensor | np.ndarray, feats_b: Tensor | np.ndarray) -> dict[str, float]:
    """The two terms of :func:`frechet_distance` between two feature sets, ``mean`` and ``cov``
    (:func:`frechet_parts_from_stats`); they sum to the distance."""
    a, b = _as_features(feats_a, "feats_a"), _as_features(feats_b, "feats_b")
    _same_dim(a, b, ("feats_a", "feats_b"))
    return frechet_parts_from_stats(*gaussian_stats(a), *gaussian_stats(b))


def frechet_distance(feats_a: Tensor | np.ndarray, feats_b: Tensor | np.ndarray) -> float:
    """The Fréchet distance (squared, as FID reports it) between Gaussians fitted to two feature
    sets.

    Args:
        feats_a, feats_b: arrays (N_a, D) and (N_b, D), at least 2 rows each.
            With fewer rows than features the covariances are rank-deficient:
            the distance is still finite, but biased upward; use N well above D.

    Returns:
        A float >= 0; 0 for two sets with the same mean and covariance.
    """
    a, b = _as_features(feats_a, "feats_a"), _as_features(feats_b, "feats_b")
    _same_dim(a, b, ("feats_a", "feats_b"))
    return frechet_from_stats(*gaussian_stats(a), *gaussian_stats(b))


def median_bandwidth(
    a: Tensor | np.ndarray, b: Tensor | np.ndarray, max_points: int = 2000
) -> float:
    """The median heuristic: the median distance between distinct points of the pooled sample.

    Pooled samples larger than ``max_points`` are subsampled (with a fixed seed) to bound the
    memory.
    """
    x = torch.cat([_as_features(a, "a"), _as_features(b, "b")])
    if len(x) > max_points:
        x = x[torch.randperm(len(x), generator=torch.Generator().manual_seed(0))[:max_points]]
    d = torch.cdist(x, x)
    off = d[~torch.eye(len(x), dtype=torch.bool)]
    h = float(off.median())
    if h <= 0:  # more than half the pairs coincide: fall back on the mean of the non-zero distances
        nonzero = off[off > 0]
        h = float(nonzero.mean()) if len(nonzero) else 1.0
    return h


def mmd(a: Tensor | np.ndarray, b: Tensor | np.ndarray, bandwidth: float | None = None) -> float:
    """Unbiased estimate of the squared MMD between the distributions behind ``a`` and ``b``.

    With the Gaussian kernel k(x, y) = exp(-|x - y|^2 / (2 h^2)),

        MMD_u^2 = mean_{i != j} k(a_i, a_j) + mean_{i != j} k(b_i, b_j) - 2 mean_{i, j} k(a_i, b_j).

    Unbiased means its expectation is the true squared MMD, which is 0 for equal
    distributions: single estimates then scatter around 0 and can be negative.

    Args:
        a, b: samples (N_a, D) and (N_b, D), at least 2 rows each; the sizes may differ.
        bandwidth: the kernel width h; ``None`` takes the median distance between
            points of the pooled sample (the median heuristic). Pass a fixed value
            to compare MMDs across several pairs of sets on one scale.
    """
    x, y = _as_features(a, "a"), _as_features(b, "b")
    _same_dim(x, y, ("a", "b"))
    h = median_bandwidth(x, y) if bandwidth is None else check_number(
        bandwidth, "bandwidth", positive=True, what=" (or None: the median heuristic)")
    m, n = len(x), len(y)
    # distances divided by h before squaring: 1 / (2 h^2) overflows for tiny h (found by hypothesis)
    k_xx = torch.exp(-(torch.cdist(x, x) / h).square() / 2)
    k_yy = torch.exp(-(torch.cdist(y, y) / h).square() / 2)
    k_xy = torch.exp(-(torch.cdist(x, y) / h).square() / 2)
    xx = (k_xx.sum() - k_xx.diagonal().sum()) / (m * (m - 1))
    yy = (k_yy.sum() - k_yy.diagonal().sum()) / (n * (n - 1))
    return float(xx + yy - 2 * k_xy.mean())


#: how :func:`kid` may rescale the features before its kernel (``None``: as they are)
KID_NORMALISE = (None, "l2", "standardise")


def normalise_features(feats_a: Tensor, feats_b: Tensor,
                       how: str | None) -> tuple[Tensor, Tensor]:
    """Both feature sets rescaled for a polynomial kernel, the second (the reference) setting the
    scale.

    - ``None``: unchanged;
    - ``"l2"``: every row scaled to norm sqrt(D), so the kernel's x.y / D is the cosine of the two
      rows: only directions count, and a few large-valued features no longer dominate;
    - ``"standardise"``: every feature centred and scaled by ``feats_b``'s mean and standard
      deviation (1 where a feature is constant), so each feature counts alike; using the
      reference's statistics (not the pooled ones) keeps rows measured against one reference on
      one scale.
    """
    check_choice(how, "KID normalisation", KID_NORMALISE)
    if how is None:
        return feats_a, feats_b
    if how == "l2":
        d = feats_a.shape[1]
        return tuple(f / f.norm(dim=1, keepdim=True).clamp_min(1e-12) * d**0.5
                     for f in (feats_a, feats_b))
    mean, sd = feats_b.mean(0), feats_b.std(0)
    sd = torch.where(sd > 0, sd, torch.ones_like(sd))
    return (feats_a - mean) / sd, (feats_b - mean) / sd


def kid(
    feats_a: Tensor | np.ndarray, feats_b: Tensor | np.ndarray, degree: int = 3,
    normalise: str | None = None,
) -> tuple[float, float]:
    """Kernel inception distance: the unbiased squared MMD with k(x, y) = (x.y / D + 1)^degree, and
    its standard error.

    The estimate is the U-statistic of :func:`mmd` with this kernel (torchmetrics'
    ``KernelInceptionDistance`` averages the same estimate over random subsets); it is unbiased
    for any sample sizes, so rows with different counts compare. The standard error is the
    two-sample jackknife (each point of either set left out once; Arvesen, 1969), computed
    from the kernel's row sums in O(N^2).

    Args:
        feats_a, feats_b: features (N_a, D) and (N_b, D), at least 3 rows each.
        degree: the polynomial's degree (3, as Bińkowski et al. and torchmetrics use).
        normalise: ``None`` (the features as they are, as torchmetrics does), ``"l2"`` or
            ``"standardise"``: see :func:`normalise_features`. Our classifier's ReLU features
            have no fixed scale, so raw KID values (tens of thousands) say little across
            extractors; the normalised ones are on the scale of a cosine or a z-score.

    Returns:
        ``(kid, standard_error)``.
    """
    x, y = (
        _as_features(feats_a, "feats_a", min_rows=3),
        _as_features(feats_b, "feats_b", min_rows=3),
    )
    _same_dim(x, y, ("feats_a", "feats_b"))
    check_int(degree, "degree", low=1)
    x, y = normalise_features(x, y, normalise)
    d = x.shape[1]
    k_xx, k_yy, k_xy = ((u @ v.T / d + 1) ** degree for u, v in ((x, x), (y, y), (x, y)))
    m, n = len(x), len(y)
    r_x = k_xx.sum(1) - k_xx.diagonal()  # each point's sum over the others in its own set
    r_y = k_yy.sum(1) - k_yy.diagonal()
    s_xx, s_yy, s_xy = r_x.sum(), r_y.sum(), k_xy.sum()
    value = s_xx / (m * (m - 1)) + s_yy / (n * (n - 1)) - 2 * s_xy / (m * n)
    # the statistic with x_i (or y_j) left out, for every i (j) at once
    loo_x = (
        (s_xx - 2 * r_x) / ((m - 1) * (m - 2))
        + s_yy / (n * (n - 1))
        - 2 * (s_xy - k_xy.sum(1)) / ((m - 1) * n)
    )
    loo_y = (
        s_xx / (m * (m - 1))
        + (s_yy - 2 * r_y) / ((n - 1) * (n - 2))
        - 2 * (s_xy - k_xy.sum(0)) / (m * (n - 1))
    )
    var = (m - 1) / m * (loo_x - loo_x.mean()).square().sum() + (n - 1) / n * (
        loo_y - loo_y.mean()
    ).square().sum()
    return float(value), float(var.sqrt())


def _kth_neighbour_radii(x: Tensor, k: int) -> Tensor:
    """Distance from each row of ``x`` to its k-th nearest other row."""
    d = torch.cdist(x, x)
    return d.kthvalue(k + 1, dim=1).values  # the first value is the point itself, at distance 0


def precision_recall(real_feats: Tensor | np.ndarray, fake_feats: Tensor | np.ndarray,
                     k: int = 3) -> tuple[float, float]:
    """Improved precision and recall (Kynkäänniemi et al., 2019).

    Each set's manifold is the union of balls around its points, each ball
    reaching to the point's k-th nearest neighbour within its own set.

    - precision: the share of fake samples inside the real manifold (are samples realistic?);
    - recall: the share of real samples inside the fake manifold (do samples cover the data?).

    Args:
        real_feats, fake_feats: features (N_r, D) and (N_f, D), each with more than ``k`` rows.
        k: the neighbour that sets each ball's radius (the paper's default is 3).

    Returns:
        ``(precision, recall)``, each in [0, 1].
    """
    check_int(k, "k", low=1)
    real = _as_features(real_feats, "real_feats", min_rows=k + 1)
    fake = _as_features(fake_feats, "fake_feats", min_rows=k + 1)
    _same_dim(real, fake, ("real_feats", "fake_feats"))
    cross = torch.cdist(fake, real)  # (N_f, N_r)
    real_r, fake_r = _kth_neighbour_radii(real, k), _kth_neighbour_radii(fake, k)
    precision = (cross <= real_r[None, :]).any(dim=1).double().mean()
    recall = (cross.T <= fake_r[None, :]).any(dim=1).double().mean()
    return float(precision), float(recall)


# ---- two-sample tests with power at 200-D (issue 24) ---------------------------------------------

#: multiples of the median distance for :func:`mmd_multiscale`: a kernel too narrow for the
#: median's scale or too wide to see anything but the first moments is covered by another
SCALES = (0.25, 0.5, 1.0, 2.0, 4.0)


def _multiscale_kernel(x: Tensor, h: float, scales: tuple[float, ...]) -> Tensor:
    """The pooled kernel matrix sum_s exp(-|x_i - x_j|^2 / (2 (s h)^2))."""
    d = torch.cdist(x, x) / h  # divided before squaring, as in mmd
    return sum(torch.exp(-(d / s).square() / 2) for s in scales)


def _check_scales(scales: object) -> tuple[float, ...]:
    try:
        out = tuple(float(s) for s in scales)  # type: ignore[union-attr]
    except (TypeError, ValueError):
        out = ()
    if not out or not all(np.isfinite(s) and s > 0 for s in out):
        raise ValueError(f"scales must be a non-empty list of positive numbers, got {scales!r}")
    return out


def _mmd_from_kernel(k: Tensor, labels: Tensor) -> Tensor:
    """Unbiased MMD^2 for each row of ``labels`` (P, N), 1 for set a and 0 for set b, from the
    pooled kernel ``k`` (N, N) with a zero diagonal."""
    s, t = labels, 1 - labels
    m, n = s[0].sum(), t[0].sum()
    xx = ((s @ k) * s).sum(1) / (m * (m - 1))
    yy = ((t @ k) * t).sum(1) / (n * (n - 1))
    xy = ((s @ k) * t).sum(1) / (m * n)
    return xx + yy - 2 * xy


def _pooled(a: object, b: object, scales: object, bandwidth: float | None):
    x, y = _as_features(a, "a"), _as_features(b, "b")
    _same_dim(x, y, ("a", "b"))
    scales = _check_scales(scales)
    h = median_bandwidth(x, y) if bandwidth is None else check_number(
        bandwidth, "bandwidth", positive=True, what=" (or None: the median heuristic)")
    k = _multiscale_kernel(torch.cat([x, y]), h, scales)
    k.fill_diagonal_(0)
    labels = torch.cat([torch.ones(len(x)), torch.zeros(len(y))]).double()
    return k, labels


def mmd_multiscale(a: Tensor | np.ndarray, b: Tensor | np.ndarray,
                   scales: tuple[float, ...] = SCALES, bandwidth: float | None = None) -> float:
    """Unbiased squared MMD with the kernel sum_s exp(-|x - y|^2 / (2 (s h)^2)) over ``scales``.

    ``h`` is ``bandwidth``, or the median distance of the pooled sample (:func:`median_bandwidth`).
    One median-width Gaussian sees a 200-D sample mostly through its distances' typical size; the
    sum keeps a narrower and a wider kernel too, so no single guess of the scale decides the power.
    """
    k, labels = _pooled(a, b, scales, bandwidth)
    return float(_mmd_from_kernel(k, labels[None])[0])


def mmd_permutation_test(a: Tensor | np.ndarray, b: Tensor | np.ndarray,
                         scales: tuple[float, ...] = SCALES, bandwidth: float | None = None,
                         n_permutations: int = 200, seed: int = 0) -> dict[str, float]:
    """:func:`mmd_multiscale` with a permutation p-value: could the two sets share a distribution?

    The pooled sample's labels are shuffled ``n_permutations`` times (the kernel matrix is computed
    once); p = (1 + #{permuted MMD >= observed}) / (1 + n_permutations), valid at any sample size.
    ``scales=(1.0,)`` gives the single median-heuristic Gaussian of :func:`mmd`.

    Returns ``statistic``, ``p_value``, and ``null_mean`` and ``null_sd`` of the permuted values
    (``z`` = (statistic - null_mean) / null_sd says by how far it passes).
    """
    check_int(n_permutations, "n_permutations", low=1)
    k, labels = _pooled(a, b, scales, bandwidth)
    observed = float(_mmd_from_kernel(k, labels[None])[0])
    g = torch.Generator().manual_seed(seed)
    null = torch.cat([
        _mmd_from_kernel(k, torch.stack([labels[torch.randperm(len(labels), generator=g)]
                                         for _ in range(chunk)]))
        for chunk in _chunks(n_permutations, 50)  # 50 permutations at a time bound the memory
    ])
    sd = float(null.std())
    return {"statistic": observed,
            "p_value": (1 + int((null >= observed).sum())) / (1 + n_permutations),
            "null_mean": float(null.mean()), "null_sd": sd,
            "z": (observed - float(null.mean())) / sd if sd > 0 else float("nan")}


def _chunks(total: int, size: int) -> list[int]:
    return [min(size, total - i) for i in range(0, total, size)]


def classifier_two_sample_test(a: Tensor | np.ndarray, b: Tensor | np.ndarray,
                               test_fraction: float = 0.5, seed: int = 0,
                               quadratic: bool = True) -> dict[str, float]:
    """A classifier two-sample test (Lopez-Paz and Oquab, 2017): can a classifier tell a from b?

    A logistic regression (scikit-learn) is fit on a random ``1 - test_fraction`` of the pooled,
    labelled sample and scored on the rest; under the null (one distribution) its held-out accuracy
    is Binomial(n_test, 1/2) / n_test, so p is the one-sided binomial tail. With ``quadratic`` the
    inputs are (z, z^2), standardised: a linear boundary on z alone cannot see a difference in
    spread (N(0, I) against N(0, 0.8 I)), one on z^2 can.

    Returns ``accuracy``, ``p_value`` and ``n_test``.
    """
    from scipy import stats
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    x, y = _as_features(a, "a", min_rows=4), _as_features(b, "b", min_rows=4)
    _same_dim(x, y, ("a", "b"))
    fraction = check_number(test_fraction, "test_fraction", positive=True)
    if fraction >= 1:
        raise ValueError(f"test_fraction must be below 1, got {test_fraction!r}")
    data = torch.cat([x, y]).numpy()
    if quadratic:
        data = np.concatenate([data, data**2], axis=1)
    labels = np.r_[np.ones(len(x)), np.zeros(len(y))]
    order = np.random.default_rng(seed).permutation(len(data))
    n_test = max(1, int(round(fraction * len(data))))
    test, train = order[:n_test], order[n_test:]
    clf = make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000))
    clf.fit(data[train], labels[train])
    correct = int((clf.predict(data[test]) == labels[test]).sum())
    # majority guessing reaches max(m, n) / (m + n): with unequal sets test against that rate
    chance = max(len(x), len(y)) / (len(x) + len(y))
    return {"accuracy": correct / n_test,
            "p_value": float(stats.binomtest(correct, n_test, chance, "greater").pvalue),
            "n_test": n_test}


# ---- data copying (Meehan, Chaudhuri and Dasgupta, 2020) -----------------------------------------

def _nearest_distance(x: Tensor, ref: Tensor, chunk: int = 1024) -> Tensor:
    """Distance from each row of ``x`` to its nearest row of ``ref``."""
    return torch.cat([torch.cdist(x[i:i + chunk], ref).min(1).values
                      for i in range(0, len(x), chunk)])


def data_copying_ct(train: Tensor | np.ndarray, heldout: Tensor | np.ndarray,
                    generated: Tensor | np.ndarray, n_cells: int = 10, min_generated: int = 20,
                    seed: int = 0) -> dict[str, object]:
    """The data-copying statistic C_T of Meehan, Chaudhuri and Dasgupta (2020).

    The space is cut into ``n_cells`` cells by k-means on the training points. In each cell, the
    generated points' distances to their nearest training point are compared with the held-out
    points' distances by a Mann-Whitney U test, as a z-score: Z = (U - m n / 2) / sqrt(m n
    (m + n + 1) / 12), U counting the (generated, held-out) pairs where the generated point is the
    farther (ties half). C_T is the average of the cells' Z weighted by each cell's share of the
    held-out points, over the cells holding at least ``min_generated`` generated points (and one
    held-out point). C_T near 0: generated points are as far from the training set as fresh data
    are; C_T << 0 (the authors flag below -3): they sit too close to training points, copying;
    C_T >> 0: they are farther (underfitting, not copying).

    Returns ``ct``, ``cells`` (one dict per cell used: ``cell``, ``n_generated``, ``n_heldout``,
    ``z``) and ``cells_used``; ``ct`` is NaN if no cell has enough generated points.
    """
    from scipy import stats
    from sklearn.cluster import KMeans

    tr = _as_features(train, "train", min_rows=2)
    ho, gen = _as_features(heldout, "heldout"), _as_features(generated, "generated")
    _same_dim(tr, ho, ("train", "heldout"))
    _same_dim(tr, gen, ("train", "generated"))
    check_int(n_cells, "n_cells", low=1, high=len(tr), what=" (at most the training points)")
    check_int(min_generated, "min_generated", low=1)
    km = KMeans(n_clusters=n_cells, n_init=3, random_state=seed).fit(tr.numpy())
    cell_ho, cell_gen = km.predict(ho.numpy()), km.predict(gen.numpy())
    d_ho, d_gen = _nearest_distance(ho, tr).numpy(), _nearest_distance(gen, tr).numpy()
    cells, weights, zs = [], [], []
    for c in range(n_cells):
        a, b = d_gen[cell_gen == c], d_ho[cell_ho == c]
        if len(a) < min_generated or len(b) == 0:
            continue
        u = stats.mannwhitneyu(a, b, alternative="two-sided").statistic  # pairs with a > b
        m, n = len(a), len(b)
        z = (u - m * n / 2) / np.sqrt(m * n * (m + n + 1) / 12)
        cells.append({"cell": c, "n_generated": m, "n_heldout": n, "z": float(z)})
        weights.append(n / len(ho))
        zs.append(z)
    ct = float(np.dot(weights, zs) / np.sum(weights)) if cells else float("nan")
    return {"ct": ct, "cells": cells, "cells_used": len(cells)}
