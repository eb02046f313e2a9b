"""What the book found about each claim of the paper, in sentences generated from the stored runs.

The closing chapter reads three stored results (:func:`genae.notebook.stored_results`): chapter
09's run of the authors' chain (``ch09.csv``), the referee's checks on it (``ch09_checks.csv``:
powered latent tests against Q(Z), a second feature extractor) and chapter 10's samplers
(``ch10.csv``). Each function here answers one claim with the numbers behind it; none types a
number by hand, and where the tests cannot decide it says "no clear change" or "not shown".

The claims, in the paper's words (abstract and section 1):

1. "the model does not necessarily learn to match the prior": Q(Z) differs from P(Z);
2. the chain "allows us to sample from the learned latent distribution" (it converges to Q(Z));
3. it "can improve the quality of samples ... within a few iterations";
4. "especially when the learned distribution is far from the prior";
5. it corrects interpolations (spherical interpolation followed by the chain);
6. it "reveal[s] previously unseen differences" between denoising and plain models.
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from genae.defaults import KINDS
from genae.stored_tables import headline_rows
from genae.summary import FAMILY_STEPS, NAMES, shape_of_change, step_family

ALPHA = 0.05
LABEL = {k: k.upper() for k in KINDS}


def _kinds(frame: pd.DataFrame) -> list[str]:
    return [k for k in KINDS if k in set(frame["model"])]


def _share(rows: pd.DataFrame, metric: str, alpha: float = ALPHA) -> dict[str, tuple[int, int]]:
    """Per model: (seeds whose test of ``metric`` rejects at ``alpha``, seeds)."""
    rows = rows[rows["metric"] == metric]
    return {k: (int((g["p_value"] < alpha).sum()), len(g)) for k, g in rows.groupby("model")}


def stored_latent_tests(checks: pd.DataFrame, step: int) -> pd.DataFrame:
    """The powered tests of the chains' latents against Q(Z) at ``step``, per model: how many
    seeds the classifier test and the multi-scale MMD reject at 5%, and the classifier's mean
    held-out accuracy (0.5: it cannot tell the two apart)."""
    rows = checks[(checks["part"] == "chain") & (checks["extractor"] == "latent")
                  & (checks["step"] == step)]
    c2st, mmd = _share(rows, "c2st_accuracy"), _share(rows, "mmd_multiscale")
    acc = rows[rows["metric"] == "c2st_accuracy"].groupby("model")["value"].mean()
    return pd.DataFrame([{"model": k, "step": step, "classifier rejects": c2st[k][0],
                          "MMD rejects": mmd[k][0], "seeds": c2st[k][1],
                          "classifier accuracy": float(acc[k])} for k in _kinds(rows)])


def _seeds_phrase(table: pd.DataFrame, column: str) -> str:
    parts = [f"{LABEL[r.model]} {getattr(r, column)} of {r.seeds}"
             for r in table.itertuples(index=False)]
    return ", ".join(parts)


def mismatch_sentence(checks: pd.DataFrame) -> str:
    """Claim 1: at step 0 the latents are prior draws, so the test is P(Z) against Q(Z)."""
    t = stored_latent_tests(checks, 0).rename(columns={"classifier rejects": "c2st"})
    told = t[t["c2st"] > t["seeds"] / 2]
    verdict = ("Q(Z) differs from P(Z) for " + ", ".join(LABEL[k] for k in told.model)
               if len(told) else "the tests do not tell Q(Z) from P(Z) for any model")
    return (f"**Q(Z) against P(Z).** A classifier trained to tell prior draws from encodings of "
            f"held-out digits does so, at the 5% level, in {_seeds_phrase(t, 'c2st')} seeds "
            f"(mean held-out accuracy {_accuracies(t)}; 0.5 is chance): {verdict}.")


def _accuracies(t: pd.DataFrame) -> str:
    return ", ".join(f"{LABEL[k]} {a:.2f}" for k, a in zip(t["model"], t["classifier accuracy"]))


def convergence_sentence(checks: pd.DataFrame, step: int = 10) -> str:
    """Claim 2: after ``step`` steps, can the tests still tell the chains' latents from Q(Z)?"""
    t = stored_latent_tests(checks, step).rename(columns={"classifier rejects": "c2st"})
    still = [LABEL[k] for k, c, n in zip(t.model, t.c2st, t.seeds) if c > n / 2]
    close = [LABEL[k] for k, c, n in zip(t.model, t.c2st, t.seeds) if c <= n / 2]
    parts = []
    if close:
        parts.append("the chains' latents are not told from Q(Z) in most seeds for "
                     + ", ".join(close))
    if still:
        parts.append("they are still told from Q(Z) in most seeds for " + ", ".join(still)
                     + ": there the chain has not reached Q(Z), or does not converge to it")
    return (f"**Does the chain reach Q(Z)?** After {step} steps the classifier test rejects in "
            f"{_seeds_phrase(t, 'c2st')} seeds (mean accuracy {_accuracies(t)}): "
            + "; ".join(parts) + ".")


