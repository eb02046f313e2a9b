"""genae.infra.cache: a snapshot of a longer run is the model a shorter run trains."""

import torch

from genae.infra.cache import trained_model

KW = dict(image_size=16, latent_dim=4, width=4, progress=False, device="cpu")


def test_a_snapshot_is_the_model_a_shorter_run_trains(tmp_path):
    long_model, long_history = trained_model("dvae", epochs=3, snapshots=(1, 2), cache_dir=tmp_path / "a", **KW)
    assert len(list((tmp_path / "a").iterdir())) == 3  # the 3-epoch model and its two snapshots
    snap, snap_history = trained_model("dvae", epochs=2, cache_dir=tmp_path / "a", **KW)  # loaded, not trained
    fresh, fresh_history = trained_model("dvae", epochs=2, cache_dir=tmp_path / "b", **KW)  # trained for 2 epochs
    assert snap_history == fresh_history == long_history[:2]
    assert all(torch.equal(v, fresh.state_dict()[k]) for k, v in snap.state_dict().items())
    assert not all(torch.equal(v, long_model.state_dict()[k]) for k, v in snap.state_dict().items())
    assert snap.checkpoint_extra["training"]["epochs"] == 2


def test_a_cached_model_is_loaded_not_snapshotted_again(tmp_path):
    trained_model("aae", epochs=2, cache_dir=tmp_path, **KW)
    trained_model("aae", epochs=2, snapshots=(1,), cache_dir=tmp_path, **KW)  # cached: nothing is trained
    assert len(list(tmp_path.iterdir())) == 1
