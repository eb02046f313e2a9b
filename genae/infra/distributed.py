"""Section 4.3 on several GPUs: data-parallel training with PyTorch's distributed engine.

``torchrun --nproc_per_node=N -m genae train ...`` starts N processes (ranks),
NCCL between GPUs, gloo between CPU processes. :func:`genae.train.fit` (through
:class:`genae.infra.run.TrainingRun`, which calls :func:`prepare` once) then:

- gives every rank the same global batches (the seeded order of
  :func:`genae.infra.loader.epoch_batches`) and each rank an equal, contiguous share of
  every batch (:func:`shard`), so N ranks with the global batch 64 see exactly
  what one process with batch 64 sees;
- synchronises batch norm across ranks (:class:`SyncBatchNorm`), so the batch
  statistics are those of the global batch, as in one process;
- averages the gradients over ranks before every optimiser step
  (:func:`all_reduce_gradients`), averages the logged loss terms
  (:func:`mean_tensors`), sums the encodings' moments for z_std
  (:func:`sum_tensor`), and writes checkpoints from rank 0 only, with every
  rank's random number generator state (and running sums, :func:`gather`) so
  that a resumed run goes on exactly.

Why not ``DistributedDataParallel``: its reducer expects one backward pass over
all parameters per forward, but the AAE takes two backward passes per step
restricted with ``backward(inputs=...)`` (the encoder's adversarial term must
not move the adversary), and ``find_unused_parameters`` cannot help since every
parameter is reachable from the loss. One ``all_reduce`` of all gradients
after the backward passes gives exactly DDP's averaged gradient, for all four
models alike. The noise (corruption, reparameterisation, the AAE's prior draws
and dropout) is drawn per rank from a per-rank seed: a distributed run matches
a single process in distribution, and to floating-point precision for a model
without noise (``tests/test_distributed.py`` checks both).
"""

from __future__ import annotations

import os
import warnings
from dataclasses import dataclass

import torch
import torch.distributed as dist
from torch import Tensor, nn
from torch.distributed import _functional_collectives as funcol

from genae.infra.devices import resolve_device
from genae.seeds import mix_seed


def active() -> bool:
    """Whether this process is one of several in an initialised process group."""
    return dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1


def rank() -> int:
    return dist.get_rank() if active() else 0


def world_size() -> int:
    return dist.get_world_size() if active() else 1


def is_main() -> bool:
    """Rank 0 (or the only process): the one that writes files and prints."""
    return rank() == 0


@dataclass
class Context:
    """What :func:`setup` found: this process's rank, the number of ranks, and its device."""

    rank: int = 0
    world_size: int = 1
    device: torch.device | str | None = None
    owns_group: bool = False

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    def barrier(self) -> None:
        """Wait until every rank gets here (nothing to wait for in one process)."""
        if active():
            dist.barrier()

    def close(self) -> None:
        """Leave the process group if :func:`setup` made it."""
        if self.owns_group and dist.is_initialized():
            dist.destroy_process_group()


def setup(device: str | torch.device | None = None) -> Context:
    """Join torchrun's process group (NCCL on GPUs, gloo on CPUs) if run by torchrun; else none.

    Under torchrun, rank r uses GPU ``LOCAL_RANK`` if CUDA is present and ``device`` is not the CPU.
    """
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1 or dist.is_initialized():
        return Context(rank(), world_size(), device, owns_group=False)
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    if torch.cuda.is_available() and (device is None or resolve_device(device).type == "cuda"):
        torch.cuda.set_device(local_rank)
        device, backend = torch.device("cuda", local_rank), "nccl"
    else:
        device, backend = torch.device("cpu"), "gloo"
    dist.init_process_group(backend)
    return Context(dist.get_rank(), dist.get_world_size(), device, owns_group=True)


def check_batch_size(batch_size: int) -> None:
    """Each rank takes an equal share of every global batch: the mean over ranks is the batch's."""
    if active() and batch_size % world_size():
        raise ValueError(f"batch_size {batch_size} is not divisible by the {world_size()} "
                         "processes: each takes an equal share of every global batch; choose a "
                         "multiple of the number of processes")


