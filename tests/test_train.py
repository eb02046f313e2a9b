import pytest
import torch
from conftest import tiny

from genae.train import epoch_batches, fit


def weights(model):
    return {k: v.clone() for k, v in model.state_dict().items()}


@pytest.mark.parametrize("kind", ["vae", "daae"])
def test_training_lowers_the_loss(kind, digits16):
    model = tiny(kind, latent_dim=8, width=16)
    history = fit(model, digits16, epochs=10, batch_size=64, progress=False)  # 220 steps
    assert len(history) == 10
    assert history[-1]["reconstruction"] < 0.8 * history[0]["reconstruction"]
    assert all("z_std" in h and h["z_std"] > 0 for h in history)
    assert not model.training


def test_history_has_every_term(digits16):
    history = fit(tiny("aae"), digits16, epochs=1, progress=False)
    assert {"epoch", "reconstruction", "prior", "adversary", "adversary_accuracy", "z_std"} <= set(history[0])


def test_seeded_runs_are_identical(digits16):
    a, b = tiny("dvae"), tiny("dvae")
    ha = fit(a, digits16, epochs=2, seed=5, progress=False)
    hb = fit(b, digits16, epochs=2, seed=5, progress=False)
    assert ha == hb
    wa, wb = weights(a), weights(b)
    assert all(torch.equal(wa[k], wb[k]) for k in wa)
    c = tiny("dvae")
    fit(c, digits16, epochs=2, seed=6, progress=False)
    assert not all(torch.equal(wa[k], v) for k, v in weights(c).items())


def test_epoch_batches_cover_the_data_without_a_short_batch():
    batches = epoch_batches(150, 64, seed=0, epoch=0)
    assert [len(b) for b in batches] == [64, 64]
    assert len(set(torch.cat(batches).tolist())) == 128
    assert not torch.equal(torch.cat(batches), torch.cat(epoch_batches(150, 64, seed=0, epoch=1)))
    assert len(epoch_batches(10, 64, 0, 0)[0]) == 10


def test_resume_matches_an_uninterrupted_run(digits16, tmp_path):
    full = tiny("aae")
    h_full = fit(full, digits16, epochs=3, progress=False)
    part = tiny("aae")
    fit(part, digits16, epochs=2, progress=False, checkpoint_dir=tmp_path)  # stop after two epochs
    resumed = tiny("aae", seed=99)  # different initial weights: all must come from the checkpoint
    h_res = fit(resumed, digits16, epochs=3, progress=False, checkpoint_dir=tmp_path, resume=True)
    assert h_res == h_full
    assert all(torch.equal(v, weights(resumed)[k]) for k, v in weights(full).items())


def test_bad_training_arguments(digits16):
    with pytest.raises(ValueError, match="batch_size"):
        fit(tiny(), digits16, batch_size=0)
    with pytest.raises(ValueError, match="needs checkpoint_dir"):
        fit(tiny(), digits16, resume=True)
    with pytest.raises(ValueError, match="1x16x16"):
        fit(tiny(image_size=32), digits16, epochs=1, progress=False)
    with pytest.raises(ValueError, match="no CUDA GPU|unknown device"):
        fit(tiny(), digits16, device="cuda" if not torch.cuda.is_available() else "tpu")
