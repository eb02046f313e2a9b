"""Checks for chapter 5 (sampling with the chain, section 3.1 and 4.5).

:func:`check_sample_with_chain` runs the student's sampler on small untrained
models with fixed random generators and compares it with Eq. 1 as the paper
writes it, which the chapter changes: z0 ~ P(Z), then ``steps`` transitions in
which the decoded image is a *draw* x ~ Q(X|z) (one Bernoulli draw per pixel),
not the decoder's pixel means that the chapter (and the authors' code) feeds
back; corrupted for a denoising model (Eq. 2), encoded; then decode the last state.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor, nn

from genae.checks import ExerciseError, attempt, expect_close, passed
from genae.mcmc import run_chain, sample_prior
from genae.models import make_model


def reference_sample_with_chain(
    model: nn.Module, n: int, steps: int, generator: torch.Generator
) -> Tensor:
    """The book's answer: decode the last state of Eq. 1's chain (decoder draws) from P(Z)."""
    z0 = sample_prior(n, model.latent_dim, generator=generator)
    with torch.no_grad():
        return model.decode(run_chain(model, z0, steps, generator=generator, decode="sample")[-1])


def _mean_chain(model: nn.Module, n: int, steps: int, generator: torch.Generator) -> Tensor:
    """The chapter's chain (decoder means fed back): the answer before the change."""
    z0 = sample_prior(n, model.latent_dim, generator=generator)
    with torch.no_grad():
        return model.decode(run_chain(model, z0, steps, generator=generator, decode="mean")[-1])


def _tiny(kind: str) -> nn.Module:
    torch.manual_seed(5)
    return make_model(kind, image_size=16, channels=1, latent_dim=4, width=8).eval()


def _run(fn: Callable, model: nn.Module, n: int, steps: int, seed: int) -> Tensor:
    got = attempt(
        fn, model, n, steps, torch.Generator().manual_seed(seed), name="sample_with_chain"
    )
    if isinstance(got, Tensor):
        got = got.detach()
    return got


def check_sample_with_chain(fn: Callable) -> None:
    """Check ``fn(model, n, steps, generator)`` returns the decoded chain state after ``steps``
    steps from P(Z)."""
    cases = 0
    for kind, n, steps, seed in (
        ("vae", 5, 0, 0),
        ("vae", 6, 3, 1),
        ("dvae", 4, 2, 2),
        ("daae", 3, 4, 3),
    ):
        model = _tiny(kind)
        want = reference_sample_with_chain(model, n, steps, torch.Generator().manual_seed(seed))
        got = _run(fn, model, n, steps, seed)
        what = f"sample_with_chain(<{kind}>, n={n}, steps={steps})"
        if isinstance(got, Tensor) and got.shape == (n, model.latent_dim):
            raise ExerciseError(
                f"{what} returned latents of shape {tuple(got.shape)}: "
                "decode the last state of the chain and return the images (N, C, H, W)"
            )
        if steps > 0 and isinstance(got, Tensor) and got.shape == want.shape:
            start = reference_sample_with_chain(model, n, 0, torch.Generator().manual_seed(seed))
            if torch.allclose(got, start, atol=1e-6) and not torch.allclose(want, start, atol=1e-6):
                raise ExerciseError(
                    f"{what} returned the images of z0 itself: run the chain for `steps` "
                    "steps (genae.mcmc.run_chain) and decode its last state"
                )
        if steps > 0 and isinstance(got, Tensor) and got.shape == want.shape:
            mean = _mean_chain(model, n, steps, torch.Generator().manual_seed(seed))
            if torch.allclose(got, mean, atol=1e-6):
                raise ExerciseError(
                    f"{what} returned the chapter's chain, which feeds the decoder's pixel means "
                    "back: draw x ~ Q(X|z) from them instead (decode=\"sample\" in run_chain, "
                    "or genae.mcmc.decoder_draw)"
                )
        try:
            expect_close(got, want, what, atol=1e-5)
        except ExerciseError as err:
            hint = (
                " Draw z0 with the generator first "
                "(sample_prior(n, model.latent_dim, generator=generator)), "
                "then pass the same generator to the chain so every random draw comes from it, "
                "in the order decode draw, corruption, encoder"
            )
            if kind.startswith("d"):
                hint += "; a denoising model corrupts each decoded image before encoding it (Eq. 2)"
            raise ExerciseError(f"{err}.{hint}.") from None
        cases += 1
    passed("sample_with_chain", cases)
