"""Section 3.2, checked exactly: Gaussian distributions, their distances, a Monte-Carlo moment test.

The linear-Gaussian chapter (:mod:`genae.linear`) asks where the chain of
section 3 converges. Every distribution there is Gaussian, so the question has
closed-form answers: this module holds the Gaussian type they are written in,
two distances between Gaussians (the Kullback-Leibler divergence and the
2-Wasserstein distance), and :func:`moment_z_scores`, which says how many
Monte-Carlo standard errors a simulated chain's mean and covariance lie from a
closed form.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor

from genae.metrics import frechet_from_stats


@dataclass(frozen=True, eq=False)
class Gaussian:
    """A multivariate normal N(mean, cov) in float64 numpy arrays; ``cov`` may be singular."""

    mean: np.ndarray
    cov: np.ndarray

    def __post_init__(self) -> None:
        if np.ndim(self.mean) != 1:
            raise ValueError(f"Gaussian mean must be a vector (1-D), got shape "
                             f"{np.shape(self.mean)}")
        mean = np.array(self.mean, dtype=np.float64)
        cov = np.array(self.cov, dtype=np.float64)
        d = mean.shape[0]
        if cov.shape != (d, d):
            raise ValueError(f"Gaussian covariance must have shape ({d}, {d}) to match a mean of "
                             f"length {d}, got {cov.shape}")
        if not (np.isfinite(mean).all() and np.isfinite(cov).all()):
            raise ValueError("Gaussian mean and covariance must be finite (no nan or inf)")
        scale = max(1.0, float(np.abs(cov).max(initial=0.0)))
        if not np.allclose(cov, cov.T, atol=1e-8 * scale, rtol=0):
            raise ValueError("Gaussian covariance must be symmetric; got one that differs from its "
                             f"transpose by {np.abs(cov - cov.T).max():.3g}")
        cov = (cov + cov.T) / 2  # no rounding asymmetry: eigh and Cholesky see a symmetric matrix
        lowest = float(np.linalg.eigvalsh(cov).min()) if d else 0.0
        if lowest < -1e-9 * scale:
            raise ValueError(f"Gaussian covariance must be positive semi-definite; its smallest "
                             f"eigenvalue is {lowest:.3g}")
        object.__setattr__(self, "mean", mean)
        object.__setattr__(self, "cov", cov)

    @property
    def dim(self) -> int:
        """Dimension of the space."""
        return self.mean.shape[0]

    @classmethod
    def standard(cls, dim: int) -> Gaussian:
        """The prior P(Z) = N(0, I) in ``dim`` dimensions."""
        return cls(np.zeros(dim), np.eye(dim))

    @classmethod
    def from_samples(cls, x: np.ndarray | Tensor) -> Gaussian:
        """Maximum-likelihood fit to samples (n, d): the sample mean and the 1/n covariance."""
        x = _as_array(x, "samples")
        if x.ndim != 2 or x.shape[0] < 2:
            raise ValueError(f"samples must have shape (n, d) with n >= 2, got {x.shape}")
        centred = x - x.mean(0)
        return cls(x.mean(0), centred.T @ centred / x.shape[0])

    def sample(self, n: int, generator: torch.Generator | None = None,
               dtype: torch.dtype = torch.float64) -> Tensor:
        """``n`` draws as a torch tensor (n, dim), through the symmetric square root."""
        eps = torch.randn(n, self.dim, generator=generator, dtype=torch.float64)
        draws = torch.from_numpy(self.mean) + eps @ torch.from_numpy(psd_sqrt(self.cov))
        return draws.to(dtype)


def psd_sqrt(cov: np.ndarray) -> np.ndarray:
    """Symmetric square root of a symmetric positive semi-definite matrix.

    Uses ``eigh`` rather than ``scipy.linalg.sqrtm``: on a symmetric matrix
    sqrtm can return rounding-level imaginary parts and warns on singular
    input (a point mass), while eigh stays real and symmetric.
    """
    values, vectors = np.linalg.eigh((cov + cov.T) / 2)
    return (vectors * np.sqrt(np.clip(values, 0, None))) @ vectors.T


def kl(p: Gaussian, q: Gaussian) -> float:
    """KL(p || q) in nats, in closed form; ``q`` must have a nonsingular covariance."""
    _same_dim(p, q)
    try:
        chol_q = np.linalg.cholesky(q.cov)
    except np.linalg.LinAlgError as err:
        raise ValueError("KL(p || q) is infinite or undefined when q's covariance is singular; "
                         "use w2 for point masses") from err
    sign_p, logdet_p = np.linalg.slogdet(p.cov)
    if sign_p <= 0:
        return math.inf  # p is singular and q is not: p puts mass where q's density ratio blows up
    inv_chol = np.linalg.inv(chol_q)
    trace = np.sum((inv_chol @ p.cov) * inv_chol)  # tr(q.cov^-1 p.cov)
    delta = inv_chol @ (q.mean - p.mean)
    logdet_q = 2 * np.log(np.diag(chol_q)).sum()
    kl = 0.5 * (trace + delta @ delta - p.dim + logdet_q - logdet_p)
    return max(0.0, float(kl))  # >= 0; rounding aside


def w2(p: Gaussian, q: Gaussian) -> float:
    """The 2-Wasserstein distance between two Gaussians, in closed form (Dowson and Landau, 1982).

    W2^2 = |m_p - m_q|^2 + tr(C_p + C_q - 2 (C_q^(1/2) C_p C_q^(1/2))^(1/2)), the Fréchet
    distance behind FID, so it is computed by :func:`genae.metrics.frechet_from_stats`
    (symmetric eigendecompositions, so singular covariances and point masses are fine).
    """
    _same_dim(p, q)
    squared = frechet_from_stats(*(torch.from_numpy(a) for a in (p.mean, p.cov, q.mean, q.cov)))
    return math.sqrt(squared)


def moment_z_scores(samples: np.ndarray | Tensor,
                    expected: Gaussian) -> tuple[np.ndarray, np.ndarray]:
    """How many Monte-Carlo standard errors each sample moment lies from the closed form.

    For n independent draws from ``expected`` = N(mu, C), the sample mean's
    entry i has standard error sqrt(C_ii / n), and the sample covariance's entry
    (i, j) (about the sample mean) has standard error sqrt((C_ii C_jj + C_ij^2) / n)
    (Isserlis' theorem). Returns (z_mean of shape (d,), z_cov of shape (d, d)).
    An entry whose closed-form standard error is 0 gets z = 0 when it matches to
    rounding and inf otherwise.
    """
    x = _as_array(samples, "samples")
    if x.ndim != 2 or x.shape[1] != expected.dim or x.shape[0] < 2:
        raise ValueError(f"samples must have shape (n, {expected.dim}) with n >= 2, got {x.shape}")
    n, c = x.shape[0], expected.cov
    got = Gaussian.from_samples(x)
    se_mean = np.sqrt(np.diag(c) / n)
    se_cov = np.sqrt((np.outer(np.diag(c), np.diag(c)) + c ** 2) / n)
    return _ratio(got.mean - expected.mean, se_mean), _ratio(got.cov - c, se_cov)


def _ratio(error: np.ndarray, se: np.ndarray) -> np.ndarray:
    exact = np.abs(error) <= 1e-9 * max(1.0, float(np.abs(error).max(initial=0.0)))
    with np.errstate(divide="ignore", invalid="ignore"):
        z = np.abs(error) / se
    return np.where(se > 0, z, np.where(exact, 0.0, np.inf))


def _as_array(x: np.ndarray | Tensor, what: str) -> np.ndarray:
    if isinstance(x, Tensor):
        x = x.detach().cpu().double().numpy()
    if not isinstance(x, np.ndarray):
        raise TypeError(f"{what} must be a numpy array or torch tensor, got {type(x).__name__}")
    return x.astype(np.float64, copy=False)


def _same_dim(p: Gaussian, q: Gaussian) -> None:
    if not (isinstance(p, Gaussian) and isinstance(q, Gaussian)):
        raise TypeError(f"both arguments must be Gaussians, got {type(p).__name__} and "
                        f"{type(q).__name__}")
    if p.dim != q.dim:
        raise ValueError(f"the two Gaussians live in different dimensions ({p.dim} and {q.dim})")