def quality_family(stored: pd.DataFrame, path: str = "prior sample",
                   metrics: Sequence[str] = ("fid", "kid", "precision", "recall")
                   ) -> pd.DataFrame:
    """Steps 1, 2, 5, 10 (those stored) against step 0 as one Holm family per model and metric,
    for the authors' chain in the headline regime."""
    rows = headline_rows(stored, path=path)
    steps = [s for s in FAMILY_STEPS if s in set(rows["step"])]
    return step_family(rows, by=["model"], steps=steps, metrics=list(metrics), alpha=ALPHA)


def quality_sentences(family: pd.DataFrame, what: str = "samples") -> list[str]:
    """Claim 3 (or 5, for slerp midpoints): per model, FID's change at each step with its 95%
    interval, and the shape of the Holm verdicts for FID and KID."""
    out = []
    for kind in _kinds(family):
        fid = family[(family.model == kind) & (family.metric == "fid")]
        kid = family[(family.model == kind) & (family.metric == "kid")]
        steps = "; ".join(f"step {r.step}: {r.change:+.3g} [{r.low:.3g}, {r.high:.3g}]"
                          for r in fid.itertuples(index=False))
        out.append(f"- **{LABEL[kind]}** ({what}): FID {fid.iloc[0]['from']:.3g} at step 0; "
                   f"change {steps}. FID {shape_of_change(fid)}; KID {shape_of_change(kid)}.")
    return out


def distance_and_gain(stored: pd.DataFrame, step: int = 5) -> pd.DataFrame:
    """Claim 4, per model: how far the prior's draws are from Q(Z) (MMD² at step 0) beside the
    mean FID change after ``step`` steps, over the headline seeds."""
    rows = headline_rows(stored)
    start = rows[rows["step"] == 0].groupby("model")["mmd_q"].mean()
    fid = rows.pivot_table(index=["model", "seed"], columns="step", values="fid")
    gain = (fid[step] - fid[0]).groupby("model").mean()
    table = pd.DataFrame({"MMD² to Q(Z) at step 0": start, f"FID change at step {step}": gain})
    return table.loc[_kinds(rows)].rename(index=LABEL)


def distance_sentence(table: pd.DataFrame) -> str:
    """Claim 4 in words: does the model furthest from Q(Z) gain most? Four models are a
    description, not a test."""
    far = table.iloc[:, 0].idxmax()
    best, change = table.iloc[:, 1].idxmin(), table.iloc[:, 1].min()
    agree = "is also" if far == best else "is not"
    how = "falls most" if change < 0 else "rises least (no model's falls on average)"
    return (f"**Far from the prior, more gain?** The {far}'s prior draws are furthest from Q(Z) "
            f"(MMD² {table.iloc[:, 0].max():.3g}); the model whose FID {how} "
            f"({table.columns[1]}) is the {best} ({change:+.3g}), so the furthest model "
            f"{agree} the one that fares best. With four models this describes "
            "the run; it does not test the claim.")


def denoising_sentence(family: pd.DataFrame) -> str:
    """Claim 6, in the numbers of the stored run: do a denoising model and its plain twin change
    differently under the chain? (Chapter 08 looks at the images themselves.)"""
    parts = []
    for plain, noisy in (("vae", "dvae"), ("aae", "daae")):
        shapes = {k: shape_of_change(family[(family.model == k) & (family.metric == "fid")])
                  for k in (plain, noisy)}
        same = "the same shape" if shapes[plain] == shapes[noisy] else "different shapes"
        parts.append(f"{LABEL[plain]}: FID {shapes[plain]}; {LABEL[noisy]}: FID "
                     f"{shapes[noisy]} ({same})")
    return "**Denoising against plain.** " + "; ".join(parts) + "."


