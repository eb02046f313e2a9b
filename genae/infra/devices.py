"""Choosing the device that tensors and models live on."""

from __future__ import annotations

import torch


def resolve_device(device: str | torch.device | None = None) -> torch.device:
    """Return the device to use: CUDA when present for ``None``, else what was asked.

    Raises:
        ValueError: the name is not a device PyTorch knows, or CUDA was asked
            for on a machine without it.
    """
    if device is None:
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError) as err:
        raise ValueError(
            f"unknown device {device!r}: use 'cpu', 'cuda', 'cuda:N' or None (CUDA when present)"
        ) from err
    if dev.type == "cuda":
        if not torch.cuda.is_available():
            raise ValueError(
                f"device {device!r} was requested but no CUDA GPU is available here: "
                "pass device='cpu' or device=None"
            )
        if dev.index is not None and dev.index >= torch.cuda.device_count():
            raise ValueError(
                f"device {device!r} was requested but only {torch.cuda.device_count()} "
                "CUDA device(s) exist"
            )
    if dev.type == "mps" and not torch.backends.mps.is_available():
        raise ValueError(f"device {device!r} was requested but Apple's MPS is not available here: "
                         "pass device='cpu' or device=None")
    return dev


def model_device(model: torch.nn.Module) -> torch.device:
    """The device a model's weights are on (the CPU for a model without any)."""
    return next(model.parameters(), torch.empty(0)).device
