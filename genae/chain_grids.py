"""Figures 3-8 of the paper, drawn so the reader can follow each chain: the layout plumbing.

The paper shows grids of samples after 0, 1, 5 and 10 steps. A grid of 64 small
samples per panel hides what one step does to one sample; these figures follow
a few chains, large, with the start z0 fixed along a row:

- :func:`chain_grid`: one panel per model, rows = chains, columns = steps; row i
  of every panel starts from the same z0;
- :func:`path_grid`: one panel per model, rows = an interpolation path before
  the chain and after some steps, columns = points along the path;
- :func:`plot_measures`: per-step means of several measures, one line per model,
  with the level of held-out digits;
- :func:`plot_pairs`: one scatter panel per model (for example a chain's start
  against how far it moves).
"""

from __future__ import annotations

from collections.abc import Sequence

import matplotlib.pyplot as plt
import pandas as pd
import torch
from matplotlib.figure import Figure
from torch import Tensor, nn

from genae.plots import decode_steps, show_images

CELL = 0.62  # inches per 32x32 image: about 60 pixels at the book's 1280-px page, strokes visible


def step_name(step: int) -> str:
    """"start", "1 step", "5 steps": the column labels of chain figures."""
    return "start" if step == 0 else f"{step} step" + ("s" if step > 1 else "")


def _label_grid(ax: plt.Axes, size: int, columns: Sequence[str], rows: Sequence[str] | None,
                ) -> None:
    """Tick labels at the centres of the grid's cells (``size``: one cell in pixels)."""
    ax.set_xticks([size * (i + 0.5) for i in range(len(columns))])
    ax.set_xticklabels(columns, fontsize=9)
    ax.xaxis.tick_top()
    if rows is not None:
        ax.set_yticks([size * (i + 0.5) for i in range(len(rows))])
        ax.set_yticklabels(rows, fontsize=9)
    ax.tick_params(length=0)


def chain_grid(models: dict[str, nn.Module], trajectories: dict[str, Tensor],
               steps: Sequence[int] = (0, 1, 5, 10), chains: int = 12,
               labels: dict[str, str] | None = None) -> Figure:
    """The first ``chains`` chains of each model at ``steps``: rows = chains, columns = steps.

    One panel per model in ``models``; ``trajectories[kind]`` is (steps + 1, N, latent_dim) from
    :func:`genae.mcmc.run_chain`;
    when all models start from the same z0, row i is the same start in every panel.
    """
    kinds = list(models)  # the models drawn; trajectories may hold more
    fig, axes = plt.subplots(1, len(kinds), squeeze=False, figsize=(
        CELL * len(steps) * len(kinds) + 0.6 * len(kinds), CELL * chains + 0.6))
    for ax, kind in zip(axes[0], kinds):
        images = decode_steps(models[kind], trajectories[kind][:, :chains], steps)
        grid = torch.stack(images, 1).flatten(0, 1)  # chain-major: one row per chain
        show_images(grid, nrow=len(steps), ax=ax)
        size = images[0].shape[-1] + 2
        rows = [f"chain {i + 1}" for i in range(chains)] if ax is axes[0, 0] else None
        _label_grid(ax, size, [step_name(s) for s in steps], rows)
        ax.set_xlabel((labels or {}).get(kind, kind), fontsize=12)
    fig.tight_layout(w_pad=0.8)
    return fig


