"""Section 3.2 (Lemma 2) in closed form: the chain of Eq. 1 and 2 on a linear-Gaussian autoencoder.

With a linear-Gaussian decoder Q(x|z) = N(Wz + b, s^2 I), encoder
Q(z|x) = N(Ax + c, S) and corruption Q(x~|x) = N(x, sigma_n^2 I), one step of
the chain is an AR(1) process

    z' = M z + m + noise,   M = AW,   m = Ab + c,   noise ~ N(0, (s^2 + sigma_n^2) A A^T + S)

(with s = 0 when the chain decodes to the mean),

so everything the paper asks of the chain (where it converges, how fast, and
whether that is Q(Z)) has an exact answer. :class:`LinearGaussianAE` is a
``torch.nn.Module`` with the trained models' interface, so
:func:`genae.mcmc.run_chain` runs on it unchanged; the functions below give the
closed forms that the simulated chain is tested against.

How decoder sampling is expressed. ``decode(z)`` returns the decoder's mean
Wz + b, as the trained models' ``decode`` returns pixel means, and
``sample_x(mean, generator)`` draws x ~ Q(X|Z) = N(mean, s^2 I) with
s = ``decoder_std``: :func:`genae.mcmc.run_chain` calls it with
``decode="sample"``. So ``run_chain(model, z0, t, decode="sample")`` is Eq. 1
when ``denoise_std == 0`` and Eq. 2 when ``denoise_std > 0``, and the default
``decode="mean"`` is the mean-decoding chain the authors' code runs (the s = 0
forms); ``sample=False`` gives the deterministic chain z' = Mz + m. The closed
forms below take the same ``decode`` argument.
"""

from __future__ import annotations

import math

import numpy as np
import scipy.linalg
import torch
from torch import Tensor, nn

from genae.gaussians import Gaussian, psd_sqrt
from genae.mcmc import DECODE
from genae.validate import check_choice, check_int, check_latents, check_number, check_steps


