"""The chain as Eq. 1 writes it (decode="sample"), the Torch7 loop (run_fixed_input), and chunking."""

import numpy as np
import pytest
import torch
from conftest import tiny

from genae.gaussians import Gaussian, moment_z_scores
from genae.linear import LinearGaussianAE, chain_marginals, exact_posterior, fit_ppca, step
from genae.mcmc import chain_step, decoder_draw, run_chain, run_fixed_input

pytestmark = pytest.mark.usefixtures("one_thread")


def test_bernoulli_draws_have_the_decoders_means():
    model = tiny("vae").eval()
    with torch.no_grad():
        mean = model.decode(torch.randn(2, 4, generator=torch.Generator().manual_seed(0)))
    n = 4000
    draws = decoder_draw(model, mean.repeat(n, 1, 1, 1), torch.Generator().manual_seed(1))
    assert set(draws.unique().tolist()) <= {0.0, 1.0}
    freq = draws.view(n, *mean.shape).mean(0)
    se = (mean * (1 - mean) / n).sqrt().clamp_min(1e-6)
    assert ((freq - mean).abs() / se).max() < 5.5  # 2 x 256 pixels: 5.5 SE leaves room for the largest of 512
    wrong = (freq - mean.round()).abs() / se  # thresholding instead of drawing would be caught
    assert wrong.max() > 10


def test_sample_chain_feeds_binary_images_to_the_encoder():
    model = tiny("dvae").eval()
    seen = []
    encode = model.encode
    model.encode = lambda x, **kw: (seen.append(x), encode(x, **kw))[1]
    z = torch.randn(3, 4)
    chain_step(model, z, sample=False, decode="sample", generator=torch.Generator().manual_seed(0))
    assert set(seen[-1].unique().tolist()) <= {0.0, 1.0}
    chain_step(model, z, sample=False, decode="mean")
    assert not set(seen[-1].unique().tolist()) <= {0.0, 1.0}


def _linear(denoise_std=0.0):
    rng = np.random.default_rng(0)
    basis = np.linalg.qr(rng.normal(size=(5, 5)))[0]
    data = Gaussian(rng.normal(size=5), basis @ np.diag([4.0, 2.0, 1.0, 0.4, 0.3]) @ basis.T)
    W, b, s = fit_ppca(data, 2)
    A, c, S = exact_posterior(W, b, s)
    return LinearGaussianAE(W, b, 0.8 * A, 0.8 * c + 0.2, 0.5 * S, decoder_std=s, denoise_std=denoise_std)


@pytest.mark.parametrize("decode", ["mean", "sample"])
def test_fixed_input_step_m_is_one_step_for_every_m(decode):
    model = _linear(denoise_std=0.3)
    start = Gaussian(np.array([2.0, -1.5]), 0.2 * np.eye(2))
    z0 = start.sample(20_000, generator=torch.Generator().manual_seed(2))
    fixed = run_fixed_input(model, z0, 5, generator=torch.Generator().manual_seed(3), decode=decode)
    one_step = step(model, start, decode=decode)
    for m in (1, 2, 5):
        z_mean, z_cov = moment_z_scores(fixed[m], one_step)
        assert max(z_mean.max(), z_cov.max()) < 5, (decode, m)
    # the chain's step 5 is somewhere else, and the test can tell
    z_mean, _ = moment_z_scores(fixed[5], chain_marginals(model, start, 5, decode=decode)[5])
    assert z_mean.max() > 20


def test_fixed_input_vae_has_the_mean_of_step_one():
    model = tiny("vae").eval()
    z0 = torch.randn(1, 4, generator=torch.Generator().manual_seed(0)).repeat(3000, 1)
    fixed = run_fixed_input(model, z0, 4, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        mu = model.encode(model.decode(z0[:1]), sample=False)[0]
    spread = fixed[1].std(0) / len(z0) ** 0.5
    for m in (1, 2, 4):
        assert ((fixed[m].mean(0) - mu).abs() / spread).max() < 5
    assert not torch.equal(fixed[1], fixed[2])  # fresh encoder noise at every step


def test_chunks_give_the_same_chain():
    model = tiny("daae").eval()
    z0 = torch.randn(10, 4, generator=torch.Generator().manual_seed(0))
    whole = run_chain(model, z0, 3, sample=False, chunk_size=10)
    assert torch.allclose(run_chain(model, z0, 3, sample=False, chunk_size=3), whole, atol=1e-6)
    assert run_chain(model, z0, 3, chunk_size=4, generator=torch.Generator().manual_seed(0)).shape == (4, 10, 4)


def test_bad_decode_and_chunk_size():
    model, z0 = tiny(), torch.randn(2, 4)
    with pytest.raises(ValueError, match="unknown decode"):
        run_chain(model, z0, 1, decode="bernoulli")
    with pytest.raises(ValueError, match="chunk_size"):
        run_fixed_input(model, z0, 1, chunk_size=0)
