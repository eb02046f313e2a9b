"""A cache of trained models, keyed on everything that determines them.

The book's notebooks share models: the sampling notebook reuses what the
training notebook trained. :func:`trained_model` returns the cached model when
one with the same configuration exists, and trains (and caches) it otherwise,
so every notebook also runs on its own from an empty cache.
"""

from __future__ import annotations

import hashlib
import json
import os
import warnings
from pathlib import Path

import torch
from torch import nn

from genae import checkpoint
from genae.data import CHANNELS, load_images
from genae.devices import resolve_device
from genae.models import make_model
from genae.train import History, fit


def default_cache_dir() -> Path:
    """``$GENAE_CACHE``, else ``~/.cache/genae/models``."""
    return Path(os.environ.get("GENAE_CACHE", Path.home() / ".cache" / "genae" / "models"))


def cache_key(config: dict) -> str:
    """A short, stable hash of a configuration dict."""
    return hashlib.sha256(json.dumps(config, sort_keys=True).encode()).hexdigest()[:12]


def trained_model(kind: str, dataset: str = "digits", image_size: int = 32, latent_dim: int = 16,
                  width: int = 32, epochs: int = 20, batch_size: int = 64, seed: int = 0,
                  denoise_std: float | None = None, root: str | os.PathLike | None = None,
                  cache_dir: str | os.PathLike | None = None, device: str | torch.device | None = None,
                  progress: bool = True) -> tuple[nn.Module, History]:
    """Return a model of ``kind`` trained on ``dataset`` with these settings, and its history.

    Trains with :func:`genae.train.fit` (the paper's optimiser) the first time and
    caches the result; later calls with the same arguments load it. The model is
    in eval mode on ``device`` (CUDA when present for ``None``).
    """
    channels = CHANNELS.get(dataset)
    if channels is None:
        raise ValueError(f"unknown data set {dataset!r}: choose one of {', '.join(CHANNELS)}")
    model_args = dict(kind=kind, image_size=image_size, channels=channels, latent_dim=latent_dim,
                      width=width, denoise_std=denoise_std)
    config = dict(model_args, dataset=dataset, epochs=epochs, batch_size=batch_size, seed=seed,
                  root=str(root) if root else None)
    path = Path(cache_dir or default_cache_dir()) / f"{kind}-{dataset}-{cache_key(config)}.pt"
    resolve_device(device)  # a bad device fails now, not after training
    if path.is_file():
        try:
            model = checkpoint.load(path, device=device)
            return model, list(model.checkpoint_extra["history"])
        except (checkpoint.CheckpointError, KeyError) as err:  # damaged outside genae: the cache is derived data
            warnings.warn(f"the cached model {path} could not be read ({err}): training it again", stacklevel=2)
    data = load_images(dataset, "train", image_size=image_size, root=root)
    torch.manual_seed(seed)
    model = make_model(**model_args)
    history = fit(model, data, epochs=epochs, batch_size=batch_size, seed=seed, device=device, progress=progress)
    checkpoint.save(model, path, history=history, training=config)
    return model.eval(), history