class LinearGaussianAE(nn.Module):
    """A linear-Gaussian autoencoder with the interface :func:`genae.mcmc.run_chain` relies on.

    Args:
        W, b: decoder Q(x|z) = N(Wz + b, decoder_std^2 I); W has shape (data_dim, latent_dim).
        A, c, S: encoder Q(z|x) = N(Ax + c, S); S may be singular (a deterministic encoder).
        decoder_std: s, the decoder's noise (drawn only by ``run_chain(..., decode="sample")``).
        denoise_std: sigma_n of the corruption N(x, sigma_n^2 I) (Eq. 2); 0 for Eq. 1.

    The weights are float64 and frozen (``requires_grad=False``); pass float64 inputs.
    """

    def __init__(self, W: np.ndarray | Tensor, b: np.ndarray | Tensor, A: np.ndarray | Tensor,
                 c: np.ndarray | Tensor, S: np.ndarray | Tensor, decoder_std: float = 0.0,
                 denoise_std: float = 0.0) -> None:
        super().__init__()
        W, b, A, c, S = (
            _matrix(v, name) for v, name in ((W, "W"), (b, "b"), (A, "A"), (c, "c"), (S, "S"))
        )
        data_dim, latent_dim = W.shape if W.ndim == 2 else (None, None)
        shapes = {
            "W": (W, (data_dim, latent_dim)),
            "b": (b, (data_dim,)),
            "A": (A, (latent_dim, data_dim)),
            "c": (c, (latent_dim,)),
            "S": (S, (latent_dim, latent_dim)),
        }
        if data_dim is None:
            raise ValueError(f"W must be a (data_dim, latent_dim) matrix, got shape {W.shape}")
        for name, (value, shape) in shapes.items():
            if value.shape != shape:
                raise ValueError(
                    f"{name} must have shape {shape} for W of shape {W.shape}, got {value.shape}"
                )
        Gaussian(
            np.zeros(latent_dim), S
        )  # raises unless S is a symmetric positive semi-definite covariance
        for name, std in (("decoder_std", decoder_std), ("denoise_std", denoise_std)):
            check_number(std, name, low=0)
        for name, value in (("W", W), ("b", b), ("A", A), ("c", c), ("S", S)):
            self.register_parameter(
                name, nn.Parameter(torch.from_numpy(value), requires_grad=False)
            )
        self.data_dim, self.latent_dim = data_dim, latent_dim
        self.decoder_std, self.denoise_std = float(decoder_std), float(denoise_std)

    @classmethod
    def from_decoder(cls, W: np.ndarray, b: np.ndarray, s: float, decoder_std: float | None = None,
                     denoise_std: float = 0.0) -> LinearGaussianAE:
        """The decoder N(Wz + b, s^2 I) with its exact posterior under P(Z) = N(0, I) as encoder.

        ``decoder_std`` defaults to ``s``.
        """
        A, c, S = exact_posterior(W, b, s)
        return cls(
            W,
            b,
            A,
            c,
            S,
            decoder_std=s if decoder_std is None else decoder_std,
            denoise_std=denoise_std,
        )

    def replace(self, **changes: object) -> LinearGaussianAE:
        """A copy with some of ``W, b, A, c, S, decoder_std, denoise_std`` changed."""
        args = {name: getattr(self, name).detach().numpy() for name in ("W", "b", "A", "c", "S")}
        args.update(decoder_std=self.decoder_std, denoise_std=self.denoise_std)
        unknown = set(changes) - set(args)
        if unknown:
            raise ValueError(f"cannot replace {sorted(unknown)}: choose from {sorted(args)}")
        return LinearGaussianAE(**{**args, **changes})

    def encode(
        self, x: Tensor, sample: bool = True, generator: torch.Generator | None = None
    ) -> Tensor:
        """Q(Z|X): Ax + c plus N(0, S) noise, or the mean Ax + c with ``sample=False``."""
        self._check(x, self.data_dim, "data")
        mean = x @ self.A.T + self.c
        if not sample:
            return mean
        eps = torch.randn(mean.shape, generator=generator, dtype=mean.dtype, device=mean.device)
        root = torch.from_numpy(psd_sqrt(self.S.detach().cpu().numpy())).to(mean.device)
        return mean + eps @ root

    def decode(self, z: Tensor) -> Tensor:
        """The decoder's mean Wz + b (:meth:`sample_x` draws from Q(X|Z); see the module doc)."""
        check_latents(z, self.latent_dim)
        self._check(z, self.latent_dim, "latents")
        return z @ self.W.T + self.b

    def sample_x(self, mean: Tensor, generator: torch.Generator | None = None) -> Tensor:
        """A draw from the decoder Q(X|Z) = N(mean, decoder_std^2 I)
        (``run_chain(..., decode="sample")``)."""
        self._check(mean, self.data_dim, "data")
        if self.decoder_std == 0:
            return mean
        noise = torch.randn(mean.shape, generator=generator, dtype=mean.dtype, device=mean.device)
        return mean + self.decoder_std * noise

    def corrupt(self, x: Tensor, generator: torch.Generator | None = None) -> Tensor:
        """The corruption Q(x~|x) = N(x, denoise_std^2 I) of Eq. 2; the identity when denoise_std is
        0."""
        self._check(x, self.data_dim, "data")
        if self.denoise_std == 0:
            return x
        return x + self.denoise_std * torch.randn(
            x.shape, generator=generator, dtype=x.dtype, device=x.device
        )

    def _check(self, x: Tensor, dim: int, what: str) -> None:
        if not isinstance(x, Tensor) or x.dim() != 2 or x.shape[1] != dim:
            shape = tuple(x.shape) if isinstance(x, Tensor) else type(x).__name__
            raise ValueError(f"{what} must be a tensor of shape (N, {dim}), got {shape}")
        if x.dtype != self.W.dtype:
            raise ValueError(
                f"{what} are {x.dtype} but the model is {self.W.dtype}: pass x.double() "
                "(the exact model works in float64 so it can be compared with closed forms)"
            )

    def extra_repr(self) -> str:
        return (
            f"data_dim={self.data_dim}, latent_dim={self.latent_dim}, "
            f"decoder_std={self.decoder_std:.4g}, "
            f"denoise_std={self.denoise_std:.4g}"
        )


