"""Checks for chapter 4 (sections 2.1, 4.1 and 4.3: the losses the four models are trained on).

- :func:`check_reconstruction_loss`: the cross-entropy of the images under the
  decoder's Bernoulli pixels, from logits, summed over pixels and averaged over
  the batch (as ``GenerativeAutoencoder.reconstruction``).
- :func:`check_aae_losses`: the AAE adversary's loss and the encoder's
  non-saturating adversarial loss ``-log D(e(x))``, from the adversary's logits.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import Tensor

from genae.checks import ExerciseError, attempt, expect_close, passed


def reference_reconstruction_loss(x: Tensor, logits: Tensor) -> Tensor:
    """Binary cross-entropy of ``x`` under sigmoid(``logits``), summed over pixels, mean over the
    batch."""
    return F.binary_cross_entropy_with_logits(logits, x, reduction="none").flatten(1).sum(1).mean()


def reference_aae_losses(real_logit: Tensor, fake_logit: Tensor) -> tuple[Tensor, Tensor]:
    """(adversary's loss, encoder's loss): 0.5 [-log D(z_prior) - log(1 - D(e(x)))] and
    -log D(e(x)), batch means."""
    adversary = 0.5 * (
        F.binary_cross_entropy_with_logits(real_logit, torch.ones_like(real_logit))
        + F.binary_cross_entropy_with_logits(fake_logit, torch.zeros_like(fake_logit))
    )
    encoder = F.binary_cross_entropy_with_logits(fake_logit, torch.ones_like(fake_logit))
    return adversary, encoder


def _scalar(got, what: str) -> Tensor:
    if not isinstance(got, Tensor):
        raise ExerciseError(f"{what} should be a torch.Tensor, but it is a {type(got).__name__}")
    if got.dim() != 0:
        raise ExerciseError(
            f"{what} should be one number (a 0-dimensional tensor), but it has shape "
            f"{tuple(got.shape)}: sum over the pixels and average over the batch"
        )
    return got.detach()


def check_reconstruction_loss(fn: Callable) -> None:
    """Check ``fn(x, logits)`` for images ``x`` in [0, 1] and decoder logits of the same shape
    (N, C, H, W)."""
    g = torch.Generator().manual_seed(4)
    cases = [
        (torch.rand(5, 1, 4, 4, generator=g), 3 * torch.randn(5, 1, 4, 4, generator=g)),
        ((torch.rand(3, 3, 2, 2, generator=g) > 0.5).float(), torch.randn(3, 3, 2, 2, generator=g)),
        (torch.rand(4, 1, 3, 3, generator=g), 60 * torch.randn(4, 1, 3, 3, generator=g)),
    ]  # confident decoder
    for x, logits in cases:
        what = f"my_reconstruction_loss(x, logits) for a batch of shape {tuple(x.shape)}"
        got = _scalar(attempt(fn, x.clone(), logits.clone(), name="my_reconstruction_loss"), what)
        want = reference_reconstruction_loss(x, logits)
        if not torch.isfinite(got):
            raise ExerciseError(
                f"{what} is {got.item()} when the decoder is very confident (logits up to "
                f"{logits.abs().max().item():.0f}): log(sigmoid(l)) underflows; compute from the "
                "logits directly with F.binary_cross_entropy_with_logits"
            )
        pixels = x[0].numel()
        if torch.allclose(got, want / pixels, rtol=1e-4):
            raise ExerciseError(
                f"{what} averages over the pixels: the paper's L_reconstruct sums the "
                "cross-entropy over the pixels of an image (and we average over the batch)"
            )
        if torch.allclose(got, want * len(x), rtol=1e-4) and len(x) > 1:
            raise ExerciseError(f"{what} sums over the batch: average over the images instead")
        expect_close(got, want, what, atol=1e-4)
    passed("my_reconstruction_loss", len(cases))


def check_aae_losses(fn: Callable) -> None:
    """Check ``fn(real_logit, fake_logit)`` returns (adversary_loss, encoder_loss) as the AAE is
    trained."""
    g = torch.Generator().manual_seed(6)
    cases = [(torch.randn(8, generator=g), torch.randn(8, generator=g)),
             (torch.full((3,), 4.0), torch.full((3,), -4.0)),  # an adversary that is winning
             (torch.randn(5, generator=g) * 2, torch.randn(5, generator=g) * 2 + 1)]
    for real, fake in cases:
        what = "my_aae_losses(real_logit, fake_logit)"
        got = attempt(fn, real.clone(), fake.clone(), name="my_aae_losses")
        if not (isinstance(got, tuple) and len(got) == 2):
            raise ExerciseError(f"{what} should return two losses, (adversary_loss, encoder_loss)")
        adversary, encoder = _scalar(got[0], f"{what}[0]"), _scalar(got[1], f"{what}[1]")
        want_adv, want_enc = reference_aae_losses(real, fake)
        saturating = -F.binary_cross_entropy_with_logits(fake, torch.zeros_like(fake))
        if torch.allclose(encoder, saturating, atol=1e-5):
            raise ExerciseError(
                f"{what}: the encoder's loss is log(1 - D(e(x))), the saturating form. The paper "
                "(section 2.1) trains the encoder to minimise -log D(e(x)) instead, which has "
                "the same fixed point but strong gradients when the adversary is winning"
            )
        if torch.allclose(adversary, 2 * want_adv, atol=1e-5):
            raise ExerciseError(
                f"{what}: the adversary's loss is twice the right value: average its two "
                "cross-entropies (prior draws labelled 1, encodings labelled 0)"
            )
        expect_close(
            adversary, want_adv, f"{what}: the adversary's loss (prior draws are 'real', label 1)"
        )
        expect_close(encoder, want_enc, f"{what}: the encoder's loss")
    passed("my_aae_losses", len(cases))
