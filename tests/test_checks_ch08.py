import pytest
import torch

from genae.checks import ExerciseError
from genae.checks.ch08 import check_total_variation, reference_total_variation


def test_reference_passes(capsys):
    check_total_variation(reference_total_variation)
    assert "all 6 checks passed" in capsys.readouterr().out


def test_slicing_answer_passes():
    def by_slicing(images):
        dx = (images[..., :, 1:] - images[..., :, :-1]).abs().flatten(1)
        dy = (images[..., 1:, :] - images[..., :-1, :]).abs().flatten(1)
        return torch.cat([dx, dy], dim=1).mean(1)

    check_total_variation(by_slicing)


def test_stub_fails():
    def stub(images):
        raise NotImplementedError()

    with pytest.raises(ExerciseError, match="not written yet"):
        check_total_variation(stub)


def test_horizontal_only_fails():
    def horizontal(images):
        return (images[..., :, 1:] - images[..., :, :-1]).abs().flatten(1).mean(1)

    with pytest.raises(ExerciseError, match="both horizontal and vertical"):
        check_total_variation(horizontal)


def test_sum_instead_of_mean_fails():
    def summed(images):
        dx = (images[..., :, 1:] - images[..., :, :-1]).abs().flatten(1)
        dy = (images[..., 1:, :] - images[..., :-1, :]).abs().flatten(1)
        return dx.sum(1) + dy.sum(1)

    with pytest.raises(ExerciseError, match="sum over pixel pairs"):
        check_total_variation(summed)


def test_whole_batch_fails():
    with pytest.raises(ExerciseError, match="one value per image"):
        check_total_variation(lambda images: reference_total_variation(images).mean())


def test_mean_of_two_means_fails():
    def two_means(images):  # averages the two directions' means: wrong weight for non-square images
        dx = (images[..., :, 1:] - images[..., :, :-1]).abs().flatten(1).mean(1)
        dy = (images[..., 1:, :] - images[..., :-1, :]).abs().flatten(1).mean(1)
        return (dx + dy) / 2

    with pytest.raises(ExerciseError, match="7x5"):
        check_total_variation(two_means)
