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
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy import integrate, optimize, stats

from genae.evaluate import BETTER, METRICS
from genae.validate import check_int


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

    def power(d: float) -> float:
        # P(|T| > crit) for T = (N(0, 1) + d sqrt(n)) / sqrt(V / df), V ~ chi2(df), integrated over
        # V (scipy's noncentral t is unstable for one degree of freedom)
        nc = d * np.sqrt(n)

        def given(v: float) -> float:
            bar = crit * np.sqrt(v / df)
            return (stats.norm.sf(bar - nc) + stats.norm.cdf(-bar - nc)) * stats.chi2.pdf(v, df)

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
            d = (end.loc[seeds, metric] - start.loc[seeds, metric]).to_numpy(dtype=float)
            p = paired_p_value(d)
            mean = float(d.mean()) if len(d) else float("nan")
            if not mean:  # 0 or NaN
                direction = "unchanged"
            elif metric in BETTER:
                direction = "better" if np.sign(mean) * BETTER[metric] > 0 else "worse"
            else:
                direction = "higher" if mean > 0 else "lower"
            agree = (
                int((np.sign(d) == np.sign(mean)).sum())
                if direction != "unchanged"
                else int((d == 0).sum())
            )
            low, high = paired_interval(d, 1 - alpha)
            sd = float(d.std(ddof=1)) if len(d) > 1 else float("nan")
            rows.append(
                {
                    **dict(zip(by, key)),
                    "metric": metric,
                    "from": float(start.loc[seeds, metric].mean()),
                    "to": float(end.loc[seeds, metric].mean()),
                    "change": mean,
                    "sd": sd,
                    "n": len(d),
                    "direction": direction,
                    "agree": agree,
                    "p": p,
                    "low": low,
                    "high": high,
                    "effect": mean / sd if sd > 0 else float("nan"),
                    "verdict": direction
                    if p < alpha and direction != "unchanged"
                    else "no clear change",
                }
            )
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
