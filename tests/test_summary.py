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


# ---- the family of steps with Holm's correction (issue 24) ---------------------------------------

def test_holm_matches_a_hand_computed_example():
    from genae.summary import holm

    # sorted: 0.005 * 4 = 0.02, 0.01 * 3 = 0.03, 0.03 * 2 = 0.06, 0.04 * 1 = 0.04 -> max so far 0.06
    got = holm([0.01, 0.04, 0.03, 0.005])
    assert got == pytest.approx([0.03, 0.06, 0.06, 0.02])
    assert holm([0.5, 0.6]) == pytest.approx([1.0, 1.0])  # capped at 1
    assert holm([0.2]) == pytest.approx([0.2])
    with pytest.raises(ValueError, match="p_values must be"):
        holm([0.1, 1.5])


def family_table(changes_by_step, n=4, noise=0.3, seed=0):
    """Per-seed FID and recall at steps 0 and each step of ``changes_by_step`` (mean FID change)."""
    rng = np.random.default_rng(seed)
    rows = []
    for s in range(n):
        base = 20 + rng.normal(0, 2)
        rows.append({"model": "vae", "seed": s, "step": 0, "fid": base, "recall": 0.5})
        for step, c in changes_by_step.items():
            rows.append({"model": "vae", "seed": s, "step": step, "fid": base + c + rng.normal(0, noise),
                         "recall": 0.5 - c / 100 + rng.normal(0, 0.02)})
    return pd.DataFrame(rows)


def test_step_family_holm_adjusts_within_each_metric_and_gives_the_shape():
    from genae.summary import family_sentence, holm, shape_of_change, step_family

    table = family_table({1: -5.0, 2: -5.0, 5: -5.0, 10: 0.0})
    fam = step_family(table, by=["model"], metrics=["fid", "recall"])
    assert list(fam[fam.metric == "fid"].step) == [1, 2, 5, 10]
    for _, rows in fam.groupby("metric"):
        assert rows.p_holm.to_numpy() == pytest.approx(holm(rows.p.to_numpy()))
    fid = fam[fam.metric == "fid"].set_index("step")
    assert list(fid.verdict) == ["better"] * 3 + ["no clear change"]
    assert (fid.p_holm >= fid.p).all() and fid.loc[1, "low"] < fid.loc[1, "change"] < fid.loc[1, "high"]
    assert shape_of_change(fam[fam.metric == "fid"]) == "better at steps 1-5, no clear change at step 10"
    text = family_sentence(fam, "VAE", metrics=["fid"])
    assert text == ("VAE (steps 1, 2, 5, 10 against step 0, Holm-adjusted within each metric): "
                    "FID better at steps 1-5, no clear change at step 10.")


def test_step_family_a_raw_pass_that_holm_does_not_keep():
    from genae.summary import step_family

    # step 1 changes on every seed by about 1 +- 0.5 (raw p about 0.03); the other steps only by noise
    d1 = [1.0, 0.2, 1.9, 0.6, 1.3]
    rows = []
    for s, d in enumerate(d1):
        rows.append({"model": "vae", "seed": s, "step": 0, "fid": 10.0})
        rows += [{"model": "vae", "seed": s, "step": 1, "fid": 10.0 + d},
                 {"model": "vae", "seed": s, "step": 2, "fid": 10.0 + (-1) ** s},
                 {"model": "vae", "seed": s, "step": 5, "fid": 10.0 + (-1) ** (s + 1)},
                 {"model": "vae", "seed": s, "step": 10, "fid": 10.0 + 0.5 * (-1) ** s}]
    fam = step_family(pd.DataFrame(rows), by=["model"], metrics=["fid"]).set_index("step")
    raw = stats.ttest_1samp(d1, 0.0).pvalue
    assert fam.loc[1, "p"] == pytest.approx(raw) and raw < 0.05 <= fam.loc[1, "p_holm"]
    assert fam.loc[1, "verdict"] == "no clear change"  # a single test would have called it worse


def test_shape_of_change_words():
    from genae.summary import shape_of_change

    assert shape_of_change([(1, "worse"), (2, "worse"), (5, "worse"), (10, "worse")]) == "worse from step 1 on"
    assert shape_of_change([(10, "no clear change"), (1, "better"), (2, "better"), (5, "no clear change")]) == (
        "better at steps 1-2, no clear change from step 5 on")
    assert shape_of_change([(1, "no clear change"), (2, "no clear change")]) == "no clear change at any step"
    assert shape_of_change([(1, "better"), (2, "worse")]) == "better at step 1, worse at step 2"
    with pytest.raises(ValueError, match="at least one"):
        shape_of_change([])


def test_step_family_bad_input():
    from genae.summary import step_family

    table = family_table({1: -5.0, 10: 0.0})
    with pytest.raises(ValueError, match="step 2 is not in the table"):
        step_family(table, by=["model"])
    with pytest.raises(ValueError, match="steps must be distinct"):
        step_family(table, by=["model"], steps=[0, 1])


def test_detectable_in_units_scales_the_standardised_change_by_the_sd():
    from genae.summary import detectable_change, detectable_in_units, power_sentence

    table = family_table({10: -5.0}, n=5, noise=1.0)
    out = detectable_in_units(table, ["model"], 0, 10, metrics=["fid"]).iloc[0]
    d = (table[table.step == 10].fid.to_numpy() - table[table.step == 0].fid.to_numpy())
    assert out["sd"] == pytest.approx(d.std(ddof=1)) and out["n"] == 5
    assert out["detectable"] == pytest.approx(detectable_change(5) * d.std(ddof=1))
    strict = detectable_in_units(table, ["model"], 0, 10, metrics=["fid"], family_size=4, n=10).iloc[0]
    assert strict["d_z"] == pytest.approx(detectable_change(10, alpha=0.0125))
    assert "With 5 seeds" in power_sentence(out) and "FID" in power_sentence(out)
