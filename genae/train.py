"""Section 4.3: one training loop for all four models.

The loop knows nothing about VAEs or AAEs. A model says what it minimises:
``model.loss(x)`` returns named terms, ``model.objectives`` says which terms
each optimiser minimises, and ``model.param_groups()`` which parameters each
optimiser moves. A VAE has one objective; an AAE has two (the autoencoder and
its adversary), and the same loop trains both. Defaults are the paper's: Adam
with learning rate 2e-4 and betas (0.5, 0.999), 20 epochs, batches of 64.

Reproducibility: the run is seeded, the data order of epoch e is a fixed
permutation drawn from (seed, e), and a checkpoint holds the weights, the
optimisers' state, the random number generators and the position in the data,
so a run resumed from any checkpoint ends exactly where an uninterrupted run
does (on the CPU; see the README for CUDA).
"""

from __future__ import annotations

import math
import os
import warnings
from collections.abc import Callable, Iterator
from contextlib import nullcontext
from pathlib import Path

import torch
from torch import Tensor, nn
from torch.utils.data import DataLoader, Dataset, TensorDataset
from tqdm.auto import tqdm

from genae import checkpoint, distributed
from genae.devices import resolve_device
from genae.loader import BatchStream, batch_to, on_device

History = list[dict[str, float]]
STATE_FILE = "last.pt"


def epoch_batches(n: int, batch_size: int, seed: int, epoch: int) -> list[Tensor]:
    """The index batches of one epoch: a permutation fixed by (seed, epoch), without a short last batch.

    Dropping the short batch keeps batch norm away from batches of one; a data
    set smaller than one batch gives a single batch of everything.
    """
    order = torch.randperm(n, generator=torch.Generator().manual_seed(seed * 1_000_003 + epoch))
    if n < batch_size:
        return [order]
    return list(order[: n - n % batch_size].split(batch_size))


def images_of(batch) -> Tensor:
    """The images of a batch that may carry labels as a second item."""
    return batch[0] if isinstance(batch, (list, tuple)) else batch


def iterate(dataset: Dataset, batches: list[Tensor], num_workers: int, pin: bool,
            worker_seed: int = 0) -> Iterator[Tensor]:
    """Yield the image batches; in-memory tensor data sets are sliced directly (no loader overhead).

    ``worker_seed`` seeds the loader's workers (for data sets with random transforms).
    """
    if isinstance(dataset, TensorDataset):
        for idx in batches:
            yield dataset.tensors[0][idx]
        return
    # A generator of its own: otherwise the loader draws its worker seed from the global RNG, and a run
    # resumed mid-epoch would draw it at a different point in the sequence than an uninterrupted run.
    loader = DataLoader(dataset, batch_sampler=[b.tolist() for b in batches], num_workers=num_workers,
                        pin_memory=pin, persistent_workers=False,
                        generator=torch.Generator().manual_seed(worker_seed))
    for batch in loader:
        yield images_of(batch)


def autocast_for(device: torch.device):
    """Mixed precision on CUDA (bf16 where supported, else fp16 with a scaler); full precision on the CPU."""
    if device.type != "cuda":
        return nullcontext(), None
    if torch.cuda.is_bf16_supported():
        return torch.autocast("cuda", dtype=torch.bfloat16), None
    return torch.autocast("cuda", dtype=torch.float16), torch.amp.GradScaler("cuda")


@torch.no_grad()
def encoding_std(model: nn.Module, dataset: Dataset, device: torch.device, n: int = 1024,
                 batch_size: int = 256) -> float:
    """Empirical standard deviation of z ~ Q(Z|X) on up to ``n`` images, averaged over latent dimensions.

    Appendix B.1 reports it below 1 for the AAEs: a sign that Q(Z) is narrower than P(Z) = N(0, I).
    """
    was_training = model.training
    model.eval()
    idx = torch.arange(min(n, len(dataset)))
    codes = [model.encode(batch.to(device)).float()
             for batch in iterate(dataset, list(idx.split(batch_size)), 0, False)]
    model.train(was_training)
    return torch.cat(codes).std(0).mean().item()


