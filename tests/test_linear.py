"""The chain of section 3 on a linear-Gaussian autoencoder, against its closed forms (genae.linear)."""

import numpy as np
import pytest
import scipy.linalg
import torch
from scipy.stats import multivariate_normal as mvn
from sklearn.decomposition import PCA

from genae.gaussians import Gaussian, kl, moment_z_scores, w2
from genae.linear import (
    LinearGaussianAE,
    aggregate_posterior,
    chain_marginals,
    decoded,
    exact_posterior,
    fit_ppca,
    spectral_radius,
    stationary,
    transition,
)
from genae.mcmc import run_chain

N_CHAINS = 20_000
# Tolerance from the Monte-Carlo standard error, not by eye: moment_z_scores divides each error in the
# sample mean and covariance by its standard error under the closed form (sqrt(C_ii / n) for a mean,
# sqrt((C_ii C_jj + C_ij^2) / n) for a covariance entry). z_t is exactly Gaussian, so each z is about
# N(0, 1); a bound of 5 per entry over the 3 x 3 x 9 = 81 entries checked here fails by chance with
# probability below 1e-4, and the fixed generators make the outcome the same on every run anyway.
Z_BOUND = 5.0
STEPS = (1, 5, 50)


def random_data(dim=6, seed=0):
    """Gaussian data P(x) with an uneven spectrum, so a 3-D pPCA fit is not exact."""
    rng = np.random.default_rng(seed)
    basis = np.linalg.qr(rng.normal(size=(dim, dim)))[0]
    return Gaussian(rng.normal(size=dim), basis @ np.diag(np.linspace(4.0, 0.3, dim)) @ basis.T)


def shrunk_model(decoder_std=None, denoise_std=0.0):
    """pPCA's decoder with an encoder shrunk towards the prior and rotated, so M = AW is not symmetric."""
    W, b, s = fit_ppca(random_data(), 3)
    A, c, S = exact_posterior(W, b, s)
    R = scipy.linalg.expm(0.4 * np.array([[0, 1, 0], [-1, 0, 1], [0, -1, 0]]))
    return LinearGaussianAE(W, b, 0.8 * R @ A, 0.8 * R @ c + 0.3, 0.5 * S,
                            decoder_std=s if decoder_std is None else decoder_std, denoise_std=denoise_std)


CHAINS = {  # name -> (model, decode): every run of run_chain(sample=True) below is one of these chains
    "eq1": lambda: (shrunk_model(), "sample"),                   # sample the decoder, no corruption
    "eq2": lambda: (shrunk_model(denoise_std=0.5), "sample"),    # sample the decoder, then corrupt
    "mean": lambda: (shrunk_model(), "mean"),                    # decode to the mean, as the authors' code does
    "s0": lambda: (shrunk_model(decoder_std=0.0), "sample"),     # a decoder without noise: the s = 0 forms
}
START = Gaussian(np.array([2.0, -1.5, 1.0]), 0.3 * np.eye(3))  # far from stationarity, so t = 1, 5, 50 differ


def simulate(model, decode, seed=0):
    g = torch.Generator().manual_seed(seed)
    return run_chain(model, START.sample(N_CHAINS, generator=g), max(STEPS), generator=g, decode=decode)


def max_z(samples, expected):
    z_mean, z_cov = moment_z_scores(samples, expected)
    return max(z_mean.max(), z_cov.max())


@pytest.fixture(scope="module")
def trajectories():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # (20000, 3) x (3, 6) products: threads only add overhead, ten-fold on a busy CPU
    try:
        return {name: (*make(), simulate(*make())) for name, make in CHAINS.items()}
    finally:
        torch.set_num_threads(threads)


