"""Sections 3.2 and 4.5: simple numbers that say what the chain does, step by step.

The paper judges the chain by eye (figures 3-8). The book's chapters on
sampling, interpolation, convergence and denoising measure it instead, with a
few plain statistics of a trajectory from :func:`genae.mcmc.run_chain`:

- :func:`aggregate_posterior`: draws from Q(Z), the distribution the chain
  converges to (Lemma 2): encodings of data images, corrupted first for a
  denoising model, because Eq. 2's chain encodes corrupted images;
- :func:`step_sizes`: how far each chain moves in one step, ||z_t - z_{t-1}||;
- :func:`nearest_distance`: how far each image is from its nearest real image
  (root-mean-square over pixels), a crude "does this look like data" score;
- :func:`total_variation`: the mean absolute difference between neighbouring
  pixels, a sharpness score (blurry and flat images score low).

Distribution-level distances (MMD, Fréchet, precision/recall) live in
:mod:`genae.metrics`.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn
from torchmetrics.functional.image import total_variation as _summed_total_variation

from genae.infra.devices import model_device
from genae.mcmc import default_chunk_size
from genae.models import evaluating
from genae.validate import check_images, check_int, check_tensor


@torch.no_grad()
def aggregate_posterior(model: nn.Module, images: Tensor, generator: torch.Generator | None = None,
                        batch_size: int | None = None) -> Tensor:
    """One draw of z ~ Q(Z|x~), x~ ~ Q(X~|x) for each image x: samples of Q(Z), shape
    (N, latent_dim), on the CPU.

    For a plain model the corruption is the identity, so this is z ~ Q(Z|x).
    This is the stationary distribution of the chain that :func:`genae.mcmc.run_chain`
    runs with ``sample=True``, which is what the chain's samples should approach.

    Args:
        model: a model with ``encode``, ``corrupt`` and ``latent_dim``.
        images: data images (N, C, H, W) in [0, 1], e.g. a held-out test split.
        generator: random number generator for the corruption and encoder noise,
            on the model's device.
        batch_size: images encoded at once (``None``: :func:`genae.mcmc.default_chunk_size` of the
            device).
    """
    if hasattr(model, "channels") and hasattr(model, "image_size"):
        check_images(images, model.channels, model.image_size)
    if batch_size is not None:
        check_int(batch_size, "batch_size", low=1, what=" (or None: a default per device)")
    device = model_device(model)
    batch_size = batch_size or default_chunk_size(device)
    with evaluating(model):
        parts = [
            model.encode(
                model.corrupt(x.to(device), generator=generator), generator=generator
            ).cpu()
            for x in images.split(batch_size)
        ]
    return torch.cat(parts)


@torch.no_grad()
def decode_latents(model: nn.Module, z: Tensor, batch_size: int | None = None) -> Tensor:
    """The decoder's images (its pixel means) for latents ``z`` (N, latent_dim), on the CPU.

    Decoded in eval mode, ``batch_size`` latents at once (``None``:
    :func:`genae.mcmc.default_chunk_size` of the model's device).
    """
    device = model_device(model)
    batch_size = batch_size or default_chunk_size(device)
    with evaluating(model):
        return torch.cat([model.decode(b.to(device)).cpu() for b in z.split(batch_size)])


def step_sizes(trajectory: Tensor) -> Tensor:
    """Euclidean length of every move of every chain, ||z_t - z_{t-1}||: shape (steps, N).

    ``trajectory`` is (steps + 1, N, latent_dim), as :func:`genae.mcmc.run_chain` returns.
    """
    if not isinstance(trajectory, Tensor) or trajectory.dim() != 3 or len(trajectory) < 2:
        shape = (
            tuple(trajectory.shape) if isinstance(trajectory, Tensor) else type(trajectory).__name__
        )
        raise ValueError(
            f"trajectory must be a tensor (steps + 1, N, latent_dim) with at least one step, "
            f"got {shape}: pass the output of run_chain with steps >= 1"
        )
    return (trajectory[1:] - trajectory[:-1]).norm(dim=-1)


@torch.no_grad()
def nearest_distance(images: Tensor, reference: Tensor, batch_size: int | None = None) -> Tensor:
    """Root-mean-square pixel distance from each image to its nearest image in ``reference``: shape
    (N,).

    Both are (N, C, H, W) with the same C, H, W. Zero means the image is a copy
    of a reference image; for digits at 32x32 a held-out test image is about
    0.1 from its nearest training image. ``batch_size`` images are compared at once (``None``:
    :func:`genae.mcmc.default_chunk_size` of the reference's device).
    """
    check_tensor(images, "images", "(N, C, H, W)")
    check_tensor(reference, "reference", "(N, C, H, W)")
    if batch_size is not None:
        check_int(batch_size, "batch_size", low=1, what=" (or None: a default per device)")
    batch_size = batch_size or default_chunk_size(reference.device)
    if images.dim() != 4 or reference.dim() != 4 or images.shape[1:] != reference.shape[1:]:
        raise ValueError(
            f"images {tuple(images.shape)} and reference {tuple(reference.shape)} must both be "
            "batches (N, C, H, W) of the same image shape"
        )
    if len(reference) == 0:
        raise ValueError("reference is empty: pass at least one image to compare with")
    ref = reference.flatten(1).float()
    pixels = ref.shape[1]
    best = [torch.cdist(x.flatten(1).float().to(ref.device), ref).min(dim=1).values.cpu()
            for x in images.split(batch_size)]
    return torch.cat(best) / pixels ** 0.5


def total_variation(images: Tensor) -> Tensor:
    """Mean absolute difference between horizontally and vertically neighbouring pixels, per image:
    shape (N,).

    torchmetrics' total variation summed over the image, divided by the number
    of neighbouring pairs, so images of any size compare on the same scale.
    """
    check_tensor(images, "images", "(N, C, H, W)")
    if images.dim() != 4 or min(images.shape[-2:]) < 2:
        raise ValueError(
            f"images must be a batch (N, C, H, W) with H, W >= 2, got shape {tuple(images.shape)}"
        )
    _, c, h, w = images.shape
    return _summed_total_variation(images.float(), reduction="none") / (
        c * (h * (w - 1) + (h - 1) * w)
    )