def fit(model: nn.Module, dataset: Dataset, epochs: int = 20, batch_size: int = 64, lr: float = 2e-4,
        betas: tuple[float, float] = (0.5, 0.999), device: str | torch.device | None = None, seed: int = 0,
        checkpoint_dir: str | os.PathLike | None = None, progress: bool = True, resume: bool = False,
        checkpoint_every: int | None = None, num_workers: int | None = None,
        on_epoch: Callable[[History], None] | None = None, compile: bool | str = False) -> History:
    """Train ``model`` on ``dataset`` and return its history: one dict per epoch.

    Each history entry holds the epoch's mean of every loss term the model reports
    (``reconstruction``, ``prior``, and ``adversary`` for the AAEs) and
    ``z_std``, the empirical standard deviation of the encodings.

    Under torchrun (a process group of several ranks), every rank trains on an
    equal share of each global batch of ``batch_size`` and rank 0 writes the
    checkpoints: see :mod:`genae.distributed`.

    Args:
        model: a model from :func:`genae.models.make_model` (anything with ``loss``,
            ``objectives`` and ``param_groups``).
        dataset: items are images in [0, 1] (optionally followed by a label).
        epochs, batch_size, lr, betas: the paper's defaults (section 4.3).
        device: ``None`` picks CUDA when present, else the CPU.
        seed: seeds the noise, dropout and data order. Make the model after
            ``torch.manual_seed(seed)`` for identical initial weights too.
        checkpoint_dir: where the training state ``last.pt`` is written after every
            epoch (and every ``checkpoint_every`` steps); ``None`` writes nothing.
        progress: show a tqdm progress bar with the running loss terms.
        resume: continue from ``checkpoint_dir/last.pt`` when it exists.
        num_workers: DataLoader workers for data sets read from disk (``None``: one per core, at most 8;
            see :mod:`genae.loader`).
        on_epoch: called with the history so far after each epoch's checkpoint (the CLI logs with it).
        compile: compile the model's loss with ``torch.compile`` (``True``, or a backend name such as
            ``"aot_eager"``); measure it first (``benchmarks/gpu_check.sh``): compiling takes a while.
    """
    for name, value in (("epochs", epochs), ("batch_size", batch_size)):
        if isinstance(value, bool) or not isinstance(value, int) or value < (0 if name == "epochs" else 1):
            raise ValueError(f"{name} must be a whole number >= {0 if name == 'epochs' else 1}, got {value!r}")
    if len(dataset) == 0:
        raise ValueError("the data set is empty: check the folder or split you loaded")
    if checkpoint_every is not None and (not isinstance(checkpoint_every, int) or checkpoint_every < 1):
        raise ValueError(f"checkpoint_every must be a positive whole number of steps or None, got {checkpoint_every!r}")
    if resume and checkpoint_dir is None:
        raise ValueError("resume=True needs checkpoint_dir=: the folder of the run to continue")
    if not isinstance(compile, (bool, str)):
        raise ValueError(f"compile must be True, False or a torch.compile backend name, got {compile!r}")
    _check_arguments(model, lr, betas, seed)
    dev = resolve_device(device)
    model.to(dev).train()
    if dev.type == "cuda":  # NHWC weights and inputs let cuDNN pick its fastest (tensor-core) convolutions
        model.to(memory_format=torch.channels_last)
    dataset = on_device(dataset, dev)
    distributed.check_batch_size(batch_size)
    synced_bn = distributed.convert_batchnorm(model) if distributed.active() else []
    distributed.broadcast_state(model)
    torch.manual_seed(seed)
    distributed.seed_rank(seed)
    groups = model.param_groups()
    optimisers = {name: torch.optim.Adam(params, lr=lr, betas=betas, fused=True if dev.type == "cuda" else None)
                  for name, params in groups.items()}  # fused: one kernel for the whole update on CUDA
    loss_fn = None if compile is False else torch.compile(model.loss, **({} if compile is True else
                                                                         {"backend": compile}))
    sync = distributed.all_reduce_gradients if distributed.active() else None
    amp, scaler = autocast_for(dev)
    hyper = {"batch_size": batch_size, "lr": lr, "betas": list(betas), "seed": seed, "n": len(dataset)}
    state_path = Path(checkpoint_dir) / STATE_FILE if checkpoint_dir is not None else None
    history: History = []
    start_epoch, start_step, sums = 0, 0, {}
    if resume and state_path.is_file():
        start_epoch, start_step, sums, history = _restore(state_path, model, optimisers, scaler, hyper, dev)

    def save(epoch: int, step: int) -> None:
        if state_path is not None:
            _check_finite_weights(model, epoch, step, state_path)
            rng_ranks = distributed.gather_rng()  # a collective: every rank takes part, rank 0 writes
            if distributed.is_main():
                _save_state(state_path, model, optimisers, scaler, hyper, epoch, step, sums, history, rng_ranks)

    steps_per_epoch = len(epoch_batches(len(dataset), batch_size, seed, 0))
    bar = tqdm(total=epochs * steps_per_epoch, initial=start_epoch * steps_per_epoch + start_step,
               disable=not progress or not distributed.is_main(), unit="step",
               desc=f"training {getattr(model, 'kind', 'model')}")
    stream = BatchStream(dataset, num_workers, pin_memory=dev.type == "cuda", seed=seed)
    epoch = start_epoch
    benchmark = torch.backends.cudnn.benchmark
    torch.backends.cudnn.benchmark = benchmark or dev.type == "cuda"  # fixed shapes: time cuDNN's kernels once
    try:
        for epoch in range(start_epoch, epochs):
            batches = epoch_batches(len(dataset), batch_size, seed, epoch)
            skip = start_step if epoch == start_epoch else 0
            for step, x in enumerate(stream(epoch, [distributed.shard(b) for b in batches[skip:]]), start=skip):
                terms = _train_step(model, optimisers, groups, batch_to(x, dev), amp, scaler, loss_fn, sync)
                terms = distributed.mean_terms(terms)  # the global batch's means (unchanged in one process)
                _check_finite(terms, epoch, step, state_path)  # before any save: keep the last good state
                for key, value in terms.items():
                    sums[key] = sums.get(key, 0.0) + value
                    if key == "adversary_accuracy":  # watch for an adversary stuck at 0 or 1
                        sums["_acc_min"] = min(sums.get("_acc_min", 1.0), value)
                        sums["_acc_max"] = max(sums.get("_acc_max", 0.0), value)
                bar.update(1)
                bar.set_postfix({k: f"{v:.3g}" for k, v in terms.items()}, refresh=False)
                if checkpoint_every and (step + 1) % checkpoint_every == 0 and step + 1 < len(batches):
                    save(epoch, step + 1)
            record = {"epoch": epoch + 1, **{k: v / len(batches) for k, v in sums.items() if not k.startswith("_")}}
            record["z_std"] = distributed.mean_value(encoding_std(model, dataset, dev))
            if sums.get("_acc_min") == 1.0 or sums.get("_acc_max") == 0.0:
                record["adversary_collapsed"] = 1.0
                warnings.warn(f"epoch {epoch + 1}: the adversary's accuracy was {sums['_acc_min']:.0%} at every "
                              "step: it has collapsed, so the prior term no longer shapes Q(Z)", stacklevel=2)
            history.append(record)
            sums = {}
            save(epoch + 1, 0)
            if on_epoch is not None:
                on_epoch(history)
    except KeyboardInterrupt:
        where = f"; resume from {state_path} with fit(..., resume=True)" if state_path else ""
        print(f"training interrupted at epoch {epoch + 1}{where}")
        raise
    finally:
        bar.close()
        stream.close()
        torch.backends.cudnn.benchmark = benchmark
        distributed.revert_batchnorm(synced_bn)
    model.eval()
    return history


