import pytest
import torch
import torch.nn.functional as F

from genae.checks import ExerciseError
from genae.checks.ch04 import (
    check_aae_losses,
    check_reconstruction_loss,
    reference_aae_losses,
    reference_reconstruction_loss,
)
from genae.models import make_model


def test_reconstruction_reference_passes(capsys):
    check_reconstruction_loss(reference_reconstruction_loss)
    assert "all 3 checks passed" in capsys.readouterr().out


def test_reference_is_the_models_reconstruction_term():
    torch.manual_seed(0)
    model = make_model("vae", image_size=16, channels=1, latent_dim=3, width=8).eval()
    x, z = torch.rand(4, 1, 16, 16), torch.randn(4, 3)
    assert torch.allclose(reference_reconstruction_loss(x, model.decode_logits(z)), model.reconstruction(x, z))


def test_reconstruction_stub_fails():
    def stub(x, logits):
        raise NotImplementedError()

    with pytest.raises(ExerciseError, match="not written yet"):
        check_reconstruction_loss(stub)


def test_sigmoid_then_log_fails_on_a_confident_decoder():
    def naive(x, logits):
        p = torch.sigmoid(logits)
        return -(x * torch.log(p) + (1 - x) * torch.log(1 - p)).flatten(1).sum(1).mean()

    with pytest.raises(ExerciseError, match="underflows"):
        check_reconstruction_loss(naive)


def test_mean_over_pixels_fails():
    with pytest.raises(ExerciseError, match="averages over the pixels"):
        check_reconstruction_loss(lambda x, logits: F.binary_cross_entropy_with_logits(logits, x))


def test_sum_over_batch_fails():
    with pytest.raises(ExerciseError, match="sums over the batch"):
        check_reconstruction_loss(lambda x, logits: F.binary_cross_entropy_with_logits(logits, x, reduction="sum"))


def test_per_image_losses_fail():
    def per_image(x, logits):
        return F.binary_cross_entropy_with_logits(logits, x, reduction="none").flatten(1).sum(1)

    with pytest.raises(ExerciseError, match="one number"):
        check_reconstruction_loss(per_image)


def test_aae_reference_passes(capsys):
    check_aae_losses(reference_aae_losses)
    assert "all 3 checks passed" in capsys.readouterr().out


def test_aae_stub_fails():
    def stub(real_logit, fake_logit):
        raise NotImplementedError()

    with pytest.raises(ExerciseError, match="not written yet"):
        check_aae_losses(stub)


def test_saturating_encoder_loss_fails():
    def saturating(real_logit, fake_logit):
        adversary, _ = reference_aae_losses(real_logit, fake_logit)
        return adversary, torch.log(1 - torch.sigmoid(fake_logit)).mean()

    with pytest.raises(ExerciseError, match="saturating"):
        check_aae_losses(saturating)


def test_summed_adversary_loss_fails():
    def summed(real_logit, fake_logit):
        adversary, encoder = reference_aae_losses(real_logit, fake_logit)
        return 2 * adversary, encoder

    with pytest.raises(ExerciseError, match="twice"):
        check_aae_losses(summed)


def test_swapped_labels_fail():
    def swapped(real_logit, fake_logit):
        return reference_aae_losses(fake_logit, real_logit)

    with pytest.raises(ExerciseError, match="adversary's loss"):
        check_aae_losses(swapped)