@pytest.mark.parametrize("name", CHAINS)
@pytest.mark.parametrize("t", STEPS)
def test_run_chain_matches_closed_form(trajectories, name, t):
    model, decode, trajectory = trajectories[name]
    expected = chain_marginals(model, START, t, decode=decode)[t]
    z_mean, z_cov = moment_z_scores(trajectory[t], expected)
    assert z_mean.max() < Z_BOUND, f"{name}, step {t}: mean off by {z_mean.max():.1f} standard errors"
    assert z_cov.max() < Z_BOUND, f"{name}, step {t}: covariance off by {z_cov.max():.1f} standard errors"


def test_the_comparison_can_fail(trajectories):
    # The same test rejects closed forms with a plausible bug: M transposed, or the decoder's
    # noise s^2 A A^T left out of Eq. 1 (the mean-decoding formula used for the sampling chain).
    model, _, trajectory = trajectories["eq1"]
    M, m, Q = transition(model, decode="sample")
    assert not np.allclose(M, M.T)
    wrong_mean = M.T @ START.mean + m
    wrong = Gaussian(wrong_mean, M.T @ START.cov @ M + Q)
    assert max_z(trajectory[1], wrong) > 10 * Z_BOUND
    without_decoder_noise = chain_marginals(model, START, 50, decode="mean")[50]
    assert max_z(trajectory[50], without_decoder_noise) > 4 * Z_BOUND
    # and the three chains really are different chains, each told apart from the others at step 50
    distinct = ("eq1", "eq2", "mean")
    for a in distinct:
        for b in distinct:
            if a != b:
                model_b, decode_b, _ = trajectories[b]
                assert max_z(trajectories[a][2][50], stationary(model_b, decode=decode_b)) > Z_BOUND, (a, b)


def test_mean_decoding_is_the_noiseless_decoder():
    # decode="mean" on a model with decoder noise s is the s = 0 model sampled, in closed form
    for fn in (transition, stationary):
        a, b = fn(shrunk_model(), decode="mean"), fn(shrunk_model(decoder_std=0.0), decode="sample")
        for x, y in zip(a if isinstance(a, tuple) else (a.mean, a.cov), b if isinstance(b, tuple) else (b.mean, b.cov)):
            np.testing.assert_allclose(x, y, atol=1e-12)


def test_deterministic_chain_is_exact():
    model = shrunk_model()
    z0 = START.sample(50, generator=torch.Generator().manual_seed(1))
    trajectory = run_chain(model, z0, 20, sample=False).numpy()
    M, m, Q = transition(model, sample=False, decode="mean")
    assert not Q.any()
    z = z0.numpy()
    for t in range(1, 21):
        z = z @ M.T + m
        np.testing.assert_allclose(trajectory[t], z, atol=1e-12)


def test_sample_x_draws_the_decoder_and_corrupt_the_corruption():
    x = torch.zeros(20_000, 6, dtype=torch.float64)
    model = shrunk_model(decoder_std=0.6, denoise_std=0.8)
    for draw, var in ((model.sample_x, 0.36), (model.corrupt, 0.64)):
        noise = draw(x, generator=torch.Generator().manual_seed(0))
        # the sample variance over 120,000 draws has standard error var * sqrt(2 / 120,000)
        assert abs(noise.var().item() - var) < 5 * var * np.sqrt(2 / noise.numel())
    assert torch.equal(shrunk_model(decoder_std=0.0).sample_x(x), x)
    assert torch.equal(shrunk_model(denoise_std=0.0).corrupt(x), x)


def test_stationary_covariance_solves_lyapunov():
    for make in CHAINS.values():
        model, decode = make()
        M, m, Q = transition(model, decode=decode)
        pi = stationary(model, decode=decode)
        np.testing.assert_allclose(M @ pi.cov @ M.T + Q, pi.cov, atol=1e-12)
        np.testing.assert_allclose(M @ pi.mean + m, pi.mean, atol=1e-12)
        # and it is where the closed-form marginals go from any start
        far = chain_marginals(model, START, 400, decode=decode)[-1]
        np.testing.assert_allclose(far.cov, pi.cov, atol=1e-10)
        np.testing.assert_allclose(far.mean, pi.mean, atol=1e-10)


