import pytest

from genae.checks import ExerciseError
from genae.checks.ch11 import _normal_guess, check_seeds_needed, reference_seeds_needed


def test_reference_passes(capsys):
    check_seeds_needed(reference_seeds_needed)
    assert "all 3 checks passed" in capsys.readouterr().out


def test_stub_fails():
    def stub(change, sd, alpha=0.05):
        raise NotImplementedError()

    with pytest.raises(ExerciseError, match="not written yet"):
        check_seeds_needed(stub)


def test_normal_approximation_fails():
    with pytest.raises(ExerciseError, match="normal approximation"):
        check_seeds_needed(_normal_guess)


def test_one_short_fails():
    with pytest.raises(ExerciseError, match="one seed short"):
        check_seeds_needed(lambda c, s, a=0.05: reference_seeds_needed(c, s, a) - 1)
