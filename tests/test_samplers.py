"""genae.samplers: shapes, seeding, clear errors, and recoveries of known distributions.

Tolerances come from the Monte-Carlo standard error of what is compared: a sample
mean of n draws from a distribution with standard deviation s is within 4 s / sqrt(n)
of the truth except with probability about 6e-5; a fitted estimate adds its own
error of the same form for its n_fit training points.
"""

from __future__ import annotations

import math

import pandas as pd
import pytest
import torch

from genae.models import make_model
from genae.samplers import (
    ChainSampler,
    MixtureSampler,
    NotFittedError,
    PosteriorSampler,
    PriorSampler,
    RatioSampler,
    TwoStageSampler,
    compare,
    standard_fit_data,
    standard_samplers,
)

LATENT = 4


@pytest.fixture(scope="module")
def models():
    torch.manual_seed(0)
    return {kind: make_model(kind, image_size=16, channels=1, latent_dim=LATENT, width=8).eval()
            for kind in ("vae", "daae")}


@pytest.fixture(scope="module")
def images():
    return torch.rand(40, 1, 16, 16, generator=torch.Generator().manual_seed(1))


@pytest.fixture(scope="module")
def codes():
    return torch.randn(300, LATENT, generator=torch.Generator().manual_seed(2)) * 0.5 + 1


def fitted_samplers(models, images, codes):
    daae = models["daae"]
    return {
        "prior": PriorSampler(LATENT),
        "chain": ChainSampler(daae, steps=2),
        "Q(Z)": PosteriorSampler(daae).fit(images),
        "mixture": MixtureSampler(n_components=2).fit(codes),
        "two-stage": TwoStageSampler(hidden=16, epochs=2).fit(codes),
        "mixture + chain": ChainSampler(daae, steps=2, start=MixtureSampler(n_components=2).fit(codes)),
        "adversary": RatioSampler.for_adversary(daae, n_fit=500).fit(generator=torch.Generator().manual_seed(0)),
    }


def test_every_sampler_has_the_shape_and_is_seeded(models, images, codes):
    for name, sampler in fitted_samplers(models, images, codes).items():
        a = sampler.sample(7, torch.Generator().manual_seed(3))
        b = sampler.sample(7, torch.Generator().manual_seed(3))
        c = sampler.sample(7, torch.Generator().manual_seed(4))
        assert a.shape == (7, LATENT) and a.dtype == torch.float32 and a.device.type == "cpu", name
        assert torch.equal(a, b), f"{name}: the same generator state gave different samples"
        assert not torch.equal(a, c), f"{name}: another seed gave the same samples"


@pytest.mark.parametrize("make", [
    lambda m: PosteriorSampler(m),
    lambda m: MixtureSampler(n_components=2),
    lambda m: TwoStageSampler(hidden=8, epochs=1),
    lambda m: RatioSampler.for_adversary(m),
], ids=["Q(Z)", "mixture", "two-stage", "adversary"])
def test_sampling_before_fitting_says_fit_first(models, make):
    with pytest.raises(NotFittedError, match=r"call \.fit"):
        make(models["daae"]).sample(3)


def test_adversary_sampler_refuses_a_vae(models):
    with pytest.raises(TypeError, match="needs an AAE or DAAE.*vae has none"):
        RatioSampler.for_adversary(models["vae"])


def test_bad_inputs_are_named(models, images):
    with pytest.raises(ValueError, match="codes must be a tensor"):
        MixtureSampler().fit(torch.zeros(5))
    with pytest.raises(ValueError, match="cannot fit 10 components"):
        MixtureSampler().fit(torch.zeros(5, 2))
    with pytest.raises(ValueError, match="training images"):
        PosteriorSampler(models["vae"]).fit(torch.zeros(5, LATENT))
    with pytest.raises(ValueError, match="n must be"):
        PriorSampler(LATENT).sample(-1)
    with pytest.raises(ValueError, match="quantile"):
        RatioSampler(lambda z: z[:, 0], 2, quantile=0)


def test_posterior_sampler_draws_the_encodings_of_its_images(models, images):
    sampler = PosteriorSampler(models["vae"]).fit(images)
    z = sampler.sample(5, torch.Generator().manual_seed(0))
    mean_codes = models["vae"].encode(images[sampler.last_indices], sample=False)
    # VAE encoder noise has the scale exp(log sigma): the draws are near, not at, the means
    assert (z - mean_codes).abs().max() < 10


