"""Property-based tests (issue 9): slerp, the chain's shapes, and the metrics' invariants, on inputs hypothesis picks.

Example counts are kept small for CI; hypothesis keeps the examples that once
failed in its database and tries them first.
"""

import math

import numpy as np
import torch
from conftest import tiny
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from genae.interpolate import lerp, slerp
from genae.mcmc import run_chain, sample_prior
from genae.metrics import frechet_distance, mmd, precision_recall
from genae.models import KINDS

FAST = settings(max_examples=60, deadline=None)
coordinates = st.floats(-10, 10, allow_nan=False, width=64)


@st.composite
def latent_pairs(draw, min_dim=1):
    """Two latents (batch, dim), float64 or float32: independent, or one a multiple of the other (parallel,
    opposite), or the other nudged by a tiny amount (nearly parallel or opposite), where slerp's formula
    breaks down."""
    dim, batch = draw(st.integers(min_dim, 8)), draw(st.integers(1, 3))
    a = torch.from_numpy(draw(arrays(np.float64, (batch, dim), elements=coordinates)))
    assume(bool((a.norm(dim=-1) > 1e-3).all()))
    how = draw(st.sampled_from(["independent", "multiple", "nudged"]))
    if how == "independent":
        b = torch.from_numpy(draw(arrays(np.float64, (batch, dim), elements=coordinates)))
    elif how == "multiple":
        b = draw(st.sampled_from([-3.0, -1.0, 0.5, 1.0, 2.0])) * a
    else:
        b = a * draw(st.sampled_from([-1.0, 1.0])) + draw(st.sampled_from([1e-9, 1e-7, 1e-5]))
    assume(bool((b.norm(dim=-1) > 1e-3).all()))
    dtype = draw(st.sampled_from([torch.float64, torch.float32]))
    return a.to(dtype), b.to(dtype)


def tol(z):
    """Absolute tolerance per unit of scale: float32 keeps about 7 digits, and 1/sin(omega) costs a few."""
    return 1e-6 if z.dtype == torch.float64 else 1e-3


def unit(z):
    return z / z.norm(dim=-1, keepdim=True)


@FAST
@given(latent_pairs(), st.integers(2, 12))
def test_slerp_and_lerp_ends_are_exact_and_paths_finite(pair, steps):
    a, b = pair
    for f in (slerp, lerp):
        path = f(a, b, steps)
        assert path.shape == (steps, *a.shape)
        assert torch.equal(path[0], a) and torch.equal(path[-1], b)
        assert torch.isfinite(path).all()


@FAST
@given(latent_pairs(min_dim=2), st.integers(2, 12))
def test_slerp_keeps_unit_vectors_on_the_sphere(pair, steps):
    a, b = map(unit, pair)
    norms = slerp(a, b, steps).norm(dim=-1)
    assert torch.allclose(norms, torch.ones_like(norms), atol=tol(a)), norms


@FAST
@given(latent_pairs(min_dim=2), st.integers(2, 12), st.floats(0.1, 20))
def test_slerp_of_equal_norm_ends_keeps_that_norm(pair, steps, radius):
    a, b = (radius * unit(z) for z in pair)
    norms = slerp(a, b, steps).norm(dim=-1)
    # between the end norms, which are equal: the path stays on their sphere
    assert torch.allclose(norms, torch.full_like(norms, radius), rtol=tol(a), atol=0), norms


@FAST
@given(latent_pairs(), st.integers(2, 12))
def test_slerp_is_symmetric_under_swapping_the_ends(pair, steps):
    a, b = pair
    forward, backward = slerp(a, b, steps), slerp(b, a, steps)
    scale = max(a.abs().max().item(), b.abs().max().item(), 1.0)
    assert torch.allclose(backward, forward.flip(0), atol=tol(a) * scale), (forward, backward)


