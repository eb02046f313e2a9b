"""genae.exact_chain: which version of the chain keeps the prior, in closed form and simulated."""

import pytest

from genae.exact_chain import exact_chain_run, exact_chain_sentence, stationary_table, toy_models


@pytest.fixture(scope="module")
def table():
    return stationary_table(toy_models(0)).set_index(["encoder", "decode"])


def test_only_eq1_with_the_exact_posterior_keeps_the_prior(table):
    assert table.loc[("exact posterior", "sample"), "cov_error"] < 1e-9
    assert table.loc[("exact posterior", "mean"), "cov_error"] > 0.1  # mean decoding shrinks it
    assert table.loc[("imperfect", "sample"), "cov_error"] > 0.1
    assert table.loc[("imperfect", "mean"), "cov_error"] > 0.1


def test_the_exact_chain_returns_to_the_prior_from_the_imperfect_chains_stationary_point():
    run = exact_chain_run(toy_models(0)["imperfect"], seed=0, n=1000, steps=100)
    assert 0 < run["acceptance"] < 1
    assert run["cov_error"] < run["tolerance"]
    text = exact_chain_sentence(stationary_table(toy_models(0)), run)
    assert "is within Monte-Carlo error of the prior" in text
