"""Reading the measurements of :mod:`genae.evaluate` over training seeds (the book's answer to section 4.5).

A difference between step 0 and step 10 means something only if it is larger
than the spread between models trained with different seeds. :func:`summarise`
gives mean ± standard deviation over seeds; :func:`step_changes` pairs each
seed's value at two steps and runs a paired t-test (scipy) on the changes, so
the book's conclusions ("FID gets better", "recall gets worse", "no clear
change") follow from the numbers.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy import stats

from genae.evaluate import BETTER, METRICS


def _check_columns(table: pd.DataFrame, needed: Sequence[str]) -> None:
    missing = [c for c in needed if c not in table]
    if missing:
        raise ValueError(f"the table has no column(s) {missing}; its columns are {list(table.columns)}")


def summarise(table: pd.DataFrame, by: Sequence[str], metrics: Sequence[str] = METRICS,
              digits: int = 3) -> pd.DataFrame:
    """Mean ± standard deviation (over the rows sharing ``by``, e.g. seeds) of each metric, as display strings."""
    _check_columns(table, by)
    metrics = [m for m in metrics if m in table]
    grouped = table.groupby(list(by), sort=False)[metrics]
    mean, sd = grouped.mean(), grouped.std(ddof=1)

    def cell(m: float, s: float) -> str:
        return f"{m:.{digits}g} ± {s:.{max(digits - 1, 1)}g}" if pd.notna(s) else f"{m:.{digits}g}"

    return pd.DataFrame({c: [cell(m, s) for m, s in zip(mean[c], sd[c])] for c in metrics}, index=mean.index)


def paired_p_value(changes: np.ndarray) -> float:
    """Two-sided p-value of a paired t-test that the mean change is 0 (1.0 for fewer than 2 changes).

    Changes that are all equal have no spread: p is 0 if they are non-zero, 1 if they are all zero.
    """
    changes = np.asarray(changes, dtype=float)
    if len(changes) < 2:
        return 1.0
    if np.allclose(changes, changes[0], rtol=0, atol=1e-12):
        return 0.0 if abs(changes[0]) > 1e-12 else 1.0
    return float(stats.ttest_1samp(changes, 0.0).pvalue)


def step_changes(table: pd.DataFrame, by: Sequence[str], from_step: int, to_step: int,
                 metrics: Sequence[str] = METRICS, seed: str = "seed", alpha: float = 0.05) -> pd.DataFrame:
    """How each metric changes from ``from_step`` to ``to_step``, per group, paired by ``seed``.

    Returns one row per (group, metric): ``from`` and ``to`` (means over seeds), ``change`` (mean of
    the per-seed changes), ``sd`` (their standard deviation), ``n`` (seeds), ``direction`` of the mean
    change (``"better"`` or ``"worse"`` for the metrics in :data:`genae.evaluate.BETTER`, ``"higher"``
    or ``"lower"`` for the others, ``"unchanged"`` for none), ``agree`` (how many seeds changed in
    that direction), ``p`` (paired t-test) and ``verdict``: the direction when p < ``alpha``, else
    ``"no clear change"`` (with few seeds only large, consistent changes pass).
    """
    _check_columns(table, [*by, seed, "step"])
    for step in (from_step, to_step):
        if step not in set(table["step"]):
            raise ValueError(f"step {step} is not in the table: it has steps {sorted(set(table['step']))}")
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
            agree = int((np.sign(d) == np.sign(mean)).sum()) if direction != "unchanged" else int((d == 0).sum())
            rows.append({**dict(zip(by, key)), "metric": metric, "from": float(start.loc[seeds, metric].mean()),
                         "to": float(end.loc[seeds, metric].mean()), "change": mean,
                         "sd": float(d.std(ddof=1)) if len(d) > 1 else float("nan"), "n": len(d),
                         "direction": direction, "agree": agree, "p": p,
                         "verdict": direction if p < alpha and direction != "unchanged" else "no clear change"})
    return pd.DataFrame(rows)
