"""Checks for chapter 10 (other ways to sample Q(Z)).

:func:`check_mixture_sample` runs the student's draw from a fitted Gaussian
mixture on mixtures with known moments; :func:`check_acceptance` compares their
acceptance probability from the adversary's logit with the book's. Both name
the usual slips (the covariance in place of its Cholesky factor, components
picked uniformly, the logit's sign, a probability above 1).
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
from torch import Tensor

from genae.checks import ExerciseError, attempt, expect_close, passed


def reference_mixture_sample(weights: Tensor, means: Tensor, covs: Tensor, n: int,
                             generator: torch.Generator | None = None) -> Tensor:
    """The book's answer: k ~ Categorical(weights), z = means[k] + L_k eps with
    L_k L_k^T = covs[k]."""
    k = torch.multinomial(weights, n, replacement=True, generator=generator)
    eps = torch.randn(n, means.shape[1], generator=generator, dtype=means.dtype)
    return means[k] + (torch.linalg.cholesky(covs)[k] @ eps[:, :, None]).squeeze(-1)


def reference_acceptance(logit: Tensor, log_cap: float) -> Tensor:
    """The book's answer: min(1, exp(log Q/P - log M)), with log Q/P = -logit."""
    return (-logit - log_cap).clamp(max=0).exp()


def _mixture_moments(weights: Tensor, means: Tensor, covs: Tensor) -> tuple[Tensor, Tensor]:
    mean = weights @ means
    second = torch.einsum("k,kij->ij", weights, covs + means[:, :, None] * means[:, None, :])
    return mean, second - torch.outer(mean, mean)


def check_mixture_sample(fn: Callable) -> None:
    """Check ``fn(weights, means, covs, n, generator)`` draws (n, D) samples of the Gaussian
    mixture."""
    weights = torch.tensor([0.6, 0.3, 0.1], dtype=torch.float64)
    means = torch.tensor([[0.0, 0.0], [5.0, 1.0], [-4.0, 6.0]], dtype=torch.float64)
    covs = torch.tensor(
        [[[2.0, 1.2], [1.2, 1.0]], [[0.3, 0.0], [0.0, 3.0]], [[1.0, -0.5], [-0.5, 0.5]]],
        dtype=torch.float64,
    )
    n = 40_000
    z = attempt(
        fn, weights, means, covs, n, torch.Generator().manual_seed(0), name="my_mixture_sample"
    )
    if not isinstance(z, Tensor) or z.shape != (n, 2):
        got = tuple(z.shape) if isinstance(z, Tensor) else type(z).__name__
        raise ExerciseError(
            f"my_mixture_sample should return a tensor of shape (n, D) = ({n}, 2), got {got}"
        )
    again = attempt(
        fn, weights, means, covs, n, torch.Generator().manual_seed(0), name="my_mixture_sample"
    )
    if not torch.equal(z, again):
        raise ExerciseError(
            "two calls with generators in the same state gave different samples: draw every "
            "random number (the components and the noise) with the generator you are given"
        )
    z = z.double()
    mean, cov = _mixture_moments(weights, means, covs)
    scale = cov.diagonal().max().sqrt().item()
    if (z.mean(0) - mean).abs().max() > 5 * scale / math.sqrt(n):  # 5 standard errors
        uniform = _mixture_moments(torch.full((3,), 1 / 3, dtype=torch.float64), means, covs)[0]
        if (z.mean(0) - uniform).abs().max() < 5 * scale / math.sqrt(n):
            raise ExerciseError(
                "the samples' mean is that of equal weights: pick component k with probability "
                "weights[k] (torch.multinomial(weights, n, replacement=True, generator=...))"
            )
        raise ExerciseError(
            f"the samples' mean is {z.mean(0).tolist()}, the mixture's is {mean.tolist()}: "
            "check how you pick the components and add their means"
        )
    cov_tol = (
        10 * cov.diagonal().max().item() / math.sqrt(n)
    )  # heavy-tailed mixture: a generous 10/sqrt(n)
    if (torch.cov(z.T) - cov).abs().max() > cov_tol:
        raised = _mixture_moments(weights, means, torch.linalg.matrix_power(covs, 2))[1]
        if (torch.cov(z.T) - raised).abs().max() < cov_tol * 3:
            raise ExerciseError(
                "the samples' covariance is that of Sigma_k squared: multiply eps by a matrix L "
                "with L L^T = Sigma_k (torch.linalg.cholesky), not by Sigma_k itself"
            )
        raise ExerciseError(
            "the samples' covariance is wrong: each sample is means[k] + L_k @ eps with "
            "L_k = torch.linalg.cholesky(covs[k]) and eps ~ N(0, I)"
        )
    passed("my_mixture_sample", 4)


def check_acceptance(fn: Callable) -> None:
    """Check ``fn(logit, log_cap)`` returns min(1, exp(-logit - log_cap)) for each logit."""
    logit = torch.tensor([-3.0, -1.0, 0.0, 0.5, 2.0, 4.0], dtype=torch.float64)
    cases = [(logit, 1.5), (logit, 0.0), (logit * 2, 3.0)]
    for i, (x, cap) in enumerate(cases):
        got = attempt(fn, x, cap, name="my_acceptance")
        want = reference_acceptance(x, cap)
        if isinstance(got, Tensor) and got.shape == want.shape:
            got = got.double()
            if (got > 1 + 1e-9).any():
                raise ExerciseError(
                    f"case {i + 1}: a probability above 1 ({got.max().item():.3g}): cap the ratio "
                    "at M, that is clamp exp(log Q/P - log M) at 1"
                )
            if torch.allclose(got, reference_acceptance(-x, cap), atol=1e-6):
                raise ExerciseError(
                    f"case {i + 1}: the sign of the logit is flipped: the adversary's logit is "
                    "log P(z)/Q(z), so log Q(z)/P(z) = -logit"
                )
            if torch.allclose(got, torch.sigmoid(x), atol=1e-6) or torch.allclose(
                got, torch.sigmoid(-x), atol=1e-6
            ):
                raise ExerciseError(
                    f"case {i + 1}: that is the adversary's probability, not a density ratio: "
                    "turn the logit into Q/P = exp(-logit) first"
                )
        expect_close(got, want, f"case {i + 1}: the acceptance probabilities", atol=1e-6)
    passed("my_acceptance", len(cases))
