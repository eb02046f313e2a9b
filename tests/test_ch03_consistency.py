"""Chapter 03's printed distance lines, its table and its Figure 2 read one and the same chain.

The chapter once printed 'ML pPCA, exact posterior: W2(z_t, Q(Z)) = ... 0.370 at t = 50' from
the mean-decoding chain under a table of the sampled chain (W2(Π, Q) = 0); issue 23.
"""

from __future__ import annotations

import dataclasses
import re

import numpy as np
import pytest

from genae import linear_experiments as lx
from genae.linear import LinearGaussianAE, exact_posterior, fit_ppca


@pytest.fixture(scope="module")
def setup():
    return lx.make_setup(0, n_samples=2000, steps=50)


@pytest.fixture(scope="module")
def settings(setup):
    W, b, s = fit_ppca(setup.data, 2)
    A, c, S = exact_posterior(W, b, s)
    ml = LinearGaussianAE.from_decoder(W, b, s)
    shrunk = LinearGaussianAE(W, b, 0.7 * A, 0.7 * c, 0.7 * S + 0.3 * np.eye(2), decoder_std=s)
    return [lx.study("ML pPCA, exact posterior", ml, setup, decode="sample"),
            lx.study("ML pPCA", ml, setup, decode="mean"),
            lx.study("shrunk", shrunk, setup, decode="sample")]


def test_the_printed_lines_are_the_figures_paths(settings, setup):
    for r in settings:
        paths = lx.distance_paths(r, setup)["Q(Z)"]
        printed = [float(x) for x in re.findall(r"(\d+\.\d+) at t = ", lx.distance_sentence(r, setup))]
        assert printed == pytest.approx([round(paths[t], 3) for t in (0, 5, setup.steps)], abs=1e-9)


def test_the_paths_end_at_the_tables_stationary_distance(settings, setup):
    long = dataclasses.replace(setup, steps=400)
    table = lx.settings_table(settings)
    for r in settings:
        end = lx.distance_paths(r, long)["Q(Z)"][-1]
        assert end == pytest.approx(table.loc[r["name"], "W2(Π,Q)"], abs=1e-3)


def test_the_sampled_exact_posterior_chain_is_the_one_printed(settings, setup):
    sampled, mean = settings[0], settings[1]
    assert sampled["w2_pi_q"] < 1e-6 and lx.distance_paths(sampled, setup)["Q(Z)"][-1] < 0.05
    # the mean-decoding chain of the same model settles elsewhere: the old, wrong line's chain
    assert lx.distance_paths(mean, setup)["Q(Z)"][-1] > 0.3
    assert 'decode="sample"' in lx.distance_sentence(sampled, setup)
