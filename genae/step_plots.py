"""Chapter 09's figures: metrics against the chain's step, chains followed step by step, and the
held-out loss above its floor (section 4.5 of the paper, measured).

- :func:`metric_panels`: one panel per metric, mean ± sd over seeds against the step, one line per
  model, with each model's real-vs-real (dotted) and decoded-Q(Z) (dashed) levels;
- :func:`chain_grid`: a few chains per model, the same z0 across a row, one column per step,
  large enough to see the pen strokes;
- :func:`excess_curve`: the held-out loss minus the targets' entropy against the epoch.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import torch
from torch import nn

from genae.defaults import KINDS
from genae.infra.devices import model_device
from genae.mcmc import run_chain
from genae.plots import decode_steps
from genae.summary import QUALITY

COLOURS = dict(zip(KINDS, ("tab:blue", "tab:orange", "tab:green", "tab:red")))
LABELS = {"fid": "FID", "kid": "KID", "precision": "precision", "recall": "recall",
          "mmd_q": "MMD² to Q(Z)", "mmd_p": "MMD² to P(Z)", "latent_norm": "mean ‖z‖",
          "confidence": "classifier confidence"}


def _levels(ax: plt.Axes, baselines: pd.DataFrame, metric: str, kind: str) -> None:
    """The model's real-vs-real (dotted) and decoded-Q(Z) (dashed) levels of ``metric``."""
    for path, style in (("real vs real", ":"), ("decoded Q(Z)", "--")):
        rows = baselines[(baselines.model == kind) & (baselines.path == path)]
        if len(rows):
            ax.axhline(rows[metric].mean(), color=COLOURS[kind], linestyle=style, lw=0.9,
                       alpha=0.7)


def metric_panels(chain: pd.DataFrame, baselines: pd.DataFrame,
                  metrics: Sequence[str] = QUALITY, title: str = "") -> plt.Figure:
    """One panel per metric: mean ± sd over seeds against the step, one line per model."""
    fig, axes = plt.subplots(2, 3, figsize=(13, 7.5))
    kinds = [k for k in KINDS if k in set(chain.model)]
    for ax, metric in zip(axes.flat, metrics):
        for i, kind in enumerate(kinds):
            st = chain[chain.model == kind].groupby("step")[metric].agg(["mean", "std"])
            x = np.asarray(st.index, dtype=float) * (1 + 0.03 * i)  # nudged: bars apart
            ax.errorbar(x, st["mean"], yerr=st["std"], color=COLOURS[kind], marker="o", ms=4,
                        capsize=2, label=kind.upper())
            _levels(ax, baselines, metric, kind)
        ax.set_xscale("symlog", linthresh=1)
        ticks = sorted(set(chain.step))
        ax.set(xticks=ticks, xticklabels=[str(t) for t in ticks], xlabel="chain step",
               xlim=(-0.3, max(ticks) * 1.25),
               title=LABELS[metric])
    axes.flat[-1].axis("off")
    handles, labels = axes.flat[0].get_legend_handles_labels()
    handles += [plt.Line2D([], [], color="grey", ls=":"), plt.Line2D([], [], color="grey", ls="--")]
    axes.flat[-1].legend(handles, [*labels, "real vs real", "decoded Q(Z)"], loc="center",
                         frameon=False, fontsize=11)
    fig.suptitle(title)
    fig.tight_layout()
    return fig


@torch.no_grad()
def chain_grid(models: Mapping[str, nn.Module], z0: torch.Tensor,
               steps: Sequence[int] = (0, 1, 2, 5, 10), seed: int = 0) -> plt.Figure:
    """For each model a panel: one row per chain (the same z0 in every panel), one column per
    step of the stochastic chain with mean decoding (the authors' chain)."""
    cols = min(2, len(models))  # two panels across: each digit drawn large enough for its strokes
    rows = -(-len(models) // cols)
    panel = (0.9 * len(steps) + 0.6, 0.9 * len(z0) + 0.6)
    fig, axes = plt.subplots(rows, cols, figsize=(panel[0] * cols, panel[1] * rows), squeeze=False)
    for ax, (kind, model) in zip(axes.flat, models.items()):
        dev = model_device(model)
        g = torch.Generator(device=dev).manual_seed(seed)
        trajectory = run_chain(model, z0.to(dev), max(steps), generator=g, decode="mean")
        images = torch.stack(decode_steps(model, trajectory, steps), dim=1)  # (chains, steps, ...)
        strips = [torch.cat(list(chain), dim=-1) for chain in images]  # one strip per chain
        ax.imshow(torch.cat(strips, dim=-2)[0].numpy(), cmap="gray", vmin=0, vmax=1,
                  interpolation="nearest")
        size = images.shape[-1]
        ax.set_xticks([size * (i + 0.5) for i in range(len(steps))], [str(s) for s in steps])
        ax.set_yticks([size * (i + 0.5) for i in range(len(z0))], [str(i + 1) for i in
                                                                    range(len(z0))])
        ax.set(xlabel="chain step", ylabel="chain (same z0 in every panel)", title=kind.upper())
    for ax in axes.flat[len(models):]:
        ax.axis("off")
    fig.tight_layout()
    return fig


def excess_curve(curve: pd.DataFrame, floor: float, paper_epochs: int = 20) -> plt.Figure:
    """Held-out loss above ``floor`` against the epoch, mean ± sd over seeds, one line per model
    (log scale: a flat line is a loss that stopped falling)."""
    fig, ax = plt.subplots(figsize=(7, 4))
    for kind in (k for k in KINDS if k in set(curve.model)):
        c = (curve[curve.model == kind].assign(excess=lambda f: f.heldout_bce - floor)
             .groupby("epochs").excess.agg(["mean", "std"]))
        ax.errorbar(c.index, c["mean"], yerr=c["std"], color=COLOURS[kind], marker="o", ms=3,
                    capsize=2, label=kind.upper())
    ax.axvline(paper_epochs, color="grey", ls=":", lw=1)
    ax.set(yscale="log", xlabel="epochs", ylabel="held-out BCE above its floor (nats per image)")
    ax.legend()
    fig.tight_layout()
    return fig
