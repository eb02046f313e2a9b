"""What the sampling, interpolation and denoising chapters load before they run a chain.

Chapters 05, 06 and 08 compare the paper's four models (section 4.1: VAE, DVAE,
AAE, DAAE) on the same latent starts, and measure their samples against real
images. Loading the four models and taking the first images of a split is the
same few lines in each; here they are once:

- :func:`four_models`: the four shared models from the model cache, in the
  order of the paper's figure 7, with their display names;
- :func:`shuffled_images`: ``n`` images of a data set, in a seeded random order, as one
  tensor.
"""

from __future__ import annotations

import os

import torch
from torch import Tensor, nn
from torch.utils.data import Dataset

from genae.infra.cache import trained_model
from genae.validate import check_int

KINDS = ("vae", "dvae", "aae", "daae")  # the paper's figure 7: each twin beside its model
LABELS = {"vae": "VAE", "dvae": "DVAE", "aae": "AAE", "daae": "DAAE"}


def four_models(dataset: str, image_size: int, latent_dim: int, width: int, epochs: int,
                seed: int, root: str | os.PathLike | None = None,
                device: str | torch.device | None = None) -> dict[str, nn.Module]:
    """The four trained models ``{kind: model}`` for one set of notebook parameters.

    Every chapter passes the same parameters, so they share one trained copy in the cache
    (:func:`genae.infra.cache.trained_model` trains it the first time).
    """
    return {kind: trained_model(kind, dataset=dataset, image_size=image_size,
                                latent_dim=latent_dim, width=width, epochs=epochs, seed=seed,
                                root=root, device=device)[0]
            for kind in KINDS}


def shuffled_images(data: Dataset, n: int | None = None, seed: int = 0,
                    labels: bool = False) -> Tensor | tuple[Tensor, Tensor]:
    """``n`` images of ``data`` in a seeded random order, as one tensor (N, C, H, W).

    ``None`` (or ``n`` over the split's size) takes them all. With ``labels=True`` also their
    class labels (N,). Random, not the first ``n``: mnist-5k's splits are sorted by class, so
    its first 1,000 training images are all zeros and ones; a fixed seed keeps every run's
    numbers on the same images.
    """
    if n is not None:
        check_int(n, "n", low=1)
    count = len(data) if n is None else min(n, len(data))
    order = torch.randperm(len(data), generator=torch.Generator().manual_seed(seed))[:count]
    if hasattr(data, "tensors"):  # a TensorDataset (mnist-5k, digits): index, don't loop
        images = data.tensors[0][order]
        targets = data.tensors[1][order] if len(data.tensors) > 1 else None
    else:
        items = [data[i] for i in order.tolist()]
        pairs = isinstance(items[0], (tuple, list))
        images = torch.stack([item[0] if pairs else item for item in items])
        targets = torch.as_tensor([int(item[1]) for item in items]) if pairs else None
    if not labels:
        return images
    if targets is None:
        raise ValueError("labels=True needs a data set of (image, label) pairs; this one has "
                         "images only")
    return images, targets
