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

from genae.data import CHANNELS, load_images
from genae.defaults import QUICK
from genae.infra import checkpoint
from genae.infra.devices import resolve_device
from genae.models import make_model
from genae.train import TRAINER_VERSION, History, fit
from genae.validate import check_choice


def default_cache_dir() -> Path:
    """``$GENAE_CACHE``, else ``~/.cache/genae/models``."""
    return Path(os.environ.get("GENAE_CACHE", Path.home() / ".cache" / "genae" / "models"))


def cache_key(config: dict) -> str:
    """A short, stable hash of a configuration dict."""
    return hashlib.sha256(json.dumps(config, sort_keys=True).encode()).hexdigest()[:12]


def trained_model(kind: str, dataset: str = QUICK.dataset, image_size: int = QUICK.image_size,
                  latent_dim: int = QUICK.latent_dim, width: int = QUICK.width,
                  epochs: int = QUICK.epochs, batch_size: int = QUICK.batch_size,
                  seed: int = QUICK.seed,
                  denoise_std: float | None = None, root: str | os.PathLike | None = None,
                  cache_dir: str | os.PathLike | None = None,
                  device: str | torch.device | None = None, progress: bool = True,
                  snapshots: tuple[int, ...] = ()) -> tuple[nn.Module, History]:
    """Return a model of ``kind`` trained on ``dataset`` with these settings, and its history.

    The defaults are the notebooks' quick settings (:data:`genae.defaults.QUICK`).

    Trains with :func:`genae.train.fit` (the paper's optimiser) the first time and
    caches the result; later calls with the same arguments load it. The model is
    in eval mode on ``device`` (CUDA when present for ``None``).

    ``snapshots``: epoch counts below ``epochs`` at which, while training, the model
    is also cached as the result of training for that many epochs. It is the same
    model: :func:`~genae.train.fit` does nothing in its first epochs that depends
    on how many follow, so a later call with ``epochs=5`` loads the 5-epoch
    snapshot of a 20-epoch run instead of training again.
    """
    channels = CHANNELS[check_choice(dataset, "data set", list(CHANNELS))]
    if any(isinstance(s, bool) or not isinstance(s, int) or not 1 <= s < epochs for s in snapshots):
        raise ValueError(f"snapshots={snapshots!r}: each must be a whole number of epochs "
                         f"from 1 to epochs - 1 = {epochs - 1}")
    model_args = dict(kind=kind, image_size=image_size, channels=channels, latent_dim=latent_dim,
                      width=width, denoise_std=denoise_std)

    def config_for(n_epochs: int) -> dict:  # the trainer's version: a change of training retrains
        return dict(model_args, dataset=dataset, epochs=n_epochs, batch_size=batch_size, seed=seed,
                    root=str(root) if root else None, trainer=TRAINER_VERSION)

    def path_for(n_epochs: int) -> Path:
        name = f"{kind}-{dataset}-{cache_key(config_for(n_epochs))}.pt"
        return Path(cache_dir or default_cache_dir()) / name

    config, path = config_for(epochs), path_for(epochs)
    resolve_device(device)  # a bad device fails now, not after training
    if path.is_file():
        try:
            model = checkpoint.load(path, device=device)
            return model, list(model.checkpoint_extra["history"])
        except (checkpoint.CheckpointError, KeyError) as err:  # damaged outside genae: derived data
            warnings.warn(f"the cached model {path} could not be read ({err}): training it again",
                          stacklevel=2)
    data = load_images(dataset, "train", image_size=image_size, root=root)
    torch.manual_seed(seed)
    model = make_model(**model_args)

    def snapshot(history: History) -> None:
        if len(history) in snapshots:
            checkpoint.save(model, path_for(len(history)), history=list(history),
                            training=config_for(len(history)))

    history = fit(model, data, epochs=epochs, batch_size=batch_size, seed=seed, device=device,
                  progress=progress, on_epoch=snapshot)
    checkpoint.save(model, path, history=history, training=config)
    return model.eval(), history
