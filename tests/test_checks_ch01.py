import pytest
import torch

from genae.checks import ExerciseError
from genae.checks.ch01 import (
    check_kl_divergence,
    check_reparameterise,
    reference_kl_divergence,
    reference_reparameterise,
)


def test_kl_reference_passes(capsys):
    check_kl_divergence(reference_kl_divergence)
    assert "all 4 checks passed" in capsys.readouterr().out


def test_kl_written_with_sigma_passes():
    def kl(mu, log_sigma):
        sigma = torch.exp(log_sigma)
        return 0.5 * torch.sum(mu**2 + sigma**2 - torch.log(sigma**2) - 1, dim=1)

    check_kl_divergence(kl)


def test_kl_stub_fails():
    def stub(mu, log_sigma):
        raise NotImplementedError()

    with pytest.raises(ExerciseError, match="not written yet"):
        check_kl_divergence(stub)


def test_kl_without_the_constant_fails():
    def no_constant(mu, log_sigma):
        return 0.5 * (mu**2 + (2 * log_sigma).exp() - 2 * log_sigma).sum(1)

    with pytest.raises(ExerciseError, match="must be 0"):
        check_kl_divergence(no_constant)


def test_kl_with_log_sigma_as_log_variance_fails():
    def log_var(mu, log_sigma):
        return 0.5 * (mu**2 + log_sigma.exp() - log_sigma - 1).sum(1)

    with pytest.raises(ExerciseError, match="treats log_sigma as log sigma\\^2"):
        check_kl_divergence(log_var)


def test_kl_not_summed_or_averaged_fails():
    with pytest.raises(ExerciseError, match="sum over the latent dimensions"):
        check_kl_divergence(lambda mu, log_sigma: 0.5 * (mu**2 + (2 * log_sigma).exp() - 2 * log_sigma - 1))
    with pytest.raises(ExerciseError, match="single number"):
        check_kl_divergence(lambda mu, ls: reference_kl_divergence(mu, ls).mean())


def test_kl_with_a_sign_error_fails():
    def sign(mu, log_sigma):
        return 0.5 * (mu**2 + (2 * log_sigma).exp() + 2 * log_sigma - 1).sum(1)

    with pytest.raises(ExerciseError, match="negative|differs"):
        check_kl_divergence(sign)


def test_reparameterise_reference_passes(capsys):
    check_reparameterise(reference_reparameterise)
    assert "all 5 checks passed" in capsys.readouterr().out


def test_reparameterise_stub_fails():
    def stub(mu, log_sigma, generator=None):
        raise NotImplementedError()

    with pytest.raises(ExerciseError, match="not written yet"):
        check_reparameterise(stub)


def test_sampling_with_torch_normal_fails():
    def no_gradient(mu, log_sigma, generator=None):
        return torch.normal(mu, log_sigma.exp(), generator=generator)

    with pytest.raises(ExerciseError, match="gradient"):
        check_reparameterise(no_gradient)


def test_scaling_by_the_variance_fails():
    def variance(mu, log_sigma, generator=None):
        return mu + (2 * log_sigma).exp() * torch.randn(mu.shape, generator=generator)

    with pytest.raises(ExerciseError, match="standard deviation"):
        check_reparameterise(variance)


def test_detached_sample_fails():
    def detached(mu, log_sigma, generator=None):
        return reference_reparameterise(mu, log_sigma, generator).detach()

    with pytest.raises(ExerciseError, match="no gradient can flow"):
        check_reparameterise(detached)


def test_ignoring_the_generator_fails():
    def unseeded(mu, log_sigma, generator=None):
        return mu + log_sigma.exp() * torch.randn_like(mu)

    with pytest.raises(ExerciseError, match="reproducible"):
        check_reparameterise(unseeded)
