"""Figures: image grids (torchvision's ``make_grid``), chain figures like figures 4-8, loss curves.

Every function draws on a matplotlib ``Axes`` (made for you when not given) and
returns it, so notebooks can compose figures and add captions.
"""

from __future__ import annotations

from collections.abc import Sequence
from numbers import Integral

import matplotlib.pyplot as plt
import torch
from matplotlib.ticker import MaxNLocator
from torch import Tensor, nn
from torchvision.utils import make_grid

from genae.infra.devices import model_device
from genae.models import evaluating
from genae.validate import check_int


def show_images(images: Tensor, nrow: int = 8, title: str | None = None, ax: plt.Axes | None = None,
                padding: int = 2) -> plt.Axes:
    """Show a batch of images (N, C, H, W) in [0, 1] as one grid (values outside are clipped)."""
    if not isinstance(images, Tensor):
        raise TypeError(f"show_images needs a torch.Tensor of images, got {type(images).__name__}: "
                        "convert it with torch.as_tensor")
    if images.dim() != 4 or len(images) == 0 or images.shape[1] not in (1, 3):
        raise ValueError(f"show_images needs a batch (N, C, H, W) with N >= 1 and C = 1 or 3, "
                         f"got shape {tuple(images.shape)}")
    if not images.is_floating_point():
        raise ValueError(f"show_images needs float images in [0, 1], got dtype {images.dtype}: "
                         "divide integer pixels by 255 (x.float() / 255)")
    check_int(nrow, "nrow", low=1)
    pixels = images.detach().float().cpu().clamp(0, 1)
    grid = make_grid(pixels, nrow=nrow, padding=padding, pad_value=1.0)
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
    if not isinstance(trajectory, Tensor) or trajectory.dim() != 3:
        got = (f"shape {tuple(trajectory.shape)}" if isinstance(trajectory, Tensor)
               else type(trajectory).__name__)
        raise ValueError(
            "a trajectory has shape (steps + 1, N, latent_dim), as genae.mcmc.run_chain "
            f"returns; got {got}"
        )
    steps = list(steps)
    if not steps:
        raise ValueError("no steps were asked for: choose which steps to show, "
                         "for example (0, 1, 5, 10)")
    bad = [s for s in steps
           if isinstance(s, bool) or not isinstance(s, Integral) or not 0 <= s < len(trajectory)]
    if bad:
        raise ValueError(f"the trajectory has steps 0..{len(trajectory) - 1}, "
                         f"but step {bad[0]!r} was asked for")
    device = model_device(model)
    with evaluating(model):
        images = [model.decode(trajectory[s].to(device)).cpu() for s in steps]
    return images


def show_chain(model: nn.Module, trajectory: Tensor, steps: Sequence[int] = (0, 1, 5, 10),
               nrow: int = 8, label: str | None = None,
               axes: Sequence[plt.Axes] | None = None) -> Sequence[plt.Axes]:
    """Side-by-side grids of the decoded chain at ``steps`` (figures 4, 5 and 7); z0 is fixed."""
    images = decode_steps(model, trajectory, steps)
    if axes is None:
        _, axes = plt.subplots(1, len(steps), figsize=(3 * len(steps), 3.2))
    for ax, step, batch in zip(axes, steps, images):
        name = "initial" if step == 0 else f"{step} step" + ("s" if step > 1 else "")
        show_images(batch, nrow=nrow, ax=ax, title=f"{label} ({name})" if label else name)
    return axes


def show_paths(model: nn.Module, paths: Sequence[Tensor], row_labels: Sequence[str],
               ax: plt.Axes | None = None) -> plt.Axes:
    """One row per latent path (an interpolation after 0, 1, 5, 10 steps), as in figures 3, 6, 8."""
    paths = list(paths)
    if not paths or len(paths) != len(row_labels):
        raise ValueError(f"show_paths needs one row label per path, got {len(paths)} path(s) and "
                         f"{len(row_labels)} label(s)")
    shapes = sorted({tuple(p.shape) for p in paths})
    if len(shapes) > 1:
        raise ValueError(f"every path must have the same shape (points, latent_dim), got {shapes}")
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
    if any("epoch" not in h for h in history):
        raise ValueError("every history entry needs an 'epoch', as genae.train.fit's history has; "
                         "got keys "
                         f"{sorted(next(h for h in history if 'epoch' not in h))}")
    known = {k for h in history for k in h} - {"epoch"}
    unknown = [t for t in terms or () if t not in known]
    if unknown:
        raise ValueError(f"the history has no term {unknown[0]!r}: "
                         f"choose from {', '.join(sorted(known))}")
    skip = ("epoch", "adversary_accuracy", "adversary_collapsed")
    terms = terms or [k for k in history[0] if k not in skip]
    if ax is None:
        _, ax = plt.subplots(figsize=(5, 3))
    epochs = [h["epoch"] for h in history]
    for term in terms:
        values = [h.get(term, float("nan")) for h in history]
        ax.plot(epochs, values, marker="o", label=f"{label} {term}".strip())
    ax.set_xlabel("epoch")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))  # epochs are whole numbers
    ax.legend()
    return ax
