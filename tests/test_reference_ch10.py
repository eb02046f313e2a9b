"""reference/ch10.csv covers every sampler and model; tests/test_stored_regenerates.py regenerates
one row set of it from scratch."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "reference"))
from ch09 import LATENTS  # noqa: E402  (ch10.py measures ch09.py's latent sizes)

STORED = ROOT / "genae" / "stored" / "ch10.csv"


def test_the_stored_table_covers_every_sampler_and_model():
    table = pd.read_csv(STORED)
    meta = json.loads((ROOT / "genae" / "stored" / "ch10.json").read_text())
    assert {"git_commit", "command", "versions", "machine", "run_seconds"} <= set(meta)
    assert set(table.model) == {"vae", "aae", "dvae", "daae"}
    assert set(table.latent_dim) == set(LATENTS) and table.seed.nunique() >= 2
    assert {"copying_ct", "chain_step"} <= set(table.columns)
    assert "Dai and Wipf" in meta["settings"]["two_stage_vae"] and meta["best_steps"]
    per_model = table.groupby(["latent_dim", "model", "seed"]).sampler.apply(set)
    for (_, kind, _), samplers in per_model.items():
        assert ("adversary" in samplers) == kind.endswith("aae"), (kind, samplers)
        assert {"prior", "chain", "Q(Z)", "mixture", "two-stage VAE", "mixture + chain",
                "chain (1 step)", "chain (2 steps)", "chain (5 steps)", "chain (best step)"} <= samplers
    best = table[table.sampler == "chain (best step)"]
    assert best.chain_step.isin([1, 2, 5, 10]).all()
