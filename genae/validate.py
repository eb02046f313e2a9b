"""Checks on what a user passes in, each raising an error that says what was wrong and how to fix it."""

from __future__ import annotations

from pathlib import Path

import torch
from torch import Tensor


def check_tensor(value: object, name: str, shape: str = "") -> None:
    """Raise ``TypeError`` naming ``name`` unless ``value`` is a torch.Tensor (``shape`` says which, e.g. "(N, D)")."""
    if not isinstance(value, Tensor):
        raise TypeError(f"{name} must be a torch.Tensor{' ' + shape if shape else ''}, got {type(value).__name__}: "
                        "convert it with torch.as_tensor")


def check_images(x: Tensor, channels: int, image_size: int, check_range: bool = True) -> None:
    """Raise ``ValueError`` unless ``x`` is a float batch (N, channels, image_size, image_size) in [0, 1].

    ``check_range=False`` allows values outside [0, 1], as corrupted images have.
    """
    check_tensor(x, "images")
    if not x.is_floating_point():
        raise ValueError(f"images must be floating point in [0, 1], got dtype {x.dtype}: "
                         "divide integer pixels by 255 (x.float() / 255)")
    expected = (channels, image_size, image_size)
    if x.dim() != 4 or tuple(x.shape[1:]) != expected:
        got = "x".join(map(str, x.shape[1:])) if x.dim() == 4 else f"a {x.dim()}-D tensor of shape {tuple(x.shape)}"
        raise ValueError(
            f"model expects a batch of {'x'.join(map(str, expected))} images (N, C, H, W), got {got}; "
            f"load the data with image_size={image_size} and {channels} channel(s), "
            "or make the model to match the data"
        )
    if check_range and x.numel() and bool(torch.isnan(x).any()):
        raise ValueError(f"images contain NaN ({int(torch.isnan(x).sum())} of {x.numel()} values): "
                         "find where the data set produces them (a failed read, a division by zero) and fix it there")
    if check_range and x.numel() and (x.min() < 0 or x.max() > 1):
        raise ValueError(f"images must lie in [0, 1], got values in [{x.min().item():.3g}, {x.max().item():.3g}]: "
                         "rescale them (for example x / 255)")


def check_latents(z: Tensor, latent_dim: int) -> None:
    """Raise ``ValueError`` unless ``z`` is a float batch of shape (N, latent_dim)."""
    check_tensor(z, "latents")
    if not z.is_floating_point() or z.dim() != 2 or z.shape[1] != latent_dim:
        raise ValueError(f"latents must be a float tensor of shape (N, {latent_dim}), "
                         f"got {z.dtype} of shape {tuple(z.shape)}")


def check_steps(steps: int, name: str = "steps") -> None:
    """Raise ``ValueError`` unless ``steps`` is a whole number >= 0."""
    if isinstance(steps, bool) or not isinstance(steps, int) or steps < 0:
        raise ValueError(f"{name} must be a whole number >= 0, got {steps!r}")


def check_notebook_parameters(dataset: str = "digits", image_size: int = 32, latent_dim: int = 16,
                              epochs: int = 20, width: int = 32, seed: int = 0, quick: bool = True,
                              **extra: object) -> None:
    """Check a notebook's papermill parameters; raise ``ValueError`` naming the bad one and its valid range.

    Called in the first cell after every notebook's ``parameters`` cell, so a
    mistyped ``-p`` fails at once with a sentence rather than deep inside PyTorch.
    Any ``extra`` parameters must be whole numbers >= 0 when their names end in
    ``_steps``, ``steps``, ``seeds`` or ``n_samples``.
    """
    from genae.data import CHANNELS
    from genae.models import IMAGE_SIZES

    if dataset not in CHANNELS:
        raise ValueError(f"parameter dataset={dataset!r} is not a known data set: choose one of {', '.join(CHANNELS)}")
    if isinstance(image_size, bool) or not isinstance(image_size, int) or image_size not in IMAGE_SIZES:
        raise ValueError(f"parameter image_size={image_size!r} is not supported: choose one of {IMAGE_SIZES}")
    root = extra.get("root")
    if dataset == "folder" and (root is None or not Path(root).is_dir()):
        raise ValueError(f"parameter root={root!r} must be an existing folder of images for dataset='folder' "
                         "(papermill -p root DIR)")
    if root is not None and Path(root).is_file():
        raise ValueError(f"parameter root={root!r} is a file: give the folder that holds the data set")
    for name, value, low in (("latent_dim", latent_dim, 1), ("epochs", epochs, 0), ("width", width, 1),
                             ("seed", seed, 0)):
        if isinstance(value, bool) or not isinstance(value, int) or value < low:
            raise ValueError(f"parameter {name}={value!r} must be a whole number >= {low}")
    if not isinstance(quick, bool):
        raise ValueError(f"parameter quick={quick!r} must be True or False")
    for name, value in extra.items():
        if name.endswith(("steps", "seeds", "n_samples")) and (
                isinstance(value, bool) or not isinstance(value, int) or value < 0):
            raise ValueError(f"parameter {name}={value!r} must be a whole number >= 0")
