"""genae.latent_convergence's bootstrap and closest-step verdicts, and genae.training_report's
tables, on small synthetic inputs (chapters 03 and 04)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import torch

from genae import latent_convergence as lc
from genae import training_report as report
from genae.metrics import mmd


def test_bootstrap_centres_on_the_unbiased_mmd():
    g = torch.Generator().manual_seed(0)
    reference = torch.randn(120, 4, generator=g)
    trajectory = torch.stack([torch.randn(120, 4, generator=g) + shift for shift in (1.0, 0.0)])
    boot = lc.bootstrap_mmd(trajectory, reference, bandwidth=2.0, generator=g, draws=300)
    exact = [mmd(z, reference, bandwidth=2.0) for z in trajectory]
    assert boot.shape == (300, 2)
    se = boot.std(axis=0, ddof=1)
    assert np.all(np.abs(boot.mean(axis=0) - exact) < 3 * se / np.sqrt(300) + 0.01)


def test_closest_step_says_no_clear_difference_when_the_interval_holds_zero():
    boot = np.random.default_rng(0).normal([0.05, 0.049, 0.06], 0.01, size=(200, 3))
    c = lc.closest_approach({"mmd": np.array([0.05, 0.049, 0.06]), "boot": boot})
    assert c["step"] == 1 and "no clear difference" in lc.closest_words(c)
    clear = lc.closest_approach({"mmd": np.array([0.3, 0.01, 0.2]),
                                 "boot": np.array([0.3, 0.01, 0.2]) + 0.001 * boot})
    assert "clearly below step 0" in lc.closest_words(clear)


def test_adversary_table_divides_the_prior_term_by_its_weight():
    history = [{"epoch": 1, "prior": 700.0, "adversary": 0.7, "adversary_accuracy": 0.5,
                "z_std": 0.9}]
    table = report.adversary_table({"book": (history, 1000.0), "one": (history, 1.0)})
    assert table.loc["book", "encoder's -log D(e(x))"] == 0.7
    assert "50%" in report.weighting_sentence(table, "book", "one")
    assert isinstance(table, pd.DataFrame)


def test_bce_is_summed_over_pixels():
    x = torch.full((2, 1, 2, 2), 0.5)
    assert abs(report.bce(x, x) - 4 * np.log(2)) < 1e-6
