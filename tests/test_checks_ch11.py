import numpy as np
import pytest

from genae.checks import ExerciseError
from genae.checks.ch11 import check_holm, reference_holm


def test_reference_passes(capsys):
    check_holm(reference_holm)
    assert "all 5 checks passed" in capsys.readouterr().out


def test_a_loop_answer_passes():
    def holm(p_values):
        m, order = len(p_values), sorted(range(len(p_values)), key=lambda i: p_values[i])
        out, running = [0.0] * m, 0.0
        for rank, i in enumerate(order):
            running = max(running, min(1.0, (m - rank) * p_values[i]))
            out[i] = running
        return out

    check_holm(holm)


def test_stub_fails():
    def stub(p_values):
        raise NotImplementedError()

    with pytest.raises(ExerciseError, match="not written yet"):
        check_holm(stub)


def test_bonferroni_fails():
    with pytest.raises(ExerciseError, match="Bonferroni"):
        check_holm(lambda p: np.minimum(len(p) * np.asarray(p), 1.0))


def test_no_running_maximum_fails():
    def no_max(p_values):
        p = np.asarray(p_values)
        order = np.argsort(p, kind="stable")
        out = np.empty(len(p))
        out[order] = np.minimum((len(p) - np.arange(len(p))) * p[order], 1.0)
        return out

    with pytest.raises(ExerciseError, match="running maximum"):
        check_holm(no_max)
