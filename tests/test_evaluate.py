import numpy as np
import pandas as pd
import pytest
import torch
from conftest import tiny

from genae.evaluate import (
    DEFAULT_STEPS,
    INTERPOLATION_STEPS,
    METRICS,
    PARTS,
    evaluate_chain,
    posterior_baseline,
    real_baseline,
    split_halves,
)
from genae.features import train_classifier


@pytest.fixture(scope="module")
def setup():
    from genae.data import load_images

    train = load_images("digits", "train", image_size=16)
    clf = train_classifier(train, 16, 1, epochs=1, width=4, feature_dim=8)
    real = load_images("digits", "test", image_size=16).tensors[0][:40]
    return clf, real


@pytest.mark.parametrize("kind", ["vae", "daae"])
def test_every_step_and_metric_without_nan(kind, setup):
    clf, real = setup
    table = evaluate_chain(tiny(kind).eval(), clf, real, n_samples=20)
    assert list(table.columns) == ["path", "step", "sample", "decode", "chain", "n", *METRICS, *PARTS]
    prior = table[table.path == "prior sample"]
    mids = table[table.path == "slerp midpoint"]
    assert prior.step.tolist() == list(DEFAULT_STEPS) and mids.step.tolist() == list(INTERPOLATION_STEPS)
    assert (prior.n == 20).all() and (mids.n == 20).all() and table["sample"].all()
    assert not table[list(METRICS)].isna().any().any()
    assert ((table.precision >= 0) & (table.precision <= 1) & (table.recall >= 0) & (table.recall <= 1)).all()
    assert (table.fid >= 0).all() and (table.latent_norm > 0).all()


def test_chosen_steps_and_no_interpolation(setup):
    clf, real = setup
    table = evaluate_chain(tiny("vae"), clf, real, n_samples=10, steps=[3, 0, 3], interpolation_steps=None)
    assert table.path.unique().tolist() == ["prior sample"] and table.step.tolist() == [0, 3]


def test_seeded_and_reproducible(setup):
    clf, real = setup
    model = tiny("dvae")
    a = evaluate_chain(model, clf, real, n_samples=12, steps=[0, 2], interpolation_steps=[0, 1], seed=1)
    b = evaluate_chain(model, clf, real, n_samples=12, steps=[0, 2], interpolation_steps=[0, 1], seed=1)
    pd.testing.assert_frame_equal(a, b)
    c = evaluate_chain(model, clf, real, n_samples=12, steps=[0, 2], interpolation_steps=[0, 1], seed=2)
    assert not a[list(METRICS)].equals(c[list(METRICS)])


def test_deterministic_chain(setup):
    clf, real = setup
    kw = dict(n_samples=12, steps=[0, 1, 3], interpolation_steps=[0, 2])
    # a plain AAE has a deterministic encoder and no corruption: both chains are the same chain
    aae = tiny("aae")
    on, off = evaluate_chain(aae, clf, real, sample=True, **kw), evaluate_chain(aae, clf, real, sample=False, **kw)
    assert not off["sample"].any()
    pd.testing.assert_frame_equal(on.drop(columns="sample"), off.drop(columns="sample"))
    # a DVAE's stochastic chain samples and corrupts; its deterministic one does neither
    dvae = tiny("dvae")
    on, off = evaluate_chain(dvae, clf, real, sample=True, **kw), evaluate_chain(dvae, clf, real, sample=False, **kw)
    step0 = (on.step == 0) & (on.path == "prior sample")
    assert on[step0].fid.item() == off[step0].fid.item()  # the same z0
    assert not on[~step0][list(METRICS)].equals(off[~step0][list(METRICS)])


def test_real_baseline(setup):
    clf, real = setup
    a, b = split_halves(real)
    model = tiny("vae")
    base = real_baseline(model, clf, a, b)
    assert base.path.tolist() == ["real vs real"] and base.n.item() == len(a)
    assert list(base.columns) == ["path", "step", "sample", "n", *METRICS, *PARTS]
    assert not base[list(METRICS)].isna().any().any()
    # the wiring: real images measured against themselves are a perfect score
    same = real_baseline(None, clf, b, b)
    assert same.fid.item() == pytest.approx(0, abs=1e-9) and same.precision.item() == 1 and same.recall.item() == 1
    assert "mmd_q" not in same  # no model, no latent metrics
    # the same reference as evaluate_chain: their image metrics use the same real features
    images_only = real_baseline(None, clf, a, b)
    assert images_only.fid.item() == base.fid.item()


def test_split_halves():
    x = torch.arange(9.0).view(9, 1, 1, 1)
    a, b = split_halves(x, seed=3)
    assert len(a) == 5 and len(b) == 4
    assert sorted(torch.cat([a, b]).flatten().tolist()) == list(range(9))
    with pytest.raises(ValueError, match="at least 4"):
        split_halves(x[:3])


def test_bad_inputs(setup):
    clf, real = setup
    model = tiny("vae")
    with pytest.raises(ValueError, match="every entry of steps must be a whole number >= 0, got -1"):
        evaluate_chain(model, clf, real, steps=[0, -1])
    with pytest.raises(ValueError, match="steps must be a non-empty list"):
        evaluate_chain(model, clf, real, steps=[])
    with pytest.raises(ValueError, match="interpolation_steps must be a whole number >= 0"):
        evaluate_chain(model, clf, real, interpolation_steps=[1.5])
    with pytest.raises(ValueError, match="n_samples must be a whole number >= 4, got 3"):
        evaluate_chain(model, clf, real, n_samples=3)
    with pytest.raises(ValueError, match="real has 3 images"):
        evaluate_chain(model, clf, real[:3], n_samples=10)
    with pytest.raises(ValueError, match="1x16x16"):
        evaluate_chain(tiny("vae", image_size=32), clf, real, n_samples=10)
    with pytest.raises(ValueError, match="real must be a batch of images"):
        evaluate_chain(model, clf, real[0], n_samples=10)


