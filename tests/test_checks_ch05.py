import pytest
import torch

from genae.checks import ExerciseError
from genae.checks.ch05 import check_sample_with_chain, reference_sample_with_chain
from genae.mcmc import decoder_draw, run_chain, sample_prior


def test_reference_passes(capsys):
    check_sample_with_chain(reference_sample_with_chain)
    assert "all 4 checks passed" in capsys.readouterr().out


def test_hand_written_loop_passes():
    def loop(model, n, steps, generator):
        z = torch.randn(n, model.latent_dim, generator=generator)
        with torch.no_grad():
            for _ in range(steps):
                x = decoder_draw(model, model.decode(z), generator)
                z = model.encode(model.corrupt(x, generator=generator), generator=generator)
            return model.decode(z)

    check_sample_with_chain(loop)


def test_stub_fails():
    def stub(model, n, steps, generator):
        raise NotImplementedError()

    with pytest.raises(ExerciseError, match="not written yet"):
        check_sample_with_chain(stub)


def test_ignoring_the_chain_fails():
    def no_chain(model, n, steps, generator):
        return model.decode(sample_prior(n, model.latent_dim, generator=generator))

    with pytest.raises(ExerciseError, match="images of z0 itself"):
        check_sample_with_chain(no_chain)


def test_the_chapters_mean_chain_fails():
    def mean_chain(model, n, steps, generator):
        z0 = sample_prior(n, model.latent_dim, generator=generator)
        with torch.no_grad():
            return model.decode(run_chain(model, z0, steps, generator=generator)[-1])

    with pytest.raises(ExerciseError, match="pixel means"):
        check_sample_with_chain(mean_chain)


def test_returning_latents_fails():
    def latents(model, n, steps, generator):
        z0 = sample_prior(n, model.latent_dim, generator=generator)
        return run_chain(model, z0, steps, generator=generator, decode="sample")[-1]

    with pytest.raises(ExerciseError, match="returned latents"):
        check_sample_with_chain(latents)


def test_forgetting_the_corruption_fails():
    def no_corruption(model, n, steps, generator):
        z = sample_prior(n, model.latent_dim, generator=generator)
        with torch.no_grad():
            for _ in range(steps):
                z = model.encode(decoder_draw(model, model.decode(z), generator),
                                 generator=generator)
            return model.decode(z)

    with pytest.raises(ExerciseError, match="corrupts each decoded image"):
        check_sample_with_chain(no_corruption)


def test_unseeded_noise_fails():
    def own_noise(model, n, steps, generator):
        z0 = torch.randn(n, model.latent_dim)  # ignores the generator
        return model.decode(run_chain(model, z0, steps, generator=generator, decode="sample")[-1])

    with pytest.raises(ExerciseError, match="generator"):
        check_sample_with_chain(own_noise)
