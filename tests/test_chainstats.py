import pytest
import torch
from conftest import tiny

from genae.chainstats import aggregate_posterior, nearest_distance, step_sizes, total_variation
from genae.mcmc import run_chain


def test_step_sizes_are_distances_between_consecutive_states():
    traj = torch.zeros(3, 2, 4)
    traj[1, 0, 0] = 3.0
    traj[2, 0, 0], traj[2, 0, 1] = 3.0, 4.0
    traj[2, 1] = 1.0
    sizes = step_sizes(traj)
    assert sizes.shape == (2, 2)
    assert torch.allclose(sizes, torch.tensor([[3.0, 0.0], [4.0, 2.0]]))


def test_step_sizes_reject_a_single_state():
    with pytest.raises(ValueError, match="at least one step"):
        step_sizes(torch.zeros(1, 2, 4))
    with pytest.raises(ValueError, match="steps \\+ 1, N, latent_dim"):
        step_sizes(torch.zeros(2, 4))


def test_nearest_distance_finds_the_closest_image():
    ref = torch.stack([torch.zeros(1, 4, 4), torch.ones(1, 4, 4)])
    x = torch.stack([torch.full((1, 4, 4), 0.9), torch.zeros(1, 4, 4), torch.full((1, 4, 4), 0.5)])
    d = nearest_distance(x, ref, batch_size=2)
    assert torch.allclose(d, torch.tensor([0.1, 0.0, 0.5]), atol=1e-6)


def test_nearest_distance_rejects_mismatched_shapes():
    with pytest.raises(ValueError, match="same image shape"):
        nearest_distance(torch.zeros(2, 1, 4, 4), torch.zeros(2, 1, 5, 5))
    with pytest.raises(ValueError, match="empty"):
        nearest_distance(torch.zeros(2, 1, 4, 4), torch.zeros(0, 1, 4, 4))


def test_total_variation_on_known_images():
    flat = torch.full((1, 1, 4, 4), 0.7)
    stripes = (torch.arange(4) % 2).float().view(1, 1, 1, 4).expand(1, 1, 4, 4)  # only horizontal neighbours differ
    tv = total_variation(torch.cat([flat, stripes]))
    assert torch.allclose(tv, torch.tensor([0.0, 0.5]))
    assert total_variation(torch.rand(3, 3, 5, 6)).shape == (3,)


def test_total_variation_drops_with_blur():
    x = torch.rand(4, 1, 16, 16, generator=torch.Generator().manual_seed(0))
    blurred = torch.nn.functional.avg_pool2d(x, 3, stride=1, padding=1, count_include_pad=False)
    assert (total_variation(blurred) < total_variation(x)).all()


def test_total_variation_rejects_non_images():
    with pytest.raises(ValueError, match="N, C, H, W"):
        total_variation(torch.rand(4, 16, 16))


def test_aggregate_posterior_matches_the_chain_step_of_a_data_image(digits16):
    # Encoding data the way the chain encodes its decoded images: corrupt, then encode.
    model = tiny("dvae").eval()
    x = digits16.tensors[0][:10]
    g1, g2 = torch.Generator().manual_seed(3), torch.Generator().manual_seed(3)
    z = aggregate_posterior(model, x, generator=g1, batch_size=10)
    with torch.no_grad():
        want = model.encode(model.corrupt(x, generator=g2), generator=g2)
    assert z.shape == (10, 4)
    assert torch.allclose(z, want, atol=1e-6)
    # in batches the random draws come in another order, so the values differ
    split = aggregate_posterior(model, x, generator=torch.Generator().manual_seed(3), batch_size=4)
    assert split.shape == (10, 4) and not torch.allclose(split, want)


def test_aggregate_posterior_is_deterministic_for_a_plain_aae(digits16):
    model = tiny("aae").train()
    x = digits16.tensors[0][:6]
    assert torch.equal(aggregate_posterior(model, x), aggregate_posterior(model, x))
    assert model.training, "aggregate_posterior must restore the model's mode"
    # and a chain started there moves off by exactly one encode(decode(.)) per step
    z = aggregate_posterior(model, x)
    assert run_chain(model, z, 1).shape == (2, 6, 4)


def test_aggregate_posterior_checks_images():
    with pytest.raises(ValueError, match="16x16"):
        aggregate_posterior(tiny("vae"), torch.rand(3, 1, 8, 8))
    with pytest.raises(ValueError, match="batch_size"):
        aggregate_posterior(tiny("vae"), torch.rand(3, 1, 16, 16), batch_size=0)