def mixture_moments(weights, means, covs):
    mean = (weights[:, None] * means).sum(0)
    second = sum(w * (c + torch.outer(m, m)) for w, m, c in zip(weights, means, covs))
    return mean, second - torch.outer(mean, mean)


def test_mixture_sampler_recovers_a_known_mixture():
    g = torch.Generator().manual_seed(5)
    weights = torch.tensor([0.5, 0.3, 0.2], dtype=torch.float64)
    means = torch.tensor([[0.0, 0.0], [4.0, 1.0], [-3.0, 3.0]], dtype=torch.float64)
    covs = torch.stack([torch.tensor([[1.0, 0.5], [0.5, 1.0]]), torch.tensor([[0.5, 0.0], [0.0, 2.0]]),
                        torch.tensor([[1.0, -0.3], [-0.3, 0.4]])]).double()
    n_fit, n = 20_000, 20_000
    k = torch.multinomial(weights, n_fit, replacement=True, generator=g)
    data = means[k] + (torch.linalg.cholesky(covs)[k] @ torch.randn(n_fit, 2, 1, generator=g, dtype=torch.float64)
                       ).squeeze(-1)
    z = MixtureSampler(n_components=3).fit(data).sample(n, torch.Generator().manual_seed(6)).double()
    mean, cov = mixture_moments(weights, means, covs)
    se = math.sqrt(1 / n_fit + 1 / n)
    assert torch.allclose(z.mean(0), mean, atol=4 * se * cov.diagonal().sqrt().max().item())
    # the standard error of a sample covariance entry is at most about sqrt(2) * variance / sqrt(n)
    # for a Gaussian; a mixture has heavier tails, so allow twice that
    assert torch.allclose(torch.cov(z.T), cov, atol=8 * math.sqrt(2) * se * cov.diagonal().max().item())


def test_rejection_with_an_exact_ratio_samples_the_target():
    # proposal P = N(0, I), target Q = N(m, s^2 I) with s < 1, so Q/P is bounded and the cap is exact
    d, m, s = 2, 0.5, 0.7
    def log_ratio(z):
        return -d * math.log(s) - (z - m).square().sum(1) / (2 * s**2) + z.square().sum(1) / 2

    z_star = torch.full((1, d), m / (1 - s**2))  # where log Q/P is largest
    sampler = RatioSampler(log_ratio, d).fit(log_cap=float(log_ratio(z_star)))
    n = 20_000
    z = sampler.sample(n, torch.Generator().manual_seed(7)).double()
    se = s / math.sqrt(n)
    assert torch.allclose(z.mean(0), torch.full((d,), m, dtype=torch.float64), atol=4 * se)
    assert torch.allclose(z.std(0), torch.full((d,), s, dtype=torch.float64), atol=4 * s / math.sqrt(2 * n))
    # the acceptance rate of exact rejection sampling is 1 / M
    assert sampler.acceptance == pytest.approx(math.exp(-float(log_ratio(z_star))), abs=0.02)


def test_capped_rejection_accepts_more_and_stays_near_the_target():
    d, m, s = 2, 0.5, 0.7
    def log_ratio(z):
        return -d * math.log(s) - (z - m).square().sum(1) / (2 * s**2) + z.square().sum(1) / 2

    exact = RatioSampler(log_ratio, d).fit(log_cap=float(log_ratio(torch.full((1, d), m / (1 - s**2)))))
    capped = RatioSampler(log_ratio, d, quantile=0.9, n_fit=20_000).fit(generator=torch.Generator().manual_seed(0))
    z_exact, z_capped = (x.sample(5000, torch.Generator().manual_seed(8)) for x in (exact, capped))
    assert capped.acceptance > exact.acceptance
    assert (z_capped.mean(0) - m).abs().max() < 0.25  # pulled towards P's mean 0, not far
    assert z_capped.mean(0).norm() < z_exact.mean(0).norm() + 0.05