def sampler_table(ch10: pd.DataFrame, metric: str = "fid") -> pd.DataFrame:
    """Chapter 10's samplers: mean ``metric`` over seeds, per sampler (rows) and model."""
    table = ch10.pivot_table(index="sampler", columns="model", values=metric, aggfunc="mean")
    return table[_kinds(ch10)].rename(columns=LABEL)


def advice_sentences(samplers: pd.DataFrame, family: pd.DataFrame) -> list[str]:
    """What a practitioner should do, per model: the sampler with the lowest mean FID in chapter
    10, against the prior and the chain's best tested step in chapter 09."""
    out = []
    for label in samplers.columns:
        col = samplers[label].dropna()
        best = col.idxmin()
        kind = label.lower()
        fid = family[(family.model == kind) & (family.metric == "fid")]
        better = fid[fid.verdict == "better"]
        chain = (f"the authors' chain is clearly better than the prior at steps "
                 f"{', '.join(str(s) for s in better.step)}" if len(better)
                 else "no step of the authors' chain is clearly better than the prior")
        prior = col.get("prior", float("nan"))
        fresh = col.drop("Q(Z)", errors="ignore")  # Q(Z) decodes training images' codes
        out.append(f"- **{label}**: the lowest mean FID in chapter 10 is the {best} sampler's "
                   f"({col[best]:.3g}, against {prior:.3g} for the prior); leaving out Q(Z) "
                   f"itself, the {fresh.idxmin()} sampler's ({fresh.min():.3g}); in chapter 09, "
                   f"{chain}.")
    return out


def metric_name(metric: str) -> str:
    """The metric's name as the book writes it."""
    return NAMES.get(metric, metric)


def change_figure(family: pd.DataFrame, metric: str = "fid"):
    """Mean change of ``metric`` from step 0 with its 95% interval, per model (one panel each),
    against the number of chain steps; a dashed line at no change."""
    import matplotlib.pyplot as plt

    kinds = _kinds(family)
    fig, axes = plt.subplots(1, len(kinds), figsize=(3.2 * len(kinds), 3.0), sharey=True)
    for ax, kind in zip(list(getattr(axes, "flat", [axes])), kinds):
        rows = family[(family.model == kind) & (family.metric == metric)]
        low, high = rows["change"] - rows["low"], rows["high"] - rows["change"]
        ax.errorbar(rows["step"], rows["change"], yerr=[low, high], fmt="o-", capsize=4)
        ax.axhline(0, color="grey", linestyle="--", linewidth=1)
        ax.set(title=LABEL[kind], xlabel="chain steps", xscale="log",
               xticks=list(rows["step"]), xticklabels=[str(s) for s in rows["step"]])
    first = list(getattr(axes, "flat", [axes]))[0]
    first.set_ylabel(f"change in {metric_name(metric)} from step 0")
    fig.tight_layout()
    return fig


def summary_sentence(family: pd.DataFrame, checks: pd.DataFrame, samplers: pd.DataFrame) -> str:
    """The chapter's summary: one line per claim, from the same tables as the sections."""
    start, end = stored_latent_tests(checks, 0), stored_latent_tests(checks, 10)
    differ = [LABEL[k] for k, c, n in zip(start.model, start["classifier rejects"], start.seeds)
              if c > n / 2]
    reached = [LABEL[k] for k, c, n in zip(end.model, end["classifier rejects"], end.seeds)
               if c <= n / 2]
    fid = family[family.metric == "fid"]
    shapes = "; ".join(f"{LABEL[k]} {shape_of_change(fid[fid.model == k])}" for k in _kinds(fid))
    best = {label: samplers[label].idxmin() for label in samplers.columns}
    winners = "; ".join(f"{label}: {name}" for label, name in best.items())
    return "\n".join([
        f"- **Q(Z) is not P(Z)**: the latent test tells them apart for "
        f"{', '.join(differ) or 'no model'} (most seeds).",
        f"- **The chain reaches Q(Z)** within 10 steps, by the same test, for "
        f"{', '.join(reached) or 'no model'}.",
        f"- **Better samples in a few steps** (FID, Holm-corrected over steps 1, 2, 5, 10): "
        f"{shapes}.",
        f"- **The lowest mean FID** in chapter 10, per model: {winners}.",
    ])
