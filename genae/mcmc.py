"""Section 3: the Markov chain that samples the learned latent distribution Q(Z).

One step of the chain (section 3.1, Eq. 1) decodes and re-encodes:

    x_{t+1} ~ Q(X | z_t),   z_{t+1} ~ Q(Z | x_{t+1}),

so its transition operator is T(z'|z) = ∫ Q(z'|x) Q(x|z) dx. For a denoising
model (section 3.3, Eq. 2) the image is corrupted in between,
x~_{t+1} ~ Q(X~ | x_{t+1}), and the encoder sees x~.

As the paper does in practice, x_{t+1} is the decoder's output (its pixel
means) rather than a draw from Q(X|Z); the book's derivation chapter examines
what that changes. The function works on any module with ``encode``,
``decode``, ``corrupt`` and ``latent_dim``, so an exact linear model runs
through it unchanged.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from genae.validate import check_latents, check_steps


def chain_step(model: nn.Module, z: Tensor, sample: bool = True,
               generator: torch.Generator | None = None) -> Tensor:
    """One transition z_t -> z_{t+1}: decode, corrupt (denoising models, ``sample=True``), encode."""
    x = model.decode(z)
    if sample:
        x = model.corrupt(x, generator=generator)  # the identity when denoise_std == 0
    return model.encode(x, sample=sample, generator=generator)


def run_chain(model: nn.Module, z0: Tensor, steps: int, sample: bool = True,
              generator: torch.Generator | None = None) -> Tensor:
    """Run the chain for ``steps`` steps from ``z0`` and return the whole trajectory.

    Args:
        model: a model with ``encode(x, sample, generator)``, ``decode(z)``,
            ``corrupt(x, generator)`` and ``latent_dim``.
        z0: starting latents, shape (N, latent_dim): P(Z) samples, encodings of
            test images, points on an interpolation path.
        steps: number of transitions (0 returns just ``z0``).
        sample: ``True`` for the stochastic chain of Eq. 1/2; ``False`` for the
            deterministic chain (encoder means, no corruption).
        generator: random number generator for the encoder and corruption noise.

    Returns:
        Tensor of shape (steps + 1, N, latent_dim); entry 0 is ``z0``.
    """
    missing = [name for name in ("encode", "decode", "corrupt", "latent_dim") if not hasattr(model, name)]
    if missing:
        raise TypeError(f"run_chain needs a model with encode, decode, corrupt and latent_dim; "
                        f"{type(model).__name__} has no {', '.join(missing)}: use a model from genae.models.make_model")
    check_latents(z0, model.latent_dim)
    check_steps(steps)
    device = next(model.parameters(), torch.empty(0, device=z0.device)).device
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            z = z0.to(device)
            trajectory = torch.empty((steps + 1, *z.shape), dtype=z.dtype, device=device)
            trajectory[0] = z
            for t in range(steps):
                z = chain_step(model, z, sample=sample, generator=generator)
                trajectory[t + 1] = z
    finally:
        model.train(was_training)
    return trajectory


def sample_prior(n: int, latent_dim: int, generator: torch.Generator | None = None,
                 device: str | torch.device | None = None) -> Tensor:
    """n draws from the prior P(Z) = N(0, I), shape (n, latent_dim)."""
    check_steps(n, "n")
    if isinstance(latent_dim, bool) or not isinstance(latent_dim, int) or latent_dim < 1:
        raise ValueError(f"latent_dim must be a whole number >= 1, got {latent_dim!r}")
    return torch.randn(n, latent_dim, generator=generator, device=device)
