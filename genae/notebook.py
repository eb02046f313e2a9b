"""What the book's notebooks call besides the subject: their parameter check, glue, sentences.

- :func:`check_notebook_parameters`: the first cell after every ``parameters`` cell.
- :func:`glue`: myst-nb's ``glue`` in the book build, and nothing where myst-nb is not
  installed (Colab installs genae alone), so a chapter runs in both.
- :func:`say`: a generated sentence shown as rendered Markdown output, which reads the same
  in the book, in Jupyter and in Colab (a ``{glue:text}`` role in a Markdown cell is rendered
  only by the book).
- :func:`stored_results`: the path of a stored result (chapters 09 and 10), shipped inside the
  package so that ``pip install`` brings it.
"""

from __future__ import annotations

import importlib.resources
from pathlib import Path

from genae.data import CHANNELS
from genae.defaults import IMAGE_SIZES, QUICK
from genae.validate import check_int

STORED = "stored"  # the package folder that holds reference/*.py's outputs


def glue(name: str, value: object, display: bool = False) -> None:
    """Make ``value`` available to the book's prose as ``{glue:text}`name```; a no-op outside it.

    The book's build has myst-nb; Colab and a plain ``pip install genae`` do not, and
    there the value is still shown wherever the chapter prints it.
    """
    try:
        from myst_nb import glue as myst_glue
    except ImportError:
        return
    if hasattr(value, "item") and getattr(value, "ndim", 1) == 0:
        value = value.item()  # numpy/torch scalars: the book's format specs need a plain number
    myst_glue(name, value, display=display)


def say(text: str) -> None:
    """Show ``text`` (Markdown) as the cell's output: the way chapters print generated sentences."""
    from IPython.display import Markdown, display

    display(Markdown(text))


def stored_results(name: str) -> Path:
    """The path of the stored result ``name`` (for example ``"ch09.csv"``), inside the package.

    ``make reference`` writes them there; a missing file raises ``FileNotFoundError`` saying
    how to make it.
    """
    path = Path(str(importlib.resources.files("genae") / STORED / name))
    if not path.is_file():
        raise FileNotFoundError(f"no stored result {name!r} in {path.parent}: run `make reference` "
                                "in the repository (or reinstall genae) to write it")
    return path


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
