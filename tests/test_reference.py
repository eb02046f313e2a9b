"""The stored results behind chapter 9: their provenance, and the landing page that reads them.

tests/test_stored_regenerates.py regenerates one configuration of them from scratch."""

import json
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
STORED = ROOT / "genae" / "stored"  # what they wrote: package data


def test_the_stored_results_have_their_provenance():
    meta = json.loads((STORED / "ch09.json").read_text())
    assert {"command", "git_commit", "versions", "machine", "run_seconds", "config"} <= set(meta)
    stored = pd.read_csv(STORED / "ch09.csv")
    assert {"decoded Q(Z)", "real vs real", "prior sample", "slerp midpoint"} <= set(stored.path)
    assert set(stored.chain.dropna()) == {"chain", "fixed input"} and set(stored.decode.dropna()) == {"mean", "sample"}


def test_the_landing_pages_summary_is_what_the_stored_run_says():
    # book/intro.md includes book/images/landing_summary.md, which book/landing_figure.py generates from
    # chapter 9's stored run (genae.headline): the change per model and step with its interval, the
    # Holm verdicts, what the design detects, the largest change. Regenerating the stored results
    # without regenerating the summary must fail here; intro.md's own prose makes no numeric claim.
    from genae.headline import headline_markdown

    intro = (ROOT / "book" / "intro.md").read_text()
    assert "```{include} images/landing_summary.md" in intro, "the landing page must include its summary"
    saved = (ROOT / "book" / "images" / "landing_summary.md").read_text()
    assert saved == headline_markdown(), "stale summary: run python book/landing_figure.py --summary"
    assert "only if" not in intro, "the exact posterior is a sufficient condition (chapter 3), not 'only if'"
