"""What the book's notebooks call in their first cells: the check of their papermill parameters."""

from __future__ import annotations

from pathlib import Path

from genae.data import CHANNELS
from genae.defaults import IMAGE_SIZES, QUICK
from genae.validate import check_int


def check_notebook_parameters(dataset: str = QUICK.dataset, image_size: int = QUICK.image_size,
                              latent_dim: int = QUICK.latent_dim, epochs: int = QUICK.epochs,
                              width: int = QUICK.width, seed: int = QUICK.seed, quick: bool = True,
                              **extra: object) -> None:
    """Check a notebook's papermill parameters; raise ``ValueError`` naming a bad one and its range.

    Called in the first cell after every notebook's ``parameters`` cell, so a
    mistyped ``-p`` fails at once with a sentence rather than deep inside PyTorch.
    Any ``extra`` parameters must be whole numbers >= 0 when their names end in
    ``steps``, ``seeds`` or ``n_samples``.
    """
    if dataset not in CHANNELS:
        raise ValueError(f"parameter dataset={dataset!r} is not a known data set: "
                         f"choose one of {', '.join(CHANNELS)}")
    if type(image_size) is not int or image_size not in IMAGE_SIZES:  # 32.0 and True are not sizes
        raise ValueError(f"parameter image_size={image_size!r} is not supported: "
                         f"choose one of {IMAGE_SIZES}")
    root = extra.get("root")
    if dataset == "folder" and (root is None or not Path(root).is_dir()):
        raise ValueError(f"parameter root={root!r} must be an existing folder of images for "
                         "dataset='folder' (papermill -p root DIR)")
    if root is not None and Path(root).is_file():
        raise ValueError(f"parameter root={root!r} is a file: give the folder of the data set")
    counts = {"latent_dim": (latent_dim, 1), "epochs": (epochs, 0), "width": (width, 1),
              "seed": (seed, 0)}
    counts.update({name: (value, 0) for name, value in extra.items()
                   if name.endswith(("steps", "seeds", "n_samples"))})
    for name, (value, low) in counts.items():
        check_int(value, f"parameter {name}={value!r}", low=low)
    if not isinstance(quick, bool):
        raise ValueError(f"parameter quick={quick!r} must be True or False")
