"""Section 4.3's data pipeline: the training loop's batches, fast enough not to starve a GPU.

In-memory data sets (the digits, anything in a ``TensorDataset``) are sliced
directly: no loader, no per-item Python. Data sets read from disk (CelebA's
JPEG files, an image folder) go through one ``DataLoader`` for the whole run:
its worker processes decode images in parallel, stay alive from epoch to epoch
(persistent workers), prefetch batches ahead, and on CUDA put them in pinned
(page-locked) memory so the copy to the GPU runs asynchronously.

Reproducibility: the loader never draws from the global random number
generator, and a worker seeds each item's random transforms (if a data set has
any) from (seed, epoch, index), so an image's transform does not depend on
which worker read it or on whether the run was resumed mid-epoch.
"""

from __future__ import annotations

import os
import random
from collections.abc import Iterator

import numpy as np
import torch
from torch import Tensor
from torch.utils.data import DataLoader, Dataset, TensorDataset, get_worker_info

from genae.seeds import mix_seed
from genae.validate import check_int


def epoch_batches(n: int, batch_size: int, seed: int, epoch: int) -> list[Tensor]:
    """The index batches of one epoch: a permutation fixed by (seed, epoch), no short last batch.

    Dropping the short batch keeps batch norm away from batches of one; a data
    set smaller than one batch gives a single batch of everything.
    """
    order = torch.randperm(n, generator=torch.Generator().manual_seed(mix_seed(seed, epoch)))
    if n < batch_size:
        return [order]
    return list(order[: n - n % batch_size].split(batch_size))


def images_of(batch) -> Tensor:
    """The images of a batch that may carry labels as a second item."""
    return batch[0] if isinstance(batch, (list, tuple)) else batch


def default_workers() -> int:
    """Loader workers per process: one per core this process may use, at most 8.

    torchrun's local ranks share the cores.

    One core gives 0: the main process reads the data itself.
    """
    affinity = getattr(os, "sched_getaffinity", None)
    cores = len(affinity(0)) if affinity else (os.cpu_count() or 1)
    cores //= max(1, int(os.environ.get("LOCAL_WORLD_SIZE", "1")))
    return min(8, cores) if cores > 1 else 0


class _EpochSampler:
    """The batch sampler of a loader kept across epochs (:class:`BatchStream` sets the batches)."""

    def __init__(self) -> None:
        self.epoch, self.batches = 0, []

    def __iter__(self) -> Iterator[list[tuple[int, int]]]:
        return ([(self.epoch, i) for i in idx.tolist()] for idx in self.batches)

    def __len__(self) -> int:
        return len(self.batches)


class _SeededItems(Dataset):
    """Item ``(epoch, i)`` is ``dataset[i]``, read with every RNG seeded from (seed, epoch, i)."""

    def __init__(self, dataset: Dataset, seed: int) -> None:
        self.dataset, self.seed = dataset, seed

    def __len__(self) -> int:
        return len(self.dataset)

    def __getitem__(self, key: tuple[int, int]):
        epoch, i = key
        if get_worker_info() is not None:  # the main process's global RNG is checkpointed anyway
            s = mix_seed(self.seed, epoch, i) % 2**63
            torch.manual_seed(s)
            random.seed(s)
            np.random.seed(s % 2**32)
        return self.dataset[i]


class BatchStream:
    """Yields the image batches of one epoch: ``stream(epoch, batches)``, a list of index tensors.

    Args:
        dataset: the training images (optionally followed by labels).
        num_workers: loader processes for data sets on disk; ``None``: :func:`default_workers`.
        pin_memory: pin batches for asynchronous copies to a GPU.
        seed: seeds the random transforms in the workers.
    """

    def __init__(self, dataset: Dataset, num_workers: int | None = None, pin_memory: bool = False,
                 seed: int = 0) -> None:
        if num_workers is not None:
            check_int(num_workers, "num_workers", low=0, what=" (or None: one per core)")
        self.dataset = dataset
        self.loader: DataLoader | None = None
        if not isinstance(dataset, TensorDataset):
            workers = default_workers() if num_workers is None else num_workers
            self.sampler = _EpochSampler()
            # A generator of its own: the loader would otherwise draw its workers' base seed from
            # the global RNG.
            self.loader = DataLoader(_SeededItems(dataset, seed), batch_sampler=self.sampler,
                                     num_workers=workers, pin_memory=pin_memory,
                                     persistent_workers=workers > 0,
                                     prefetch_factor=4 if workers > 0 else None,
                                     generator=torch.Generator().manual_seed(seed))

    def __call__(self, epoch: int, batches: list[Tensor]) -> Iterator[Tensor]:
        if self.loader is None:
            images = self.dataset.tensors[0]
            return (images[idx] for idx in batches)
        self.sampler.epoch, self.sampler.batches = epoch, batches
        return (images_of(batch) for batch in self.loader)

    def close(self) -> None:
        """Let the persistent workers go (they also end when the stream is garbage-collected)."""
        self.loader = None


def on_device(dataset: Dataset, device: torch.device, max_bytes: int = 2 << 30) -> Dataset:
    """An in-memory data set of up to ``max_bytes`` moved to the GPU once (no copy per step)."""
    if device.type != "cuda" or not isinstance(dataset, TensorDataset):
        return dataset
    if sum(t.numel() * t.element_size() for t in dataset.tensors) > max_bytes:
        return dataset
    return TensorDataset(*(t.to(device) for t in dataset.tensors))


def batch_to(x: Tensor, device: torch.device) -> Tensor:
    """A batch on ``device``: an asynchronous copy (pinned memory), channels-last (NHWC) on CUDA."""
    x = x.to(device, non_blocking=True)
    return x.contiguous(memory_format=torch.channels_last) if device.type == "cuda" else x
