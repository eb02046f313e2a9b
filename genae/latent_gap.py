"""Sections 2.1 and 3.5: how far the learned latent distribution Q(Z) is from the prior P(Z).

Chapter 01 trains a VAE and an AAE with a two-dimensional latent space and
compares their encodings with P(Z) = N(0, I) in three numbers:

- **spread**: the encodings' standard deviation per dimension (1 under P(Z));
- **mass outside**: the share of held-out encodings outside the sphere that holds
  99% of P(Z);
- **holes**: a Gaussian kernel density estimate (KDE) of Q(Z) on training
  encodings; "thin" is where it is lower than at 95% of the held-out encodings; the
  share of P(Z) draws that land there (5% if Q(Z) were P(Z)).

:func:`measure_gap` computes them, :func:`gap_table` lays them out,
:func:`plot_gap` draws Q(Z) over P(Z), :func:`show_thin_draws` decodes draws of
P(Z) from thin regions and from elsewhere, and :func:`gap_sentences` says in
words what the numbers show. With more than two latent dimensions the KDE
works in the plane of the encodings' two principal directions (P(Z) projects to
N(0, I_2) on any orthonormal pair, so the comparison stays fair).
"""

from __future__ import annotations

import math

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import torch
from scipy import stats
from torch import Tensor, nn

from genae.chainstats import decode_latents
from genae.plots import show_images

COVERAGE = 0.99  # the sphere that holds 99% of P(Z)
THIN_SHARE = 0.05  # "thin": below the KDE's value at the 5% quantile of held-out encodings
CALIBRATION = "P(Z) itself (calibration)"


def _directions(fit: np.ndarray) -> np.ndarray:
    """The plane the KDE works in: the axes in 2-D, else the two principal directions."""
    if fit.shape[1] == 2:
        return np.eye(2)
    return np.linalg.svd(fit - fit.mean(0), full_matrices=False)[2][:2].T


def measure_gap(fit: np.ndarray, held_out: np.ndarray, prior: np.ndarray) -> dict:
    """Spread, mass outside r99 and the share of ``prior`` draws in thin regions of Q(Z).

    Args:
        fit: encodings the KDE of Q(Z) is fitted on (training images), shape (N, b).
        held_out: encodings of held-out images, shape (M, b): spread and mass outside.
        prior: draws of P(Z), shape (K, b): which of them land in thin regions.
    """
    directions = _directions(fit)
    kde = stats.gaussian_kde((fit @ directions).T)
    threshold = np.quantile(kde((held_out @ directions).T), THIN_SHARE)
    thin = kde((prior @ directions).T) < threshold
    r99 = math.sqrt(stats.chi2.ppf(COVERAGE, fit.shape[1]))
    return {"std": held_out.std(0), "mean offset": float(np.linalg.norm(held_out.mean(0))),
            "outside r99": float(np.mean(np.linalg.norm(held_out, axis=1) > r99)),
            "thin share": float(thin.mean()), "thin": thin, "kde": kde,
            "threshold": threshold, "directions": directions, "held_out": held_out}


def gap_table(results: dict[str, dict]) -> pd.DataFrame:
    """One row per model (and the calibration row): the three measurements, rounded to 2."""
    return pd.DataFrame({name: {
        "std, smallest dimension": r["std"].min(),
        "std, largest dimension": r["std"].max(),
        "distance of the mean from 0": r["mean offset"],
        "held-out encodings outside r99 (%)": 100 * r["outside r99"],
        "P(Z) draws in thin regions of Q(Z) (%)": 100 * r["thin share"],
    } for name, r in results.items()}).T.round(2)


def _draw_panel(ax: plt.Axes, r: dict, prior: np.ndarray, labels: np.ndarray | None,
                n_crosses: int) -> plt.cm.ScalarMappable:
    """One model's panel: thin regions in grey, P(Z)'s circles, encodings, thin P(Z) draws."""
    c, p = r["held_out"] @ r["directions"], prior @ r["directions"]
    lim = max(4.0, float(np.quantile(np.abs(c), 0.995)) * 1.1)
    gx, gy = np.meshgrid(np.linspace(-lim, lim, 120), np.linspace(-lim, lim, 120))
    density = r["kde"](np.vstack([gx.ravel(), gy.ravel()])).reshape(gx.shape)
    ax.contourf(gx, gy, density, levels=[0, r["threshold"]], colors=["0.88"])
    for radius, mass in ((1, 39), (2, 86), (3, 99)):  # P(Z)'s mass inside radius 1, 2, 3 in 2-D
        ax.add_patch(plt.Circle((0, 0), radius, fill=False, ls="--", lw=1, color="0.3"))
        ax.annotate(f"{mass}%", (radius * 0.74 + 0.05, radius * 0.74 + 0.05), fontsize=8)
    colour = labels if labels is not None else "tab:blue"
    sc = ax.scatter(c[:, 0], c[:, 1], c=colour, cmap="tab10", s=6, vmin=-0.5, vmax=9.5, zorder=3)
    shown = r["thin"] & (np.arange(len(p)) < n_crosses)  # a subset, so encodings stay visible
    ax.scatter(p[shown, 0], p[shown, 1], marker="x", s=9, color="black", lw=0.6, zorder=2,
               label=f"P(Z) draws in thin regions ({r['thin share']:.0%} of {len(p)})")
    two_d = r["held_out"].shape[1] == 2  # else the axes are principal directions
    ax.set(xlim=(-lim, lim), ylim=(-lim, lim), aspect="equal",
           xlabel="z1" if two_d else "1st principal direction",
           ylabel="z2" if two_d else "2nd principal direction")
    ax.legend(loc="lower left", fontsize=7)
    return sc