def test_two_stage_vae_reproduces_the_covariance_of_gaussian_codes():
    g = torch.Generator().manual_seed(9)
    a = torch.tensor([[1.0, 0.0, 0.0], [0.8, 0.6, 0.0], [-0.5, 0.3, 0.4]])
    cov = a @ a.T * 4
    codes = torch.randn(2000, 3, generator=g) @ (2 * a).T + torch.tensor([1.0, -2.0, 0.5])
    sampler = TwoStageSampler(hidden=64, epochs=60, seed=0).fit(codes)
    z = sampler.sample(5000, torch.Generator().manual_seed(10))
    # the sampling error of the covariance is about sqrt(2/n) ~ 3% of it; the fit is rougher
    error = (torch.cov(z.T) - cov).norm() / cov.norm()
    assert error < 0.2, f"two-stage covariance off by {error:.0%}"
    assert (z.mean(0) - torch.tensor([1.0, -2.0, 0.5])).abs().max() < 0.3
    assert len(sampler.history) == 60 and "reconstruction" in sampler.history[-1]


class PixelFeatures:
    """A stand-in feature network: 8 pixel means."""

    def features(self, images):
        return images.flatten(1).unflatten(1, (8, -1)).mean(2).double()

    def confidence(self, images):
        return None


def test_compare_measures_every_standard_sampler(models, images):
    model = models["daae"]
    samplers = standard_samplers(model, steps=1)
    samplers["two-stage VAE"].epochs = 2
    codes = torch.randn(60, LATENT, generator=torch.Generator().manual_seed(0))
    table = compare(model, samplers, standard_fit_data(samplers, images, codes), PixelFeatures(), images[:20],
                    images, codes[:30], n=20)
    assert isinstance(table, pd.DataFrame)
    assert list(table.sampler) == list(samplers)
    assert {"fid", "kid", "precision", "recall", "mmd_q", "nearest", "fit_s", "s_per_1000"} <= set(table)
    assert table.loc[table.sampler == "adversary", "acceptance"].between(0, 1).all()
    mixture_fit = table.set_index("sampler").fit_s
    assert mixture_fit["mixture + chain"] >= mixture_fit["mixture"]
    assert "adversary" not in standard_samplers(models["vae"])


def test_the_pythae_crosscheck_feeds_pythae_the_same_codes():
    pytest.importorskip("pythae", reason="pythae is installed only for the benchmarks")
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
    from sampler_crosscheck import pythae_mixture

    g = torch.Generator().manual_seed(11)
    codes = torch.cat([torch.randn(300, 3, generator=g) - 4, torch.randn(300, 3, generator=g) + 4])
    z, gmm = pythae_mixture(codes, 2000, seed=0)
    assert z.shape == (2000, 3)
    ours = MixtureSampler(seed=0).fit(codes)
    # both mixtures were fitted on exactly these codes: they explain them equally well
    assert gmm.score(codes.double().numpy()) == pytest.approx(ours.gmm.score(codes.double().numpy()), abs=0.1)
    # and pythae's draws have the codes' moments (sd about 4 along each axis: a generous 4 standard errors)
    assert (z.mean(0) - codes.mean(0)).abs().max() < 4 * 4.2 / 2000 ** 0.5
    assert (z.std(0) - codes.std(0)).abs().max() < 0.3


def test_compare_adds_the_data_copying_statistic(models, images):
    from genae.samplers import Sampler

    class Copier(Sampler):  # training encodings with a little noise: a sampler that memorises
        name = "copier"

        def __init__(self, codes):
            self.codes = codes

        def _sample(self, n, generator):
            return self.codes[:n] + 1e-3 * torch.randn(n, LATENT, generator=generator)

    g = torch.Generator().manual_seed(5)
    train_codes, q = torch.randn(400, LATENT, generator=g), torch.randn(200, LATENT, generator=g)
    samplers = {"prior": PriorSampler(LATENT), "copier": Copier(train_codes)}
    table = compare(models["vae"], samplers, {}, PixelFeatures(), images[:20], images, q, n=200,
                    copying_train=train_codes, copying_cells=4).set_index("sampler")
    assert table.loc["copier", "copying_ct"] < -5 and abs(table.loc["prior", "copying_ct"]) < 3
    assert "copying_ct" not in compare(models["vae"], samplers, {}, PixelFeatures(), images[:20], images, q, n=20)
