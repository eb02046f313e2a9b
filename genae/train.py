"""Section 4.3: one training loop for all four models.

The loop knows nothing about VAEs or AAEs. A model says what it minimises:
``model.loss(x)`` returns named terms, ``model.objectives`` says which terms
each optimiser minimises, and ``model.param_groups()`` which parameters each
optimiser moves (:class:`genae.validate.TrainableModel`). A VAE has one
objective; an AAE has two (the autoencoder and its adversary), and the same
loop trains both. Defaults are the paper's (:data:`genae.defaults.PAPER`):
Adam with learning rate 2e-4 and betas (0.5, 0.999), 20 epochs, batches of 64.

This module is the whole algorithm: :func:`train_step` (one optimiser step),
:func:`train_epoch` (one pass over the data, in the seeded order of
:func:`epoch_batches`) and :func:`fit`, which runs the epochs. What a
production run adds around them (devices, mixed precision, ``torch.compile``,
several processes under torchrun, checkpoints and resuming, divergence
diagnostics, the progress bar) lives in :mod:`genae.infra.run`.

Reproducibility: the run is seeded, the data order of epoch e is a fixed
permutation drawn from (seed, e), and a checkpoint holds the weights, the
optimisers' state, the random number generators and the position in the data,
so a run resumed from any checkpoint ends exactly where an uninterrupted run
does (on the CPU; see the README for CUDA).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field

import torch
from torch import Tensor, nn
from torch.utils.data import Dataset

from genae.defaults import PAPER
from genae.infra.loader import epoch_batches
from genae.infra.run import STATE_FILE, TrainingRun
from genae.validate import TrainableModel

__all__ = ["STATE_FILE", "EpochTotals", "History", "TRAINER_VERSION", "epoch_batches", "fit",
           "train_epoch", "train_step"]

History = list[dict[str, float]]
Terms = dict[str, Tensor]
NO_SCALING = torch.amp.GradScaler("cpu", enabled=False)  # full precision: it passes through
#: Part of every cached model's key: raise it when a change to training changes the trained weights.
TRAINER_VERSION = 3  # 3: the AAEs weigh their prior term as the authors did


def train_step(*, model: TrainableModel, optimisers: dict[str, torch.optim.Optimizer], x: Tensor,
               loss: Callable[[Tensor], Terms] | None = None,
               autocast: AbstractContextManager = nullcontext(),
               scaler: torch.amp.GradScaler = NO_SCALING,
               sync: Callable[[dict[str, list[nn.Parameter]]], None] | None = None) -> Terms:
    """One optimiser step of each of ``model``'s objectives on the batch ``x``; returns the terms.

    One forward pass computes every term. Each objective's backward pass moves only its
    own parameters (``inputs=``): the AAE's adversary is not moved by the encoder's loss,
    nor the encoder by the adversary's. The arguments after ``x`` are the production
    run's (a compiled ``loss``, mixed precision, averaging gradients over processes).
    """
    with autocast:
        terms = (loss or model.loss)(x)
    groups = model.param_groups()
    last = len(model.objectives) - 1
    for i, (name, term_names) in enumerate(model.objectives.items()):
        optimisers[name].zero_grad(set_to_none=True)
        total = sum(terms[k] for k in term_names)
        scaler.scale(total).backward(inputs=groups[name], retain_graph=i < last)
    if sync is not None:  # several processes: every optimiser steps on the averaged gradient
        sync(groups)
    for optimiser in optimisers.values():
        scaler.step(optimiser)
    scaler.update()
    return {k: v.detach() for k, v in terms.items()}


def train_epoch(*, model: TrainableModel, optimisers: dict[str, torch.optim.Optimizer],
                batches: Iterable[Tensor], step: Callable[..., Terms] = train_step,
                totals: EpochTotals | None = None,
                after_step: Callable[[EpochTotals], None] | None = None) -> dict[str, float]:
    """One pass over ``batches``, a :func:`train_step` each: the mean of every term, and ``z_std``.

    ``z_std`` is the standard deviation of the encodings the steps drew (averaged over
    latent dimensions): appendix B.1 reports it below 1 for the AAEs, a sign that Q(Z)
    is narrower than P(Z) = N(0, I).
    """
    totals = EpochTotals() if totals is None else totals
    for x in batches:
        totals.add(step(model=model, optimisers=optimisers, x=x))
        if after_step is not None:
            after_step(totals)
    return totals.means()


@dataclass
class EpochTotals:
    """Running sums over an epoch: each term's, and the encodings' first two moments (for z_std).

    The sums of the encodings stay on the model's device (no host sync per step); only the
    scalar terms are read, once per step, into ``last``, ``sums``, ``lows`` and ``highs``.
    """

    steps: int = 0
    sums: dict[str, float] = field(default_factory=dict)
    lows: dict[str, float] = field(default_factory=dict)
    highs: dict[str, float] = field(default_factory=dict)
    last: dict[str, float] = field(default_factory=dict)
    z_moments: Tensor | None = None  # rows: count, sum of z, sum of z^2 (float64)
    total: Callable[[Tensor], Tensor] = field(default=lambda t: t, repr=False)  # over processes

    def add(self, terms: Terms) -> None:
        codes = terms.get("z")
        scalars = {k: v for k, v in terms.items() if k != "z"}
        wide = torch.float32 if next(iter(terms.values())).device.type == "mps" else torch.float64
        self.last = dict(zip(scalars, torch.stack([v.to(wide) for v in scalars.values()]).tolist()))
        self.steps += 1
        for key, value in self.last.items():
            self.sums[key] = self.sums.get(key, 0.0) + value
            self.lows[key] = min(self.lows.get(key, value), value)
            self.highs[key] = max(self.highs.get(key, value), value)
        if codes is not None:
            z = codes.to(wide).flatten(1)
            moments = torch.stack([torch.full_like(z[0], len(z)), z.sum(0), z.pow(2).sum(0)])
            self.z_moments = moments if self.z_moments is None else self.z_moments + moments

    def means(self) -> dict[str, float]:
        """Each term's mean over the steps, and z_std (of every process's encodings)."""
        means = {k: v / self.steps for k, v in self.sums.items()}
        if self.z_moments is not None:
            n, s, s2 = self.total(self.z_moments)
            means["z_std"] = ((s2 - s * s / n) / (n - 1)).clamp_min(0).sqrt().mean().item()
        return means

    def state(self) -> dict:
        """What a checkpoint keeps, to resume mid-epoch."""
        state = {k: dict(getattr(self, k)) for k in ("sums", "lows", "highs", "last")}
        moments = None if self.z_moments is None else self.z_moments.cpu()
        return {"steps": self.steps, **state, "z_moments": moments}

    @classmethod
    def from_state(cls, state: dict, device: torch.device, **options) -> EpochTotals:
        moments = state.get("z_moments")
        sums = (dict(state.get(k, {})) for k in ("sums", "lows", "highs", "last"))
        moments = None if moments is None else moments.to(device)
        return cls(state.get("steps", 0), *sums, moments, **options)


def fit(model: nn.Module, dataset: Dataset, epochs: int = PAPER.epochs,
        batch_size: int = PAPER.batch_size, lr: float = PAPER.lr,
        betas: tuple[float, float] = PAPER.betas, device: str | torch.device | None = None,
        seed: int = PAPER.seed, checkpoint_dir: str | os.PathLike | None = None,
        progress: bool = True, resume: bool = False, checkpoint_every: int | None = None,
        num_workers: int | None = None,
        on_epoch: Callable[[History], None] | None = None, compile: bool | str = False) -> History:
    """Train ``model`` on ``dataset`` and return its history: one dict per epoch.

    Each history entry holds the epoch's mean of every loss term the model reports
    (``reconstruction``, ``prior``, and ``adversary`` for the AAEs) and
    ``z_std``, the standard deviation of the encodings drawn in the epoch.

    Under torchrun (a process group of several ranks), every rank trains on an
    equal share of each global batch of ``batch_size`` and rank 0 writes the
    checkpoints: see :mod:`genae.infra.distributed`.

    Args:
        model: a model from :func:`genae.models.make_model` (anything with ``loss``,
            ``objectives``, ``param_groups``, ``config``: :class:`genae.validate.TrainableModel`).
        dataset: items are images in [0, 1] (optionally followed by a label).
        epochs, batch_size, lr, betas: the paper's defaults (section 4.3).
        device: ``None`` picks CUDA when present, else the CPU.
        seed: seeds the noise, dropout and data order. Make the model after
            ``torch.manual_seed(seed)`` for identical initial weights too.
        checkpoint_dir: where the training state ``last.pt`` is written after every
            epoch (and every ``checkpoint_every`` steps); ``None`` writes nothing.
        progress: show a tqdm progress bar with the running loss terms.
        resume: continue from ``checkpoint_dir/last.pt`` when it exists.
        num_workers: DataLoader workers for data sets read from disk (``None``: one per core,
            at most 8; see :mod:`genae.infra.loader`).
        on_epoch: called with the history so far after each epoch's checkpoint (the CLI logs).
        compile: compile the model's loss with ``torch.compile`` (``True``, or a backend name such
            as ``"aot_eager"``); measure it first (``benchmarks/gpu_check.sh``): compiling is slow.
    """
    with TrainingRun(model, dataset, step=train_step, totals=EpochTotals, epochs=epochs,
                     batch_size=batch_size, lr=lr, betas=betas, device=device, seed=seed,
                     checkpoint_dir=checkpoint_dir, progress=progress, resume=resume,
                     checkpoint_every=checkpoint_every, num_workers=num_workers, on_epoch=on_epoch,
                     compile=compile) as run:
        for epoch in run.epochs():
            means = train_epoch(model=model, optimisers=run.optimisers, batches=run.batches(epoch),
                                step=run.step, totals=run.totals, after_step=run.after_step)
            run.end_epoch(means)
    return run.history
