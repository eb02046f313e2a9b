import pytest
import torch

from genae.checks import ExerciseError
from genae.checks.ch02 import check_chain_step, reference_chain_step
from genae.mcmc import run_chain


def test_reference_passes(capsys):
    check_chain_step(reference_chain_step)
    assert "all 4 checks passed" in capsys.readouterr().out


def test_run_chain_for_one_step_passes():
    check_chain_step(lambda model, z, generator: run_chain(model, z, 1, generator=generator)[1])


def test_stub_fails():
    def stub(model, z, generator):
        raise NotImplementedError()

    with pytest.raises(ExerciseError, match="not written yet"):
        check_chain_step(stub)


def test_returning_images_fails():
    with pytest.raises(ExerciseError, match="returned images"):
        check_chain_step(lambda model, z, generator: model.decode(z))


def test_encoder_means_fail():
    def means(model, z, generator):
        return model.encode(model.corrupt(model.decode(z), generator=generator), sample=False)

    with pytest.raises(ExerciseError, match="encoder's means"):
        check_chain_step(means)


def test_forgetting_the_corruption_fails():
    def no_corruption(model, z, generator):
        return model.encode(model.decode(z), sample=True, generator=generator)

    with pytest.raises(ExerciseError, match="did not corrupt"):
        check_chain_step(no_corruption)


def test_ignoring_the_generator_fails():
    def unseeded(model, z, generator):
        return model.encode(model.corrupt(model.decode(z)), sample=True)

    with pytest.raises(ExerciseError, match="every random draw comes from the generator"):
        check_chain_step(unseeded)


def test_encoding_before_corrupting_in_the_wrong_order_fails():
    def wrong_order(model, z, generator):
        # draws the encoder's noise first, then the corruption: a different chain
        torch.randn(z.shape, generator=generator)
        return model.encode(model.corrupt(model.decode(z), generator=generator), sample=True, generator=generator)

    with pytest.raises(ExerciseError):
        check_chain_step(wrong_order)
