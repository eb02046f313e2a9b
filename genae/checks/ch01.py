"""Checks for chapter 1 (section 2.1: the VAE's prior loss and the reparameterisation trick).

- :func:`check_kl_divergence`: the closed-form KL(N(mu, diag sigma^2) || N(0, I)),
  one value per row, against ``torch.distributions``.
- :func:`check_reparameterise`: z = mu + sigma * eps has the right mean and spread
  and lets gradients reach mu and log sigma.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor
from torch.distributions import Normal, kl_divergence

from genae.checks import ExerciseError, attempt, expect_close, passed


def reference_kl_divergence(mu: Tensor, log_sigma: Tensor) -> Tensor:
    """KL(N(mu, diag sigma^2) || N(0, I)) for each row: 0.5 *
    sum(mu^2 + sigma^2 - log sigma^2 - 1)."""
    return 0.5 * (mu.pow(2) + (2 * log_sigma).exp() - 2 * log_sigma - 1).sum(-1)


def reference_reparameterise(
    mu: Tensor, log_sigma: Tensor, generator: torch.Generator | None = None
) -> Tensor:
    """A draw from N(mu, diag sigma^2) written as mu + sigma * eps, eps ~ N(0, I), so gradients
    reach mu and sigma."""
    eps = torch.randn(mu.shape, generator=generator, dtype=mu.dtype, device=mu.device)
    return mu + log_sigma.exp() * eps


def _kl_cases() -> list[tuple[Tensor, Tensor]]:
    g = torch.Generator().manual_seed(1)
    return [
        (torch.zeros(3, 4), torch.zeros(3, 4)),  # Q(z|x) = P(Z): KL is 0
        (torch.randn(5, 3, generator=g), 0.5 * torch.randn(5, 3, generator=g)),
        (torch.randn(1, 1, generator=g), torch.full((1, 1), -1.5)),
        (2 * torch.randn(4, 16, generator=g), 0.8 * torch.randn(4, 16, generator=g)),
    ]


def check_kl_divergence(fn: Callable) -> None:
    """Check ``fn(mu, log_sigma)`` returns KL(N(mu, diag exp(log_sigma)^2) || N(0, I)) per row,
    shape (N,)."""
    for i, (mu, log_sigma) in enumerate(_kl_cases()):
        got = attempt(fn, mu.clone(), log_sigma.clone(), name="kl_divergence")
        want = kl_divergence(Normal(mu, log_sigma.exp()), Normal(0.0, 1.0)).sum(-1)
        what = f"kl_divergence(mu, log_sigma) for mu, log_sigma of shape {tuple(mu.shape)}"
        if isinstance(got, Tensor):
            got = got.detach()
            if got.shape == mu.shape and mu.shape[-1] > 1:
                raise ExerciseError(
                    f"{what} has shape {tuple(got.shape)}: sum over the latent dimensions, "
                    "so there is one KL value per row (shape (N,))"
                )
            if got.dim() == 0 and mu.shape[0] > 1:
                raise ExerciseError(
                    f"{what} is a single number: return one KL value per row (shape (N,)), "
                    "not the batch's total or mean"
                )
            if got.shape == want.shape:
                if i == 0 and not torch.allclose(got, want, atol=1e-6):
                    raise ExerciseError(
                        f"{what}: when mu = 0 and log_sigma = 0, Q(z|x) is N(0, I) itself and "
                        f"the KL must be 0, but you return {got[0].item():.4g}; check the "
                        "constant term (-1 per dimension)"
                    )
                as_log_var = 0.5 * (mu.pow(2) + log_sigma.exp() - log_sigma - 1).sum(-1)
                if i > 0 and torch.allclose(got, as_log_var, atol=1e-5):
                    raise ExerciseError(
                        f"{what} treats log_sigma as log sigma^2: it is log sigma, so "
                        "sigma^2 = exp(2 * log_sigma) and log sigma^2 = 2 * log_sigma"
                    )
                if (got < -1e-6).any():
                    raise ExerciseError(
                        f"{what} is negative ({got.min().item():.4g}), but a KL divergence "
                        "never is: check the signs of the four terms"
                    )
        expect_close(got, want, what)
    passed("kl_divergence", len(_kl_cases()))


def _check_moments(z: Tensor, mu0: Tensor, sigma0: Tensor, what: str) -> None:
    """The draws' mean and standard deviation per dimension against mu and sigma."""
    mean, std = z.detach().mean(0), z.detach().std(0)
    if not torch.allclose(mean, mu0, atol=5 * sigma0.max().item() / len(z) ** 0.5):
        raise ExerciseError(
            f"{what}: the samples' mean per dimension is {mean.numpy().round(3).tolist()}, "
            f"but it should be mu = {mu0.tolist()}"
        )
    if not torch.allclose(std, sigma0, rtol=0.03):
        raise ExerciseError(
            f"{what}: the samples' standard deviation per dimension is "
            f"{std.numpy().round(3).tolist()}, but it should be sigma = exp(log_sigma) = "
            f"{sigma0.numpy().round(3).tolist()}: scale eps by sigma, not by sigma^2 or log sigma"
        )


