"""Reading the measurements of :mod:`genae.evaluate` over training seeds (the book's answer to
section 4.5).

A difference between step 0 and step 10 means something only if it is larger
than the spread between models trained with different seeds. :func:`summarise`
gives mean ± standard deviation over seeds; :func:`step_changes` pairs each
seed's value at two steps and runs a paired t-test (scipy) on the changes, with
the mean change's confidence interval and the standardised effect size beside
it; :func:`detectable_change` says how large a change the design can detect;
:func:`verdict_sentence` turns the changes into the book's sentences ("clear
improvement", "clear worsening", "no clear change"), and says where the
metrics disagree and which part of the Fréchet distance moved.

A referee's checks (issue 24): :func:`step_family` tests steps 1, 2, 5 and 10
against step 0 as one pre-specified family per model and metric, with Holm's
correction (:func:`holm`) inside the family; :func:`shape_of_change` describes
the verdicts over the family in words ("better at steps 1-5, no clear change at
step 10") and :func:`family_sentence` writes one model's sentence from them;
:func:`detectable_in_units` turns :func:`detectable_change` into each metric's
own units (times the sd of the paired differences), for a power statement.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy import integrate, optimize, special, stats

from genae.evaluate import BETTER, METRICS
from genae.validate import check_int, check_number


def _check_columns(table: pd.DataFrame, needed: Sequence[str]) -> None:
    missing = [c for c in needed if c not in table]
    if missing:
        raise ValueError(
            f"the table has no column(s) {missing}; its columns are {list(table.columns)}"
        )


def summarise(table: pd.DataFrame, by: Sequence[str], metrics: Sequence[str] = METRICS,
              digits: int = 3) -> pd.DataFrame:
    """Mean ± standard deviation (over the rows sharing ``by``, e.g. seeds) of each metric, as
    display strings."""
    _check_columns(table, by)
    metrics = [m for m in metrics if m in table]
    grouped = table.groupby(list(by), sort=False)[metrics]
    mean, sd = grouped.mean(), grouped.std(ddof=1)

    def cell(m: float, s: float) -> str:
        return f"{m:.{digits}g} ± {s:.{max(digits - 1, 1)}g}" if pd.notna(s) else f"{m:.{digits}g}"

    return pd.DataFrame(
        {c: [cell(m, s) for m, s in zip(mean[c], sd[c])] for c in metrics}, index=mean.index
    )


def paired_p_value(changes: np.ndarray) -> float:
    """Two-sided p-value of a paired t-test that the mean change is 0 (1.0 for fewer than 2
    changes).

    Changes that are all equal have no spread: p is 0 if they are non-zero, 1 if they are all zero.
    """
    changes = np.asarray(changes, dtype=float)
    if len(changes) < 2:
        return 1.0
    if np.allclose(changes, changes[0], rtol=0, atol=1e-12):
        return 0.0 if abs(changes[0]) > 1e-12 else 1.0
    return float(stats.ttest_1samp(changes, 0.0).pvalue)


def paired_interval(changes: np.ndarray, level: float = 0.95) -> tuple[float, float]:
    """The t confidence interval of the mean of paired changes (NaNs for fewer than 2 changes)."""
    changes = np.asarray(changes, dtype=float)
    if len(changes) < 2:
        return float("nan"), float("nan")
    half = (
        stats.t.ppf((1 + level) / 2, len(changes) - 1) * changes.std(ddof=1) / np.sqrt(len(changes))
    )
    return float(changes.mean() - half), float(changes.mean() + half)


def detectable_change(n: int, alpha: float = 0.05, power_target: float = 0.8) -> float:
    """The smallest mean change, in standard deviations of the per-seed changes (Cohen's d_z), that
    a two-sided paired t-test on ``n`` seeds detects with probability ``power_target`` at level
    ``alpha``.

    Solved from the noncentral t distribution of the statistic, t ~ t'(n - 1, d_z sqrt(n)), its
    power integrated numerically.
    """
    check_int(n, "n", low=2, what=" (seeds)")
    df = n - 1
    crit = stats.t.ppf(1 - alpha / 2, df)

    # chi2(df)'s log density at v: xlogy(df / 2 - 1, v) - v / 2 - gammaln(df / 2) - log(2) df / 2
    gamma_term, two_term = special.gammaln(df / 2), np.log(2) * df / 2

    def power(d: float) -> float:
        # P(|T| > crit) for T = (N(0, 1) + d sqrt(n)) / sqrt(V / df), V ~ chi2(df), integrated over
        # V (scipy's noncentral t is unstable for one degree of freedom)
        nc = d * np.sqrt(n)

        def given(v: float) -> float:
            # P(|N(0, 1) + nc| > bar) times chi2's density at v: scipy.special's functions, which
            # stats.norm.sf/cdf and stats.chi2.pdf call, without their per-call overhead
            bar = crit * np.sqrt(v / df)
            density = np.exp(special.xlogy(df / 2 - 1, v) - v / 2 - gamma_term - two_term)
            return (special.ndtr(nc - bar) + special.ndtr(-bar - nc)) * density

        # over the chi2's own range: on [0, inf) quad misses its narrow peak when df is large
        low, high = stats.chi2.ppf([1e-12, 1 - 1e-12], df)
        return integrate.quad(given, low, high, limit=200)[0]

    def miss(d: float) -> float:
        return power(d) - power_target

    high = (crit + 3) / np.sqrt(n)
    for _ in range(60):  # the power rises with d: widen the bracket until it holds the root
        if miss(high) >= 0:
            break
        high *= 2
    else:
        raise RuntimeError(f"no change reaches power {power_target} with n = {n} seeds")
    return float(optimize.brentq(miss, 1e-9, high))


def _direction(mean: float, metric: str) -> str:
    """better/worse for the metrics in BETTER, higher/lower for the others, unchanged for none."""
    if not mean:  # 0 or NaN
        return "unchanged"
    if metric in BETTER:
        return "better" if np.sign(mean) * BETTER[metric] > 0 else "worse"
    return "higher" if mean > 0 else "lower"


def _paired_change(before: pd.Series, after: pd.Series, metric: str, alpha: float) -> dict:
    """The columns of :func:`step_changes` for one group and metric, from per-seed values."""
    d = (after - before).to_numpy(dtype=float)
    p = paired_p_value(d)
    mean = float(d.mean()) if len(d) else float("nan")
    direction = _direction(mean, metric)
    agree = (int((np.sign(d) == np.sign(mean)).sum()) if direction != "unchanged"
             else int((d == 0).sum()))
    low, high = paired_interval(d, 1 - alpha)
    sd = float(d.std(ddof=1)) if len(d) > 1 else float("nan")
    clear = p < alpha and direction != "unchanged"
    return {"from": float(before.mean()), "to": float(after.mean()), "change": mean, "sd": sd,
            "n": len(d), "direction": direction, "agree": agree, "p": p, "low": low,
            "high": high, "effect": mean / sd if sd > 0 else float("nan"),
            "verdict": direction if clear else "no clear change"}


def step_changes(
    table: pd.DataFrame,
    by: Sequence[str],
    from_step: int,
    to_step: int,
    metrics: Sequence[str] = METRICS,
    seed: str = "seed",
    alpha: float = 0.05,
) -> pd.DataFrame:
    """How each metric changes from ``from_step`` to ``to_step``, per group, paired by ``seed``.

    Returns one row per (group, metric): ``from`` and ``to`` (means over seeds), ``change`` (mean of
    the per-seed changes), ``sd`` (their standard deviation), ``n`` (seeds), ``direction`` of the
    mean change (``"better"`` or ``"worse"`` for the metrics in :data:`genae.evaluate.BETTER`,
    ``"higher"`` or ``"lower"`` for the others, ``"unchanged"`` for none), ``agree`` (how many seeds
    changed in that direction), ``p`` (paired t-test), ``low`` and ``high`` (the 1 - ``alpha``
    confidence interval of the mean change), ``effect`` (Cohen's d_z: mean change / sd) and
    ``verdict``: the direction when p < ``alpha``, else ``"no clear change"`` (with few seeds only
    large, consistent changes pass; :func:`detectable_change` says how large).
    """
    _check_columns(table, [*by, seed, "step"])
    for step in (from_step, to_step):
        if step not in set(table["step"]):
            raise ValueError(
                f"step {step} is not in the table: it has steps {sorted(set(table['step']))}"
            )
    rows = []
    for key, group in table.groupby(list(by), sort=False):
        key = key if isinstance(key, tuple) else (key,)
        start = group[group.step == from_step].set_index(seed)
        end = group[group.step == to_step].set_index(seed)
        seeds = start.index.intersection(end.index)
        for metric in (m for m in metrics if m in table):
            before, after = start.loc[seeds, metric], end.loc[seeds, metric]
            rows.append({**dict(zip(by, key)), "metric": metric,
                         **_paired_change(before, after, metric, alpha)})
    return pd.DataFrame(rows)


NAMES = {
    "fid": "FID",
    "kid": "KID",
    "precision": "precision",
    "recall": "recall",
    "mmd_q": "the MMD to Q(Z)",
    "confidence": "the classifier's confidence",
    "mmd_p": "the MMD to P(Z)",
    "latent_norm": "the latent norm",
}
QUALITY = ("fid", "kid", "precision", "recall", "mmd_q")


def _number(x: float) -> str:
    return f"{x:.3g}"


def verdict_sentence(changes: pd.DataFrame, label: str, metrics: Sequence[str] = QUALITY,
                     parts: pd.DataFrame | None = None) -> str:
    """One sentence on one group's changes (rows of :func:`step_changes` for one model and
    comparison).

    Names a clear improvement or worsening only where the paired test carries it, lists the rest as
    "no clear change", and, where clear changes disagree (one metric better, another worse), says
    so; with ``parts`` (the rows of ``fid_mean`` and ``fid_cov`` from :func:`step_changes`), it adds
    which term of the Fréchet distance moved more.
    """
    _check_columns(changes, ["metric", "verdict", "from", "to", "low", "high", "p"])
    rows = {r["metric"]: r for r in changes.to_dict("records") if r["metric"] in metrics}
    if not rows:
        raise ValueError(
            f"changes has none of the metrics {list(metrics)}: pass rows of step_changes"
        )

    def name(r: dict) -> str:
        return NAMES.get(r["metric"], r["metric"])

    def item(r: dict) -> str:
        return (f"{name(r)} ({_number(r['from'])} → {_number(r['to'])}, 95% CI of the change "
                f"{_number(r['low'])} to {_number(r['high'])}, p = {r['p']:.2g})")

    better = [r for r in rows.values() if r["verdict"] == "better"]
    worse = [r for r in rows.values() if r["verdict"] == "worse"]
    unclear = [r for r in rows.values() if r["verdict"] not in ("better", "worse")]
    said = []
    if better:
        said.append("clear improvement in " + "; ".join(item(r) for r in better))
    if worse:
        said.append("clear worsening in " + "; ".join(item(r) for r in worse))
    if unclear:
        said.append("no clear change in " + ", ".join(name(r) for r in unclear))
    text = f"{label}: " + "; ".join(said) + "."
    if better and worse:
        text += (" The metrics disagree: " + ", ".join(name(r) for r in worse) + " worse while "
                 + ", ".join(name(r) for r in better) + " better.")
        if parts is not None and {"fid_mean", "fid_cov"} <= set(parts["metric"]):
            term = {r["metric"]: r for r in parts.to_dict("records")}
            mean, cov = term["fid_mean"]["change"], term["fid_cov"]["change"]
            bigger = "mean" if abs(mean) >= abs(cov) else "covariance"
            text += (
                f" Of the Fréchet distance, the mean term moved by {_number(mean)} and the "
                f"covariance term by {_number(cov)}: the {bigger} term moved more."
            )
    return text


# ---- a pre-specified family of steps, with multiplicity control (issue 24) ----------------------

#: the steps tested against step 0 as one family (fixed before looking at the data)
FAMILY_STEPS = (1, 2, 5, 10)


def holm(p_values: Sequence[float]) -> np.ndarray:
    """Holm's step-down adjusted p-values (Holm, 1979), in the order given.

    Sorted ascending, the i-th smallest of m p-values (i from 0) is multiplied by m - i; a running
    maximum keeps the adjusted values in the raw values' order, and they are capped at 1. Rejecting
    where the adjusted p < alpha controls the family-wise error rate at alpha for any dependence
    between the tests (the steps of one chain are strongly dependent, so no independence-based
    correction would be safe).
    """
    p = np.asarray(p_values, dtype=float)
    if p.ndim != 1 or np.isnan(p).any() or (p < 0).any() or (p > 1).any():
        raise ValueError(f"p_values must be a flat list of numbers in [0, 1], got {p_values!r}")
    m = len(p)
    order = np.argsort(p, kind="stable")
    adjusted = np.minimum(np.maximum.accumulate((m - np.arange(m)) * p[order]), 1.0)
    out = np.empty(m)
    out[order] = adjusted
    return out


def _family_verdict(row: pd.Series, alpha: float) -> str:
    """The direction where the Holm-adjusted p carries it, else "no clear change"."""
    if row["p_holm"] < alpha and row["direction"] != "unchanged":
        return row["direction"]
    return "no clear change"


def step_family(table: pd.DataFrame, by: Sequence[str], steps: Sequence[int] = FAMILY_STEPS,
                base_step: int = 0, metrics: Sequence[str] = QUALITY, seed: str = "seed",
                alpha: float = 0.05) -> pd.DataFrame:
    """Every step of ``steps`` against ``base_step``, per group and metric, as one family.

    For each group (``by``, e.g. ``["latent_dim", "model"]``) and metric, the paired t-tests of
    :func:`step_changes` (one per step, paired over ``seed``) form one pre-specified family of
    ``len(steps)`` tests; their p-values are Holm-adjusted inside the family (:func:`holm`), so the
    chance of calling any step of that family changed when none is stays below ``alpha``.

    Returns one row per (group, metric, step): ``step``, ``from``, ``to``, ``change`` (mean of the
    per-seed changes), ``sd``, ``n``, ``low`` and ``high`` (the unadjusted 1 - ``alpha`` t interval
    of the mean change), ``effect`` (d_z), ``direction``, ``p`` (raw), ``p_holm`` (adjusted) and
    ``verdict``: ``"better"``/``"worse"`` (``"higher"``/``"lower"`` for descriptive metrics) where
    ``p_holm`` < ``alpha``, else ``"no clear change"``.
    """
    steps = list(steps)
    if not steps or len(set(steps)) != len(steps) or base_step in steps:
        raise ValueError(f"steps must be distinct steps other than base_step={base_step}, "
                         f"got {steps!r}")
    check_number(alpha, "alpha", positive=True)
    parts = [step_changes(table, by, base_step, s, metrics=metrics, seed=seed, alpha=alpha)
             .assign(step=s) for s in steps]
    rows = pd.concat(parts, ignore_index=True)
    keys = [*by, "metric"]
    rows["p_holm"] = rows.groupby(keys, sort=False)["p"].transform(lambda p: holm(p.to_numpy()))
    rows["verdict"] = rows.apply(_family_verdict, axis=1, alpha=alpha)
    order = [*by, "metric", "step", "from", "to", "change", "sd", "n", "low", "high", "effect",
             "direction", "agree", "p", "p_holm", "verdict"]
    return rows[order].sort_values([*keys, "step"], kind="stable", key=_table_order(rows, keys))


def _table_order(rows: pd.DataFrame, keys: list[str]):
    """A sort key: each key column in its first-seen order (not alphabetical), steps numeric."""
    def key(column: pd.Series) -> pd.Series:
        if column.name in keys:
            first_seen = {v: i for i, v in enumerate(dict.fromkeys(rows[column.name]))}
            return column.map(first_seen)
        return column
    return key


def _steps_text(steps: list[int], last: bool, many: bool) -> str:
    """"at step 10", "at steps 1-5", or "from step 2 on" for a run to the family's last step."""
    if last and many and len(steps) > 1:
        return f"from step {steps[0]} on"
    if len(steps) == 1:
        return f"at step {steps[0]}"
    return f"at steps {steps[0]}-{steps[-1]}"


def shape_of_change(verdicts: pd.DataFrame | Sequence[tuple[int, str]]) -> str:
    """The shape of one metric's verdicts over a family of steps, as words.

    ``verdicts`` holds (step, verdict) pairs, or rows of :func:`step_family` for one group and
    metric. Consecutive steps with one verdict form a run: ``"worse from step 1 on"`` (one run to
    the end), ``"better at steps 1-5, no clear change at step 10"``, ``"no clear change at any
    step"``.
    """
    if isinstance(verdicts, pd.DataFrame):
        _check_columns(verdicts, ["step", "verdict"])
        if "metric" in verdicts and verdicts["metric"].nunique() > 1:
            raise ValueError("shape_of_change takes one metric's rows: filter by metric first")
        pairs = list(zip(verdicts["step"], verdicts["verdict"]))
    else:
        pairs = list(verdicts)
    if not pairs:
        raise ValueError("shape_of_change needs at least one (step, verdict)")
    pairs = sorted((int(s), str(v)) for s, v in pairs)
    runs: list[tuple[str, list[int]]] = []
    for step, verdict in pairs:
        if runs and runs[-1][0] == verdict:
            runs[-1][1].append(step)
        else:
            runs.append((verdict, [step]))
    if len(runs) == 1 and runs[0][0] == "no clear change":
        return "no clear change at any step"
    return ", ".join(f"{v} {_steps_text(s, i == len(runs) - 1, len(pairs) > 2)}"
                     for i, (v, s) in enumerate(runs))


def family_sentence(family: pd.DataFrame, label: str, metrics: Sequence[str] = QUALITY) -> str:
    """One group's sentence from rows of :func:`step_family`: each metric's shape of change.

    For example "VAE (steps 1, 2, 5, 10 against step 0, Holm-adjusted within each metric): FID
    better from step 1 on; recall better at steps 1-5, no clear change at step 10; ...".
    """
    _check_columns(family, ["metric", "step", "verdict"])
    shown = [m for m in metrics if m in set(family["metric"])]
    if not shown:
        raise ValueError(f"family has none of the metrics {list(metrics)}: pass rows of "
                         "step_family")
    steps = ", ".join(str(s) for s in sorted(set(family["step"])))
    said = [f"{NAMES.get(m, m)} {shape_of_change(family[family.metric == m])}" for m in shown]
    return (f"{label} (steps {steps} against step 0, Holm-adjusted within each metric): "
            + "; ".join(said) + ".")


def detectable_in_units(table: pd.DataFrame, by: Sequence[str], from_step: int, to_step: int,
                        metrics: Sequence[str] = QUALITY, seed: str = "seed",
                        n: int | None = None, alpha: float = 0.05, power_target: float = 0.8,
                        family_size: int = 1) -> pd.DataFrame:
    """What a design of ``n`` seeds can detect, in each metric's own units.

    The detectable standardised change (:func:`detectable_change`, Cohen's d_z) times the standard
    deviation of the observed per-seed changes from ``from_step`` to ``to_step``. With
    ``family_size`` > 1 the level is ``alpha / family_size``: the level Holm's first (smallest-p)
    test must pass, so the statement holds for the strictest test of the family.

    Returns one row per (group, metric): ``n`` (the design's seeds: ``n``, or the seeds observed),
    ``sd`` (of the paired changes), ``d_z`` (detectable standardised change), ``detectable``
    (``d_z * sd``, in the metric's units) and ``change`` (the observed mean change, to compare).
    """
    check_int(family_size, "family_size", low=1)
    changes = step_changes(table, by, from_step, to_step, metrics=metrics, seed=seed, alpha=alpha)
    level = alpha / family_size
    cache: dict[int, float] = {}  # one root-finding per design size
    rows = []
    for r in changes.to_dict("records"):
        seeds = n if n is not None else r["n"]
        if seeds not in cache:
            cache[seeds] = detectable_change(seeds, alpha=level, power_target=power_target)
        rows.append({**{k: r[k] for k in by}, "metric": r["metric"], "n": seeds, "sd": r["sd"],
                     "d_z": cache[seeds], "detectable": cache[seeds] * r["sd"],
                     "change": r["change"]})
    return pd.DataFrame(rows)


def power_sentence(row: dict | pd.Series, alpha: float = 0.05, power_target: float = 0.8) -> str:
    """One row of :func:`detectable_in_units` as a power statement."""
    name = NAMES.get(row["metric"], row["metric"])
    return (f"With {int(row['n'])} seeds, a paired t-test detects a mean change in {name} of "
            f"{_number(row['detectable'])} ({_number(row['d_z'])} sd of the per-seed changes) "
            f"with probability {power_target:.0%} at level {alpha:g}; the observed change was "
            f"{_number(row['change'])}.")
