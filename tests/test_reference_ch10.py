"""reference/ch10.csv is what reference/ch10.py computes: one small part of it, regenerated from scratch.

The rerun trains the VAE of seed 0 (ch09.py's first latent size) and the classifier in an empty
cache, with the stored run's thread count, and measures two samplers; every
measured value must match the stored one. Not to the last bit: the stored run may
have found models or the classifier in its cache, trained on another thread count,
and CPU results depend on it (they differ by a few parts in ten thousand here). So
the tolerances below are far tighter than any change of method would pass (the
samplers' FIDs differ by factors), and looser than rounding. Timings are not
compared: they depend on the machine's load.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pandas as pd
import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "reference"))
from ch09 import LATENTS  # noqa: E402  (ch10.py measures ch09.py's latent sizes)

STORED = ROOT / "genae" / "stored" / "ch10.csv"
#: column -> (relative, absolute) tolerance; precision and recall count samples, so one sample is 1/359
TOLERANCE = {"fid": (0.01, 0.0), "kid": (0.05, 1e-4), "precision": (0.0, 0.02), "recall": (0.0, 0.02),
             "mmd_q": (0.1, 2e-4), "nearest": (0.01, 0.0)}


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


def regenerate_one_row_set(folder: Path) -> tuple[list[str], dict[str, str]]:
    """reference/ch10.py for the VAE of seed 0, two samplers, into ``folder``, from an empty cache,
    on the stored run's thread count."""
    meta = json.loads((ROOT / "genae" / "stored" / "ch10.json").read_text())
    return ([sys.executable, str(ROOT / "reference" / "ch10.py"), "--only", f"vae:{LATENTS[0]}:0",
             "--samplers", "prior,mixture", "--threads", str(meta["machine"]["torch_threads"]),
             "--out", str(folder)], {"GENAE_CACHE": str(folder / "cache")})


@pytest.mark.skipif(not STORED.is_file(), reason="no stored results yet: run python reference/ch10.py")
@pytest.mark.background(command=regenerate_one_row_set)
def test_one_row_set_regenerates_from_scratch(background):
    folder, done = background  # run beside the other tests (tests/background_runs.py)
    assert done.returncode == 0, done.stderr[-3000:]
    fresh = pd.read_csv(folder / "ch10.csv")
    stored = pd.read_csv(STORED)
    stored = stored[(stored.model == "vae") & (stored.latent_dim == LATENTS[0]) & (stored.seed == 0)
                    & stored.sampler.isin(["prior", "mixture"])]
    fresh, stored = (t.set_index("sampler").sort_index() for t in (fresh, stored))
    assert list(fresh.index) == list(stored.index) == ["mixture", "prior"]
    for column, (rtol, atol) in TOLERANCE.items():
        pd.testing.assert_series_equal(fresh[column], stored[column], rtol=rtol, atol=atol, check_dtype=False)
