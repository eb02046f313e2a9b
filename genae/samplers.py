"""Other ways to sample Q(Z) from a trained autoencoder, side by side with the paper's chain
(chapter 10).

The paper starts its chain at P(Z) because "it is impossible to directly sample
Q(Z)". Every sampler here returns latents for the model's decoder, with one shape:
``fit(...)`` where the method needs data (the training split's encodings or
images), then ``sample(n, generator)`` returning a CPU tensor (n, latent_dim).

- :class:`PriorSampler`: z ~ P(Z) = N(0, I), the chain's step 0;
- :class:`ChainSampler`: a start sampler's draws walked k steps by :func:`genae.mcmc.run_chain`
  (from P(Z) as in the paper, or from the mixture);
- :class:`PosteriorSampler`: Q(Z) itself, z ~ Q(Z|x) for training images x, a reference that
  memorises;
- :class:`MixtureSampler`: an ex-post Gaussian mixture on the training encodings (Ghosh et al.
  2020);
- :class:`TwoStageSampler`: a second, small VAE on the encodings (Dai & Wipf 2019), trained by
  :func:`genae.train.fit`;
- :class:`RatioSampler`: rejection sampling of P(Z) with a density ratio, here the AAE's adversary
  (discriminator rejection sampling, Azadi et al. 2019).

:func:`compare` measures any set of them on one model.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping

import pandas as pd
import torch
from torch import Tensor, nn
from torch.utils.data import TensorDataset

from genae import metrics
from genae.chainstats import aggregate_posterior, decode_latents, nearest_distance
from genae.infra.devices import model_device
from genae.mcmc import run_chain, sample_prior
from genae.models import evaluating
from genae.train import fit
from genae.validate import check_latents, check_steps


class NotFittedError(RuntimeError):
    """``sample`` was called before ``fit``."""


class Sampler:
    """What every sampler shares: a name, a fitted flag, and the checks on ``sample``'s
    arguments."""

    name = "sampler"
    fitted = True  # samplers that learn something from data set this to False until fit

    def sample(self, n: int, generator: torch.Generator | None = None) -> Tensor:
        """``n`` latents (n, latent_dim) on the CPU; the same generator state gives the same
        latents."""
        check_steps(n, "n")
        if not self.fitted:
            raise NotFittedError(
                f"the {self.name} sampler has not been fitted: call .fit(...) on the training "
                "split's encodings (or images) before .sample(n)"
            )
        return self._sample(n, generator).cpu()

    def _sample(self, n: int, generator: torch.Generator | None) -> Tensor:
        raise NotImplementedError


def _device_of(generator: torch.Generator | None) -> torch.device | None:
    return generator.device if generator is not None else None


def _check_codes(codes: object, latent_dim: int | None = None) -> Tensor:
    if not isinstance(codes, Tensor) or codes.dim() != 2 or len(codes) < 2:
        got = tuple(codes.shape) if isinstance(codes, Tensor) else type(codes).__name__
        raise ValueError(
            f"codes must be a tensor (N, latent_dim) of training encodings with N >= 2, got {got}: "
            "encode the training split first (genae.chainstats.aggregate_posterior)"
        )
    if latent_dim is not None:
        check_latents(codes, latent_dim)
    return codes.detach().cpu().double()


class PriorSampler(Sampler):
    """z ~ P(Z) = N(0, I): what the decoder was trained to accept, and the chain's starting
    point."""

    name = "prior"

    def __init__(self, latent_dim: int) -> None:
        self.latent_dim = latent_dim

    def _sample(self, n, generator):
        return sample_prior(n, self.latent_dim, generator=generator, device=_device_of(generator))


class ChainSampler(Sampler):
    """z_0 from ``start`` (P(Z) by default), then ``steps`` steps of the chain z_{t+1} ~ T(z | z_t)
    (Eq. 1/2)."""

    def __init__(
        self, model: nn.Module, steps: int = 10, start: Sampler | None = None, sample: bool = True
    ) -> None:
        check_steps(steps)
        self.model, self.steps, self.chain_noise = model, steps, sample
        self.start = start or PriorSampler(model.latent_dim)
        self.name = f"{self.start.name} + {steps} chain steps"

    def _sample(self, n, generator):
        z0 = self.start.sample(n, generator).to(model_device(self.model))
        return run_chain(self.model, z0, self.steps, sample=self.chain_noise, generator=generator)[
            -1
        ]


class PosteriorSampler(Sampler):
    """Q(Z) itself: z ~ Q(Z|x~), x~ ~ Q(X~|x) for training images x drawn at random (with
    replacement).

    ``last_indices`` holds the training images the last draw came from, so a reader can see how
    close each sample is to its own image: this sampler reproduces the training set.
    """

    name = "Q(Z)"
    fitted = False

    def __init__(self, model: nn.Module) -> None:
        self.model = model
        self.last_indices: Tensor | None = None

    def fit(self, images: Tensor) -> PosteriorSampler:
        """Keep the training images (N, C, H, W) in [0, 1]."""
        if not isinstance(images, Tensor) or images.dim() != 4 or len(images) == 0:
            raise ValueError(
                "PosteriorSampler.fit needs the training images (N, C, H, W), not encodings: "
                "it encodes them afresh for every draw"
            )
        self.images, self.fitted = images, True
        return self

    def _sample(self, n, generator):
        self.last_indices = torch.randint(len(self.images), (n,), generator=generator,
                                          device=_device_of(generator)).cpu()
        return aggregate_posterior(self.model, self.images[self.last_indices], generator)


class MixtureSampler(Sampler):
    """An ex-post Gaussian mixture density estimate of Q(Z) (Ghosh et al. 2020): 10 full-covariance
    components.

    scikit-learn's ``GaussianMixture`` runs EM; sampling picks a component k with probability pi_k
    and draws z = mu_k + L_k eps, with L_k L_k^T = Sigma_k and eps ~ N(0, I), from the torch
    generator.
    """

    name = "mixture"
    fitted = False

    def __init__(
        self, n_components: int = 10, covariance_type: str = "full", seed: int = 0
    ) -> None:
        self.n_components, self.covariance_type, self.seed = n_components, covariance_type, seed

    def fit(self, codes: Tensor) -> MixtureSampler:
        """Fit the mixture to training encodings (N, latent_dim) with EM (scikit-learn)."""
        from sklearn.mixture import GaussianMixture

        x = _check_codes(codes)
        if len(x) < self.n_components:
            raise ValueError(
                f"{len(x)} codes cannot fit {self.n_components} components: pass more encodings"
            )
        self.gmm = GaussianMixture(self.n_components, covariance_type=self.covariance_type,
                                   random_state=self.seed).fit(x.numpy())
        self.weights = torch.from_numpy(self.gmm.weights_)
        self.means = torch.from_numpy(self.gmm.means_)
        cov = {"full": lambda c: c, "diag": torch.diag_embed,
               "tied": lambda c: c.expand(self.n_components, -1, -1),
               "spherical": lambda c: c[:, None, None] * torch.eye(x.shape[1], dtype=c.dtype)}
        self.chol = torch.linalg.cholesky(
            cov[self.covariance_type](torch.from_numpy(self.gmm.covariances_))
        )
        self.fitted = True
        return self

    def _sample(self, n, generator):
        dev = _device_of(generator)
        k = torch.multinomial(self.weights.to(dev), n, replacement=True, generator=generator)
        eps = torch.randn(
            n, self.means.shape[1], generator=generator, device=dev, dtype=torch.float64
        )
        z = self.means.to(dev)[k] + (self.chol.to(dev)[k] @ eps[:, :, None]).squeeze(-1)
        return z.float()


class SecondStageVAE(nn.Module):
    """Dai & Wipf's second stage: a fully connected VAE on codes z, with u ~ N(0, I) and a learned
    variance.

    p(z|u) = N(g(u), gamma I) with gamma learned, q(u|z) = N(mu(z), diag sigma(z)^2). The codes are
    standardised (``shift``, ``scale``) first. It has what :func:`genae.train.fit` trains: ``loss``,
    ``objectives``, ``param_groups``, ``config``, ``kind`` and ``encode``.
    """

    kind = "two-stage"
    objectives = {"vae": ("reconstruction", "prior")}

    def __init__(self, latent_dim: int, hidden: int = 256, shift: Tensor | None = None,
                 scale: Tensor | None = None) -> None:
        super().__init__()
        self.latent_dim, self.hidden = latent_dim, hidden

        def mlp(n_out: int) -> nn.Sequential:
            return nn.Sequential(
                nn.Linear(latent_dim, hidden),
                nn.ReLU(),
                nn.Linear(hidden, hidden),
                nn.ReLU(),
                nn.Linear(hidden, n_out),
            )

        self.encoder, self.decoder = mlp(2 * latent_dim), mlp(latent_dim)
        self.log_gamma = nn.Parameter(torch.zeros(()))
        self.register_buffer("shift", torch.zeros(latent_dim) if shift is None else shift.float())
        self.register_buffer("scale", torch.ones(latent_dim) if scale is None else scale.float())

    @property
    def config(self) -> dict:
        return {"kind": self.kind, "latent_dim": self.latent_dim, "hidden": self.hidden}

    def encode(
        self, z: Tensor, sample: bool = True, generator: torch.Generator | None = None
    ) -> Tensor:
        mu, log_sigma = self.encoder((z - self.shift) / self.scale).chunk(2, dim=1)
        if not sample:
            return mu
        return mu + log_sigma.exp() * torch.randn(mu.shape, generator=generator, device=mu.device)

    def decode(self, u: Tensor, noise: Tensor | None = None) -> Tensor:
        """z ~ p(z|u) = g(u) + sqrt(gamma) * noise, back on the codes' scale; ``noise`` ~ N(0, I)
        (drawn if None)."""
        mean = self.decoder(u)
        noise = torch.randn_like(mean) if noise is None else noise
        return (mean + (self.log_gamma / 2).exp() * noise) * self.scale + self.shift

    def loss(self, z: Tensor) -> dict[str, Tensor]:
        """Gaussian negative log-likelihood with learned gamma, and KL(q(u|z) || N(0, I)); per
        code."""
        x = (z - self.shift) / self.scale
        mu, log_sigma = self.encoder(x).chunk(2, dim=1)
        u = mu + log_sigma.exp() * torch.randn_like(mu)
        nll = 0.5 * ((x - self.decoder(u)).square() / self.log_gamma.exp() + self.log_gamma
                     + math.log(2 * math.pi)).sum(1).mean()
        kl = 0.5 * (mu.square() + (2 * log_sigma).exp() - 2 * log_sigma - 1).sum(1).mean()
        return {"reconstruction": nll, "prior": kl}

    def param_groups(self) -> dict[str, list[nn.Parameter]]:
        return {"vae": list(self.parameters())}


class TwoStageSampler(Sampler):
    """A simplified two-stage VAE after Dai & Wipf (2019): u ~ N(0, I), z ~ p(z|u) of a second VAE
    trained on the encodings.

    Simplified: only the second stage is theirs. Their first stage is a VAE whose Gaussian decoder
    learns its variance gamma (so the model can drive gamma to 0 and fit the data's manifold
    exactly, the premise of their argument); here the first stage is any of the book's trained
    models, with its Bernoulli decoder and no learned gamma, and the second VAE's own decoder
    variance is not learned either (:class:`SecondStageVAE`).
    """

    name = "two-stage VAE"
    fitted = False

    def __init__(
        self,
        hidden: int = 256,
        epochs: int = 100,
        batch_size: int = 128,
        lr: float = 1e-3,
        seed: int = 0,
        progress: bool = False,
    ) -> None:
        self.hidden, self.epochs, self.batch_size, self.lr = hidden, epochs, batch_size, lr
        self.seed, self.progress = seed, progress

    def fit(self, codes: Tensor, device: str | torch.device | None = "cpu") -> TwoStageSampler:
        """Train the second VAE on training encodings (N, latent_dim) with
        :func:`genae.train.fit`."""
        x = _check_codes(codes).float()
        torch.manual_seed(self.seed)
        self.vae = SecondStageVAE(
            x.shape[1], self.hidden, shift=x.mean(0), scale=x.std(0).clamp_min(1e-6)
        )
        # Adam's usual betas: the paper's beta1 = 0.5 is a GAN setting, and this is a plain VAE
        self.history = fit(
            self.vae,
            TensorDataset(x),
            epochs=self.epochs,
            batch_size=min(self.batch_size, len(x)),
            lr=self.lr,
            betas=(0.9, 0.999),
            seed=self.seed,
            device=device,
            progress=self.progress,
        )
        self.vae.eval()
        self.fitted = True
        return self

    @torch.no_grad()
    def _sample(self, n, generator):
        dev = model_device(self.vae)
        u, noise = torch.randn(
            2, n, self.vae.latent_dim, generator=generator, device=_device_of(generator)
        ).to(dev)
        return self.vae.decode(u, noise)


class RatioSampler(Sampler):
    """Rejection sampling of P(Z) towards Q(Z) with an estimated log density ratio log Q(z)/P(z).

    Each z ~ P(Z) is accepted with probability min(1, exp(log_ratio(z) - log_M)): exact for Q(Z)
    when log_M >= sup log Q/P; capped (Azadi et al. 2019) when log_M is a high quantile of log_ratio
    over prior draws. :meth:`for_adversary` takes the ratio from an AAE's adversary: trained to tell
    P(Z) (label 1) from Q(Z), its logit estimates log P(z)/Q(z), so log Q/P = -logit.
    ``acceptance`` is the share of proposals accepted in the last draw.
    """

    name = "adversary rejection"
    fitted = False

    def __init__(
        self,
        log_ratio: Callable[[Tensor], Tensor],
        latent_dim: int,
        quantile: float = 0.95,
        n_fit: int = 10_000,
        max_proposals: int = 10_000_000,
    ) -> None:
        if not 0 < quantile <= 1:
            raise ValueError(
                f"quantile must be in (0, 1], got {quantile!r}: 1 takes the largest ratio seen"
            )
        self.log_ratio, self.latent_dim, self.quantile = log_ratio, latent_dim, quantile
        self.n_fit, self.max_proposals = n_fit, max_proposals
        self.acceptance = float("nan")

    @classmethod
    def for_adversary(cls, model: nn.Module, **kwargs) -> RatioSampler:
        """The sampler for an AAE or DAAE, whose adversary's logit is log P(z)/Q(z) at its
        optimum."""
        if not isinstance(getattr(model, "adversary", None), nn.Module):
            raise TypeError(
                f"the adversary sampler needs an AAE or DAAE (a model with an adversary); "
                f"a {getattr(model, 'kind', type(model).__name__)} has none: use the mixture or "
                "two-stage sampler for it"
            )
        adversary = model.adversary

        @torch.no_grad()
        def log_ratio(z: Tensor) -> Tensor:
            with evaluating(adversary):  # dropout off: the ratio must be a function of z
                return -adversary(z.to(model_device(adversary))).cpu()

        return cls(log_ratio, model.latent_dim, **kwargs)

    def fit(
        self, log_cap: float | None = None, generator: torch.Generator | None = None
    ) -> RatioSampler:
        """Set log_M: ``log_cap`` when given, else the ``quantile`` of log_ratio over ``n_fit``
        prior draws."""
        if log_cap is None:
            z = sample_prior(
                self.n_fit, self.latent_dim, generator=generator, device=_device_of(generator)
            )
            log_cap = float(torch.quantile(self.log_ratio(z).double().cpu(), self.quantile))
        self.log_cap, self.fitted = float(log_cap), True
        return self

    def accept_probability(self, z: Tensor) -> Tensor:
        """min(1, exp(log_ratio(z) - log_M)) for each row of z."""
        return (self.log_ratio(z).double().cpu() - self.log_cap).clamp(max=0).exp()

    def _sample(self, n, generator):
        dev, kept, proposed = _device_of(generator), [], 0
        while sum(len(z) for z in kept) < n:
            if proposed >= self.max_proposals:
                raise RuntimeError(
                    f"only {sum(len(z) for z in kept)} of {n} latents accepted in {proposed} "
                    "proposals: the ratio is far below the cap; fit with a lower quantile"
                )
            z = sample_prior(max(n, 256), self.latent_dim, generator=generator, device=dev)
            u = torch.rand(len(z), generator=generator, device=dev, dtype=torch.float64).cpu()
            kept.append(z.cpu()[u < self.accept_probability(z)])
            proposed += len(z)
        self.acceptance = sum(len(z) for z in kept) / proposed
        return torch.cat(kept)[:n]


def _image_metrics(feats: Tensor, real_feats: Tensor, k: int = 3) -> dict[str, float]:
    precision, recall = metrics.precision_recall(real_feats, feats, k=k)
    return {"fid": metrics.frechet_distance(feats, real_feats),
            "kid": metrics.kid(feats, real_feats)[0],  # (estimate, standard error)
            "precision": precision, "recall": recall}


def compare(
    model: nn.Module,
    samplers: Mapping[str, Sampler],
    fit_data: Mapping[str, tuple],
    extractor,
    real: Tensor,
    train_images: Tensor,
    q_latents: Tensor,
    n: int,
    seed: int = 0,
    copying_train: Tensor | None = None,
    copying_cells: int = 10,
) -> pd.DataFrame:
    """Fit (timed), draw ``n`` latents from each sampler (timed), decode them and measure them.

    Args:
        model: the trained autoencoder whose decoder turns the latents into images.
        samplers: name -> sampler, fitted or not.
        fit_data: name -> the arguments of that sampler's ``fit`` (samplers not named need no fit).
        extractor: the feature network (:func:`genae.features.feature_extractor`).
        real: held-out images, the reference for FID, KID, precision and recall.
        train_images: the training split, for each sample's distance to its nearest training image.
        q_latents: draws of Q(Z) for the MMD (:func:`genae.chainstats.aggregate_posterior` of
            ``real``).
        n: samples per sampler.
        seed: seeds every sampler's generator (each starts from the same state).
        copying_train: training encodings; given, rows gain ``copying_ct``: C_T of the latents
            (:func:`genae.metrics.data_copying_ct`, ``q_latents`` held out, ``copying_cells``
            cells); well below 0, the sampler copies training encodings.

    Returns:
        One row per sampler: ``sampler``, ``fid``, ``kid``, ``precision``, ``recall``, ``mmd_q``,
        ``nearest`` (mean RMS distance to the nearest training image), ``fit_s``, ``s_per_1000`` and
        ``acceptance`` (the rejection sampler's; NaN for the others) [, ``copying_ct``].
    """
    real_feats = extractor.features(real)
    bandwidth = metrics.median_bandwidth(
        q_latents,
        sample_prior(len(q_latents), q_latents.shape[1], torch.Generator().manual_seed(seed)),
    )
    rows, fit_times = [], {}
    for name, sampler in samplers.items():
        started = time.perf_counter()
        if name in fit_data:
            sampler.fit(*fit_data[name])
        fit_times[id(sampler)] = time.perf_counter() - started
        # a chain started from a fitted sampler costs that sampler's fit too
        fit_s = fit_times[id(sampler)] + fit_times.get(id(getattr(sampler, "start", None)), 0.0)
        g = torch.Generator(device=model_device(model)).manual_seed(seed)
        started = time.perf_counter()
        z = sampler.sample(n, g)
        draw_s = time.perf_counter() - started
        images = decode_latents(model, z)
        rows.append({"sampler": name, **_image_metrics(extractor.features(images), real_feats),
                     "mmd_q": metrics.mmd(z, q_latents, bandwidth),
                     "nearest": float(nearest_distance(images, train_images).mean()),
                     "fit_s": fit_s, "s_per_1000": draw_s * 1000 / n,
                     "acceptance": getattr(sampler, "acceptance", float("nan")),
                     **_copying(z, q_latents, copying_train, copying_cells, seed)})
    return pd.DataFrame(rows)


def _copying(z: Tensor, q_latents: Tensor, train_codes: Tensor | None, cells: int,
             seed: int) -> dict[str, float]:
    """``{"copying_ct": C_T}`` of ``z`` given training encodings, else nothing."""
    if train_codes is None:
        return {}
    return {"copying_ct": metrics.data_copying_ct(train_codes, q_latents, z, n_cells=cells,
                                                  seed=seed)["ct"]}


def standard_samplers(model: nn.Module, steps: int = 10, seed: int = 0) -> dict[str, Sampler]:
    """The chapter's samplers for one model; the adversary's only for an AAE or DAAE."""
    mixture = MixtureSampler(seed=seed)
    samplers: dict[str, Sampler] = {
        "prior": PriorSampler(model.latent_dim),
        "chain": ChainSampler(model, steps),
        "Q(Z)": PosteriorSampler(model),
        "mixture": mixture,
        "two-stage VAE": TwoStageSampler(seed=seed),
        "mixture + chain": ChainSampler(model, steps, start=mixture),
    }
    if isinstance(getattr(model, "adversary", None), nn.Module):
        samplers["adversary"] = RatioSampler.for_adversary(model)
    return samplers


def standard_fit_data(samplers: Mapping[str, Sampler], train_images: Tensor, train_codes: Tensor,
                      seed: int = 0) -> dict[str, tuple]:
    """The ``fit`` arguments of :func:`standard_samplers`' samplers, for :func:`compare`."""
    data = {"Q(Z)": (train_images,), "mixture": (train_codes,), "two-stage VAE": (train_codes,),
            "adversary": (None, torch.Generator().manual_seed(seed))}
    return {k: v for k, v in data.items() if k in samplers}


__all__ = [
    "NotFittedError",
    "Sampler",
    "PriorSampler",
    "ChainSampler",
    "PosteriorSampler",
    "MixtureSampler",
    "SecondStageVAE",
    "TwoStageSampler",
    "RatioSampler",
    "compare",
    "standard_samplers",
    "standard_fit_data",
]