def path_grid(models: dict[str, nn.Module], paths: dict[str, Tensor], pair: int,
              steps: Sequence[int] = (0, 1, 5, 10), labels: dict[str, str] | None = None,
              ) -> Figure:
    """One interpolation path per model, before the chain and after ``steps``.

    ``paths[kind]`` is (steps + 1, points, pairs, latent_dim): the chain run on every point
    of every path. Rows = chain steps (the first row is the interpolation itself),
    columns = points along the path, one panel per model, one model per figure row.
    """
    kinds = list(paths)
    points = paths[kinds[0]].shape[1]
    fig, axes = plt.subplots(len(kinds), 1, squeeze=False,
                             figsize=(CELL * 1.35 * points + 1.2,
                                      (CELL * 1.35 * len(steps) + 0.45) * len(kinds)))
    for ax, kind in zip(axes[:, 0], kinds):
        rows = [paths[kind][s, :, pair] for s in steps]
        images = decode_steps(models[kind], torch.stack(rows), range(len(rows)))
        show_images(torch.cat(images), nrow=points, ax=ax)
        size = images[0].shape[-1] + 2
        names = ["path" if s == 0 else step_name(s) for s in steps]
        _label_grid(ax, size, [f"t={i / (points - 1):.2g}" for i in range(points)], names)
        ax.set_title((labels or {}).get(kind, kind), fontsize=11, loc="left")
    fig.tight_layout(h_pad=0.6)
    return fig


def plot_measures(table: pd.DataFrame, columns: dict[str, str], real: dict[str, float],
                  styles: dict[str, str] | None = None, ncols: int | None = None) -> Figure:
    """One panel per measure (``columns``: column -> panel title), one line per model over steps.

    ``table`` is indexed by (model, step); ``real`` holds the held-out digits' level of a
    measure, drawn dotted; ``styles`` gives a model's line style (e.g. "--" for a twin);
    ``ncols`` panels a row (all in one row for ``None``).
    """
    ncols = ncols or len(columns)
    nrows = -(-len(columns) // ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(3.2 * ncols, 3.1 * nrows), squeeze=False)
    axes = axes.reshape(1, -1)
    for ax, (column, title) in zip(axes[0], columns.items()):
        for i, model in enumerate(table.index.unique(0)):
            series = table.loc[model, column]
            ax.plot(series.index, series.values, (styles or {}).get(model, "-"), marker="o",
                    ms=3, color=f"C{i}", label=model)
        if column in real:
            ax.axhline(real[column], color="k", ls=":", lw=1, label="held-out digits")
        ax.set(title=title, xlabel="step t")
    axes[0, 0].legend(fontsize=8)
    fig.tight_layout()
    return fig


def plot_pairs(x: dict[str, Tensor], y: dict[str, Tensor], titles: dict[str, str], xlabel: str,
               ylabel: str) -> Figure:
    """One scatter panel per model: ``x[kind]`` against ``y[kind]`` (one point per chain)."""
    fig, axes = plt.subplots(1, len(x), figsize=(3.0 * len(x), 3.0), sharey=True,
                             squeeze=False)
    for i, (ax, kind) in enumerate(zip(axes[0], x)):
        ax.scatter(x[kind], y[kind], s=6, alpha=0.5, color=f"C{i}")
        ax.set(title=titles[kind], xlabel=xlabel)
    axes[0, 0].set_ylabel(ylabel)
    fig.tight_layout()
    return fig


def plot_step_sizes(stochastic: dict[str, Tensor], deterministic: dict[str, Tensor],
                    labels: dict[str, str] | None = None) -> Figure:
    """Mean step size per step: stochastic chains solid, deterministic dashed, one colour a model.

    Both dicts hold trajectories (steps + 1, N, latent_dim) from the same starts.
    """
    fig, ax = plt.subplots(figsize=(6.4, 3.4))
    for i, kind in enumerate(stochastic):
        name = (labels or {}).get(kind, kind)
        for traj, style, how in ((stochastic[kind], "-o", "stochastic"),
                                 (deterministic[kind], "--s", "deterministic")):
            sizes = (traj[1:] - traj[:-1]).norm(dim=-1).mean(1)
            ax.plot(range(1, len(traj)), sizes, style, ms=3, color=f"C{i}",
                    label=f"{name} {how}")
    ax.set(xlabel="step t", ylabel=r"mean $\|z_t - z_{t-1}\|$", title="step size")
    ax.legend(fontsize=7, ncol=2)
    fig.tight_layout()
    return fig
