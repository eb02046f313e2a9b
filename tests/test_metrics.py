import math

import numpy as np
import pytest
import torch
from scipy import linalg

from genae.metrics import (
    frechet_distance,
    frechet_from_stats,
    gaussian_stats,
    median_bandwidth,
    mmd,
    precision_recall,
)


def gen(seed):
    return torch.Generator().manual_seed(seed)


# --- Fréchet distance -------------------------------------------------------------------------------------------

def test_frechet_closed_form_for_known_gaussians():
    # N(m1, diag(s1)) vs N(m2, diag(s2)): d^2 = |m1 - m2|^2 + sum (sqrt(s1) - sqrt(s2))^2
    mu_a, mu_b = torch.tensor([0.0, 1.0, -2.0]), torch.tensor([1.0, 1.0, 0.0])
    var_a, var_b = torch.tensor([1.0, 4.0, 0.25]), torch.tensor([9.0, 1.0, 0.25])
    exact = (mu_a - mu_b).square().sum() + (var_a.sqrt() - var_b.sqrt()).square().sum()
    got = frechet_from_stats(mu_a, torch.diag(var_a), mu_b, torch.diag(var_b))
    assert got == pytest.approx(float(exact), rel=1e-10)  # 5 + 4 + 1 = 10
    # and from samples: close to the closed form for large N
    a = mu_a + var_a.sqrt() * torch.randn(50_000, 3, generator=gen(0))
    b = mu_b + var_b.sqrt() * torch.randn(50_000, 3, generator=gen(1))
    assert frechet_distance(a, b) == pytest.approx(float(exact), rel=0.02)


def test_frechet_full_covariances_match_scipy_sqrtm():
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=(500, 6)) @ rng.normal(size=(6, 6)), rng.normal(size=(400, 6)) @ rng.normal(size=(6, 6)) + 1
    mu_a, mu_b = a.mean(0), b.mean(0)
    cov_a, cov_b = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    root = linalg.sqrtm(cov_a @ cov_b).real
    expected = ((mu_a - mu_b) ** 2).sum() + np.trace(cov_a) + np.trace(cov_b) - 2 * np.trace(root)
    assert frechet_distance(a, b) == pytest.approx(expected, rel=1e-8)


def test_frechet_matches_torchmetrics():
    from torchmetrics.image.fid import _compute_fid

    a, b = torch.randn(300, 8, generator=gen(2)), 0.5 + 2 * torch.randn(300, 8, generator=gen(3))
    stats_a, stats_b = gaussian_stats(a), gaussian_stats(b)
    expected = _compute_fid(stats_a[0], stats_a[1], stats_b[0], stats_b[1]).item()
    assert frechet_distance(a, b) == pytest.approx(expected, rel=1e-8)


def test_frechet_is_zero_for_identical_sets_and_symmetric():
    a = torch.randn(100, 5, generator=gen(4))
    assert frechet_distance(a, a) == pytest.approx(0.0, abs=1e-9)
    b = torch.randn(120, 5, generator=gen(5)) + 0.3
    assert frechet_distance(a, b) == pytest.approx(frechet_distance(b, a), rel=1e-9)


def test_frechet_rank_deficient_covariances_stay_finite():
    # fewer samples than features, and a constant feature: both covariances are singular
    a = torch.randn(5, 20, generator=gen(6))
    b = torch.randn(7, 20, generator=gen(7))
    a[:, 3] = 1.0
    d = frechet_distance(a, b)
    assert math.isfinite(d) and d >= 0
    assert frechet_distance(a, a) == pytest.approx(0.0, abs=1e-9)
    flat = torch.ones(10, 4)
    assert frechet_distance(flat, flat + 2) == pytest.approx(16.0)  # only the means differ


# --- MMD --------------------------------------------------------------------------------------------------------

def test_mmd_near_zero_for_one_distribution_and_positive_when_shifted():
    a, b = torch.randn(400, 4, generator=gen(8)), torch.randn(400, 4, generator=gen(9))
    same = mmd(a, b)
    shifted = mmd(a, b + 1.0)
    assert abs(same) < 0.01
    assert shifted > 0.1
    assert mmd(a, b + 0.5) < shifted  # grows with the shift at a fixed bandwidth
    h = median_bandwidth(a, b)
    assert mmd(a, b + 0.5, bandwidth=h) < mmd(a, b + 1.0, bandwidth=h)


