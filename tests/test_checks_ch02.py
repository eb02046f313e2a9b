import pytest
import torch

from genae.checks import ExerciseError
from genae.checks.ch02 import (
    check_noise_sources,
    reference_prediction,
    reference_step,
    tiny_models,
)
from genae.mcmc import chain_step


def test_reference_passes(capsys):
    check_noise_sources(reference_step, reference_prediction)
    out = capsys.readouterr().out
    assert "all 24 checks passed" in out
    assert "no corruption: two chains" in out


def test_reference_step_is_the_library_step_with_both_noises():
    for model in tiny_models().values():
        z = torch.randn(5, model.latent_dim, generator=torch.Generator().manual_seed(3))
        with torch.no_grad():
            want = chain_step(model, z, generator=torch.Generator().manual_seed(4), decode="mean")
        got = reference_step(model, z, torch.Generator().manual_seed(4))
        assert torch.equal(got, want)


def test_prediction_as_lists_in_lower_case_passes():
    check_noise_sources(reference_step, lambda: {"no corruption": ["vae", "dvae"],
                                                 "encoder mean": ("dvae", "daae")})


def test_step_stub_fails():
    def stub(model, z, generator, corrupt=True, draw=True):
        raise NotImplementedError()

    with pytest.raises(ExerciseError, match="not written yet"):
        check_noise_sources(stub, reference_prediction)


def test_prediction_stub_fails():
    def stub():
        raise NotImplementedError()

    with pytest.raises(ExerciseError, match="my_prediction is not written yet"):
        check_noise_sources(reference_step, stub)


def test_predicting_that_the_daae_stays_random_without_corruption_fails():
    # The typical wrong answer: the DAAE's chain was random in section 3, so it stays random.
    def wrong():
        return {"no corruption": {"VAE", "DVAE", "DAAE"}, "encoder mean": {"DVAE", "DAAE"}}

    with pytest.raises(ExerciseError, match="DAAE's chain is random.*deterministic function"):
        check_noise_sources(reference_step, wrong)


def test_predicting_that_the_vae_stays_random_with_the_encoder_mean_fails():
    def wrong():
        return {"no corruption": {"VAE", "DVAE"}, "encoder mean": {"VAE", "DVAE", "DAAE"}}

    with pytest.raises(ExerciseError, match="VAE's chain is random.*nothing random is left"):
        check_noise_sources(reference_step, wrong)


def test_a_prediction_that_is_not_a_dict_of_both_settings_fails():
    with pytest.raises(ExerciseError, match="keys"):
        check_noise_sources(reference_step, lambda: {"no corruption": {"VAE", "DVAE"}})


def test_a_step_that_ignores_the_corrupt_flag_fails():
    def always_corrupts(model, z, generator, corrupt=True, draw=True):
        return reference_step(model, z, generator, corrupt=True, draw=draw)

    with pytest.raises(ExerciseError, match="only if corrupt is True"):
        check_noise_sources(always_corrupts, reference_prediction)


def test_a_step_that_always_draws_fails():
    def always_draws(model, z, generator, corrupt=True, draw=True):
        return reference_step(model, z, generator, corrupt=corrupt, draw=True)

    with pytest.raises(ExerciseError, match="sample=draw"):
        check_noise_sources(always_draws, reference_prediction)


def test_returning_images_fails():
    with pytest.raises(ExerciseError, match="returned images"):
        check_noise_sources(lambda model, z, generator, corrupt=True, draw=True: model.decode(z),
                            reference_prediction)
