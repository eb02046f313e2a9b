"""The book's headline, generated from chapter 9's stored run: what the authors' chain (section 3,
Eq. 1 and 2, as their code runs it) does to FID and KID at the paper's 200-D latent size.

The landing page cannot glue a notebook's outputs, so its summary is written here as Markdown
(:func:`headline_markdown`, saved by :func:`write_headline` and included by ``book/intro.md``),
and a test checks that the saved file is what the stored run says. The sentences lead with the
effect sizes: per model, the mean change from step 0 at steps 1, 2, 5 and 10 with its 95%
confidence interval, the Holm-adjusted verdicts of that pre-specified family
(:func:`genae.summary.step_family`), what the design can detect
(:func:`genae.summary.detectable_in_units`), and the largest change in the table, whichever way
it points (:func:`genae.verdicts.largest_effect`, the sentence chapter 9 prints).
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from genae.infra.files import atomic_path
from genae.notebook import stored_results
from genae.stored_tables import headline_rows, name_variants
from genae.summary import FAMILY_STEPS, NAMES, detectable_in_units, shape_of_change, step_family
from genae.verdicts import largest_effect, step_table

METRICS = ("fid", "kid")


def chain_rows(stored: pd.DataFrame | None = None) -> pd.DataFrame:
    """The headline rows of chapter 9's stored table (:func:`genae.stored_tables.headline_rows`):
    the largest latent size at its best-seeded length, prior samples walked by the authors'
    stochastic chain with mean decoding."""
    t = pd.read_csv(stored_results("ch09.csv")) if stored is None else stored
    return headline_rows(name_variants(t))


def _change(r: pd.Series) -> str:
    """'-16.2 [-26.3, -6.12]': the mean change and its 95% confidence interval."""
    return f"{r['change']:+.3g} [{r['low']:.3g}, {r['high']:.3g}]"


def _table(family: pd.DataFrame, power: pd.DataFrame, steps: list[int]) -> list[str]:
    """One Markdown table row per model: FID at step 0, the change at each step with its interval,
    the Holm verdicts' shape (FID and KID), and the change the design detects at the last step."""
    head = ["model", "FID at step 0", *(f"change at step {s}" for s in steps),
            "verdict (Holm)", f"detectable at step {steps[-1]}"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for kind in dict.fromkeys(family.model):
        fid = family[(family.model == kind) & (family.metric == "fid")]
        kid = family[(family.model == kind) & (family.metric == "kid")]
        detect = power[(power.model == kind) & (power.metric == "fid")].iloc[0]
        changes = [_change(r) for _, r in fid.iterrows()]
        cells = [kind.upper(), f"{fid.iloc[0]['from']:.3g}", *changes,
                 f"FID {shape_of_change(fid)}; KID {shape_of_change(kid)}",
                 f"{detect['detectable']:.3g}"]
        lines.append("| " + " | ".join(cells) + " |")
    return lines


def headline_markdown(stored: pd.DataFrame | None = None) -> str:
    """The landing page's summary of chapter 9's stored run, as Markdown."""
    rows = chain_rows(stored)
    steps = [s for s in FAMILY_STEPS if s in set(rows.step)]
    family = step_family(rows, by=["model"], steps=steps, metrics=list(METRICS))
    n_seeds = int(family.n.min())
    power = detectable_in_units(rows, ["model"], 0, max(steps), metrics=["fid"],
                                family_size=len(steps))
    n = int(rows.n.iloc[0]) if "n" in rows else None
    design = (f"{rows.latent_dim.iloc[0]}-D models trained for {rows.epochs.iloc[0]} epochs, "
              f"{n_seeds} training seeds per model"
              + (f", {n} samples against {n} held-out images per measurement" if n else ""))
    intro = (f"**In chapter 9's stored run** ({design}): the change in {NAMES['fid']} (lower is "
             f"better) from the prior's samples (step 0) after each number of steps of the "
             f"authors' chain, as the mean over seeds with its 95% confidence interval in "
             f"brackets. The verdicts test steps {', '.join(map(str, steps))} against step 0 as "
             f"one family per model and metric, Holm-adjusted; the last column is the FID change "
             f"at step {steps[-1]} that this design detects with 80% probability at the family's "
             f"strictest level.")
    limit = (f"With {n_seeds} seeds, a true change smaller than the last column is likely to be "
             "reported as \"no clear change\": that verdict says the design cannot tell the "
             "change from none, not that the chain does nothing.")
    largest = largest_effect(step_table(rows, sorted(set(rows.step) - {0}), ["fid"]))
    return "\n".join([intro, "", *_table(family, power, steps), "", f"{limit} {largest}", ""])


def write_headline(path: str | Path, stored: pd.DataFrame | None = None) -> str:
    """Write :func:`headline_markdown` to ``path`` (the landing page includes it); return it."""
    text = headline_markdown(stored)
    with atomic_path(Path(path)) as tmp:
        Path(tmp).write_text(text)
    return text