def test_mmd_is_unbiased_over_repeats():
    g = gen(10)
    pairs = [(torch.randn(30, 3, generator=g), torch.randn(40, 3, generator=g)) for _ in range(400)]
    values = torch.tensor([mmd(a, b, bandwidth=1.5) for a, b in pairs])
    assert (values < 0).any(), "an unbiased estimate of 0 must sometimes be negative"
    se = values.std().item() / math.sqrt(len(values))
    assert abs(values.mean().item()) < 3 * se
    # the test has the power to see a bias: the biased (V-statistic) estimate, which keeps
    # the diagonal k(x, x) = 1 terms, sits many standard errors above 0 on the same draws
    def biased(a, b):
        k = lambda x, y: torch.exp(-torch.cdist(x, y).square() / (2 * 1.5**2))  # noqa: E731
        return (k(a, a).mean() + k(b, b).mean() - 2 * k(a, b).mean()).item()

    v = torch.tensor([biased(a, b) for a, b in pairs])
    assert v.mean().item() > 10 * v.std().item() / math.sqrt(len(v))


def test_mmd_matches_torchmetrics_for_equal_sizes():
    from torchmetrics.image.kid import maximum_mean_discrepancy

    a, b = torch.randn(50, 6, generator=gen(11)).double(), torch.randn(50, 6, generator=gen(12)).double() + 0.4
    gamma = 1 / (2 * 2.0**2)

    def k(x, y):
        return torch.exp(-gamma * torch.cdist(x, y).square())

    expected = maximum_mean_discrepancy(k(a, a), k(a, b), k(b, b)).item()
    assert mmd(a, b, bandwidth=2.0) == pytest.approx(expected, rel=1e-10)


def test_mmd_median_heuristic_is_the_default():
    a, b = torch.randn(60, 3, generator=gen(13)), torch.randn(70, 3, generator=gen(14)) * 2
    assert mmd(a, b) == mmd(a, b, bandwidth=median_bandwidth(a, b))
    pooled = torch.cat([a, b]).double()
    d = torch.cdist(pooled, pooled)
    assert median_bandwidth(a, b) == pytest.approx(float(d[~torch.eye(130, dtype=torch.bool)].median()))


# --- precision and recall ---------------------------------------------------------------------------------------

def test_precision_recall_identical_sets():
    real = torch.randn(50, 4, generator=gen(15))
    assert precision_recall(real, real.clone()) == (1.0, 1.0)


def test_precision_recall_disjoint_sets():
    real = torch.randn(50, 4, generator=gen(16))
    assert precision_recall(real, real + 100.0) == (0.0, 0.0)


def test_precision_recall_subset():
    # fakes drawn from one cluster of a two-cluster real set: all realistic, half the data covered
    real = torch.cat([torch.randn(40, 2, generator=gen(17)), torch.randn(40, 2, generator=gen(18)) + 50])
    fake = real[:40].clone()
    precision, recall = precision_recall(real, fake, k=3)
    assert precision == 1.0
    assert recall == pytest.approx(0.5)


def test_precision_recall_by_hand():
    # 1-D: real points 0, 1, 2, 3 have 1-NN radius 1; fake points 0.5 (inside) and 10 (outside)
    real = torch.tensor([[0.0], [1.0], [2.0], [3.0]])
    fake = torch.tensor([[0.5], [10.0], [10.5]])
    precision, recall = precision_recall(real, fake, k=1)
    assert precision == pytest.approx(1 / 3)
    # fake radii (1-NN among fakes): 0.5 -> 9.5, 10 -> 0.5, 10.5 -> 0.5; the ball around 0.5 covers 0..3
    assert recall == 1.0


# --- bad input --------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("fn", [frechet_distance, mmd, precision_recall])
def test_mismatched_feature_dims(fn):
    with pytest.raises(ValueError, match="3 features per sample but .* has 4"):
        fn(torch.randn(10, 3), torch.randn(10, 4))


@pytest.mark.parametrize("fn", [frechet_distance, mmd])
def test_too_few_samples(fn):
    with pytest.raises(ValueError, match="has 1 samples; this needs at least 2"):
        fn(torch.randn(1, 3), torch.randn(10, 3))


def test_bad_inputs():
    with pytest.raises(ValueError, match="needs at least 4"):
        precision_recall(torch.randn(3, 2), torch.randn(10, 2), k=3)
    with pytest.raises(ValueError, match="k must be a whole number >= 1"):
        precision_recall(torch.randn(10, 2), torch.randn(10, 2), k=0)
    with pytest.raises(ValueError, match="must be 2-D"):
        mmd(torch.randn(10), torch.randn(10))
    with pytest.raises(ValueError, match="NaN"):
        frechet_distance(torch.full((5, 2), float("nan")), torch.randn(5, 2))
    with pytest.raises(ValueError, match="bandwidth must be a finite number > 0"):
        mmd(torch.randn(5, 2), torch.randn(5, 2), bandwidth=0)
    with pytest.raises(TypeError, match="torch.Tensor or numpy array"):
        mmd([[1.0, 2.0]], torch.randn(5, 2))


