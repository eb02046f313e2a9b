"""Chapter 09's generated sentences: what the measurements of section 4.5 say, in words built
from the numbers (so a sentence cannot outlive the data it describes).

Each function takes tables of :mod:`genae.summary` or :mod:`genae.stored_tables` and returns
Markdown for :func:`genae.notebook.say`:

- :func:`judge_sentence`: what the feature classifier's accuracy and its confidence on noise
  mean for trusting it;
- :func:`family_sentences`: one sentence per model from a Holm-corrected step family;
- :func:`headline_sentences`: the change and its 95% interval per model, led by effect sizes;
- :func:`largest_effect`: the largest change in a table of steps, whichever way it points;
- :func:`power_sentence`: what a design of n seeds detects, in each metric's units;
- :func:`run_sentence`, :func:`flat_sentence`, :func:`kid_scale_sentence`: what was run, whether
  training had flattened above the loss's floor, and what KID's values are relative to.
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from genae.defaults import KINDS
from genae.summary import NAMES, QUALITY, family_sentence, step_changes

#: said wherever results of sampled decoding appear (issue 24)
SAMPLED_CONFOUND = (
    "Sampled decoding draws one Bernoulli value per pixel, so its images are binary (black and "
    "white), while the encoder was trained only on grey-level digits: a change under sampled "
    "decoding mixes what the chain does with how the encoder treats images unlike any it saw."
)


def _n(x: float) -> str:
    return f"{x:.3g}"


def judge_sentence(report: dict[str, float]) -> str:
    """What :func:`genae.features.extractor_report` of the judge classifier means for its use."""
    acc, digits, noise = (report["test_accuracy"], report["confidence_digits"],
                          report["confidence_noise"])
    text = (f"The judge classifier labels {acc:.1%} of the held-out digits correctly, so its "
            "features separate the ten digits well. Its mean confidence is "
            f"{digits:.3f} on held-out digits and {noise:.3f} on uniform noise: ")
    if noise >= digits - 0.05:
        return text + ("it is about as sure of noise as of digits, so its confidence says nothing "
                       "about how recognisable a sample is and is not used as a verdict. Its "
                       "features are trusted only as far as the checks below (degradations ranked, "
                       "a second extractor) carry them.")
    return text + (f"less sure of noise than of digits, but {noise:.2f} on images with no digit "
                   "in them is far from unsure (a tenth, for ten classes), so confidence is a weak "
                   "signal and this chapter does not use it as a verdict. Its features are trusted "
                   "only as far as the checks of section 7 (degradations ranked, a second "
                   "extractor) carry them.")


def family_sentences(family: pd.DataFrame, metrics: Sequence[str] = QUALITY,
                     prefix: str = "") -> str:
    """One bullet per model (rows of :func:`genae.summary.step_family`, ``by=["model"]``)."""
    kinds = [k for k in KINDS if k in set(family["model"])]
    return "\n".join("- " + family_sentence(family[family.model == k],
                                             f"**{prefix}{k.upper()}**", metrics) for k in kinds)


def _interval(row: pd.Series) -> str:
    return f"{_n(row['change'])} (95% CI {_n(row['low'])} to {_n(row['high'])})"


def headline_sentences(family: pd.DataFrame, metric: str = "fid",
                       steps: Sequence[int] = (1, 10)) -> str:
    """Per model: the metric at step 0, then its change at ``steps`` with the 95% interval and
    the Holm-adjusted verdict (rows of :func:`genae.summary.step_family`)."""
    lines = []
    for kind in (k for k in KINDS if k in set(family["model"])):
        rows = family[(family.model == kind) & (family.metric == metric)].set_index("step")
        parts = [f"step {s}: {_interval(rows.loc[s])}, {rows.loc[s, 'verdict']}"
                 for s in steps if s in rows.index]
        lines.append(f"- **{kind.upper()}**: {NAMES[metric]} {_n(rows['from'].iloc[0])} at "
                     f"step 0; change at " + "; ".join(parts) + ".")
    return "\n".join(lines)


def step_table(rows: pd.DataFrame, steps: Sequence[int] = (1, 2, 5, 10, 50),
               metrics: Sequence[str] = QUALITY) -> pd.DataFrame:
    """Paired changes from step 0 to each of ``steps`` (those the rows have), per model."""
    have = [s for s in steps if s in set(rows["step"])]
    return pd.concat([step_changes(rows, ["model"], 0, s, metrics=metrics).assign(step=s)
                      for s in have], ignore_index=True)


def largest_effect(changes: pd.DataFrame, metric: str = "fid") -> str:
    """The largest change of ``metric`` in a :func:`step_table`, and the largest improvement."""
    rows = changes[changes.metric == metric].dropna(subset=["change"])
    if rows.empty:
        raise ValueError(f"no changes of {metric!r} in the table")

    def said(r: pd.Series) -> str:
        return (f"the {r['model'].upper()}'s {NAMES[metric]} from step 0 to step {int(r['step'])}"
                f", {_n(r['from'])} → {_n(r['to'])}, a change of {_interval(r)}, "
                f"{r['agree']} of {r['n']} seeds agreeing")

    big = rows.loc[rows["change"].abs().idxmax()]
    text = (f"The largest change of {NAMES[metric]} in the table is {said(big)} "
            f"({big['direction']}).")
    better = rows[rows.direction == "better"]
    if not better.empty and big["direction"] != "better":
        best = better.loc[better["change"].abs().idxmax()]
        text += f" The largest change in the better direction is {said(best)}."
    return text


def power_sentence(detect: pd.DataFrame, family_size: int = 4) -> str:
    """What :func:`genae.summary.detectable_in_units` (one row per model and metric) says, per
    metric: the median over models of the detectable change, beside the observed changes."""
    n = int(detect["n"].iloc[0])
    per = detect.groupby("metric", sort=False).agg(detectable=("detectable", "median"),
                                                   lowest=("detectable", "min"),
                                                   highest=("detectable", "max"))
    items = [f"{NAMES.get(m, m)} {_n(r.detectable)} (from {_n(r.lowest)} to {_n(r.highest)} "
             "over the models)" for m, r in per.iterrows()]
    return (f"With {n} seeds, at the level Holm's first test of a family of {family_size} must "
            f"pass (0.05/{family_size}), a paired t-test finds with probability 0.8 a mean change "
            "of at least about " + "; ".join(items) + ", each in the metric's own units (the "
            f"detectable {_n(detect['d_z'].iloc[0])} standard deviations of the per-seed changes "
            "times their observed spread). Smaller changes may be real: the design reports them "
            "as \"no clear change\", which means *not shown*, not *shown to be zero*.")


def run_sentence(meta: dict, stored: pd.DataFrame, regime: tuple[int, int]) -> str:
    """What the stored run measured, from its provenance and its rows."""
    c = meta["config"]
    rows = stored[(stored.latent_dim == regime[0]) & (stored.epochs == regime[1])]
    head = rows[rows.variant == "mean decoding"]
    n = int(head["n"].iloc[0])
    others = sorted(set(stored.variant) - {"mean decoding", "decoded Q(Z)", "real vs real"})
    few = sorted(set(rows[rows.variant.isin(others)]["seed"]))
    return (f"**What was run** (`reference/ch09.py`, commit `{meta['git_commit'][:10]}`, on "
            f"{meta['machine']['cpus']} CPU cores): "
            f"the {c['dataset']} digits at {c['image_size']}x{c['image_size']}, the four kinds at "
            f"{regime[0]}-D latents, trained for {', '.join(map(str, c['lengths']))} epochs. The "
            f"authors' chain at {regime[1]} epochs has {head.seed.nunique()} seeds; "
            f"{', '.join(others)} and the {min(c['lengths'])}-epoch models have seeds "
            f"{', '.join(map(str, few))}. Every row compares {n} chains with {n} held-out "
            f"reference images; real-vs-real and decoded Q(Z) use {n} other held-out images.")


def flat_sentence(flat: pd.DataFrame, tolerance: float = 0.01, window: int = 10) -> str:
    """How many models meet the criterion plainly and above the floor
    (:func:`genae.training_curve.flatness_table`)."""
    total, epoch = len(flat), int(flat["epoch"].max())
    plain, above = int(flat["flat"].sum()), int(flat["flat_above_floor"].sum())
    worst = flat.loc[flat["fall_above_floor"].idxmax()]
    rose = int((flat["flat_above_floor"] & (flat["fall_above_floor"] < 0)).sum())
    rising = (f" ({rose} of them because the loss rose over those epochs, not because it settled)"
              if rose else "")
    verdict = ("so the longer-trained models are trained until flat in this sense" if above == total
               else "so the longer-trained models are **not** all trained until flat: what they "
               "can still learn was still falling, and their rows describe models at "
               f"{epoch} epochs, not converged ones")
    return (f"Over the last {window} epochs to epoch {epoch}, the held-out loss fell by less than "
            f"{tolerance:.0%} for {plain} of {total} models; above its floor (the targets' "
            f"entropy, {_n(flat['floor'].iloc[0])} nats per image), for {above} of {total}"
            f"{rising}. The "
            f"largest fall above the floor is {worst['fall_above_floor']:.1%} "
            f"({worst['model'].upper()}, seed {int(worst['seed'])}), {verdict}.")


def kid_scale_sentence(kernel_mean: float, real_kid: float, chain_kids: Sequence[float]) -> str:
    """KID's values against the mean kernel value between two real images' features."""
    typical = float(pd.Series(chain_kids).median())
    return (f"KID is a squared MMD in the units of its kernel k(x, y) = (x·y/D + 1)³, and in the "
            f"judge's features that kernel is large: between two held-out digits it averages "
            f"{_n(kernel_mean)}. Real against real scores {_n(real_kid)} "
            f"({real_kid / kernel_mean:.2%} of it); the chain's median KID in the table, "
            f"{_n(typical)}, is {typical / kernel_mean:.1%} of it. So KID values in the tens of "
            "thousands are differences of a few percent between large kernel values: they "
            "compare between rows measured in one extractor, not across extractors.")


def trend_sentence(chain: pd.DataFrame, baselines: pd.DataFrame,
                   metrics: Sequence[str] = ("fid", "precision", "recall")) -> str:
    """What a figure of the metrics against the step shows, per model: each metric's mean over
    seeds at the first and last step, and decoded Q(Z)'s FID, the chain's target (descriptive: the
    tests come after)."""
    first, last = int(chain["step"].min()), int(chain["step"].max())
    means = chain.groupby(["model", "step"])[list(metrics)].mean()
    target = baselines[baselines.path == "decoded Q(Z)"].groupby("model")["fid"].mean()
    lines, lower = [], []
    for kind in (k for k in KINDS if k in set(chain["model"])):
        a, b = means.loc[(kind, first)], means.loc[(kind, last)]
        moves = ", ".join(f"{NAMES[m]} {_n(a[m])} → {_n(b[m])}" for m in metrics)
        lines.append(f"- **{kind.upper()}**: {moves}; decoded Q(Z)'s FID {_n(target[kind])}.")
        if b["fid"] < a["fid"]:
            lower.append(kind.upper())
    head = (f"From step {first} to step {last} (means over seeds; whether a change is more than "
            f"the spread between seeds is tested in section 5), the mean FID is lower at step "
            f"{last} for {len(lower)} of {len(lines)} models"
            + (f" ({', '.join(lower)})" if lower else "") + ":")
    return "\n".join([head, *lines])


def _calls(family: pd.DataFrame, metric: str) -> dict[str, list[str]]:
    """Models whose family calls ``metric`` better (worse) at some step, and those with neither."""
    rows = family[family.metric == metric]
    out: dict[str, list[str]] = {"better": [], "worse": [], "none": []}
    for kind in (k for k in KINDS if k in set(rows["model"])):
        said = set(rows[rows.model == kind]["verdict"])
        hit = [v for v in ("better", "worse") if v in said]
        for v in hit or ["none"]:
            out[v].append(kind.upper())
    return out


def calls_sentence(family: pd.DataFrame, metric: str = "fid") -> str:
    """"FID better at some step for VAE; worse at some step for AAE; no clear change for ..."."""
    c = _calls(family, metric)
    parts = [f"better at some step for {', '.join(c['better'])}" if c["better"] else "",
             f"worse at some step for {', '.join(c['worse'])}" if c["worse"] else "",
             f"no clear change at any step for {', '.join(c['none'])}" if c["none"] else ""]
    return f"{NAMES[metric]} " + "; ".join(p for p in parts if p)


def summary_sentences(live_family: pd.DataFrame, family: pd.DataFrame, flat: pd.DataFrame,
                      report: dict[str, float], largest: str) -> str:
    """The chapter's findings as bullets, from its own tables (``largest``: the sentence of
    :func:`largest_effect`)."""
    first = family[(family.metric == "fid") & (family.step == 1)]
    changes = "; ".join(f"{r['model'].upper()} {_n(r['change'])} ({_n(r['low'])} to "
                        f"{_n(r['high'])})" for _, r in first.iterrows())
    seeds, n_seeds = int(live_family["n"].max()), int(family["n"].max())
    return "\n".join([
        f"- The judge classifier is right on {report['test_accuracy']:.1%} of held-out digits and "
        f"{report['confidence_noise']:.2f} confident on uniform noise (against "
        f"{report['confidence_digits']:.2f} on digits): its features are used, its confidence "
        "is not used as a verdict.",
        f"- Quick models, {seeds} seeds, steps 1, 2, 5, 10 against step 0 (Holm): "
        + calls_sentence(live_family, "fid") + "; " + calls_sentence(live_family, "kid") + ".",
        f"- Stored 200-D models, {n_seeds} seeds: the change of FID from step 0 to step 1 "
        f"(95% CI) is {changes}. Holm-corrected over steps 1, 2, 5, 10: "
        + calls_sentence(family, "fid") + "; " + calls_sentence(family, "kid") + "; "
        + calls_sentence(family, "mmd_q") + ".",
        f"- {largest}",
        f"- Above the loss's floor, {int(flat['flat_above_floor'].sum())} of {len(flat)} stored "
        "models meet the flatness criterion.",
    ])


def ranking_sentence(ranks: pd.DataFrame) -> str:
    """How many (degradation, metric) pairs each extractor ranks correctly, and which fail (rows
    of :func:`genae.degrade.ranking_check` with an ``extractor`` column)."""
    parts = []
    for name, rows in ranks.groupby("extractor", sort=False):
        wrong = rows[~rows["monotone"]]
        missed = "; ".join(f"{NAMES.get(r.metric, r.metric)} on {r.degradation} "
                           f"(ρ = {r.spearman:.2f})" for r in wrong.itertuples())
        parts.append(f"in the {name} features, {len(rows) - len(wrong)} of {len(rows)} "
                     "(metric, degradation) pairs are ranked correctly at every level"
                     + (f"; not {missed}" if missed else ""))
    return "Of the controlled degradations, " + "; ".join(parts) + "."


def agreement_sentence(shapes: pd.DataFrame) -> str:
    """How often two families of verdicts (columns (metric, features) of
    :func:`genae.stored_tables.shapes_table`) say the same shape."""
    names = list(dict.fromkeys(shapes.columns.get_level_values("features")))
    first, second = names[0], names[1]
    same, total, differ = 0, 0, []
    for metric in dict.fromkeys(shapes.columns.get_level_values("metric")):
        for model, row in shapes.iterrows():
            a, b = row[(metric, first)], row[(metric, second)]
            total += 1
            same += a == b
            if a != b:
                differ.append(f"{model}'s {NAMES.get(metric, metric)}")
    return (f"The {first} and {second} features give the same shape of change in {same} of "
            f"{total} (model, metric) cells" + (f"; they differ for {', '.join(differ)}"
                                               if differ else "") + ".")


def latent_tests_sentence(table: pd.DataFrame, alpha: float = 0.05) -> str:
    """What the live latent tests (:func:`genae.seed_runs.latent_tests`) say, per step."""
    parts = []
    for step, rows in table.groupby(level="step"):
        single, multi = int((rows.p_median < alpha).sum()), int((rows.p_multiscale < alpha).sum())
        parts.append(f"at step {step} the single median-width test rejects Q(Z) for {single} "
                     f"and the multi-scale test for {multi} of {len(rows)} models")
    return "At the 5% level, " + "; ".join(parts) + "."


def latent_power_sentence(checks: pd.DataFrame, alpha: float = 0.05) -> str:
    """The stored 200-D latent tests: over all models, seeds and steps, how often each rejects."""
    rows = checks[(checks["part"] == "chain") & (checks["extractor"] == "latent")]
    parts = []
    for metric, name in (("mmd_multiscale", "the multi-scale MMD test"),
                         ("c2st_accuracy", "the classifier test")):
        p = rows[rows.metric == metric]
        at0 = p[p.step == 0]
        parts.append(f"{name} rejects in {int((p.p_value < alpha).sum())} of {len(p)} "
                     f"(model, seed, step) cases, {int((at0.p_value < alpha).sum())} of "
                     f"{len(at0)} at step 0")
    return "At the 5% level, " + "; ".join(parts) + "."


def variants_sentence(frame: pd.DataFrame, steps: Sequence[int] = (1, 10)) -> str:
    """Each chain's FID at ``steps`` beside the authors' chain's, per model, on the seeds every
    chain has (rows of the stored run in one regime)."""
    chains = frame[frame["path"] == "prior sample"]
    common = set.intersection(*(set(g["seed"]) for _, g in chains.groupby("variant")))
    fid = (chains[chains["seed"].isin(common) & chains["step"].isin(steps)]
           .groupby(["variant", "model", "step"])["fid"].mean())
    lines = []
    for variant in (v for v in dict.fromkeys(chains["variant"]) if v != "mean decoding"):
        worse = {s: [k.upper() for k in KINDS if (variant, k, s) in fid.index
                     and fid[(variant, k, s)] > fid[("mean decoding", k, s)]] for s in steps}
        said = "; ".join(f"at step {s} for {len(w)} of {len(KINDS)} models"
                         + (f" ({', '.join(w)})" if w else "") for s, w in worse.items())
        lines.append(f"- **{variant}**: mean FID over the seeds above the authors' chain's {said}.")
    return (f"Against the authors' chain, on seeds {', '.join(map(str, sorted(common)))}:\n"
            + "\n".join(lines))