def plot_gap(results: dict[str, dict], prior: np.ndarray, labels: Tensor | None = None,
             n_crosses: int = 600) -> plt.Figure:
    """Q(Z) over P(Z), one panel per model (the calibration row is not drawn)."""
    names = [n for n in results if n != CALIBRATION]
    fig, axes = plt.subplots(1, len(names), figsize=(4.6 * len(names), 4.9), layout="constrained")
    for ax, name in zip(np.atleast_1d(axes), names):
        sc = _draw_panel(ax, results[name], prior, None if labels is None else labels.numpy(),
                         n_crosses)
        ax.set_title(name)
    if labels is not None:
        fig.colorbar(sc, ax=axes, ticks=range(10), label="digit", shrink=0.7)
    return fig


def show_thin_draws(models: dict[str, nn.Module], results: dict[str, dict], prior: np.ndarray,
                    n: int = 8, seed: int = 0) -> plt.Figure:
    """Per model, ``n`` decoded draws of P(Z) from thin regions of Q(Z), ``n`` from elsewhere."""
    pick = np.random.default_rng(seed)
    fig, axes = plt.subplots(len(models), 1, figsize=(1.1 * n + 1.2, 2.6 * len(models)),
                             layout="constrained")
    for ax, (name, model) in zip(np.atleast_1d(axes), models.items()):
        thin = results[name]["thin"]
        rows = [prior[pick.choice(np.flatnonzero(mask), n, replace=False)]
                for mask in (thin, ~thin)]
        z = torch.tensor(np.concatenate(rows), dtype=torch.float32)
        show_images(decode_latents(model, z), nrow=n, ax=ax)
        size = model.image_size + 2  # make_grid's default padding of 2
        ax.set_yticks([size * 0.5, size * 1.5], ["thin Q(Z)", "elsewhere"])
        ax.set_title(f"{name}: {n} draws of P(Z) from thin regions of Q(Z), {n} from elsewhere",
                     fontsize=9)
    return fig


def _share(x: float) -> str:
    return f"{100 * x:.0f}%"


def gap_sentences(results: dict[str, dict], n_fit: int) -> str:
    """What the measurements say, one sentence per row of :func:`gap_table`, as Markdown."""
    cal = results[CALIBRATION]
    lines = [f"- With Q(Z) replaced by P(Z) itself, {_share(cal['thin share'])} of the prior "
             f"draws land in thin regions, against {_share(THIN_SHARE)} by construction: the "
             f"difference is the measurement's own error with {n_fit} + "
             f"{len(cal['held_out'])} samples."]
    for name, r in results.items():
        if name == CALIBRATION:
            continue
        narrow = "narrower" if bool((r["std"] < 1).all()) else "not narrower"
        lines.append(
            f"- {name}: {_share(r['thin share'])} of the draws from P(Z) land where Q(Z) is thin "
            f"({r['thin share'] / THIN_SHARE:.1f} times the {_share(THIN_SHARE)} expected if "
            f"Q(Z) were P(Z)); {_share(r['outside r99'])} of its held-out encodings lie outside "
            f"the circle holding {_share(COVERAGE)} of P(Z) ({_share(1 - COVERAGE)} expected); "
            f"the encodings' standard deviation is {r['std'].min():.2f} to {r['std'].max():.2f} "
            f"per dimension (1 expected), so they are {narrow} than P(Z) in every dimension, "
            f"and their mean lies {r['mean offset']:.2f} from the origin (0 expected).")
    models = {n: r["thin share"] for n, r in results.items() if n != CALIBRATION}
    if len(models) > 1:
        lines.append(f"\nMore of P(Z) falls in the thin regions of the "
                     f"{max(models, key=models.get)}'s Q(Z) in this run.")
    return "\n".join(lines)


def roughness_sentences(rough: dict[str, float], real: float) -> str:
    """Per model, how rough its decoded thin and elsewhere draws are against held-out digits.

    ``rough`` maps "<model>, thin" and "<model>, elsewhere" to mean roughness; within 10% of
    ``real`` counts as "about as rough as" (the number's own spread over images is larger).
    """
    def verdict(value: float) -> str:
        if value > 1.1 * real:
            return "rougher than"
        return "smoother than" if value < 0.9 * real else "about as rough as"

    names = sorted({key.split(", ")[0] for key in rough if ", " in key})
    return "\n".join(
        f"- {name}: draws of P(Z) from thin regions decode to images "
        f"{verdict(rough[f'{name}, thin'])} held-out digits ({rough[f'{name}, thin']:.3f} "
        f"against {real:.3f}); draws from elsewhere decode to images "
        f"{verdict(rough[f'{name}, elsewhere'])} them ({rough[f'{name}, elsewhere']:.3f})."
        for name in names)