def _check_gradients(z: Tensor, mu: Tensor, log_sigma: Tensor, what: str) -> None:
    """dz/dmu = 1 and dz/dlog_sigma = sigma * eps = z - mu, entry by entry."""
    z.sum().backward()
    if mu.grad is None or log_sigma.grad is None or not torch.allclose(
        mu.grad, torch.ones_like(mu)
    ):
        raise ExerciseError(
            f"{what}: dz/dmu should be 1 for every entry, but the gradient that reaches mu is "
            f"{'missing' if mu.grad is None else 'different'}. Sampling functions such as "
            "torch.normal pass no gradient: write z = mu + sigma * eps with eps ~ N(0, I)"
        )
    expect_close(
        log_sigma.grad,
        (z - mu).detach(),
        f"{what}: the gradient dz/dlog_sigma (it should be sigma * eps)",
    )


def check_reparameterise(fn: Callable) -> None:
    """Check ``fn(mu, log_sigma, generator)`` draws z ~ N(mu, diag sigma^2) as mu + sigma * eps,
    with gradients."""
    rows = 20_000
    mu0 = torch.tensor([0.5, -1.0, 2.0, 0.0])
    log_sigma0 = torch.tensor([-1.0, 0.0, 0.7, 0.2])
    mu = mu0.repeat(rows, 1).requires_grad_(True)
    log_sigma = log_sigma0.repeat(rows, 1).requires_grad_(True)
    z = attempt(fn, mu, log_sigma, torch.Generator().manual_seed(0), name="reparameterise")
    what = "reparameterise(mu, log_sigma, generator)"
    if not isinstance(z, Tensor):
        raise ExerciseError(
            f"{what} should return a torch.Tensor, but it returned a {type(z).__name__}"
        )
    if z.shape != mu.shape:
        raise ExerciseError(
            f"{what} should have the shape of mu, {tuple(mu.shape)}, but it has {tuple(z.shape)}"
        )
    if z.grad_fn is None:
        raise ExerciseError(
            f"{what}: no gradient can flow back from z to mu and log_sigma. Build z from them "
            "with differentiable operations (mu + sigma * eps) and do not detach it"
        )
    _check_moments(z, mu0, log_sigma0.exp(), what)
    _check_gradients(z, mu, log_sigma, what)
    small = [
        attempt(fn, mu0[None], log_sigma0[None], torch.Generator().manual_seed(7),
                name="reparameterise").detach()
        for _ in range(2)
    ]
    if not torch.equal(small[0], small[1]):
        raise ExerciseError(
            f"{what}: two calls with identically seeded generators gave different z. Draw eps "
            "with torch.randn(mu.shape, generator=generator) so the result is reproducible"
        )
    passed("reparameterise", 5)
