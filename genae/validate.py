"""The one vocabulary for checking what a user passes in: each says what was wrong and what to do.

Scalars: :func:`check_int`, :func:`check_number`, :func:`check_choice` (and
:func:`check_steps`, a whole number >= 0). Tensors: :func:`check_tensor`,
:func:`check_images`, :func:`check_latents`. Models: the two interfaces the
library runs on, written as ``typing.Protocol`` s, :class:`ChainModel` (what
the Markov chain needs) and :class:`TrainableModel` (what ``fit`` needs),
checked with :func:`check_model`.

Data are checked once where they enter. :func:`genae.train.fit` checks its
data set before the first step and then trains inside :func:`checked_data`,
which lets :func:`check_images` skip the NaN and range tests (each a host sync
on a GPU) for every batch of data already checked; shapes and dtypes, which
cost nothing, are still checked on every call.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Iterator, Sequence
from typing import Protocol, TypeVar, runtime_checkable

import torch
from torch import Tensor, nn

T = TypeVar("T")
_data_checked = False  # set by checked_data(): the batches come from data already checked


# ---- scalars -------------------------------------------------------------------------------------

def check_int(value: object, name: str, low: int | None = None, high: int | None = None,
              what: str = "") -> int:
    """Raise ``ValueError`` unless ``value`` is a whole number (not a bool) in [low, high].

    ``what`` is appended to the message (for example the paper's value).
    """
    ok = isinstance(value, int) and not isinstance(value, bool)
    if not ok or (low is not None and value < low) or (high is not None and value > high):
        bounds = f" from {low} to {high}" if low is not None and high is not None else (
            f" >= {low}" if low is not None else (f" <= {high}" if high is not None else ""))
        raise ValueError(f"{name} must be a whole number{bounds}, got {value!r}{what}")
    return value


def check_number(value: object, name: str, low: float | None = None, positive: bool = False,
                 what: str = "") -> float:
    """Raise ``ValueError`` unless ``value`` is a finite real number (not a bool); return a float.

    With ``positive`` it must be > 0, with ``low`` >= low.
    """
    ok = isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
    if not ok or (positive and value <= 0) or (low is not None and value < low):
        bound = " > 0" if positive else (f" >= {low}" if low is not None else "")
        raise ValueError(f"{name} must be a finite number{bound}, got {value!r}{what}")
    return float(value)


def check_choice(value: T, name: str, choices: Sequence[T]) -> T:
    """Raise ``ValueError`` unless ``value`` is one of ``choices``; return it."""
    if isinstance(value, bool) or value not in choices:
        listed = ", ".join(map(str, choices))
        raise ValueError(f"unknown {name} {value!r}: choose one of {listed}")
    return value


def check_steps(steps: int, name: str = "steps") -> None:
    """Raise ``ValueError`` unless ``steps`` is a whole number >= 0."""
    check_int(steps, name, low=0)


# ---- tensors -------------------------------------------------------------------------------------

def check_tensor(value: object, name: str, shape: str = "") -> None:
    """Raise ``TypeError`` naming ``name`` unless ``value`` is a torch.Tensor (of ``shape``)."""
    if not isinstance(value, Tensor):
        raise TypeError(f"{name} must be a torch.Tensor{' ' + shape if shape else ''}, "
                        f"got {type(value).__name__}: convert it with torch.as_tensor")


def check_images(x: Tensor, channels: int, image_size: int, check_range: bool = True) -> None:
    """Raise ``ValueError`` unless ``x`` is a float batch (N, channels, size, size) in [0, 1].

    ``check_range=False`` allows values outside [0, 1], as corrupted images have; inside
    :func:`checked_data` the values are not tested again (they were, where the data entered).
    """
    check_tensor(x, "images")
    _check_float(x)
    expected = (channels, image_size, image_size)
    if x.dim() != 4 or tuple(x.shape[1:]) != expected:
        got = ("x".join(map(str, x.shape[1:])) if x.dim() == 4
               else f"a {x.dim()}-D tensor of shape {tuple(x.shape)}")
        raise ValueError(
            f"model expects a batch of {'x'.join(map(str, expected))} images (N, C, H, W), "
            f"got {got}; "
            f"load the data with image_size={image_size} and {channels} channel(s), "
            "or make the model to match the data"
        )
    if check_range and not _data_checked and x.numel():
        check_pixel_values(x)


def _check_float(x: Tensor) -> None:
    if not x.is_floating_point():
        raise ValueError(f"images must be floating point in [0, 1], got dtype {x.dtype}: "
                         "divide integer pixels by 255 (x.float() / 255)")


def check_pixel_values(x: Tensor) -> None:
    """Raise ``ValueError`` unless ``x`` is floating point in [0, 1] (host syncs on a GPU)."""
    _check_float(x)
    if bool(torch.isnan(x).any()):
        raise ValueError(f"images contain NaN ({int(torch.isnan(x).sum())} of {x.numel()} values): "
                         "find where the data set produces them (a failed read, a division by "
                         "zero) and fix it there")
    low, high = torch.aminmax(x)
    if low < 0 or high > 1:
        raise ValueError(f"images must lie in [0, 1], got values in [{low.item():.3g}, "
                         f"{high.item():.3g}]: rescale them (for example x / 255)")


@contextlib.contextmanager
def checked_data() -> Iterator[None]:
    """In this block :func:`check_images` trusts pixel values (checked where the data entered)."""
    global _data_checked
    before, _data_checked = _data_checked, True
    try:
        yield
    finally:
        _data_checked = before


def check_latents(z: Tensor, latent_dim: int) -> None:
    """Raise ``ValueError`` unless ``z`` is a float batch of shape (N, latent_dim)."""
    check_tensor(z, "latents")
    if not z.is_floating_point() or z.dim() != 2 or z.shape[1] != latent_dim:
        raise ValueError(f"latents must be a float tensor of shape (N, {latent_dim}), "
                         f"got {z.dtype} of shape {tuple(z.shape)}")


# ---- models --------------------------------------------------------------------------------------

@runtime_checkable
class ChainModel(Protocol):
    """What the Markov chain of section 3 runs on: any module with these (every genae model)."""

    latent_dim: int

    def encode(self, x: Tensor, sample: bool = True,
               generator: torch.Generator | None = None) -> Tensor: ...

    def decode(self, z: Tensor) -> Tensor: ...

    def corrupt(self, x: Tensor, generator: torch.Generator | None = None) -> Tensor: ...


@runtime_checkable
class TrainableModel(Protocol):
    """What :func:`genae.train.fit` trains: a model that says what it minimises (section 4.3).

    ``loss(x)`` returns named scalar terms (and, under ``"z"``, the encodings it drew),
    ``objectives`` names the terms each optimiser minimises, ``param_groups()`` the
    parameters each one moves, and ``config`` rebuilds the model from a checkpoint.
    """

    objectives: dict[str, tuple[str, ...]]
    config: dict

    def loss(self, x: Tensor) -> dict[str, Tensor]: ...

    def param_groups(self) -> dict[str, list[nn.Parameter]]: ...


def check_model(model: object, protocol: type, who: str) -> None:
    """Raise ``TypeError`` unless ``model`` has every member of ``protocol``, naming the missing."""
    members = [m for m in protocol.__annotations__] + [
        m for m in vars(protocol) if not m.startswith("_") and callable(getattr(protocol, m))]
    missing = [m for m in dict.fromkeys(members) if not hasattr(model, m)]
    if missing:
        raise TypeError(f"{who} needs a model with {', '.join(dict.fromkeys(members))} "
                        f"(one from genae.models.make_model); {type(model).__name__} has no "
                        f"{', '.join(missing)}")
