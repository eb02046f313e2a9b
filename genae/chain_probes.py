"""Section 3.1-3.3: what one step of the chain does, measured on the trained models.

Chapter 02 derives the transition operator (Eq. 1 and 2) and then probes the
chain that the authors' code runs (decode to the pixel means, corrupt for a
denoising model, encode with a draw):

- :func:`two_seed_gaps`: run two chains from the same z0 with different seeds; the
  distance between them says whether any randomness is left in the step (the
  AAE's is a deterministic map, z -> e(d(z)));
- :func:`mean_norms` and :func:`plot_norms`: the mean latent norm ||z_t|| per step,
  against the norm of Q(Z) (held-out encodings) and of P(Z);
- :func:`norm_by_input`: why the first step shrinks the norm. It encodes four kinds
  of image with the same encoder (and corruption): real held-out digits, their
  reconstructions d(e(x)) (the decoder's pixel means), the decoded prior draws
  d(z0) (exactly the chain's first step) and one Bernoulli draw of each d(z0)
  (the image Eq. 1 would sample), and reports each one's mean latent norm and
  roughness (mean absolute difference between neighbouring pixels).
"""

from __future__ import annotations

import math

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import torch
from torch import Tensor, nn

from genae.chainstats import aggregate_posterior, decode_latents, total_variation
from genae.infra.devices import model_device
from genae.mcmc import decoder_draw, run_chain


def prior_norm(latent_dim: int) -> float:
    """E||z|| under P(Z) = N(0, I_b): sqrt(2) Gamma((b + 1) / 2) / Gamma(b / 2) (a chi mean)."""
    return math.sqrt(2) * math.exp(math.lgamma((latent_dim + 1) / 2) - math.lgamma(latent_dim / 2))


def two_seed_gaps(models: dict[str, nn.Module], z0: Tensor, steps: int,
                  seeds: tuple[int, int] = (1, 2)) -> tuple[pd.DataFrame, dict[str, Tensor]]:
    """Run every model's chain twice from ``z0`` (mean decoding), with generators seeded ``seeds``.

    Returns a table (one row per model: the mean distance between the two chains after one
    step and after ``steps``, and the mean step length at the last step) and the first run's
    trajectories ``{name: (steps + 1, N, latent_dim)}`` on the CPU.
    """
    rows, trajectories = {}, {}
    for name, model in models.items():
        device = model_device(model)
        a, b = (run_chain(model, z0.to(device), steps, decode="mean",
                          generator=torch.Generator(device=device).manual_seed(s)).cpu()
                for s in seeds)
        trajectories[name] = a
        gap = (a - b).norm(dim=-1).mean(dim=-1)  # mean distance between the two chains per step
        moved = (a[1:] - a[:-1]).norm(dim=-1).mean(dim=-1)  # mean |z_(t+1) - z_t|
        rows[name] = {"distance between the two chains after 1 step": gap[1].item(),
                      f"... after {steps} steps": gap[-1].item(),
                      "largest distance over the steps": gap.max().item(),
                      f"mean step length at step {steps}": moved[-1].item()}
    return pd.DataFrame(rows).T, trajectories


def randomness_sentences(table: pd.DataFrame, steps: int) -> str:
    """One Markdown line per model: is its chain random, from :func:`two_seed_gaps`'s table."""
    lines = []
    for name, row in table.iterrows():
        if row["largest distance over the steps"] == 0:
            lines.append(f"- {name}: the two chains are identical at every step: its chain is "
                         "the deterministic map z -> e(d(z)), whatever the seed.")
        else:
            lines.append(f"- {name}: chains from the same z0 with different seeds are "
                         f"{row[f'... after {steps} steps']:.2f} apart after {steps} steps: "
                         "its chain is random.")
    return "\n".join(lines)


def mean_norms(trajectories: dict[str, Tensor]) -> dict[str, np.ndarray]:
    """The mean latent norm over the chains at each step, ``{name: (steps + 1,)}``."""
    return {name: t.norm(dim=-1).mean(dim=-1).numpy() for name, t in trajectories.items()}


def plot_norms(norms: dict[str, np.ndarray], q_norm: dict[str, float], latent_dim: int,
               title: str) -> plt.Figure:
    """One panel per model: the chain's mean norm per step, Q(Z)'s (dashed) and P(Z)'s (dotted)."""
    fig, axes = plt.subplots(2, 2, figsize=(8, 5.6), sharex=True, sharey=True,
                             layout="constrained")
    for ax, (name, values) in zip(axes.flat, norms.items()):
        ax.plot(np.arange(len(values)), values, marker="o", ms=3, label="chain from P(Z)")
        ax.axhline(q_norm[name], color="tab:blue", ls="--", label="Q(Z): held-out encodings")
        ax.axhline(prior_norm(latent_dim), color="black", ls=":", label="P(Z)")
        ax.set(title=name)
    for ax in axes[1]:
        ax.set_xlabel("step t")
    for ax in axes[:, 0]:
        ax.set_ylabel("mean |z_t|")
    axes[0, 0].legend(fontsize=8)
    fig.suptitle(title, fontsize=10)
    return fig


