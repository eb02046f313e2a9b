import pytest
import torch
from conftest import tiny

from genae.mcmc import chain_step, run_chain, sample_prior


@pytest.mark.parametrize("kind", ["vae", "aae", "dvae", "daae"])
def test_trajectory_shape_and_start(kind):
    model = tiny(kind)
    z0 = sample_prior(5, 4, generator=torch.Generator().manual_seed(0))
    traj = run_chain(model, z0, steps=3)
    assert traj.shape == (4, 5, 4)
    assert torch.equal(traj[0], z0)
    assert torch.isfinite(traj).all()
    assert model.training, "run_chain must restore the model's mode"


def test_zero_steps_returns_z0():
    z0 = torch.randn(3, 4)
    traj = run_chain(tiny(), z0, steps=0)
    assert traj.shape == (1, 3, 4) and torch.equal(traj[0], z0)


def test_generator_makes_runs_reproducible():
    model, z0 = tiny("dvae"), torch.randn(6, 4)
    a = run_chain(model, z0, 4, generator=torch.Generator().manual_seed(1))
    b = run_chain(model, z0, 4, generator=torch.Generator().manual_seed(1))
    assert torch.equal(a, b)


def test_deterministic_chain():
    for kind in ["vae", "dvae", "daae"]:
        model, z0 = tiny(kind), torch.randn(6, 4)
        assert torch.equal(run_chain(model, z0, 3, sample=False), run_chain(model, z0, 3, sample=False))


def test_corruption_only_for_denoising_models():
    # Same weights, different denoise_std: a deterministic AAE chain with no
    # corruption repeats itself exactly; with corruption it does not.
    plain, noisy = tiny("aae"), tiny("daae")
    noisy.load_state_dict(plain.state_dict())
    z0 = torch.randn(8, 4)
    assert torch.equal(run_chain(plain, z0, 2), run_chain(plain, z0, 2))
    assert not torch.equal(run_chain(noisy, z0, 2), run_chain(noisy, z0, 2))
    assert torch.equal(run_chain(noisy, z0, 2, sample=False), run_chain(plain, z0, 2, sample=False))


def test_step_is_encode_of_corrupted_decode():
    # Eq. 2 exactly: z' = encode(corrupt(decode(z))), with the same random draws.
    model = tiny("dvae").eval()
    z = torch.randn(5, 4)
    with torch.no_grad():
        x = model.decode(z)
        g = torch.Generator().manual_seed(3)
        expected = model.encode(model.corrupt(x, generator=g), generator=g)
        got = chain_step(model, z, generator=torch.Generator().manual_seed(3))
    assert torch.allclose(got, expected)
    # the corruption actually seen by the encoder has the paper's variance 0.25
    noise = model.corrupt(x.repeat(50, 1, 1, 1)) - x.repeat(50, 1, 1, 1)
    assert abs(noise.var().item() - 0.25) < 0.01


def test_bad_chain_inputs():
    model = tiny()
    with pytest.raises(ValueError, match="steps must be a whole number >= 0, got -1"):
        run_chain(model, torch.randn(2, 4), -1)
    with pytest.raises(ValueError, match=r"shape \(N, 4\)"):
        run_chain(model, torch.randn(2, 7), 1)
