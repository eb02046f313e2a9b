"""Checks for chapter 3 (where the chain converges: section 3.2 on a linear-Gaussian autoencoder).

:func:`check_restoring_noise` tests a student's prediction of the corruption that
makes the mean-decoding chain of a pPCA model with its exact posterior settle on
P(Z) (ex-03-transition); :func:`check_transition` tests a one-step AR(1) form of
the chain, (M, m, Q) from the decoder, encoder and noise levels;
:func:`check_stationary` tests a student's stationary distribution of
z' = Mz + m + N(0, Q). They compare with :mod:`genae.linear` on small random
cases whose answers differ for the usual mistakes (a forgotten noise term, a
transposed M, a variance for a standard deviation).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch

from genae.checks import ExerciseError, attempt, expect_close, passed
from genae.gaussians import Gaussian, w2
from genae.linear import (
    LinearGaussianAE,
    fit_ppca,
    spectral_radius,
    stationary,
    transition,
)


def _case(
    seed: int, data_dim: int, latent_dim: int, decoder_std: float, denoise_std: float
) -> LinearGaussianAE:
    """A random linear autoencoder with a stable, non-symmetric M = AW and a full encoder
    covariance."""
    rng = np.random.default_rng(seed)
    W = rng.normal(size=(data_dim, latent_dim))
    A = rng.normal(size=(latent_dim, data_dim))
    A *= 0.8 / spectral_radius(A @ W)
    L = 0.3 * rng.normal(size=(latent_dim, latent_dim))
    return LinearGaussianAE(
        W,
        rng.normal(size=data_dim),
        A,
        rng.normal(size=latent_dim),
        L @ L.T + 0.1 * np.eye(latent_dim),
        decoder_std=decoder_std,
        denoise_std=denoise_std,
    )


CASES = ((0, 5, 2, 0.7, 0.0), (1, 4, 3, 0.0, 0.0), (2, 6, 2, 0.5, 0.8), (3, 3, 3, 0.0, 0.4))


def _arrays(model: LinearGaussianAE) -> dict[str, np.ndarray | float]:
    args = {
        name: getattr(model, name).detach().numpy().copy() for name in ("W", "b", "A", "c", "S")
    }
    return {**args, "decoder_std": model.decoder_std, "denoise_std": model.denoise_std}


def _as_tensor(x: object) -> object:
    return (
        torch.from_numpy(np.asarray(x, dtype=np.float64))
        if isinstance(x, (np.ndarray, list, float))
        else x
    )


def _unpack(got: object, n: int, name: str) -> tuple:
    if not isinstance(got, tuple | list) or len(got) != n:
        raise ExerciseError(
            f"{name} should return a tuple of {n} arrays, but it returned {type(got).__name__}"
            + (f" of length {len(got)}" if isinstance(got, tuple | list) else "")
        )
    return tuple(_as_tensor(x) for x in got)


def check_transition(fn: Callable) -> None:
    """Check ``fn(W, b, A, c, S, decoder_std, denoise_std)`` returns (M, m, Q) of one step of the
    chain."""
    for seed, d, k, s, sigma_n in CASES:
        model = _case(seed, d, k, s, sigma_n)
        args = _arrays(model)
        what = (
            f"my_transition on a case with data_dim={d}, latent_dim={k}, decoder_std={s}, "
            f"denoise_std={sigma_n}"
        )
        M, m, Q = _unpack(attempt(fn, **args, name="my_transition"), 3, "my_transition")
        want_M, want_m, want_Q = (torch.from_numpy(a) for a in transition(model, decode="sample"))
        if (
            isinstance(M, torch.Tensor)
            and M.shape == want_M.shape
            and torch.allclose(M.double(), want_M.T)
            and not torch.allclose(want_M, want_M.T)
        ):
            raise ExerciseError(
                f"{what}: M is the transpose of the right answer: z' = A(Wz + b) + c, so M = A @ W"
            )
        expect_close(M, want_M, f"M ({what})", atol=1e-8)
        expect_close(m, want_m, f"m ({what}): the constant part of A(Wz + b) + c", atol=1e-8)
        if (
            isinstance(Q, torch.Tensor)
            and Q.shape == want_Q.shape
            and not torch.allclose(Q.double(), want_Q)
        ):
            AAt, Q = torch.from_numpy(args["A"] @ args["A"].T), Q.double()
            if torch.allclose(Q, torch.from_numpy(args["S"])):
                raise ExerciseError(
                    f"{what}: Q is only the encoder's covariance S; the decoder's draw and the "
                    "corruption add noise in x-space, which the encoder maps to "
                    "(s^2 + sigma_n^2) A A^T"
                )
            if torch.allclose(Q, want_Q - s**2 * AAt) or torch.allclose(
                Q, want_Q - sigma_n**2 * AAt
            ):
                raise ExerciseError(
                    f"{what}: Q leaves out one noise source: both the decoder's draw (decoder_std) "
                    "and the corruption (denoise_std) add to the noise, (s^2 + sigma_n^2) A A^T + S"
                )
        expect_close(Q, want_Q, f"Q ({what})", atol=1e-8)
    passed("my_transition", len(CASES))


def check_stationary(fn: Callable) -> None:
    """Check ``fn(M, m, Q)`` returns (mean, cov) of the stationary distribution, and raises
    ValueError without one."""
    for seed, d, k, s, sigma_n in CASES:
        model = _case(seed, d, k, s, sigma_n)
        M, m, Q = transition(model, decode="sample")
        want = stationary(model, decode="sample")
        what = f"my_stationary on a {k}-D chain with spectral radius {spectral_radius(M):.2f}"
        mean, cov = _unpack(
            attempt(fn, M.copy(), m.copy(), Q.copy(), name="my_stationary"), 2, "my_stationary"
        )
        expect_close(
            mean,
            torch.from_numpy(want.mean),
            f"the stationary mean ({what}), (I - M)^-1 m",
            atol=1e-6,
        )
        if isinstance(cov, torch.Tensor) and cov.shape == want.cov.shape:
            transposed = Gaussian(want.mean, _lyapunov(M.T, Q)).cov
            if np.allclose(cov.double().numpy(), transposed, atol=1e-6) and not np.allclose(
                transposed, want.cov
            ):
                raise ExerciseError(
                    f"{what}: your covariance solves C = M^T C M + Q; the step is z' = M z + ..., "
                    "so Cov(z') = M C M^T + Q"
                )
        expect_close(
            cov,
            torch.from_numpy(want.cov),
            f"the stationary covariance ({what}), C = M C M^T + Q",
            atol=1e-6,
        )
    unstable = np.array([[1.05, 0.3], [0.0, 0.5]])
    try:
        fn(unstable, np.zeros(2), np.eye(2))
    except ValueError:
        pass
    except NotImplementedError as err:
        raise ExerciseError(
            "my_stationary is not written yet: replace `raise NotImplementedError()` with your code"
        ) from err
    except Exception as err:
        raise ExerciseError(
            f"my_stationary raised {type(err).__name__} for a chain with spectral radius 1.05; "
            "raise ValueError saying that no stationary distribution exists"
        ) from err
    else:
        raise ExerciseError(
            "my_stationary returned an answer for M with spectral radius 1.05 >= 1, where z_t "
            "grows without bound and no stationary distribution exists: raise ValueError instead"
        )
    passed("my_stationary", len(CASES) + 1)


def _lyapunov(M: np.ndarray, Q: np.ndarray) -> np.ndarray:
    """C = M C M^T + Q by vectorisation, (I - M kron M) vec(C) = vec(Q)."""
    k = len(M)
    return np.linalg.solve(np.eye(k * k) - np.kron(M, M), Q.reshape(-1)).reshape(k, k)


def _ppca_case(seed: int, data_dim: int, latent_dim: int) -> LinearGaussianAE:
    """The ML pPCA fit to a random Gaussian, with its exact posterior as encoder."""
    rng = np.random.default_rng(seed)
    basis = np.linalg.qr(rng.normal(size=(data_dim, data_dim)))[0]
    spectrum = np.sort(rng.uniform(0.1, 4.0, size=data_dim))[::-1]
    data = Gaussian(rng.normal(size=data_dim), basis @ np.diag(spectrum) @ basis.T)
    return LinearGaussianAE.from_decoder(*fit_ppca(data, latent_dim))


PPCA_CASES = ((10, 5, 2), (11, 4, 1), (12, 6, 3))


def check_restoring_noise(fn: Callable) -> None:
    """Check ``fn(model)`` returns the corruption level sigma_n at which the mean-decoding
    chain of ``model`` (pPCA with its exact posterior) has P(Z) = N(0, I) as its stationary
    distribution."""
    for seed, d, k in PPCA_CASES:
        model = _ppca_case(seed, d, k)
        s = model.decoder_std
        what = f"my_restoring_noise on a pPCA model with data_dim={d}, latent_dim={k}, s={s:.3f}"
        got = attempt(fn, model, name="my_restoring_noise")
        if isinstance(got, torch.Tensor) and got.numel() == 1:
            got = got.item()
        if isinstance(got, bool) or not isinstance(got, (int, float, np.floating)):
            raise ExerciseError(f"{what}: return one number, sigma_n, not {type(got).__name__}")
        if not np.isfinite(got) or got < 0:
            raise ExerciseError(f"{what}: sigma_n = {got} is not a standard deviation (>= 0)")
        pi = stationary(model.replace(denoise_std=float(got)), decode="mean")
        distance = w2(pi, Gaussian.standard(k))
        if distance < 1e-6:
            continue
        hints = [(np.isclose(got, s**2), "that is s^2, the decoder's variance; sigma_n is a "
                  "standard deviation"),
                 (np.isclose(got, 0.5), "0.5 is the paper's corruption for images, not what "
                  "this chain lacks"),
                 (got == 0, "without corruption the mean-decoding chain settles on a narrower "
                  "distribution (section 3)")]
        hint = next((h for wrong, h in hints if wrong), "compare the noise of one step, "
                    "(s^2 + sigma_n^2) A A^T + S, in the sampled and the mean-decoding chain")
        raise ExerciseError(f"{what}: with sigma_n = {got:.4g} the mean-decoding chain settles "
                            f"W2 = {distance:.4f} from P(Z), not on it: {hint}")
    passed("my_restoring_noise", len(PPCA_CASES))
