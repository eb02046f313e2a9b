"""The stored results behind chapters 9 and 10 regenerate from scratch: one model's rows of each.

One command, as `make reference` runs the scripts, into an empty model cache: reference/ch09.py
for the 200-D VAE of seed 0 at both its training lengths (it trains the 30-epoch model on one
thread, caching the 20-epoch snapshot on the way, as the stored run did, and trains the judge's
classifier first), then reference/ch10.py for that model and two samplers, which finds the
model and the classifier in the cache, as the stored chapter 10 run found them. Both tests read
that one run, which runs beside the other tests (tests/background_runs.py).
"""

from __future__ import annotations

import json
import shlex
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

ROOT = Path(__file__).resolve().parents[1]
REFERENCE = ROOT / "reference"  # the scripts
STORED = ROOT / "genae" / "stored"  # what they wrote: package data
CH09_NUMERIC = ["fid", "kid", "precision", "recall", "mmd_q", "mmd_p", "latent_norm", "fid_mean", "fid_cov",
                "kid_se", "nearest", "sharpness", "confidence"]
#: ch10 column -> (relative, absolute) tolerance. Far tighter than any change of method would pass
#: (the samplers' FIDs differ by factors) and looser than rounding: CPU results can differ by a
#: few parts in ten thousand where a model or the classifier was trained on another thread count.
#: Precision and recall count samples, so one sample is 1/359. Timings are not compared.
CH10_TOLERANCE = {"fid": (0.01, 0.0), "kid": (0.05, 1e-4), "precision": (0.0, 0.02), "recall": (0.0, 0.02),
                  "mmd_q": (0.1, 2e-4), "nearest": (0.01, 0.0)}


def regenerate(folder: Path) -> tuple[list[str], dict[str, str]]:
    """reference/ch09.py for the 200-D VAE of seed 0, then reference/ch10.py for it (the prior and
    the mixture samplers, on the stored run's thread count), into ``folder``, one model cache."""
    threads = json.loads((STORED / "ch10.json").read_text())["machine"]["torch_threads"]
    ch09 = [sys.executable, str(REFERENCE / "ch09.py"), "--only", "200,vae,0", "--lengths", "20,30",
            "--workers", "1", "--out", str(folder / "ch09")]
    ch10 = [sys.executable, str(REFERENCE / "ch10.py"), "--only", "vae:200:0", "--samplers", "prior,mixture",
            "--threads", str(threads), "--out", str(folder / "ch10")]
    return ["sh", "-c", f"{shlex.join(ch09)} && {shlex.join(ch10)}"], {"GENAE_CACHE": str(folder / "models")}


def by_ids(table: pd.DataFrame, ids: list[str]) -> pd.DataFrame:
    return table.astype({c: str for c in ids}).set_index(ids).sort_index()  # NaN ids: "nan"


@pytest.mark.background(command=regenerate)
def test_one_ch09_configuration_regenerates(background):
    # Every stored row and curve point of the 200-D VAE of seed 0 (both lengths, every chain) must come
    # back with the same numbers: the script trains on one thread, as the stored run did.
    folder, run = background
    assert run.returncode == 0, f"the reference scripts failed:\n{run.stderr[-3000:]}"
    for name, ids, numeric in (("ch09", ["epochs", "path", "step", "chain", "decode", "sample"], CH09_NUMERIC),
                               ("ch09_curve", ["epochs"], ["heldout_bce", "train_bce"])):
        stored = pd.read_csv(STORED / f"{name}.csv")
        key = (stored.latent_dim == 200) & (stored.model == "vae") & (stored.seed == 0)
        want, got = by_ids(stored[key], ids), by_ids(pd.read_csv(folder / "ch09" / f"{name}.csv"), ids)
        assert len(want) and list(got.index) == list(want.index), f"{name}: other rows than the stored run's"
        np.testing.assert_allclose(got[numeric].to_numpy(float), want[numeric].to_numpy(float),
                                   rtol=1e-6, atol=1e-9, err_msg=name)


@pytest.mark.background(command=regenerate)
def test_one_ch10_row_set_regenerates(background):
    folder, run = background
    assert run.returncode == 0, f"the reference scripts failed:\n{run.stderr[-3000:]}"
    fresh = pd.read_csv(folder / "ch10" / "ch10.csv")
    stored = pd.read_csv(STORED / "ch10.csv")
    stored = stored[(stored.model == "vae") & (stored.latent_dim == 200) & (stored.seed == 0)
                    & stored.sampler.isin(["prior", "mixture"])]
    fresh, stored = (t.set_index("sampler").sort_index() for t in (fresh, stored))
    assert list(fresh.index) == list(stored.index) == ["mixture", "prior"]
    for column, (rtol, atol) in CH10_TOLERANCE.items():
        pd.testing.assert_series_equal(fresh[column], stored[column], rtol=rtol, atol=atol, check_dtype=False)