@FAST
@given(latent_pairs(), st.integers(2, 12))
def test_slerp_moves_at_constant_angular_speed_on_the_sphere(pair, steps):
    a, b = (unit(z.double()) for z in pair)

    def angle(x, y):  # well-conditioned for small and large angles alike, unlike arccos of the dot product
        return 2 * torch.atan2((x - y).norm(dim=-1), (x + y).norm(dim=-1))

    assume(bool((angle(a, b) < math.pi - 1e-3).all()))  # a well-defined great circle
    path = slerp(a, b, steps)
    angles = angle(path[1:], path[:-1])
    assert torch.allclose(angles, (angle(a, b) / (steps - 1)).expand_as(angles), atol=1e-9)


@settings(max_examples=15, deadline=None)
@given(st.sampled_from(KINDS), st.integers(0, 4), st.integers(1, 5), st.integers(1, 6), st.booleans(),
       st.integers(0, 2**31 - 1))
def test_chain_shapes_for_any_steps_batch_and_latent_size(kind, steps, batch, latent_dim, sample, seed):
    model = tiny(kind, latent_dim=latent_dim, width=4)
    model.train()
    z0 = sample_prior(batch, latent_dim, generator=torch.Generator().manual_seed(seed))
    trajectory = run_chain(model, z0, steps, sample=sample, generator=torch.Generator().manual_seed(seed))
    assert trajectory.shape == (steps + 1, batch, latent_dim) and trajectory.dtype == z0.dtype
    assert torch.equal(trajectory[0], z0) and torch.isfinite(trajectory).all()
    assert model.training, "run_chain restores the model's mode"
    again = run_chain(model, z0, steps, sample=sample, generator=torch.Generator().manual_seed(seed))
    assert torch.equal(trajectory, again), "a seeded generator makes the chain reproducible"


@st.composite
def feature_sets(draw, min_rows=2):
    """Two feature sets (N_a, D), (N_b, D) of float64, of well-spread values."""
    dim = draw(st.integers(1, 5))
    rows = st.integers(min_rows, 12)
    values = st.floats(-5, 5, allow_nan=False, width=64)
    a = draw(arrays(np.float64, (draw(rows), dim), elements=values))
    b = draw(arrays(np.float64, (draw(rows), dim), elements=values))
    return a, b


@FAST
@given(feature_sets())
def test_frechet_distance_is_symmetric_non_negative_and_zero_on_identical_sets(sets):
    a, b = sets
    ab, ba = frechet_distance(a, b), frechet_distance(b, a)
    scale = 1 + np.square(a).sum() + np.square(b).sum()
    assert ab >= 0 and math.isclose(ab, ba, rel_tol=1e-6, abs_tol=1e-9 * scale)
    assert frechet_distance(a, a) <= 1e-9 * scale
    shift = np.arange(a.shape[1], dtype=np.float64) + 1  # moving one set moves only the mean term
    assert math.isclose(frechet_distance(a, a + shift), float(np.square(shift).sum()), rel_tol=1e-6,
                        abs_tol=1e-8 * scale)


@FAST
@given(feature_sets(), st.one_of(st.none(), st.floats(0.1, 10)))
def test_mmd_is_symmetric_and_at_most_zero_on_identical_sets(sets, bandwidth):
    a, b = sets
    assert math.isclose(mmd(a, b, bandwidth), mmd(b, a, bandwidth), rel_tol=1e-9, abs_tol=1e-12)
    # The unbiased estimate of identical sets is not exactly 0: it is
    # 2 sum_{i != j} k / (m^2 (m - 1)) - 2 / m, in [-2/m, 0], and 0 only when every point coincides.
    same = mmd(a, a, bandwidth)
    assert -2 / len(a) - 1e-12 <= same <= 1e-12


@FAST
@given(feature_sets(min_rows=4), st.integers(1, 3))
def test_precision_recall_swap_under_swapping_the_sets_and_are_one_on_identical_sets(sets, k):
    a, b = sets
    precision, recall = precision_recall(a, b, k=k)
    assert 0 <= precision <= 1 and 0 <= recall <= 1
    assert precision_recall(b, a, k=k) == (recall, precision)
    assert precision_recall(a, a, k=k) == (1.0, 1.0)