@pytest.mark.parametrize("denoise_std", [0.0, 0.5])
def test_ppca_on_its_own_marginal_leaves_everything_in_place(denoise_std):
    # The exact posterior and the model's own marginal as P(x): the chain is a Gibbs sampler on the
    # model's joint, whose z-marginal is P(Z); Q(Z) is that marginal too. All three agree to rounding.
    W, b, s = fit_ppca(random_data(), 3)
    model = LinearGaussianAE.from_decoder(W, b, s)
    own = decoded(model, Gaussian.standard(3))
    prior = Gaussian.standard(3)
    for dist in (aggregate_posterior(model, own), stationary(model, decode="sample")):
        np.testing.assert_allclose(dist.mean, prior.mean, atol=1e-12)
        np.testing.assert_allclose(dist.cov, prior.cov, atol=1e-12)
    assert w2(stationary(model, decode="sample"), prior) < 1e-6
    assert abs(kl(aggregate_posterior(model, own), prior)) < 1e-12
    # sufficient condition of the notebook's proposition: decoding Q(Z) gives back P(x)
    back = decoded(model, aggregate_posterior(model, own))
    np.testing.assert_allclose(back.cov, own.cov, atol=1e-12)


def test_ml_ppca_aggregate_posterior_is_the_prior_for_any_data():
    data = random_data(seed=3)
    W, b, s = fit_ppca(data, 2)
    model = LinearGaussianAE.from_decoder(W, b, s)
    q = aggregate_posterior(model, data, corrupted=False)
    np.testing.assert_allclose(q.cov, np.eye(2), atol=1e-12)
    np.testing.assert_allclose(q.mean, 0, atol=1e-12)
    assert np.abs(decoded(model, q).cov - data.cov).max() > 0.1  # though the model's marginal is not P(x)


def test_wrong_noise_decoder_with_exact_posterior_goes_to_the_prior_not_q():
    data = random_data()
    W, b, s = fit_ppca(data, 3)
    model = LinearGaussianAE.from_decoder(W, b, np.sqrt(3) * s)
    pi, q = stationary(model, decode="sample"), aggregate_posterior(model, data)
    assert w2(pi, Gaussian.standard(3)) < 1e-6
    assert kl(q, pi) > 1e-3 and w2(q, pi) > 1e-2


def test_fit_ppca_matches_scikit_learn():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(500, 6)) @ rng.normal(size=(6, 6))
    W, b, s = fit_ppca(x, 3)
    pca = PCA(3).fit(x)
    n = len(x)  # scikit-learn uses the 1/(n - 1) covariance, the ML fit 1/n
    assert s ** 2 == pytest.approx(pca.noise_variance_ * (n - 1) / n, rel=1e-10)
    np.testing.assert_allclose(W @ W.T + s ** 2 * np.eye(6), pca.get_covariance() * (n - 1) / n, atol=1e-10)
    np.testing.assert_allclose(b, x.mean(0))


def test_distances_in_known_cases():
    p, q = Gaussian([0.0], [[1.0]]), Gaussian([1.0], [[4.0]])
    assert kl(p, q) == pytest.approx(0.5 * (1 / 4 + 1 / 4 - 1 + np.log(4)))
    assert w2(p, q) == pytest.approx(np.sqrt(1 + (1 - 2) ** 2))
    a, b = Gaussian([0, 0], np.diag([1.0, 9.0])), Gaussian([3, 4], np.diag([4.0, 1.0]))
    assert w2(a, b) == pytest.approx(np.sqrt(25 + 1 + 4))
    point = Gaussian([0, 0], np.zeros((2, 2)))
    assert w2(point, a) == pytest.approx(np.sqrt(10))
    assert kl(point, a) == np.inf
    assert kl(a, a) == 0 and w2(a, a) < 1e-7
    # a rotated, correlated pair against a Monte-Carlo estimate of KL
    c = Gaussian([0.5, -0.2], [[2.0, 0.9], [0.9, 1.0]])
    x = c.sample(200_000, generator=torch.Generator().manual_seed(0)).numpy()
    estimate = np.mean(mvn(c.mean, c.cov).logpdf(x) - mvn(a.mean, a.cov).logpdf(x))
    assert kl(c, a) == pytest.approx(estimate, abs=0.01)