def test_median_bandwidth_subsamples_large_sets():
    a, b = torch.randn(3000, 2, generator=gen(20)), torch.randn(3000, 2, generator=gen(21))
    h = median_bandwidth(a, b)
    assert h == median_bandwidth(a, b)  # the subsample is seeded
    assert h == pytest.approx(median_bandwidth(a[:500], b[:500], max_points=10_000), rel=0.05)


def test_kid_matches_torchmetrics_and_is_unbiased():
    from torchmetrics.image.kid import poly_mmd

    from genae.metrics import kid

    g = torch.Generator().manual_seed(0)
    a, b = torch.randn(60, 5, generator=g, dtype=torch.float64), torch.randn(60, 5, generator=g, dtype=torch.float64)
    assert abs(kid(a, b)[0] - float(poly_mmd(a, b + 0.3))) > 1e-3  # the comparison below can fail
    assert kid(a, b + 0.3)[0] == pytest.approx(float(poly_mmd(a, b + 0.3)), rel=1e-9)
    # unbiased for unequal sizes: same distribution scatters around 0; the jackknife SE is the scatter
    values, ses = [], []
    for _ in range(300):
        v, se = kid(torch.randn(30, 4, generator=g), torch.randn(45, 4, generator=g))
        values.append(v)
        ses.append(se)
    values = np.array(values)
    assert abs(values.mean()) < 4 * values.std() / np.sqrt(len(values))
    shifted = [kid(torch.randn(30, 4, generator=g), torch.randn(45, 4, generator=g) + 0.5) for _ in range(300)]
    v, se = np.array(shifted).T
    assert 0.7 < np.mean(se) / v.std() < 1.5
    assert v.mean() > 10 * v.std() / np.sqrt(len(v))


def test_frechet_parts_add_up():
    from genae.metrics import frechet_parts

    g = torch.Generator().manual_seed(0)
    a = torch.randn(500, 3, generator=g)
    b = 2 * torch.randn(500, 3, generator=g) + torch.tensor([1.0, 0.0, 0.0])
    parts = frechet_parts(a, b)
    assert parts["mean"] + parts["cov"] == pytest.approx(frechet_distance(a, b), rel=1e-9)
    assert parts["mean"] == pytest.approx(float((a.double().mean(0) - b.double().mean(0)).square().sum()), rel=1e-9)
    assert frechet_parts(a, a + 5)["cov"] == pytest.approx(0, abs=1e-9)


# ---- two-sample tests with power at 200-D (issue 24) ---------------------------------------------

@pytest.fixture(scope="module")
def spread_200d():
    """N(0, I), N(0, 0.8 I) and a second N(0, I) draw, 500 each in 200-D."""
    g = torch.Generator().manual_seed(0)
    a = torch.randn(500, 200, generator=g)
    return a, torch.randn(500, 200, generator=g) * 0.8**0.5, torch.randn(500, 200, generator=g)


def test_mmd_multiscale_with_one_scale_is_the_median_heuristic_mmd():
    from genae.metrics import mmd_multiscale

    g = torch.Generator().manual_seed(1)
    a, b = torch.randn(40, 5, generator=g), torch.randn(30, 5, generator=g) + 0.3
    assert mmd_multiscale(a, b, scales=(1.0,)) == pytest.approx(mmd(a, b), rel=1e-10)
    assert mmd_multiscale(a, b, scales=(0.5, 2.0), bandwidth=1.5) == pytest.approx(
        mmd(a, b, bandwidth=0.75) + mmd(a, b, bandwidth=3.0), rel=1e-10)
    with pytest.raises(ValueError, match="scales must be"):
        mmd_multiscale(a, b, scales=(1.0, -2.0))


def test_latent_tests_tell_a_narrower_gaussian_at_200d(spread_200d):
    from genae.metrics import classifier_two_sample_test, mmd_permutation_test

    a, narrow, same = spread_200d
    multi = mmd_permutation_test(a, narrow, n_permutations=100)
    single = mmd_permutation_test(a, narrow, scales=(1.0,), n_permutations=100)
    assert multi["p_value"] < 0.01 and multi["z"] > 1.5 * single["z"]  # the added scales add power
    assert mmd_permutation_test(a, same, n_permutations=100)["p_value"] > 0.05
    c2st = classifier_two_sample_test(a, narrow)
    assert c2st["accuracy"] > 0.7 and c2st["p_value"] < 1e-6 and c2st["n_test"] == 500
    assert classifier_two_sample_test(a, same)["p_value"] > 0.05
    # a linear boundary on z alone cannot see a change of spread: why the default is quadratic
    assert classifier_two_sample_test(a, narrow, quadratic=False)["accuracy"] < 0.6


