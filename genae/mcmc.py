"""Section 3: the Markov chain that samples the learned latent distribution Q(Z).

One step of the chain (section 3.1, Eq. 1) decodes and re-encodes:

    x_{t+1} ~ Q(X | z_t),   z_{t+1} ~ Q(Z | x_{t+1}),

so its transition operator is T(z'|z) = ∫ Q(z'|x) Q(x|z) dx. For a denoising
model (section 3.3, Eq. 2) the image is corrupted in between,
x~_{t+1} ~ Q(X~ | x_{t+1}), and the encoder sees x~.

Two ways to take x_{t+1} (``decode``):

- ``"mean"`` (the default): the decoder's output, its pixel means. This is
  what both public codes of the paper do: the first author's PyTorch code
  (ToniCreswell/pyTorch_DAAE, ``models.py``, ``sample_x``: ``z_i, x_i =
  self.forward(x_i)`` feeds the decoder's sigmoid output back, corrupted) and
  the example code the paper links to (Kaixhin/Autoencoders, ``main.lua``,
  lines 266-279: ``autoencoder:forward(output)`` on the decoder's output).
- ``"sample"``: a draw from the decoder's likelihood, as Eq. 1 writes it. For
  the book's trained models, fitted with binary cross-entropy, that is one
  Bernoulli draw per pixel with the decoder's output as its probability; a
  model with another likelihood supplies ``sample_x(mean, generator)``
  (the linear-Gaussian model of :mod:`genae.linear` draws N(Wz + b, s^2 I)).

:func:`run_fixed_input` is the loop of the Torch7 code: there the decoded
batch ``output`` is computed once, before the loop, and never reassigned, so
every image it saves as "MCMC step m" is one step from the same start, with
fresh encoder noise.

The functions work on any module with ``encode``, ``decode``, ``corrupt`` and
``latent_dim``, so an exact linear model runs through them unchanged.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor, nn

from genae.models import evaluating
from genae.validate import (
    ChainModel,
    check_choice,
    check_int,
    check_latents,
    check_model,
    check_steps,
)

DECODE = ("mean", "sample")


def default_chunk_size(device: torch.device | str) -> int:
    """Chains run together at once: large enough to keep the device busy, small enough that
    the activations stay in cache (CPU) or memory (GPU), so throughput does not fall with N."""
    return 8192 if torch.device(device).type == "cuda" else 512


def decoder_draw(
    model: nn.Module, mean: Tensor, generator: torch.Generator | None = None
) -> Tensor:
    """x ~ Q(X|Z) given the decoder's output ``mean``: the model's ``sample_x`` if it has one,
    else one Bernoulli draw per pixel (the likelihood of a decoder trained with binary
    cross-entropy)."""
    draw = getattr(model, "sample_x", None)
    if draw is not None:
        return draw(mean, generator=generator)
    return torch.bernoulli(mean.clamp(0, 1), generator=generator)


def _decoded(model: nn.Module, z: Tensor, decode: str, generator: torch.Generator | None) -> Tensor:
    x = model.decode(z)
    return decoder_draw(model, x, generator) if decode == "sample" else x


def chain_step(model: nn.Module, z: Tensor, sample: bool = True,
               generator: torch.Generator | None = None, decode: str = "mean") -> Tensor:
    """One transition z_t -> z_{t+1}: decode (mean or draw), corrupt (denoising models,
    ``sample=True``), encode."""
    x = _decoded(model, z, decode, generator)
    if sample:
        x = model.corrupt(x, generator=generator)  # the identity when denoise_std == 0
    return model.encode(x, sample=sample, generator=generator)


def _check_chain_args(model: nn.Module, z0: Tensor, steps: int, decode: str,
                      chunk_size: int | None, caller: str) -> None:
    check_model(model, ChainModel, caller)
    check_latents(z0, model.latent_dim)
    check_steps(steps)
    check_choice(decode, "decode", DECODE)
    if chunk_size is not None:
        check_int(chunk_size, "chunk_size", low=1, what=" (or None: a default per device)")


def _run(model: nn.Module, z0: Tensor, steps: int, chunk_size: int | None,
         walk: Callable[[Tensor, Tensor], None]) -> Tensor:
    """Eval mode, no gradients, the trajectory tensor, and the chains in chunks: ``walk(z, out)``
    fills ``out`` (steps + 1, n, latent_dim) for the chunk of starts ``z``."""
    device = next(model.parameters(), torch.empty(0, device=z0.device)).device
    chunk = chunk_size or default_chunk_size(device)
    with evaluating(model), torch.no_grad():
        z0 = z0.to(device)
        trajectory = torch.empty((steps + 1, *z0.shape), dtype=z0.dtype, device=device)
        for start in range(0, len(z0), chunk):
            walk(z0[start:start + chunk], trajectory[:, start:start + chunk])
    return trajectory


def run_chain(model: nn.Module, z0: Tensor, steps: int, sample: bool = True,
              generator: torch.Generator | None = None, decode: str = "mean",
              chunk_size: int | None = None) -> Tensor:
    """Run the chain for ``steps`` steps from ``z0`` and return the whole trajectory.

    Args:
        model: a model with ``encode(x, sample, generator)``, ``decode(z)``,
            ``corrupt(x, generator)`` and ``latent_dim``.
        z0: starting latents, shape (N, latent_dim): P(Z) samples, encodings of
            test images, points on an interpolation path.
        steps: number of transitions (0 returns just ``z0``).
        sample: ``True`` for the stochastic chain of Eq. 1/2; ``False`` for the
            deterministic chain (encoder means, no corruption).
        generator: random number generator for the encoder, decoder and corruption noise.
        decode: ``"mean"`` feeds the decoder's output back (what the authors' code does;
            see the module doc), ``"sample"`` a draw from the decoder's likelihood (Eq. 1).
        chunk_size: chains run at once (``None``: :func:`default_chunk_size` of the device).
            The chunks share ``generator``, so the draws depend on it.

    Returns:
        Tensor of shape (steps + 1, N, latent_dim); entry 0 is ``z0``.
    """
    _check_chain_args(model, z0, steps, decode, chunk_size, "run_chain")

    def walk(z: Tensor, out: Tensor) -> None:
        out[0] = z
        for t in range(steps):
            z = chain_step(model, z, sample=sample, generator=generator, decode=decode)
            out[t + 1] = z

    return _run(model, z0, steps, chunk_size, walk)


def run_fixed_input(model: nn.Module, z0: Tensor, steps: int, sample: bool = True,
                    generator: torch.Generator | None = None, decode: str = "mean",
                    chunk_size: int | None = None) -> Tensor:
    """The Torch7 example code's loop (Kaixhin/Autoencoders, ``main.lua``, lines 266-279).

    The start is decoded once, x = decode(z0), and every "step" m >= 1 re-encodes that
    same x: z_m ~ Q(Z | x~), x~ ~ corrupt(x), with fresh noise each time. So step m has
    the distribution of one step of :func:`run_chain` for every m; it is not a chain.
    Arguments and the returned shape are those of :func:`run_chain`.
    """
    _check_chain_args(model, z0, steps, decode, chunk_size, "run_fixed_input")

    def walk(z: Tensor, out: Tensor) -> None:
        out[0] = z
        x = _decoded(model, z, decode, generator)  # `output` in main.lua: computed once
        for t in range(steps):
            x_in = model.corrupt(x, generator=generator) if sample else x
            out[t + 1] = model.encode(x_in, sample=sample, generator=generator)

    return _run(model, z0, steps, chunk_size, walk)


def sample_prior(n: int, latent_dim: int, generator: torch.Generator | None = None,
                 device: str | torch.device | None = None) -> Tensor:
    """n draws from the prior P(Z) = N(0, I), shape (n, latent_dim)."""
    check_steps(n, "n")
    check_int(latent_dim, "latent_dim", low=1)
    return torch.randn(n, latent_dim, generator=generator, device=device)