def encoded_norm(model: nn.Module, images: Tensor, seed: int) -> float:
    """Mean ||z|| of one draw z ~ Q(Z|x~) per image (corrupted first for a denoising model)."""
    g = torch.Generator(device=model_device(model)).manual_seed(seed)
    return aggregate_posterior(model, images, generator=g).norm(dim=-1).mean().item()


def norm_path_sentences(norms: dict[str, np.ndarray], q_norm: dict[str, float]) -> str:
    """One Markdown line per model: the mean norm at z0, its lowest, at the end, and Q(Z)'s."""
    lines = []
    for name, values in norms.items():
        start, end, low = values[0], values[-1], int(values.argmin())
        towards = abs(end - q_norm[name]) < abs(start - q_norm[name])
        lines.append(
            f"- {name}: mean |z| {start:.2f} at z0 ~ P(Z), lowest {values[low]:.2f} at step "
            f"{low}, {end:.2f} after {len(values) - 1} steps; {q_norm[name]:.2f} for Q(Z): the "
            f"last step is {'closer to' if towards else 'no closer to'} Q(Z)'s than the start.")
    return "\n".join(lines)


def norm_by_input(model: nn.Module, images: Tensor, z0: Tensor, seed: int = 0) -> pd.DataFrame:
    """Mean latent norm and roughness of the encodings of four kinds of image (module doc).

    ``images`` are held-out images, ``z0`` draws of P(Z). Every row is encoded with the same
    seed, so the rows differ only in their input images.
    """
    g = torch.Generator(device=model_device(model)).manual_seed(seed)
    codes = aggregate_posterior(model, images, generator=g)
    decoded = decode_latents(model, z0)
    inputs = {
        "real held-out digits x": images,
        "their reconstructions d(e(x)) (pixel means)": decode_latents(model, codes),
        "decoded prior draws d(z0) (pixel means): step 1": decoded,
        "a Bernoulli draw of each d(z0) (Eq. 1's x)": decoder_draw(
            model, decoded, torch.Generator().manual_seed(seed)),
    }
    return pd.DataFrame({kind: {"mean |z| of the encodings": encoded_norm(model, x, seed),
                                "roughness of the images": total_variation(x).mean().item()}
                         for kind, x in inputs.items()}).T


def _names(names: list[str]) -> str:
    return ", ".join(names) if names else "none of the models"


def norm_dip_sentences(by_input: dict[str, pd.DataFrame]) -> str:
    """What :func:`norm_by_input`'s rows say about the first step's norm, per model, as Markdown.

    The conclusions (whose step-1 images and whose reconstructions are encoded nearer the
    origin than real digits, whose step-1 images are smoother, whose Bernoulli draws undo part
    of the drop) are read off the numbers, so they stay true when the models change.
    """
    lines, found = [], {key: [] for key in ("step", "recon", "less", "smooth", "undone")}
    for name, table in by_input.items():
        n, r = table.iloc[:, 0].to_numpy(), table.iloc[:, 1].to_numpy()
        lines.append(f"- {name}: mean |z| {n[0]:.2f} for real digits, {n[1]:.2f} for their "
                     f"reconstructions, {n[2]:.2f} for decoded prior draws (step 1), {n[3]:.2f} "
                     f"for Bernoulli draws of those; roughness {r[0]:.3f}, {r[1]:.3f}, "
                     f"{r[2]:.3f}, {r[3]:.3f}.")
        for key, holds in (("step", n[2] < n[0]), ("recon", n[1] < n[0]),
                           ("less", n[2] < n[1] < n[0]), ("smooth", r[2] < r[0]),
                           ("undone", abs(n[3] - n[0]) < abs(n[2] - n[0]))):
            found[key] += [name] if holds else []
    lines.append(
        f"\nThe decoded prior draws (step 1) are encoded nearer the origin than real digits "
        f"for {_names(found['step'])}; the reconstructions, mean images of real digits, for "
        f"{_names(found['recon'])}, and by less than step 1's images for "
        f"{_names(found['less'])}. Step 1's images are smoother (lower roughness) than real "
        f"digits for {_names(found['smooth'])}. A Bernoulli draw of each decoded image brings "
        f"the norm back part of the way towards that of real digits for "
        f"{_names(found['undone'])}.")
    return "\n".join(lines)
