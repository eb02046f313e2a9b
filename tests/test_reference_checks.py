"""reference/ch09_checks.py on a tiny configuration: one 16-D model trained for one epoch, small
extractors, few resplits and permutations, into a temporary folder."""

import importlib.util
import json
from pathlib import Path

import pandas as pd
import pytest
import torch

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def checks():
    spec = importlib.util.spec_from_file_location("ch09_checks", ROOT / "reference" / "ch09_checks.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_tiny_run_writes_every_part(checks, tmp_path, monkeypatch):
    from genae.data import load_images
    from genae.features import train_classifier

    monkeypatch.setenv("GENAE_CACHE", str(tmp_path / "models"))
    torch.set_num_threads(1)
    train = load_images(checks.ch09.DATASET, "train", image_size=32)
    small = train_classifier(train, 32, 1, epochs=1, width=4, feature_dim=8)
    real = checks.extractor

    def tiny_extractor(kind):  # a one-epoch classifier in place of the book's: the plumbing is tested
        return small if kind == "classifier" else real(kind)

    monkeypatch.setattr(checks, "extractor", tiny_extractor)
    curve = pd.DataFrame({"latent_dim": 16, "model": "vae", "seed": 0, "epochs": [10, 20, 30],
                          "heldout_bce": [300.0, 290.0, 289.0]})
    curve.to_csv(tmp_path / "curve.csv", index=False)
    checks.main(["--only", "16,vae,0", "--epochs", "1", "--repeats", "5", "--permutations", "19",
                 "--no-exposed", "--curve", str(tmp_path / "curve.csv"), "--out", str(tmp_path)])
    table = pd.read_csv(tmp_path / "ch09_checks.csv")
    assert set(table.part) == {"validation", "baseline", "chain", "flatness"}
    assert set(table[table.part == "validation"].extractor) == {"classifier", "pca"}
    chain = table[table.part == "chain"]
    assert sorted(chain.step.unique()) == [0, 1, 2, 5, 10]
    assert {"fid", "kid", "precision", "recall", "mmd_multiscale", "c2st_accuracy", "copying_ct"} <= set(chain.metric)
    latent = chain[chain.metric == "mmd_multiscale"]
    assert ((latent.p_value > 0) & (latent.p_value <= 1)).all()
    base = table[(table.part == "baseline") & (table.metric == "fid")]
    assert (base.low <= base.value).all() and (base.value <= base.high).all() and len(base) == 2
    meta = json.loads((tmp_path / "ch09_checks.json").read_text())
    assert {"command", "git_commit", "versions", "machine", "run_seconds", "config"} <= set(meta)
    assert meta["config"]["models"] == [{"latent_dim": 16, "kind": "vae", "seed": 0, "epochs": 1}]
    assert set(meta["extractors"]) == {"classifier", "pca"}
    assert "16-D vae" in meta["families"]["sentences"]
    flat = meta["flatness"]["tables"]
    assert flat["30"][0]["fall"] == pytest.approx(1 / 290) and meta["flatness"]["floor"] > 0
    assert not any(r["monotone"] is None for r in meta["ranking"])