def test_non_stationary_chain_raises():
    model = shrunk_model()
    big = model.replace(A=2.0 * model.A.numpy())
    assert spectral_radius(transition(big, decode="sample")[0]) >= 1
    with pytest.raises(ValueError, match="no stationary distribution: the spectral radius"):
        stationary(big, decode="sample")


def test_bad_inputs_have_clear_errors():
    W, b, s = fit_ppca(random_data(), 3)
    A, c, S = exact_posterior(W, b, s)
    with pytest.raises(ValueError, match=r"A must have shape \(3, 6\)"):
        LinearGaussianAE(W, b, A.T, c, S)
    with pytest.raises(ValueError, match="decoder_std must be a finite number >= 0"):
        LinearGaussianAE(W, b, A, c, S, decoder_std=-1)
    with pytest.raises(ValueError, match="positive semi-definite"):
        LinearGaussianAE(W, b, A, c, -S)
    model = LinearGaussianAE(W, b, A, c, S)
    with pytest.raises(ValueError, match="model is torch.float64"):
        model.encode(torch.zeros(2, 6))
    with pytest.raises(ValueError, match=r"shape \(N, 6\)"):
        model.encode(torch.zeros(2, 5, dtype=torch.float64))
    with pytest.raises(ValueError, match="3-D latent space"):
        chain_marginals(model, Gaussian.standard(2), 3, decode="sample")
    with pytest.raises(ValueError, match="6-D data space"):
        aggregate_posterior(model, Gaussian.standard(3))
    with pytest.raises(ValueError, match="latent_dim must be a whole number from 1 to 5"):
        fit_ppca(random_data(), 6)
    with pytest.raises(ValueError, match="s must be a finite number > 0"):
        exact_posterior(W, b, 0.0)
    with pytest.raises(ValueError, match=r"covariance must have shape \(2, 2\)"):
        Gaussian([0, 0], np.eye(3))
    with pytest.raises(ValueError, match="symmetric"):
        Gaussian([0, 0], [[1, 0.5], [0, 1]])
    with pytest.raises(ValueError, match="different dimensions"):
        w2(Gaussian.standard(2), Gaussian.standard(3))
    with pytest.raises(ValueError, match="singular"):
        kl(Gaussian.standard(2), Gaussian([0, 0], np.zeros((2, 2))))
    with pytest.raises(ValueError, match="steps must be a whole number"):
        chain_marginals(model, Gaussian.standard(3), -1, decode="sample")


def test_decode_has_no_default():
    # Eq. 1's chain and the authors' mean-decoding chain differ; a caller must say which it means
    model = shrunk_model()
    for call in (lambda: transition(model), lambda: stationary(model),
                 lambda: chain_marginals(model, START, 2)):
        with pytest.raises(TypeError, match="decode"):
            call()


def test_exact_posterior_sampled_chain_reaches_the_prior():
    # Chapter 03's proposition: decoder and exact posterior, decoder sampled -> stationary N(0, I).
    # Decoding to the mean instead is another chain, with another stationary distribution.
    W, b, s = fit_ppca(random_data(), 3)
    model = LinearGaussianAE.from_decoder(W, b, s)
    prior = Gaussian.standard(3)
    assert w2(stationary(model, decode="sample"), prior) < 1e-6
    assert w2(chain_marginals(model, START, 200, decode="sample")[-1], prior) < 1e-6
    assert w2(stationary(model, decode="mean"), prior) > 0.1
