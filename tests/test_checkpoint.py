import os

import pytest
import torch
from conftest import tiny

from genae.infra import checkpoint
from genae.infra.checkpoint import CheckpointError, load, save


@pytest.mark.parametrize("kind", ["vae", "aae", "dvae", "daae"])
def test_round_trip_gives_identical_outputs(kind, tmp_path):
    model = tiny(kind).eval()
    path = save(model, tmp_path / "m.pt", note="hello", history=[{"epoch": 1, "prior": 0.5}])
    again = load(path, device="cpu")
    assert again.config == model.config and not again.training
    assert again.checkpoint_extra["note"] == "hello"
    x, z = torch.rand(3, 1, 16, 16), torch.randn(3, 4)
    assert torch.equal(model.decode(z), again.decode(z))
    assert torch.equal(model.encode(x, sample=False), again.encode(x, sample=False))


def test_truncated_file_gives_clear_error(tmp_path):
    path = save(tiny(), tmp_path / "m.pt")
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(CheckpointError, match="truncated or not a PyTorch file"):
        load(path)


def test_foreign_files_give_clear_errors(tmp_path):
    torch.save({"weights": torch.zeros(2)}, tmp_path / "foreign.pt")
    with pytest.raises(CheckpointError, match="not a genae checkpoint"):
        load(tmp_path / "foreign.pt")
    (tmp_path / "text.pt").write_text("hello")
    with pytest.raises(CheckpointError, match="not a readable checkpoint"):
        load(tmp_path / "text.pt")
    with pytest.raises(FileNotFoundError, match="no checkpoint at"):
        load(tmp_path / "missing.pt")


class Arbitrary:
    pass


def test_pickled_code_is_refused(tmp_path):
    torch.save({"format": checkpoint.FORMAT, "version": checkpoint.VERSION, "obj": Arbitrary()}, tmp_path / "evil.pt")
    with pytest.raises(CheckpointError, match="arbitrary code"):
        load(tmp_path / "evil.pt")


def test_wrong_kind_and_version(tmp_path):
    path = save(tiny("vae"), tmp_path / "m.pt")
    with pytest.raises(CheckpointError, match="holds a 'vae' model, not the 'aae'"):
        load(path, kind="aae")
    checkpoint.write({"config": {}, "state_dict": {}}, tmp_path / "old.pt")
    payload = torch.load(tmp_path / "old.pt", weights_only=True)
    payload["version"] = 0
    torch.save(payload, tmp_path / "old.pt")
    with pytest.raises(CheckpointError, match="format version 0"):
        load(tmp_path / "old.pt")


def test_interrupted_save_keeps_the_old_file(tmp_path, monkeypatch):
    path = save(tiny(seed=1), tmp_path / "m.pt")
    before = path.read_bytes()

    def boom(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(torch, "save", boom)
    with pytest.raises(KeyboardInterrupt):
        save(tiny(seed=2), path)
    assert path.read_bytes() == before
    assert os.listdir(tmp_path) == ["m.pt"], "no temporary file may be left behind"
