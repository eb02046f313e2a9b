"""Chapter 09's tables: the stored run of ``reference/ch09.py`` (and the live run) read, filtered
and laid out as mean ± sd over seeds (section 4.5 of the paper, measured).

The stored results ship inside the package (:func:`genae.notebook.stored_results`), so these
functions work wherever ``pip install`` brought genae. :func:`load_stored` reads the rows, the
held-out loss curve and the provenance and names each row's chain (:data:`VARIANTS`);
:func:`headline_rows` picks the authors' chain in the headline regime (the largest latent size at
the longest length, the configuration with the most seeds); :func:`regime_table` lays out chosen
steps beside decoded Q(Z) and real-vs-real; :func:`variants_table` puts the chains side by side;
:func:`markdown_table` writes a table as Markdown (for notes and for Colab, with no extra
dependency).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

import pandas as pd

if TYPE_CHECKING:
    from pandas.io.formats.style import Styler

from genae.defaults import KINDS
from genae.notebook import stored_results
from genae.summary import QUALITY, summarise

#: (chain, decode, sample) -> the name the chapter gives that chain
VARIANTS = {
    ("chain", "mean", True): "mean decoding",
    ("chain", "sample", True): "sampled decoding",
    ("fixed input", "mean", True): "fixed input",
    ("chain", "mean", False): "deterministic",
}
BASELINES = ("decoded Q(Z)", "real vs real")


def name_variants(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` with a ``variant`` column: the chain's name for chain rows, the path for the
    baselines (whose ``sample`` is empty)."""
    is_chain = frame["path"].isin(["prior sample", "slerp midpoint"])
    # the CSV stores booleans as text; a live frame holds them as bools
    sample = frame["sample"].astype(str) == "True"
    names = [VARIANTS[(c, d, s)] if chain else p for c, d, s, p, chain in
             zip(frame["chain"], frame["decode"], sample, frame["path"], is_chain)]
    return frame.assign(variant=names)


def load_stored(name: str = "ch09") -> tuple[pd.DataFrame, pd.DataFrame, dict]:
    """The stored rows (with ``variant``), the held-out loss curve and the provenance of a run."""
    rows = name_variants(pd.read_csv(stored_results(f"{name}.csv")))
    curve = pd.read_csv(stored_results(f"{name}_curve.csv"))
    meta = json.loads(stored_results(f"{name}.json").read_text())
    return rows, curve, meta


def by_model(frame: pd.DataFrame, *more: str) -> pd.DataFrame:
    """Rows in the book's order of the kinds (VAE, AAE, DVAE, DAAE), then by ``more``."""
    order = {k: i for i, k in enumerate(KINDS)}
    return frame.sort_values(["model", *more], kind="stable",
                             key=lambda c: c.map(order) if c.name == "model" else c)


def headline_regime(stored: pd.DataFrame) -> tuple[int, int]:
    """(latent_dim, epochs) of the headline rows: the largest latent size, and of its lengths the
    one whose authors' chain has the most seeds (the longest on a tie)."""
    chain = stored[stored["variant"] == "mean decoding"]
    big = int(chain["latent_dim"].max())
    seeds = chain[chain["latent_dim"] == big].groupby("epochs")["seed"].nunique()
    return big, int(max(seeds.index, key=lambda e: (seeds[e], e)))


def headline_rows(stored: pd.DataFrame, variant: str = "mean decoding",
                  path: str = "prior sample", regime: tuple[int, int] | None = None
                  ) -> pd.DataFrame:
    """The rows of one chain (default: the authors') and path in the headline regime."""
    latent_dim, epochs = regime or headline_regime(stored)
    keep = ((stored["latent_dim"] == latent_dim) & (stored["epochs"] == epochs)
            & (stored["variant"] == variant) & (stored["path"] == path))
    return by_model(stored[keep], "seed", "step")


def baseline_rows(frame: pd.DataFrame, regime: tuple[int, int] | None = None) -> pd.DataFrame:
    """The decoded-Q(Z) and real-vs-real rows (of the regime, for a stored frame)."""
    keep = frame["path"].isin(BASELINES)
    if regime is not None:
        keep &= (frame["latent_dim"] == regime[0]) & (frame["epochs"] == regime[1])
    return frame[keep]


def regime_table(chain: pd.DataFrame, baselines: pd.DataFrame,
                 steps: Sequence[int] = (0, 1, 10, 50),
                 metrics: Sequence[str] = QUALITY) -> pd.DataFrame:
    """Mean ± sd over seeds, per model: the chain at ``steps``, then decoded Q(Z) and real vs
    real, with only the seeds the chain has (the baselines' seeds match the chain's)."""
    at = chain[chain["step"].isin(steps)].assign(row=lambda f: "step " + f["step"].astype(str))
    base = baselines[baselines["seed"].isin(set(chain["seed"]))]
    frame = pd.concat([at, base.assign(row=base["path"])])
    table = summarise(frame, by=["model", "row"], metrics=metrics)
    kinds = [k for k in KINDS if k in set(chain["model"])]
    rows = [f"step {s}" for s in steps if s in set(chain["step"])] + list(BASELINES)
    index = pd.MultiIndex.from_product([kinds, rows], names=["model", "row"])
    return table.reindex(index).rename(index=str.upper, level="model")


