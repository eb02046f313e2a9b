"""Checks for chapter 2 (section 3.1 and 3.3, Eq. 1 and 2: one step of the chain).

:func:`check_chain_step` runs the student's step on small untrained models of
all four kinds with identically seeded random generators and compares it with
:func:`genae.mcmc.chain_step`: decode to the pixel means, corrupt (denoising
models only), encode with a draw from Q(Z|X).
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor, nn

from genae.checks import ExerciseError, attempt, expect_close, passed
from genae.mcmc import chain_step
from genae.models import make_model


def reference_chain_step(model: nn.Module, z: Tensor, generator: torch.Generator) -> Tensor:
    """The book's answer: x = d(z) (pixel means), x~ ~ Q(x~|x) for denoising models,
    z' ~ Q(Z|x~)."""
    with torch.no_grad():
        x = model.decode(z)
        x = model.corrupt(x, generator=generator)  # the identity for the VAE and the AAE
        return model.encode(x, sample=True, generator=generator)


def _tiny(kind: str) -> nn.Module:
    torch.manual_seed(2)
    return make_model(kind, image_size=16, channels=1, latent_dim=3, width=8).eval()


def _same(fn: Callable, model: nn.Module, z: Tensor, seed: int) -> Tensor:
    with torch.no_grad():
        return fn(model, z, torch.Generator().manual_seed(seed))


def check_chain_step(fn: Callable) -> None:
    """Check ``fn(model, z, generator)`` returns z_{t+1} for a batch z_t of shape (N, latent_dim),
    by Eq. 1 or 2."""
    cases = 0
    for kind, n, seed in (("vae", 5, 0), ("dvae", 4, 1), ("aae", 3, 2), ("daae", 6, 3)):
        model = _tiny(kind)
        z = torch.randn(n, model.latent_dim, generator=torch.Generator().manual_seed(10 + seed))
        with torch.no_grad():
            want = chain_step(model, z, sample=True, generator=torch.Generator().manual_seed(seed))
        got = attempt(_same, fn, model, z.clone(), seed, name="my_chain_step")
        what = f"my_chain_step(<{kind}>, z of shape {tuple(z.shape)}, generator)"
        if isinstance(got, Tensor):
            got = got.detach()
            if got.dim() == 4:
                raise ExerciseError(
                    f"{what} returned images of shape {tuple(got.shape)}: encode them again and "
                    "return the new latents z_(t+1), shape (N, latent_dim)"
                )
            if got.shape == want.shape and not torch.allclose(got, want, atol=1e-5):
                means = model.encode(model.decode(z), sample=False)
                if kind == "vae" and torch.allclose(got, means, atol=1e-5):
                    raise ExerciseError(
                        f"{what} returned the encoder's means: the chain draws z_(t+1) from "
                        "Q(Z|X), so call model.encode(x, sample=True, generator=generator)"
                    )
                if kind.startswith("d"):
                    g = torch.Generator().manual_seed(seed)
                    skipped = model.encode(model.decode(z), sample=True, generator=g)
                    if torch.allclose(got, skipped, atol=1e-5):
                        raise ExerciseError(
                            f"{what} did not corrupt the decoded image: a denoising model's chain "
                            "(Eq. 2) draws x~ ~ Q(x~|x) with model.corrupt before encoding"
                        )
        try:
            expect_close(got, want, what)
        except ExerciseError as err:
            raise ExerciseError(
                f"{err}. Decode to the pixel means (model.decode), corrupt with "
                "model.corrupt(x, generator=generator), then encode with "
                "model.encode(x, sample=True, generator=generator), in that order, so every "
                "random draw comes from the generator"
            ) from None
        cases += 1
    passed("my_chain_step", cases)
