"""Figures: image grids (through torchvision's ``make_grid``), chain figures like figures 4-8, loss curves.

Every function draws on a matplotlib ``Axes`` (made for you when not given) and
returns it, so notebooks can compose figures and add captions.
"""

from __future__ import annotations

from collections.abc import Sequence

import matplotlib.pyplot as plt
import torch
from torch import Tensor, nn
from torchvision.utils import make_grid


def show_images(images: Tensor, nrow: int = 8, title: str | None = None, ax: plt.Axes | None = None,
                padding: int = 2) -> plt.Axes:
    """Show a batch of images (N, C, H, W) in [0, 1] as one grid."""
    if images.dim() != 4:
        raise ValueError(f"show_images needs a batch (N, C, H, W), got shape {tuple(images.shape)}")
    grid = make_grid(images.detach().float().cpu().clamp(0, 1), nrow=nrow, padding=padding, pad_value=1.0)
    if ax is None:
        _, ax = plt.subplots(figsize=(nrow * 0.6 + 1, (len(images) // nrow + 1) * 0.6 + 0.5))
    ax.imshow(grid.permute(1, 2, 0).numpy(), cmap="gray" if images.shape[1] == 1 else None,
              interpolation="nearest")
    ax.set_xticks([])
    ax.set_yticks([])
    if title:
        ax.set_title(title)
    return ax


@torch.no_grad()
def decode_steps(model: nn.Module, trajectory: Tensor, steps: Sequence[int]) -> list[Tensor]:
    """Decode the trajectory of :func:`genae.mcmc.run_chain` at the chosen steps, on the CPU."""
    if max(steps) >= len(trajectory):
        raise ValueError(f"the trajectory has steps 0..{len(trajectory) - 1}, but step {max(steps)} was asked for")
    was_training = model.training
    model.eval()
    device = next(model.parameters(), torch.empty(0)).device
    images = [model.decode(trajectory[s].to(device)).cpu() for s in steps]
    model.train(was_training)
    return images


def show_chain(model: nn.Module, trajectory: Tensor, steps: Sequence[int] = (0, 1, 5, 10), nrow: int = 8,
               label: str | None = None, axes: Sequence[plt.Axes] | None = None) -> Sequence[plt.Axes]:
    """Side-by-side grids of the decoded chain at ``steps`` (figures 4, 5 and 7); z0 is fixed across panels."""
    images = decode_steps(model, trajectory, steps)
    if axes is None:
        _, axes = plt.subplots(1, len(steps), figsize=(3 * len(steps), 3.2))
    for ax, step, batch in zip(axes, steps, images):
        name = "initial" if step == 0 else f"{step} step" + ("s" if step > 1 else "")
        show_images(batch, nrow=nrow, ax=ax, title=f"{label} ({name})" if label else name)
    return axes


def show_paths(model: nn.Module, paths: Sequence[Tensor], row_labels: Sequence[str],
               ax: plt.Axes | None = None) -> plt.Axes:
    """One row per latent path (e.g. an interpolation after 0, 1, 5, 10 chain steps), as in figures 3, 6 and 8."""
    rows = decode_steps(model, torch.stack(list(paths)), range(len(paths)))
    ncol = len(rows[0])
    ax = show_images(torch.cat(rows), nrow=ncol, ax=ax)
    size = rows[0].shape[-1] + 2
    ax.set_yticks([size * (i + 0.5) for i in range(len(rows))])
    ax.set_yticklabels(row_labels)
    return ax


def plot_history(history: Sequence[dict], terms: Sequence[str] | None = None,
                 ax: plt.Axes | None = None, label: str = "") -> plt.Axes:
    """Loss terms per epoch from :func:`genae.train.fit`'s history."""
    if not history:
        raise ValueError("the history is empty: train for at least one epoch")
    terms = terms or [k for k in history[0] if k not in ("epoch", "adversary_accuracy", "adversary_collapsed")]
    if ax is None:
        _, ax = plt.subplots(figsize=(5, 3))
    epochs = [h["epoch"] for h in history]
    for term in terms:
        ax.plot(epochs, [h.get(term, float("nan")) for h in history], marker="o", label=f"{label} {term}".strip())
    ax.set_xlabel("epoch")
    ax.legend()
    return ax