def test_batch_norm_statistics_are_used_not_changed(setup):
    clf, real = setup
    model = tiny("vae")  # in training mode, as a model mid-training would be
    before = {k: v.clone() for k, v in model.state_dict().items()}
    a = evaluate_chain(model, clf, real, n_samples=8, steps=[0, 1], interpolation_steps=None)
    assert model.training, "evaluate_chain must restore the model's mode"
    assert all(torch.equal(v, model.state_dict()[k]) for k, v in before.items()), "running statistics changed"
    b = evaluate_chain(model.eval(), clf, real, n_samples=8, steps=[0, 1], interpolation_steps=None)
    pd.testing.assert_frame_equal(a, b)


def test_decoded_posterior_baseline(setup):
    clf, real = setup
    real_a, real_b = split_halves(real)
    model = tiny("dvae").eval()
    row = posterior_baseline(model, clf, real_a, real_b)
    assert list(row.path) == ["decoded Q(Z)"] and int(row.n.iloc[0]) == len(real_a)
    assert not row[list(METRICS)].isna().any().any()
    # the same reference and bandwidth as the chain's rows, so its mmd_q is on the chain's scale
    chain = evaluate_chain(model, clf, real_b, n_samples=len(real_a), steps=[0], interpolation_steps=None)
    assert row.mmd_q.iloc[0] != chain.mmd_q.iloc[0]
    with pytest.raises(TypeError, match="model must be a genae model"):
        posterior_baseline(None, clf, real_a, real_b)


def test_chain_and_decode_options(setup):
    clf, real = setup
    model = tiny("vae").eval()
    rows = {(c, d): evaluate_chain(model, clf, real, n_samples=12, steps=[0, 1, 3], interpolation_steps=None,
                                   decode=d, chain=c)
            for c in ("chain", "fixed input") for d in ("mean", "sample")}
    for (c, d), t in rows.items():
        assert set(t.chain) == {c} and set(t.decode) == {d}
    # step 0 is z0 itself, the same for every chain; later steps differ
    same0 = [t[t.step == 0][list(METRICS)].to_numpy() for t in rows.values()]
    assert all(np.allclose(same0[0], s) for s in same0)
    assert not np.allclose(rows["chain", "mean"][rows["chain", "mean"].step == 3].fid,
                           rows["chain", "sample"][rows["chain", "sample"].step == 3].fid)
    with pytest.raises(ValueError, match="unknown chain"):
        evaluate_chain(model, clf, real, n_samples=12, chain="torch7")
    with pytest.raises(ValueError, match="unknown decode"):
        evaluate_chain(model, clf, real, n_samples=12, decode="bernoulli")


# ---- the real-vs-real baseline, bootstrapped (issue 24) -----------------------------------------

def test_feature_metrics_match_the_metrics_module():
    from genae.evaluate import feature_metrics
    from genae.metrics import frechet_distance, kid, mmd, precision_recall

    g = torch.Generator().manual_seed(0)
    a, b = torch.randn(30, 4, generator=g).double(), torch.randn(40, 4, generator=g).double() + 0.5
    row = feature_metrics(a, b, k=3, bandwidth=2.0)
    assert row["fid"] == pytest.approx(frechet_distance(a, b)) and row["kid"] == pytest.approx(kid(a, b)[0])
    assert (row["precision"], row["recall"]) == pytest.approx(precision_recall(b, a, k=3))
    assert row["mmd_feat"] == pytest.approx(mmd(a, b, 2.0))
    assert row["kid"] != pytest.approx(feature_metrics(a, b, kid_normalise="l2")["kid"])
    assert "mmd_feat" not in feature_metrics(a, b, with_mmd=False)


def test_bootstrap_real_baseline_interval(setup):
    from genae.data import load_images
    from genae.evaluate import bootstrap_real_baseline, feature_metrics, real_baseline_draws

    clf, _ = setup
    pool = load_images("digits", "test", image_size=16).tensors[0][:120]
    out = bootstrap_real_baseline(clf, pool, n=40, n_reference=60, repeats=40).set_index("metric")
    assert set(out.index) >= {"fid", "kid", "precision", "recall", "mmd_feat"}
    assert (out["low"] <= out["mean"]).all() and (out["mean"] <= out["high"]).all() and (out["sd"] > 0).all()
    assert out.loc["fid", "n"] == 40 and out.loc["fid", "n_reference"] == 60 and out.loc["fid", "repeats"] == 40
    # KID is unbiased: real against real centres on 0 within the repetitions' spread
    assert abs(out.loc["kid", "mean"]) < out.loc["kid", "sd"]
    # heavily noised images fall outside the interval: the baseline can fail a sampler
    noisy = (pool[:40] + 0.5 * torch.randn(pool[:40].shape, generator=torch.Generator().manual_seed(1))).clamp(0, 1)
    bad = feature_metrics(clf.features(noisy).double(), clf.features(pool[60:]).double())
    assert bad["fid"] > out.loc["fid", "high"]
    again = real_baseline_draws(clf, pool, n=40, n_reference=60, repeats=3)
    assert again.equals(real_baseline_draws(clf, pool, n=40, n_reference=60, repeats=3))
    with pytest.raises(ValueError, match="too few for disjoint sets of n=100"):
        bootstrap_real_baseline(clf, pool, n=100, n_reference=60)
    with pytest.raises(ValueError, match="level must be below 1"):
        bootstrap_real_baseline(clf, pool, n=40, level=1.0)
