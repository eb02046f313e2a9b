"""The production parts of a training run, around the algorithm of :mod:`genae.train`.

:func:`genae.train.fit` trains inside a :class:`TrainingRun`, which

- checks the arguments and the data once, where they enter (then the models skip
  their per-batch value checks: :func:`genae.validate.checked_data`);
- puts the model and the data on the device (channels-last on CUDA), picks mixed
  precision (:func:`autocast_for`) and compiles the loss on request;
- joins several processes under torchrun (:mod:`genae.infra.distributed`): synchronised
  batch norm, rank 0's weights, gradients and loss terms averaged over ranks;
- writes the training state atomically after every epoch (and every
  ``checkpoint_every`` steps) and resumes from it exactly;
- stops with a sentence when training diverges (a non-finite loss or weight), and
  warns when an AAE's adversary has collapsed;
- shows the progress bar and calls ``on_epoch`` (the command line's log).
"""

from __future__ import annotations

import functools
import math
import os
import warnings
from collections.abc import Callable, Iterator
from contextlib import nullcontext
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn
from torch.utils.data import Dataset, TensorDataset
from tqdm.auto import tqdm

from genae import validate
from genae.infra import checkpoint, distributed
from genae.infra.devices import resolve_device
from genae.infra.loader import BatchStream, batch_to, epoch_batches, images_of, on_device
from genae.seeds import mix_seed

STATE_FILE = "last.pt"


def autocast_for(device: torch.device) -> tuple[Any, torch.amp.GradScaler | None]:
    """Mixed precision on CUDA (bf16 where supported, else fp16 with a scaler); none on the CPU."""
    if device.type != "cuda":
        return nullcontext(), None
    if torch.cuda.is_bf16_supported():
        return torch.autocast("cuda", dtype=torch.bfloat16), None
    return torch.autocast("cuda", dtype=torch.float16), torch.amp.GradScaler("cuda")


def check_arguments(model: nn.Module, dataset: Dataset, epochs: int, batch_size: int, lr: float,
                    betas: tuple[float, float], seed: int, checkpoint_dir, resume: bool,
                    checkpoint_every: int | None, compile: bool | str) -> None:
    """What torch would reject deep inside (or, for the seed, with a bare RuntimeError), plainly."""
    validate.check_int(epochs, "epochs", low=0)
    validate.check_int(batch_size, "batch_size", low=1)
    if len(dataset) == 0:
        raise ValueError("the data set is empty: check the folder or split you loaded")
    if checkpoint_every is not None:
        validate.check_int(checkpoint_every, "checkpoint_every", low=1, what=" (steps, or None)")
    if resume and checkpoint_dir is None:
        raise ValueError("resume=True needs checkpoint_dir=: the folder of the run to continue")
    if not isinstance(compile, (bool, str)):
        raise ValueError(f"compile must be True, False or a torch.compile backend name, "
                         f"got {compile!r}")
    validate.check_model(model, validate.TrainableModel, "fit")
    validate.check_number(lr, "lr", positive=True, what=" (the paper uses 2e-4)")
    def unit(b: object) -> bool:
        return isinstance(b, (int, float)) and not isinstance(b, bool) and 0 <= b < 1

    if not isinstance(betas, (tuple, list)) or len(betas) != 2 or not all(map(unit, betas)):
        raise ValueError(f"betas must be two numbers in [0, 1), got {betas!r} "
                         "(the paper uses (0.5, 0.999))")
    validate.check_int(seed, "seed")


def check_data(dataset: Dataset) -> None:
    """The pixel values, once: all of an in-memory data set, the first image of one on disk.

    Only images (items of shape (C, H, W)) have pixels; other data, such as the latent codes a
    second-stage model trains on (:mod:`genae.samplers`), take any finite value.
    """
    in_memory = isinstance(dataset, TensorDataset)
    x = dataset.tensors[0] if in_memory else images_of(dataset[0]).unsqueeze(0)
    if x.dim() == 4:
        validate.check_pixel_values(x)
    elif not bool(torch.isfinite(x).all()):
        raise ValueError(
            "the data contain NaN or infinite values: find where they are made and fix them there"
        )