def transition(model: LinearGaussianAE, sample: bool = True, *,
               decode: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One chain step as AR(1), z' = M z + m + N(0, Q): returns (M, m, Q).

    ``decode`` has no default, here and in :func:`step`, :func:`chain_marginals` and
    :func:`stationary`: ``"sample"`` is Eq. 1 as written, ``"mean"`` the authors' code, and
    the two have different stationary distributions, so every caller names its chain.

    As ``run_chain(model, z, 1, sample, decode=decode)``: Q = (s^2 + sigma_n^2) A A^T + S with
    ``decode="sample"``, Q = sigma_n^2 A A^T + S with ``decode="mean"`` (the decoder's draw is
    skipped); ``sample=False`` is the deterministic chain, Q = 0.
    """
    check_choice(decode, "decode", DECODE)
    W, b, A, c, S = (getattr(model, n).detach().cpu().numpy() for n in ("W", "b", "A", "c", "S"))
    M, m = A @ W, A @ b + c
    if not sample:
        return M, m, np.zeros_like(S)
    s2 = model.decoder_std ** 2 if decode == "sample" else 0.0
    noise = (s2 + model.denoise_std ** 2) * (A @ A.T) + S
    return M, m, (noise + noise.T) / 2


def spectral_radius(M: np.ndarray) -> float:
    """Largest |eigenvalue| of M; the chain has a stationary distribution exactly when it is below
    1."""
    return float(np.abs(np.linalg.eigvals(M)).max())


def step(
    model: LinearGaussianAE, z: Gaussian, sample: bool = True, *, decode: str
) -> Gaussian:
    """The distribution of z_{t+1} when z_t ~ ``z``: N(M mu + m, M C M^T + Q)."""
    M, m, Q = transition(model, sample, decode=decode)
    _check_latent(z, model)
    return Gaussian(M @ z.mean + m, M @ z.cov @ M.T + Q)


def chain_marginals(model: LinearGaussianAE, start: Gaussian, steps: int, sample: bool = True,
                    *, decode: str) -> list[Gaussian]:
    """The distributions of z_0, ..., z_steps when z_0 ~ ``start``; entry t is after t steps."""
    check_steps(steps)
    _check_latent(start, model)
    out = [start]
    for _ in range(steps):
        out.append(step(model, out[-1], sample, decode=decode))
    return out


def stationary(model: LinearGaussianAE, sample: bool = True, *, decode: str) -> Gaussian:
    """The chain's stationary distribution N((I - M)^-1 m, C), C = M C M^T + Q (a discrete Lyapunov
    equation).

    Raises ``ValueError`` when the spectral radius of M is >= 1: then z_t drifts
    or spreads without bound and no stationary distribution exists.
    """
    M, m, Q = transition(model, sample, decode=decode)
    rho = spectral_radius(M)
    if rho >= 1:
        raise ValueError(
            f"this chain has no stationary distribution: the spectral radius of M = AW is "
            f"{rho:.4g} >= 1, so z_t grows or drifts without bound; shrink the encoder or decoder "
            "weights (A or W) until it is below 1"
        )
    mean = np.linalg.solve(np.eye(len(m)) - M, m)
    cov = scipy.linalg.solve_discrete_lyapunov(M, Q)
    return Gaussian(mean, (cov + cov.T) / 2)


def aggregate_posterior(
    model: LinearGaussianAE, data: Gaussian, corrupted: bool = True
) -> Gaussian:
    """The learned latent distribution Q(Z) = ∫ Q(z|x) P(x) dx for data P(x) = N(mu_x, Sigma_x).

    N(A mu_x + c, A Sigma_x A^T + S). With ``corrupted=True`` and a denoising
    model the encoder sees x~ ~ N(x, sigma_n^2 I), as in training (section 2.2),
    so Sigma_x gains sigma_n^2 I: that is Q(Z) for Eq. 2.
    """
    _check_data(data, model)
    A, c, S = (getattr(model, n).detach().cpu().numpy() for n in ("A", "c", "S"))
    cov_x = data.cov + (model.denoise_std ** 2 if corrupted else 0.0) * np.eye(data.dim)
    return Gaussian(A @ data.mean + c, A @ cov_x @ A.T + S)


def decoded(model: LinearGaussianAE, z: Gaussian) -> Gaussian:
    """∫ Q(x|z) p(z) dz = N(W mu + b, W C W^T + s^2 I): what the decoder makes of latents
    ``z`` ~ N(mu, C).

    With ``z`` = P(Z) this is the model's own marginal; with ``z`` = Q(Z) it is
    the left side of the sufficient condition ∫ Q(x|z) Q(z) dz = P(x).
    """
    _check_latent(z, model)
    W, b = model.W.detach().cpu().numpy(), model.b.detach().cpu().numpy()
    return Gaussian(W @ z.mean + b, W @ z.cov @ W.T + model.decoder_std**2 * np.eye(model.data_dim))


def fit_ppca(
    data: Gaussian | np.ndarray | Tensor, latent_dim: int
) -> tuple[np.ndarray, np.ndarray, float]:
    """Maximum-likelihood probabilistic PCA (Tipping and Bishop, 1999): returns (W, b, s).

    ``data`` is samples (n, d), fitted through their 1/n covariance, or a
    Gaussian (the fit to infinitely many samples). With eigenvalues l_1 >= ... >= l_d
    and eigenvectors U: s^2 = mean(l_{k+1..d}), W = U_k (L_k - s^2 I)^(1/2), b = mean.
    """
    data = data if isinstance(data, Gaussian) else Gaussian.from_samples(data)
    check_int(latent_dim, "latent_dim", low=1, high=data.dim - 1,
              what=f" (below the data's dimension {data.dim})")
    values, vectors = np.linalg.eigh(data.cov)
    values, vectors = values[::-1], vectors[:, ::-1]  # largest first
    s2 = float(values[latent_dim:].mean())
    if s2 <= 0:
        raise ValueError(
            "the data's covariance has rank <= latent_dim, so the ML noise variance is 0 and the "
            "posterior is undefined: use a smaller latent_dim or data with full-rank covariance"
        )
    W = vectors[:, :latent_dim] * np.sqrt(np.clip(values[:latent_dim] - s2, 0, None))
    return W, data.mean.copy(), math.sqrt(s2)


def exact_posterior(
    W: np.ndarray, b: np.ndarray, s: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The exact posterior of z ~ N(0, I), x|z ~ N(Wz + b, s^2 I), as an encoder: returns (A, c, S).

    Q(z|x) = N(G^-1 W^T (x - b), s^2 G^-1) with G = W^T W + s^2 I (Bishop, PRML eq. 12.42).
    """
    W, b = _matrix(W, "W"), _matrix(b, "b")
    if W.ndim != 2 or b.shape != (W.shape[0],):
        raise ValueError(
            f"W must be (data_dim, latent_dim) and b (data_dim,), got {W.shape} and {b.shape}"
        )
    if not (isinstance(s, (int, float)) and math.isfinite(s) and s > 0):
        raise ValueError(
            f"the decoder noise s must be a finite number > 0 for the posterior to exist, got {s!r}"
        )
    G = W.T @ W + s ** 2 * np.eye(W.shape[1])
    A = np.linalg.solve(G, W.T)
    S = s ** 2 * np.linalg.inv(G)
    return A, -A @ b, (S + S.T) / 2


def _matrix(value: np.ndarray | Tensor, name: str) -> np.ndarray:
    if isinstance(value, Tensor):
        value = value.detach().cpu().numpy()
    array = np.array(value, dtype=np.float64)
    if not np.isfinite(array).all():
        raise ValueError(f"{name} must be finite (no nan or inf)")
    return array


def _check_latent(z: Gaussian, model: LinearGaussianAE) -> None:
    if not isinstance(z, Gaussian) or z.dim != model.latent_dim:
        got = f"a Gaussian of dimension {z.dim}" if isinstance(z, Gaussian) else type(z).__name__
        raise ValueError(
            f"expected a Gaussian over the {model.latent_dim}-D latent space, got {got}"
        )


def _check_data(x: Gaussian, model: LinearGaussianAE) -> None:
    if not isinstance(x, Gaussian) or x.dim != model.data_dim:
        got = f"a Gaussian of dimension {x.dim}" if isinstance(x, Gaussian) else type(x).__name__
        raise ValueError(f"expected a Gaussian over the {model.data_dim}-D data space, got {got}")
