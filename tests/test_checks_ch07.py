import pytest

from genae.checks import ExerciseError
from genae.checks.ch07 import check_burn_in, reference_burn_in


def test_reference_passes(capsys):
    check_burn_in(reference_burn_in)
    assert "all 5 checks passed" in capsys.readouterr().out


def test_plain_loop_passes():
    def loop(stats, floor):
        stats = [float(s) for s in stats]
        for t in range(len(stats)):
            if all(s <= floor for s in stats[t:]):
                return t
        return None

    check_burn_in(loop)


def test_stub_fails():
    def stub(stats, floor):
        raise NotImplementedError()

    with pytest.raises(ExerciseError, match="not written yet"):
        check_burn_in(stub)


def test_first_step_below_fails():
    def first_below(stats, floor):
        for t, s in enumerate(stats):
            if s <= floor:
                return t
        return None

    with pytest.raises(ExerciseError, match="stay below"):
        check_burn_in(first_below)


def test_strict_inequality_fails():
    def strict(stats, floor):
        stats = [float(s) for s in stats]
        for t in range(len(stats)):
            if all(s < floor for s in stats[t:]):
                return t
        return None

    with pytest.raises(ExerciseError, match="should be 2"):
        check_burn_in(strict)


def test_never_converged_must_be_none():
    def minus_one(stats, floor):
        return reference_burn_in(stats, floor) if reference_burn_in(stats, floor) is not None else -1

    with pytest.raises(ExerciseError, match="return None"):
        check_burn_in(minus_one)