def test_permutation_p_value_is_uniform_under_the_null():
    from genae.metrics import mmd_permutation_test

    ps = []
    for seed in range(40):
        g = torch.Generator().manual_seed(100 + seed)
        ps.append(mmd_permutation_test(torch.randn(20, 3, generator=g), torch.randn(20, 3, generator=g),
                                       n_permutations=99, seed=seed)["p_value"])
    ps = np.array(ps)
    assert 0.3 < ps.mean() < 0.7 and (ps < 0.05).mean() <= 0.15


def test_two_sample_tests_bad_input():
    from genae.metrics import classifier_two_sample_test, mmd_permutation_test

    a = torch.randn(10, 3)
    with pytest.raises(ValueError, match="n_permutations"):
        mmd_permutation_test(a, a, n_permutations=0)
    with pytest.raises(ValueError, match="test_fraction must be below 1"):
        classifier_two_sample_test(a, a, test_fraction=1.0)
    with pytest.raises(ValueError, match="features per sample"):
        classifier_two_sample_test(a, torch.randn(10, 4))


def test_kid_normalised_features():
    from genae.metrics import kid, normalise_features

    g = torch.Generator().manual_seed(0)
    a, b = torch.rand(50, 6, generator=g).double(), torch.rand(60, 6, generator=g).double()
    # l2: rescaling rows changes nothing; standardise: rescaling features by the same factors changes nothing
    rows = torch.rand(50, 1, generator=g).double() + 0.5
    assert kid(a * rows, b, normalise="l2")[0] == pytest.approx(kid(a, b, normalise="l2")[0])
    scale = torch.tensor([1.0, 10.0, 100.0, 1.0, 5.0, 0.1]).double()
    assert kid(a * scale, b * scale, normalise="standardise")[0] == pytest.approx(
        kid(a, b, normalise="standardise")[0])
    assert kid(a * scale, b * scale)[0] != pytest.approx(kid(a, b)[0])  # raw KID is scale-bound
    x, y = normalise_features(a, b, "standardise")
    assert y.mean(0).abs().max() < 1e-12 and torch.allclose(y.std(0), torch.ones(6, dtype=torch.float64))
    assert torch.allclose(normalise_features(a, b, "l2")[0].norm(dim=1), torch.full((50,), 6**0.5).double())
    assert kid(a, b) == kid(a, b, normalise=None)  # the default is unchanged
    with pytest.raises(ValueError, match="unknown KID normalisation 'z'"):
        kid(a, b, normalise="z")


# ---- data copying ---------------------------------------------------------------------------------

def test_data_copying_ct_flags_copies_and_not_fresh_draws():
    from genae.metrics import data_copying_ct

    g = torch.Generator().manual_seed(0)
    train, heldout = torch.randn(1000, 5, generator=g), torch.randn(500, 5, generator=g)
    copies = train[:500] + 0.01 * torch.randn(500, 5, generator=g)
    fresh = torch.randn(500, 5, generator=g)
    copied = data_copying_ct(train, heldout, copies, n_cells=5)
    assert copied["ct"] < -10 and copied["cells_used"] == 5
    assert all(c["z"] < -3 for c in copied["cells"])
    assert abs(data_copying_ct(train, heldout, fresh, n_cells=5)["ct"]) < 3
    # too far from the data: positive (underfitting, not copying)
    assert data_copying_ct(train, heldout, 1.5 * fresh, n_cells=5)["ct"] > 3


def test_data_copying_ct_by_hand_and_bad_input():
    from genae.metrics import data_copying_ct

    # one cell: generated distances 0.1, 0.2 (to train points at 0, 10) against held-out 1, 2, 3:
    # U = 0 (no generated point is farther), Z = (0 - 3) / sqrt(6 * 6 / 12) = -sqrt(3)
    train = torch.tensor([[0.0], [10.0]])
    heldout = torch.tensor([[1.0], [2.0], [7.0]])
    gen = torch.tensor([[0.1], [9.8]])
    out = data_copying_ct(train, heldout, gen, n_cells=1, min_generated=2)
    assert out["ct"] == pytest.approx(-math.sqrt(3))
    assert math.isnan(data_copying_ct(train, heldout, gen, n_cells=1, min_generated=3)["ct"])
    with pytest.raises(ValueError, match="n_cells must be a whole number from 1 to 2"):
        data_copying_ct(train, heldout, gen, n_cells=3)
