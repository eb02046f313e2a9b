import numpy as np
import pandas as pd
import pytest
from scipy import stats

from genae.summary import paired_p_value, step_changes, summarise


def test_summarise_mean_and_sd_over_seeds():
    table = pd.DataFrame({"model": ["vae"] * 3 + ["aae"] * 3, "step": [0] * 6,
                          "fid": [1.0, 2.0, 3.0, 10.0, 10.0, 10.0], "precision": [0.5] * 6})
    out = summarise(table, by=["model", "step"], metrics=["fid", "precision"])
    assert out.loc[("vae", 0), "fid"] == "2 ± 1" and out.loc[("aae", 0), "fid"] == "10 ± 0"
    assert list(out.index.get_level_values(0)) == ["vae", "aae"]  # the table's order, not sorted
    assert summarise(table.iloc[:1], by=["model"], metrics=["fid"]).loc["vae", "fid"] == "1"  # one seed: no sd
    with pytest.raises(ValueError, match="no column\\(s\\) \\['seed'\\]"):
        summarise(table, by=["seed"])


def seeds_table(fid_0, fid_10, recall_0, recall_10, norm_0=(4.0, 4.0, 4.0), norm_10=(5.0, 5.1, 4.9)):
    rows = []
    for s in range(3):
        rows.append({"model": "vae", "seed": s, "step": 0, "fid": fid_0[s], "recall": recall_0[s],
                     "latent_norm": norm_0[s]})
        rows.append({"model": "vae", "seed": s, "step": 10, "fid": fid_10[s], "recall": recall_10[s],
                     "latent_norm": norm_10[s]})
    return pd.DataFrame(rows)


def test_step_changes_verdicts():
    # FID falls by about 5 on every seed (clear, better); recall moves by noise only; the norm rises (descriptive)
    table = seeds_table([20, 30, 25], [15.1, 24.8, 20.2], [0.5, 0.6, 0.4], [0.6, 0.5, 0.41])
    out = step_changes(table, by=["model"], from_step=0, to_step=10, metrics=["fid", "recall", "latent_norm"])
    got = out.set_index("metric")
    assert got.loc["fid", "verdict"] == "better" and got.loc["fid", "change"] == pytest.approx(-4.9667, abs=1e-3)
    assert got.loc["fid", "from"] == 25 and got.loc["fid", "n"] == 3
    assert got.loc["fid", "direction"] == "better" and got.loc["fid", "agree"] == 3
    assert got.loc["recall", "verdict"] == "no clear change"
    assert got.loc["recall", "direction"] == "better" and got.loc["recall", "agree"] == 2  # +0.1, -0.1, +0.01
    assert got.loc["latent_norm", "verdict"] == "higher"
    worse = step_changes(seeds_table([20, 30, 25], [25.2, 34.9, 30.1], [0.5] * 3, [0.5] * 3), ["model"], 0, 10,
                         metrics=["fid"])
    assert worse.verdict.item() == "worse"
    flat = step_changes(seeds_table([1, 2, 3], [1, 2, 3], [0] * 3, [0] * 3), ["model"], 0, 10, metrics=["fid"])
    assert flat.direction.item() == "unchanged" and flat.verdict.item() == "no clear change" and flat.agree.item() == 3


def test_paired_p_value_matches_scipy_and_edge_cases():
    from scipy import stats

    d = np.array([1.0, 2.0, 0.5])
    assert paired_p_value(d) == pytest.approx(stats.ttest_rel(d, np.zeros(3)).pvalue)
    assert paired_p_value(np.array([0.3, 0.3])) == 0.0 and paired_p_value(np.zeros(3)) == 1.0
    assert paired_p_value(np.array([1.0])) == 1.0


def test_step_changes_bad_input():
    table = seeds_table([1, 2, 3], [1, 2, 3], [0] * 3, [0] * 3)
    with pytest.raises(ValueError, match="step 5 is not in the table"):
        step_changes(table, ["model"], 0, 5)
    with pytest.raises(ValueError, match="no column"):
        step_changes(table.drop(columns="seed"), ["model"], 0, 10)


def _seeds(change_by_metric, n=6, noise=0.01, seed=0):
    """A table of per-seed values at steps 0 and 10, with the given mean change per metric."""
    rng = np.random.default_rng(seed)
    rows = []
    for s in range(n):
        start = {m: 1.0 + rng.normal(0, 0.1) for m in change_by_metric}
        rows.append({"model": "vae", "seed": s, "step": 0, **start})
        rows.append({"model": "vae", "seed": s, "step": 10,
                     **{m: start[m] + c + rng.normal(0, noise) for m, c in change_by_metric.items()}})
    return pd.DataFrame(rows)


def test_paired_interval_matches_scipy():
    from genae.summary import paired_interval

    d = np.array([0.3, -0.1, 0.5, 0.2, 0.4])
    ci = stats.ttest_1samp(d, 0.0).confidence_interval(0.95)
    assert paired_interval(d) == pytest.approx((ci.low, ci.high), rel=1e-12)


def test_detectable_change_has_the_power_it_claims():
    from genae.summary import detectable_change

    d3, d10 = detectable_change(3), detectable_change(10)
    assert d3 > d10 > 0
    assert detectable_change(400) * np.sqrt(400) == pytest.approx(stats.norm.ppf(0.975) + stats.norm.ppf(0.8), rel=0.01)
    rng = np.random.default_rng(0)
    changes = rng.normal(d3, 1.0, size=(20_000, 3))
    power = np.mean(stats.ttest_1samp(changes, 0.0, axis=1).pvalue < 0.05)
    assert power == pytest.approx(0.8, abs=0.015)


def test_verdict_sentences_for_clear_null_and_disagreeing_changes():
    from genae.summary import step_changes, verdict_sentence

    clear = step_changes(_seeds({"fid": -0.5, "precision": 0.2}), by=["model"], from_step=0, to_step=10)
    text = verdict_sentence(clear, "VAE")
    assert text.startswith("VAE: clear improvement in FID") and "precision" in text and "worsening" not in text
    null = step_changes(_seeds({"fid": 0.0, "precision": 0.0}, noise=0.2), by=["model"], from_step=0, to_step=10)
    assert verdict_sentence(null, "VAE") == "VAE: no clear change in FID, precision."
    table = _seeds({"fid": 0.5, "precision": 0.2, "recall": 0.1, "fid_mean": 0.45, "fid_cov": 0.05})
    both = step_changes(table, by=["model"], from_step=0, to_step=10,
                        metrics=["fid", "precision", "recall", "fid_mean", "fid_cov"])
    text = verdict_sentence(both, "DVAE", parts=both[both.metric.isin(["fid_mean", "fid_cov"])])
    assert "clear worsening in FID" in text and "clear improvement in precision" in text
    assert "The metrics disagree: FID worse while precision, recall better." in text
    assert "the mean term moved more" in text