def _train_step(model, optimisers, groups, x, amp, scaler, loss_fn=None, sync=None) -> dict[str, float]:
    """One forward pass, one backward pass per objective, then every optimiser steps."""
    with amp:
        terms = (loss_fn or model.loss)(x)
    names = list(optimisers)
    for i, name in enumerate(names):
        optimisers[name].zero_grad(set_to_none=True)
        total = sum(terms[k] for k in model.objectives[name])
        total = scaler.scale(total) if scaler else total
        # inputs= keeps each objective's gradients on its own parameters (the AAE's
        # encoder is not moved by the adversary's loss, nor the adversary by the encoder's).
        total.backward(inputs=groups[name], retain_graph=i < len(names) - 1)
    if sync is not None:  # average the gradients over ranks before any optimiser steps
        sync(groups)
    for opt in optimisers.values():
        scaler.step(opt) if scaler else opt.step()
    if scaler:
        scaler.update()
    return {k: v.item() for k, v in terms.items()}


def _check_finite(terms: dict[str, float], epoch: int, step: int, state_path: Path | None) -> None:
    bad = [k for k, v in terms.items() if not math.isfinite(v)]
    if bad:
        raise FloatingPointError(
            f"loss term {bad[0]!r} became {terms[bad[0]]} at epoch {epoch + 1}, step {step + 1}: training "
            f"diverged; {_last_good(state_path)}. Try a smaller learning rate or check the data for NaNs."
        )


