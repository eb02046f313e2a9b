"""genae.sampler_report's sentences say what a table of sampler measurements says."""

import numpy as np
import pandas as pd

from genae.sampler_report import chapter_summary, recommendation, sampler_sentences

SAMPLERS = ["prior", "chain", "Q(Z)", "mixture", "two-stage VAE", "mixture + chain",
            "chain (best step)"]


def table(seeds=(0, 1, 2)):
    rng = np.random.default_rng(0)
    rows = []
    for seed in seeds:
        for kind in ("vae", "aae"):
            fids = {"prior": 100, "chain": 150, "Q(Z)": 10, "mixture": 20, "two-stage VAE": 40,
                    "mixture + chain": 80, "chain (best step)": 90}
            for s in SAMPLERS:
                rows.append({"model": kind, "seed": seed, "sampler": s, "latent_dim": 200,
                             "fid": fids[s] + rng.normal(), "mmd_q": 0.01, "nearest": 0.1,
                             "acceptance": np.nan, "copying_ct": -5.0 if s == "Q(Z)" else 0.5,
                             "chain_step": 2 if s == "chain (best step)" else np.nan})
    return pd.DataFrame(rows)


def test_the_sentences_name_the_best_sampler_and_the_chains_paired_change():
    text = sampler_sentences(table())
    assert text.count("- **") == 2 and "lowest FID without replaying training images: mixture" in text
    assert "95% CI" in text and "best step (chosen on other images and chains: step 2)" in text
    assert "no sign of copying" in text


def test_recommendation_leaves_out_q_of_z():
    assert "**mixture**" in recommendation(table()) and "**Q(Z)**" not in recommendation(table())


def test_the_summary_counts_copying_and_worse_chains():
    from genae.exact_chain import exact_chain_run, stationary_table, toy_models

    toy = toy_models(0)
    run = exact_chain_run(toy["imperfect"], seed=0, n=500, steps=50)
    by_step = {"vae": {0: 100.0, 1: 90.0, 10: 150.0}, "aae": {0: 100.0, 1: 120.0, 10: 90.0}}
    text = chapter_summary(table(seeds=(0,)), table(), by_step, stationary_table(toy), run)
    assert "above step 0's for 1 of 2 models (VAE)" in text
    assert "below -3 flags copying: 0 of 2" in text


def test_the_prior_is_the_copying_tests_control():
    from genae.sampler_report import _copying_line

    frame = table()
    assert "flagged for no model" in _copying_line(frame, [0.5, 0.5])
    frame.loc[(frame.sampler == "prior") & (frame.model == "vae"), "copying_ct"] = -8.0
    text = _copying_line(frame, [0.5, 0.5])
    assert "flagged for the VAE ($C_T$ = -8)" in text and "AAE" not in text
    assert "200-D latent space the test raises false alarms" in text