class TrainingRun:
    """Everything around the training loop; :func:`genae.train.fit` documents the arguments.

    ``step`` is the algorithm's one optimiser step and ``totals`` its running sums
    (:func:`genae.train.train_step`, :class:`genae.train.EpochTotals`): the run wraps
    the step (:attr:`step`) and keeps the sums in its checkpoints.
    """

    def __init__(self, model: nn.Module, dataset: Dataset, *, step: Callable, totals: type,
                 epochs: int, batch_size: int, lr: float, betas: tuple[float, float],
                 device: str | torch.device | None, seed: int,
                 checkpoint_dir: str | os.PathLike | None, progress: bool, resume: bool,
                 checkpoint_every: int | None, num_workers: int | None,
                 on_epoch: Callable[[list], None] | None, compile: bool | str) -> None:
        check_arguments(model, dataset, epochs, batch_size, lr, betas, seed, checkpoint_dir, resume,
                        checkpoint_every, compile)
        check_data(dataset)
        self.model, self.n_epochs, self.batch_size, self.seed = model, epochs, batch_size, seed
        self.checkpoint_every, self.on_epoch, self._totals_type = checkpoint_every, on_epoch, totals
        self.device = dev = resolve_device(device)
        model.to(dev).train()
        if dev.type == "cuda":  # NHWC weights and inputs let cuDNN pick its fastest convolutions
            model.to(memory_format=torch.channels_last)
        self.dataset = on_device(dataset, dev)
        distributed.check_batch_size(batch_size)
        self._synced_bn = distributed.prepare(model, seed)
        fused = True if dev.type == "cuda" else None  # one kernel for the whole update on CUDA
        self.optimisers = {name: torch.optim.Adam(params, lr=lr, betas=betas, fused=fused)
                           for name, params in model.param_groups().items()}
        autocast, self.scaler = autocast_for(dev)
        loss = None if compile is False else torch.compile(
            model.loss, **({} if compile is True else {"backend": compile}))
        sync = distributed.all_reduce_gradients if distributed.active() else None
        self._step = functools.partial(step, loss=loss, autocast=autocast, sync=sync,
                                       **({"scaler": self.scaler} if self.scaler else {}))
        self.hyper = {"batch_size": batch_size, "lr": lr, "betas": list(betas), "seed": seed,
                      "n": len(dataset)}
        self.state_path = Path(checkpoint_dir) / STATE_FILE if checkpoint_dir is not None else None
        self.history: list[dict[str, float]] = []
        self.start_epoch, self.start_step, resumed = 0, 0, {}
        if resume and self.state_path.is_file():
            self.start_epoch, self.start_step, resumed, self.history = self._restore()
        self.totals = totals.from_state(resumed, dev, total=distributed.sum_tensor)
        self.epoch, self.steps_per_epoch = self.start_epoch, len(self._batches(0))
        self.bar = tqdm(total=epochs * self.steps_per_epoch,
                        initial=self.start_epoch * self.steps_per_epoch + self.start_step,
                        disable=not progress or not distributed.is_main(), unit="step",
                        desc=f"training {getattr(model, 'kind', 'model')}")
        self.stream = BatchStream(self.dataset, num_workers, pin_memory=dev.type == "cuda",
                                  seed=seed)

    # ---- the loop's side of the run --------------------------------------------------------------

    def epochs(self) -> Iterator[int]:
        """The epochs still to train."""
        for epoch in range(self.start_epoch, self.n_epochs):
            self.epoch = epoch
            yield epoch

    def batches(self, epoch: int) -> Iterator[Tensor]:
        """The epoch's batches on the device (this rank's share of each, under torchrun)."""
        skip = self.start_step if epoch == self.start_epoch else 0
        shares = [distributed.shard(b) for b in self._batches(epoch)[skip:]]
        return (batch_to(x, self.device) for x in self.stream(epoch, shares))

    def step(self, **arguments) -> dict[str, Tensor]:
        """The algorithm's step with the run's options; the loss terms averaged over ranks."""
        terms = self._step(**arguments)
        return distributed.mean_tensors(terms, skip=("z",))

    def after_step(self, totals) -> None:
        """Stop on a non-finite loss, update the bar, checkpoint each ``checkpoint_every`` steps."""
        step = totals.steps  # counts the steps of the epoch done before a resume too
        bad = [k for k, v in totals.last.items() if not math.isfinite(v)]
        if bad:  # before any save: keep the last good state
            raise FloatingPointError(
                f"loss term {bad[0]!r} became {totals.last[bad[0]]} at epoch {self.epoch + 1}, "
                f"step {step}: training diverged; {self._last_good()}. Try a smaller learning rate "
                "or check the data for NaNs.")
        self.bar.update(1)
        self.bar.set_postfix({k: f"{v:.3g}" for k, v in totals.last.items()}, refresh=False)
        every = self.checkpoint_every
        if every and step % every == 0 and step < self.steps_per_epoch:
            self._save(self.epoch, step)

    def end_epoch(self, means: dict[str, float]) -> None:
        """Record the epoch's means, warn if the adversary collapsed, checkpoint, ``on_epoch``."""
        record = {"epoch": self.epoch + 1, **means}
        lows, highs = self.totals.lows, self.totals.highs
        if lows.get("adversary_accuracy") == 1.0 or highs.get("adversary_accuracy") == 0.0:
            record["adversary_collapsed"] = 1.0
            warnings.warn(f"epoch {self.epoch + 1}: the adversary's accuracy was "
                          f"{lows['adversary_accuracy']:.0%} at every step: it has collapsed, "
                          "so the prior term no longer shapes Q(Z)", stacklevel=3)
        self.history.append(record)
        self.totals = self._totals_type(total=distributed.sum_tensor)
        self._save(self.epoch + 1, 0)
        if self.on_epoch is not None:
            self.on_epoch(self.history)

    # ---- entering and leaving --------------------------------------------------------------------

    def __enter__(self) -> TrainingRun:
        self._benchmark = torch.backends.cudnn.benchmark
        # fixed shapes: time cuDNN's kernels once; the data were checked on the way in
        torch.backends.cudnn.benchmark = self._benchmark or self.device.type == "cuda"
        self._checked = validate.checked_data()
        self._checked.__enter__()
        return self

    def __exit__(self, kind, error, traceback) -> None:
        if kind is KeyboardInterrupt:
            where = (f"; resume from {self.state_path} with fit(..., resume=True)"
                     if self.state_path else "")
            print(f"training interrupted at epoch {self.epoch + 1}{where}")
        self._checked.__exit__(kind, error, traceback)
        self.bar.close()
        self.stream.close()
        torch.backends.cudnn.benchmark = self._benchmark
        distributed.revert_batchnorm(self._synced_bn)
        if kind is None:
            self.model.eval()

    # ---- checkpoints -----------------------------------------------------------------------------

    def _batches(self, epoch: int) -> list[Tensor]:
        return epoch_batches(len(self.dataset), self.batch_size, self.seed, epoch)

    def _last_good(self) -> str:
        if self.state_path is None:
            return "no checkpoint was written (pass checkpoint_dir= to keep one)"
        if not self.state_path.exists():
            return f"no checkpoint was written yet to {self.state_path}"
        return f"the last good checkpoint is {self.state_path}"

    def _save(self, epoch: int, step: int) -> None:
        if self.state_path is None:
            return
        bad = [name for name, p in self.model.named_parameters()
               if not bool(torch.isfinite(p).all())]
        if bad:  # never overwrite the last good checkpoint with weights ruined by an overflow
            where = f"at epoch {epoch + 1}, step {step}" if step else f"at the end of epoch {epoch}"
            raise FloatingPointError(
                f"weight {bad[0]!r} became non-finite {where} although every loss term was finite "
                f"(the gradients overflowed): training diverged; {self._last_good()}. "
                "Try a smaller learning rate.")
        rng_ranks = distributed.gather_rng()  # collectives: every rank takes part, rank 0 writes
        sums_ranks = distributed.gather(self.totals.state())  # the encodings' moments are per rank
        if not distributed.is_main():
            return
        rng = {"cpu": torch.get_rng_state()}
        if torch.cuda.is_available():
            rng["cuda"] = torch.cuda.get_rng_state_all()
        model, scaler = self.model, self.scaler
        checkpoint.write({
            "config": model.config,
            "state_dict": {k: v.detach().cpu() for k, v in model.state_dict().items()},
            "optimisers": {k: o.state_dict() for k, o in self.optimisers.items()},
            "scaler": scaler.state_dict() if scaler else None, "rng": rng, "hyper": self.hyper,
            "epoch": epoch, "step": step, "sums": self.totals.state(),
            "history": list(self.history),
            "threads": torch.get_num_threads(),  # CPU results depend on it (resume warns)
            **({"rng_ranks": rng_ranks, "sums_ranks": sums_ranks} if rng_ranks else {}),  # torchrun
        }, self.state_path)

    def _restore(self) -> tuple[int, int, dict, list]:
        path, model, device = self.state_path, self.model, self.device
        state = checkpoint.read(path, device="cpu")
        if "optimisers" not in state:
            raise checkpoint.CheckpointError(f"{path} is a saved model, not a training state: "
                                             "it cannot be resumed")
        if state["config"] != model.config:
            raise checkpoint.CheckpointError(
                f"{path} was written for a model {state['config']}, not {model.config}: "
                "resume with the same model, or use another checkpoint_dir")
        if state["hyper"] != self.hyper:
            raise checkpoint.CheckpointError(
                f"{path} was written with training settings {state['hyper']}, not {self.hyper}: "
                "resume with the same settings and data")
        threads = state.get("threads", torch.get_num_threads())
        if device.type == "cpu" and threads != torch.get_num_threads():
            warnings.warn(f"{path} was written by a run on {threads} CPU thread(s) and this "
                          f"one uses {torch.get_num_threads()}: it will end close to, not "
                          "bit-identical with, an uninterrupted run (call "
                          f"torch.set_num_threads({threads}) before fit to stay exact)",
                          stacklevel=4)
        model.load_state_dict(state["state_dict"])
        model.to(device)
        for name, opt in self.optimisers.items():
            opt.load_state_dict(state["optimisers"][name])
        if self.scaler and state["scaler"]:
            self.scaler.load_state_dict(state["scaler"])
        torch.set_rng_state(state["rng"]["cpu"])
        if "cuda" in state["rng"] and torch.cuda.is_available():
            torch.cuda.set_rng_state_all(state["rng"]["cuda"])
        position = mix_seed(state["epoch"], state["step"])
        distributed.restore_rng(state.get("rng_ranks"), self.seed, position)
        sums = distributed.own(state.get("sums_ranks"), state["sums"])
        return state["epoch"], state["step"], dict(sums), list(state["history"])