def _check_arguments(model: nn.Module, lr: float, betas: tuple[float, float], seed: int) -> None:
    """What torch would reject deep inside (or, for the seed, with a bare RuntimeError), said plainly."""
    missing = [name for name in ("loss", "objectives", "param_groups", "config") if not hasattr(model, name)]
    if missing:
        raise TypeError(f"fit trains models from genae.models.make_model (with loss, objectives, param_groups and "
                        f"config); {type(model).__name__} has no {', '.join(missing)}")
    if isinstance(lr, bool) or not isinstance(lr, (int, float)) or not (math.isfinite(lr) and lr > 0):
        raise ValueError(f"lr must be a finite number > 0, got {lr!r} (the paper uses 2e-4)")
    if not isinstance(betas, (tuple, list)) or len(betas) != 2 or any(
            isinstance(b, bool) or not isinstance(b, (int, float)) or not 0 <= b < 1 for b in betas):
        raise ValueError(f"betas must be two numbers in [0, 1), got {betas!r} (the paper uses (0.5, 0.999))")
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise ValueError(f"seed must be a whole number, got {seed!r}")


def _last_good(state_path: Path | None) -> str:
    if state_path is None:
        return "no checkpoint was written (pass checkpoint_dir= to keep one)"
    if not state_path.exists():
        return f"no checkpoint was written yet to {state_path}"
    return f"the last good checkpoint is {state_path}"


def _check_finite_weights(model: nn.Module, epoch: int, step: int, state_path: Path) -> None:
    """Never overwrite the last good checkpoint with weights ruined by an overflowing gradient of a finite loss."""
    bad = [name for name, p in model.named_parameters() if not bool(torch.isfinite(p).all())]
    if bad:
        where = f"at epoch {epoch + 1}, step {step}" if step else f"at the end of epoch {epoch}"
        raise FloatingPointError(
            f"weight {bad[0]!r} became non-finite {where} although every loss term was finite (the gradients "
            f"overflowed): training diverged; {_last_good(state_path)}. Try a smaller learning rate."
        )


def _save_state(path, model, optimisers, scaler, hyper, epoch, step, sums, history, rng_ranks=None) -> None:
    rng = {"cpu": torch.get_rng_state()}
    if torch.cuda.is_available():
        rng["cuda"] = torch.cuda.get_rng_state_all()
    checkpoint.write({
        "config": model.config, "state_dict": {k: v.detach().cpu() for k, v in model.state_dict().items()},
        "optimisers": {k: o.state_dict() for k, o in optimisers.items()},
        "scaler": scaler.state_dict() if scaler else None, "rng": rng, "hyper": hyper,
        "epoch": epoch, "step": step, "sums": dict(sums), "history": list(history),
        "threads": torch.get_num_threads(),  # CPU results depend on it: resume warns when it differs
        **({"rng_ranks": rng_ranks} if rng_ranks else {}),  # every rank's generators, under torchrun
    }, path)


def _restore(path, model, optimisers, scaler, hyper, device):
    state = checkpoint.read(path, device="cpu")
    if "optimisers" not in state:
        raise checkpoint.CheckpointError(f"{path} is a saved model, not a training state: it cannot be resumed")
    if state["config"] != model.config:
        raise checkpoint.CheckpointError(f"{path} was written for a model {state['config']}, not {model.config}: "
                                         "resume with the same model, or use another checkpoint_dir")
    if state["hyper"] != hyper:
        raise checkpoint.CheckpointError(f"{path} was written with training settings {state['hyper']}, not "
                                         f"{hyper}: resume with the same settings and data")
    threads = state.get("threads", torch.get_num_threads())
    if device.type == "cpu" and threads != torch.get_num_threads():
        warnings.warn(f"{path} was written by a run on {threads} CPU thread(s) and this one uses "
                      f"{torch.get_num_threads()}: it will end close to, not bit-identical with, an uninterrupted "
                      f"run (call torch.set_num_threads({threads}) before fit to stay exact)", stacklevel=3)
    model.load_state_dict(state["state_dict"])
    model.to(device)
    for name, opt in optimisers.items():
        opt.load_state_dict(state["optimisers"][name])
    if scaler and state["scaler"]:
        scaler.load_state_dict(state["scaler"])
    torch.set_rng_state(state["rng"]["cpu"])
    if "cuda" in state["rng"] and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["rng"]["cuda"])
    distributed.restore_rng(state.get("rng_ranks"), hyper["seed"], state["epoch"] * 1_000_003 + state["step"])
    return state["epoch"], state["step"], dict(state["sums"]), list(state["history"])