def shard(batch: Tensor) -> Tensor:
    """This rank's contiguous share of a global batch of indices (all of it for one process)."""
    return batch.tensor_split(world_size())[rank()] if active() else batch


def seed_rank(seed: int) -> None:
    """Seed this rank's noise: rank 0 as one process would, the others from streams of their own."""
    if active() and rank() > 0:
        torch.manual_seed(mix_seed(seed, 104_729 * rank()))


def _summed(t: Tensor) -> Tensor:
    """Sum over ranks, differentiably: the backward sums the incoming gradients over ranks too."""
    return funcol.wait_tensor(funcol.all_reduce(t, "sum", dist.group.WORLD))


class SyncBatchNorm(nn.SyncBatchNorm):
    """Batch norm with the statistics of the global batch across ranks.

    On GPUs this is PyTorch's own ``SyncBatchNorm``. PyTorch's refuses CPU
    tensors, so on the CPU (gloo) the same statistics are computed here with a
    differentiable ``all_reduce``: its backward sums the gradient over ranks,
    which with gradients averaged over ranks gives the single-process gradient.
    Outside distributed training it is ordinary batch norm.
    """

    def forward(self, x: Tensor) -> Tensor:
        if not (self.training and x.device.type == "cpu" and active()):
            return super().forward(x)
        dims = [0, *range(2, x.dim())]
        shape = [1, -1] + [1] * (x.dim() - 2)
        sums = _summed(torch.cat([x.sum(dims), x.new_tensor([x.numel() // x.shape[1]])]))
        n = sums[-1]
        mean = sums[:-1] / n
        centred = x - mean.view(shape)
        var = _summed(centred.pow(2).sum(dims)) / n  # two passes: as exact as batch_norm's
        y = centred * torch.rsqrt(var + self.eps).view(shape)
        if self.affine:
            y = y * self.weight.view(shape) + self.bias.view(shape)
        if self.track_running_stats:
            with torch.no_grad():
                self.num_batches_tracked.add_(1)
                m = (self.momentum if self.momentum is not None
                     else 1.0 / float(self.num_batches_tracked))
                self.running_mean.mul_(1 - m).add_(mean.detach(), alpha=m)
                # unbiased, as batch_norm's
                self.running_var.mul_(1 - m).add_(var.detach() * n / (n - 1), alpha=m)
        return y


_BN_STATE = ("weight", "bias", "running_mean", "running_var", "num_batches_tracked")


def convert_batchnorm(module: nn.Module) -> list[tuple[nn.Module, str, nn.Module]]:
    """Swap every batch norm layer in ``module`` for :class:`SyncBatchNorm`, sharing its tensors.

    Returns what :func:`revert_batchnorm` needs to put the original layers back.
    """
    swapped = []
    for parent in list(module.modules()):
        for name, child in list(parent.named_children()):
            batch_norm = isinstance(child, nn.modules.batchnorm._BatchNorm)
            if batch_norm and not isinstance(child, nn.SyncBatchNorm):
                sync = SyncBatchNorm(child.num_features, child.eps, child.momentum, child.affine,
                                     child.track_running_stats)
                for key in _BN_STATE:
                    if getattr(child, key, None) is not None:
                        setattr(sync, key, getattr(child, key))
                sync.train(child.training)
                setattr(parent, name, sync)
                swapped.append((parent, name, child))
    return swapped


def revert_batchnorm(swapped: list[tuple[nn.Module, str, nn.Module]]) -> None:
    """Put back the layers :func:`convert_batchnorm` replaced, with their trained tensors."""
    for parent, name, original in swapped:
        sync = getattr(parent, name)
        for key in _BN_STATE:
            if getattr(sync, key, None) is not None:
                setattr(original, key, getattr(sync, key))
        original.train(sync.training)
        setattr(parent, name, original)


def broadcast_state(model: nn.Module) -> None:
    """Give every rank rank 0's parameters and buffers (as DDP does when it wraps a model)."""
    if active():
        with torch.no_grad():
            for tensor in [*model.parameters(), *model.buffers()]:
                if tensor.is_contiguous():
                    dist.broadcast(tensor, src=0)
                else:  # channels-last weights on CUDA: send a contiguous copy
                    buffer = tensor.contiguous()
                    dist.broadcast(buffer, src=0)
                    tensor.copy_(buffer)


def all_reduce_gradients(groups: dict[str, list[nn.Parameter]]) -> None:
    """Average every parameter's gradient over ranks in one collective (a missing one is 0)."""
    params = [p for group in groups.values() for p in group]
    for p in params:
        if p.grad is None:
            p.grad = torch.zeros_like(p)
    flat = torch.cat([p.grad.reshape(-1) for p in params])
    dist.all_reduce(flat)
    flat /= world_size()
    offset = 0
    for p in params:
        p.grad.copy_(flat[offset: offset + p.numel()].view_as(p.grad))
        offset += p.numel()


def mean_tensors(terms: dict[str, Tensor], skip: tuple[str, ...] = ()) -> dict[str, Tensor]:
    """The scalar loss terms averaged over ranks (the global batch's means), in one collective.

    The terms named in ``skip`` are left as they are (unchanged in one process).
    """
    names = [k for k in terms if k not in skip]
    if not active() or not names:
        return terms
    values = torch.stack([terms[k].to(torch.float64) for k in names])
    dist.all_reduce(values)
    return {**terms, **dict(zip(names, values / world_size()))}


def sum_tensor(t: Tensor) -> Tensor:
    """``t`` summed over ranks (``t`` itself in one process)."""
    if not active():
        return t
    t = t.clone()
    dist.all_reduce(t)
    return t


def prepare(model: nn.Module, seed: int) -> list[tuple[nn.Module, str, nn.Module]]:
    """Ready ``model`` and the random streams for training on this rank; seeds one process too.

    Under torchrun: batch norm synchronised across ranks, rank 0's weights on every rank,
    and each rank's noise from a stream of its own. Returns what :func:`revert_batchnorm`
    needs when training ends.
    """
    swapped = convert_batchnorm(model) if active() else []
    broadcast_state(model)
    torch.manual_seed(seed)
    seed_rank(seed)
    return swapped


def _rng_state() -> dict[str, Tensor]:
    state = {"cpu": torch.get_rng_state()}
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        state["cuda"] = torch.cuda.get_rng_state()
    return state


def gather(value: object) -> list | None:
    """Every rank's ``value``, for rank 0's checkpoint (``None`` for one process)."""
    if not active():
        return None
    values: list = [None] * world_size()
    dist.all_gather_object(values, value)
    return values


def gather_rng() -> list[dict[str, Tensor]] | None:
    """Every rank's random generator state, for rank 0's checkpoint (``None``: one process)."""
    return gather(_rng_state())


def own(values: list | None, default: object) -> object:
    """This rank's item of what :func:`gather` saved, else ``default`` (one process, or resized)."""
    mine = active() and values is not None and len(values) == world_size()
    return values[rank()] if mine else default


def restore_rng(states: list[dict[str, Tensor]] | None, seed: int, position: int) -> None:
    """Give this rank its saved generator state; reseed if the run had another number of ranks."""
    if not active():
        return
    if states is not None and len(states) == world_size():
        torch.set_rng_state(states[rank()]["cpu"])
        if "cuda" in states[rank()] and torch.cuda.is_available():
            torch.cuda.set_rng_state(states[rank()]["cuda"])
        return
    if is_main():
        warnings.warn(f"the checkpoint was written by {len(states) if states else 1} process(es), "
                      f"not {world_size()}: the noise is reseeded, so the run goes on "
                      "equivalently but not identically",
                      stacklevel=2)
    torch.manual_seed(mix_seed(seed, position, rank()))
