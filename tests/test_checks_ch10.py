import pytest
import torch

from genae.checks import ExerciseError
from genae.checks.ch10 import (
    check_acceptance,
    check_mixture_sample,
    reference_acceptance,
    reference_mixture_sample,
)


def test_reference_mixture_sample_passes(capsys):
    check_mixture_sample(reference_mixture_sample)
    assert "all 4 checks passed" in capsys.readouterr().out


def test_library_mixture_sampler_passes():
    from genae.samplers import MixtureSampler

    def my_mixture_sample(weights, means, covs, n, generator):
        sampler = MixtureSampler(n_components=len(weights))
        sampler.weights, sampler.means, sampler.chol = weights, means, torch.linalg.cholesky(covs)
        sampler.fitted = True
        return sampler.sample(n, generator).double()

    with pytest.raises(ExerciseError, match="mean"):  # a shifted answer fails; the library itself passes
        check_mixture_sample(lambda *a: my_mixture_sample(*a) + 1)
    check_mixture_sample(my_mixture_sample)


def test_mixture_stub_fails():
    def my_mixture_sample(weights, means, covs, n, generator):
        raise NotImplementedError()

    with pytest.raises(ExerciseError, match="not written yet"):
        check_mixture_sample(my_mixture_sample)


def test_mixture_with_uniform_components_fails():
    def my_mixture_sample(weights, means, covs, n, generator):
        return reference_mixture_sample(torch.ones_like(weights) / len(weights), means, covs, n, generator)

    with pytest.raises(ExerciseError, match="equal weights"):
        check_mixture_sample(my_mixture_sample)


def test_mixture_with_the_covariance_for_its_root_fails():
    def my_mixture_sample(weights, means, covs, n, generator):
        k = torch.multinomial(weights, n, replacement=True, generator=generator)
        eps = torch.randn(n, means.shape[1], generator=generator, dtype=means.dtype)
        return means[k] + (covs[k] @ eps[:, :, None]).squeeze(-1)

    with pytest.raises(ExerciseError, match="cholesky"):
        check_mixture_sample(my_mixture_sample)


def test_mixture_that_ignores_the_generator_fails():
    def my_mixture_sample(weights, means, covs, n, generator):
        return reference_mixture_sample(weights, means, covs, n)

    with pytest.raises(ExerciseError, match="generator"):
        check_mixture_sample(my_mixture_sample)


def test_wrong_shape_fails():
    with pytest.raises(ExerciseError, match="shape"):
        check_mixture_sample(lambda w, m, c, n, g: reference_mixture_sample(w, m, c, n, g).T)


def test_reference_acceptance_passes(capsys):
    check_acceptance(reference_acceptance)
    assert "all 3 checks passed" in capsys.readouterr().out


def test_library_acceptance_passes():
    from genae.samplers import RatioSampler

    def my_acceptance(logit, log_cap):
        sampler = RatioSampler(lambda z: -z[:, 0], 1).fit(log_cap=log_cap)
        return sampler.accept_probability(logit[:, None])

    check_acceptance(my_acceptance)


def test_acceptance_stub_fails():
    def my_acceptance(logit, log_cap):
        raise NotImplementedError()

    with pytest.raises(ExerciseError, match="not written yet"):
        check_acceptance(my_acceptance)


def test_acceptance_with_the_wrong_sign_fails():
    with pytest.raises(ExerciseError, match="sign"):
        check_acceptance(lambda logit, log_cap: (logit - log_cap).clamp(max=0).exp())


def test_acceptance_without_the_cap_fails():
    with pytest.raises(ExerciseError, match="above 1"):
        check_acceptance(lambda logit, log_cap: (-logit - log_cap).exp())


def test_acceptance_as_the_adversary_probability_fails():
    with pytest.raises(ExerciseError, match="not a density ratio"):
        check_acceptance(lambda logit, log_cap: torch.sigmoid(-logit))


def test_acceptance_returning_a_list_fails():
    with pytest.raises(ExerciseError, match="torch.Tensor"):
        check_acceptance(lambda logit, log_cap: reference_acceptance(logit, log_cap).tolist())
