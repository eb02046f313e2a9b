"""Saving and loading models, safely.

A checkpoint stores the model's constructor arguments beside its weights, so
:func:`load` rebuilds the model from the file alone. Files are written
atomically (:func:`genae.infra.files.atomic_path`): an interrupted save leaves the
previous checkpoint intact. They are read with ``torch.load(weights_only=True)``,
which refuses anything that would run code while loading.
"""

from __future__ import annotations

import os
import pickle
import re
from collections import OrderedDict
from pathlib import Path
from typing import Any

import torch
from torch import nn

from genae.infra.devices import resolve_device
from genae.infra.files import atomic_path
from genae.models import make_model

FORMAT = "genae-checkpoint"
VERSION = 1


class CheckpointError(ValueError):
    """A file that is not a readable genae checkpoint, with the reason."""


def check_loadable(value: Any, where: str = "the checkpoint") -> None:
    """Raise ``TypeError`` unless ``value`` holds only what ``torch.load(weights_only=True)`` reads.

    That is tensors, numbers, strings, ``None``, and lists, tuples and dicts of
    them. Checked before writing, so a file genae wrote can always be loaded.
    """
    if isinstance(value, torch.Tensor) or type(value) in (bool, int, float, str, type(None)):
        return
    if type(value) in (list, tuple):
        for i, item in enumerate(value):
            check_loadable(item, f"{where}[{i}]")
        return
    if type(value) in (dict, OrderedDict):
        for key, item in value.items():
            check_loadable(key, f"a key of {where}")
            check_loadable(item, f"{where}[{key!r}]")
        return
    kind = f"{type(value).__module__}.{type(value).__qualname__}"
    raise TypeError(f"{where} is a {kind}, which a genae checkpoint cannot hold (they load with "
                    "weights_only=True): store tensors, numbers, strings, lists and dicts "
                    "(torch.from_numpy(a) for a NumPy array, float(x) for a NumPy number, str(p) "
                    "for a path)")


def write(payload: dict[str, Any], path: str | os.PathLike) -> Path:
    """Write a dict of tensors, numbers, strings, lists and dicts atomically, with a format tag."""
    for key, value in payload.items():
        check_loadable(value, str(key))
    with atomic_path(path) as tmp:
        torch.save({"format": FORMAT, "version": VERSION, **payload}, tmp)
    return Path(path)


def read(path: str | os.PathLike, device: str | torch.device | None = "cpu") -> dict[str, Any]:
    """Read and check a checkpoint file; raise :class:`CheckpointError` saying why it is unfit."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no checkpoint at {path}: check the path, or train a model and "
                                "save it there")
    device = resolve_device(device)
    with open(path, "rb") as fh:
        head = fh.read(4)
    if head != b"PK\x03\x04" and head[:1] != b"\x80":  # torch.save's zip format, or its old pickle
        raise CheckpointError(f"{path} is not a readable checkpoint (not a PyTorch file: it starts "
                              f"with {head!r})")
    try:
        payload = torch.load(path, map_location=device, weights_only=True)
    except Exception as err:  # torch raises many types for bad files; sort them into two messages
        code = re.search(r"Unsupported (?:global|class):? (?:GLOBAL )?([\w.]+)", str(err))
        if isinstance(err, pickle.UnpicklingError) and code:
            raise CheckpointError(
                f"{path} holds objects ({code.group(1)}) that would need arbitrary code to load, "
                "so it was refused (genae loads with weights_only=True). Only load it if you trust "
                "its source: "
                "rebuild the model and load its state_dict yourself."
            ) from err
        raise CheckpointError(f"{path} is not a readable checkpoint (truncated or not a PyTorch "
                              "file): "
                              f"{type(err).__name__}: {str(err)[:200]}") from err
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        raise CheckpointError(f"{path} is a PyTorch file but not a genae checkpoint (no '{FORMAT}' "
                              "tag): "
                              "save models with genae.infra.checkpoint.save")
    if payload.get("version") != VERSION:
        raise CheckpointError(f"{path} is a genae checkpoint of format version "
                              f"{payload.get('version')!r}; this genae reads version {VERSION}: "
                              "re-save it with a matching genae")
    return payload


def save(model: nn.Module, path: str | os.PathLike, **extra: Any) -> Path:
    """Save ``model`` (its config and weights) and any ``extra`` tensors, numbers or strings."""
    if not hasattr(model, "config"):
        raise TypeError(f"{type(model).__name__} has no .config: save models made by "
                        "genae.models.make_model")
    state = {k: v.detach().cpu() for k, v in model.state_dict().items()}
    return write({"config": model.config, "state_dict": state, "extra": extra}, path)


def load(path: str | os.PathLike, device: str | torch.device | None = None,
         kind: str | None = None) -> nn.Module:
    """Rebuild the model saved at ``path``, in eval mode, on ``device`` (``None``: CUDA if present).

    ``kind``, when given, must match the saved model's kind. The ``extra`` saved
    with it is attached as ``model.checkpoint_extra``.
    """
    dev = resolve_device(device)
    payload = read(path)
    if "config" not in payload or "state_dict" not in payload:
        raise CheckpointError(f"{path} is a genae training state, not a model: use "
                              "genae.train.fit(..., resume=True)")
    config = payload["config"]
    if kind is not None and config.get("kind") != kind:
        raise CheckpointError(f"{path} holds a {config.get('kind')!r} model, not the {kind!r} that "
                              "was asked for")
    try:
        model = make_model(**config)
        model.load_state_dict(payload["state_dict"])
    except (TypeError, ValueError, RuntimeError) as err:
        raise CheckpointError(f"{path} describes a model this genae cannot rebuild "
                              f"({type(err).__name__}: {str(err)[:200]}): it was written by "
                              "another version of genae, or edited") from err
    model.checkpoint_extra = payload.get("extra", {})
    return model.to(dev).eval()