def variants_table(frame: pd.DataFrame, steps: Sequence[int] = (0, 1, 10),
                   metrics: Sequence[str] = ("fid", "precision", "recall", "mmd_q")
                   ) -> pd.DataFrame:
    """The chains side by side: mean ± sd over seeds per (model, step), one column block per
    chain, for the seeds every chain has."""
    chains = frame[frame["path"] == "prior sample"]
    common = set.intersection(*(set(g["seed"]) for _, g in chains.groupby("variant")))
    chains = by_model(chains[chains["seed"].isin(common) & chains["step"].isin(steps)], "step")
    table = summarise(chains, by=["model", "step", "variant"], metrics=metrics)
    table = table.unstack("variant").swaplevel(0, 1, axis=1)
    order = [v for v in VARIANTS.values() if v in table.columns.get_level_values(0)]
    return table[order].rename(index=str.upper, level="model")


def markdown_table(table: pd.DataFrame) -> str:
    """A table (with a MultiIndex or not) as a Markdown pipe table."""
    flat = table.reset_index()
    flat.columns = [" ".join(str(p) for p in c if str(p)) if isinstance(c, tuple) else str(c)
                    for c in flat.columns]
    lines = ["| " + " | ".join(flat.columns) + " |", "|" + " --- |" * len(flat.columns)]
    lines += ["| " + " | ".join("" if pd.isna(v) else str(v) for v in r) + " |"
              for r in flat.itertuples(index=False)]
    return "\n".join(lines)


# ---- the referee's checks (reference/ch09_checks.py) ------------------------------------------

def load_checks(name: str = "ch09_checks") -> tuple[pd.DataFrame, dict]:
    """The checks' long table (one measured number a row) and their summaries."""
    rows = pd.read_csv(stored_results(f"{name}.csv"))
    return rows, json.loads(stored_results(f"{name}.json").read_text())


def ranking_table(ranks: pd.DataFrame) -> pd.DataFrame:
    """Per degradation and metric, for each extractor: does the metric get worse at every step up
    in severity (✔/✘), with the rank correlation of severity and badness (rows of
    :func:`genae.degrade.ranking_check` with an ``extractor`` column)."""
    ranks = ranks.copy()
    ranks["cell"] = [f"{'✔' if m else '✘'} ρ = {r:.2f}" for m, r in
                     zip(ranks["monotone"], ranks["spearman"])]
    return ranks.pivot_table(index=["degradation", "metric"], columns="extractor", values="cell",
                             aggfunc="first", sort=False)


def baseline_intervals(intervals: Mapping[str, pd.DataFrame],
                       metrics: Sequence[str] = ("fid", "kid", "precision", "recall")
                       ) -> pd.DataFrame:
    """Real against real over the resplits: mean and 95% interval, per extractor (the keys) and
    metric (each value is :func:`genae.evaluate.bootstrap_real_baseline`'s table)."""
    rows = pd.concat([t.assign(extractor=name) for name, t in intervals.items()])
    rows = rows[rows["metric"].isin(metrics)]
    cells = [f"{v:.3g} ({lo:.3g} to {hi:.3g})" for v, lo, hi in
             zip(rows["mean"], rows["low"], rows["high"])]
    table = rows.assign(cell=cells).pivot_table(index="extractor", columns="metric",
                                                values="cell", aggfunc="first")
    return table[[m for m in metrics if m in table.columns]]


def check_family(summary: dict) -> pd.DataFrame:
    """The checks' step families (rows of :func:`genae.summary.step_family`)."""
    return pd.DataFrame(summary["families"]["rows"])


def shapes_table(families: Mapping[str, pd.DataFrame],
                 metrics: Sequence[str] = ("fid", "kid", "precision", "recall")) -> pd.DataFrame:
    """The shape of each metric's change over the steps, per model, side by side for several
    families (e.g. the judge's features and the second extractor's)."""
    from genae.summary import shape_of_change

    out = {}
    for name, fam in families.items():
        for metric in metrics:
            rows = fam[fam["metric"] == metric]
            out[(metric, name)] = {k.upper(): shape_of_change(rows[rows["model"] == k])
                                   for k in KINDS if k in set(rows["model"])}
    table = pd.DataFrame(out)
    table.columns = pd.MultiIndex.from_tuples(table.columns, names=["metric", "features"])
    return table


def shapes_by_row(shapes: pd.DataFrame) -> Styler:
    """:func:`shapes_table` with one row per model and metric and a column per extractor, styled so
    that each verdict wraps in its cell on a page, in full (a plain frame's HTML cuts long text)."""
    return shapes.stack("metric").style.set_properties(**{"white-space": "normal",
                                                          "text-align": "left"})


def latent_test_table(checks: pd.DataFrame, alpha: float = 0.05) -> pd.DataFrame:
    """The powered latent tests against Q(Z), per model and step, over the seeds: the share of
    seeds whose multi-scale MMD permutation test and classifier test reject at ``alpha``, and
    the classifier's mean held-out accuracy (0.5: it cannot tell the chain's latents from
    Q(Z))."""
    rows = checks[(checks["part"] == "chain") & (checks["extractor"] == "latent")]
    rows = rows.astype({"step": int})  # read as floats: other parts of the file have no step
    grouped = rows.groupby(["model", "step", "metric"], sort=False)
    rejected = grouped["p_value"].apply(lambda p: f"{int((p < alpha).sum())} of {len(p)}")
    table = pd.DataFrame({
        "multi-scale MMD rejects": rejected.xs("mmd_multiscale", level="metric"),
        "classifier test rejects": rejected.xs("c2st_accuracy", level="metric"),
        "classifier accuracy": grouped["value"].mean().xs("c2st_accuracy", level="metric")
        .map(lambda v: f"{v:.3f}"),
    })
    return by_model(table.reset_index(), "step").set_index(["model", "step"]).rename(
        index=str.upper, level="model")
