import pytest
import torch

from genae.checks import ExerciseError
from genae.checks.ch09 import (
    check_holm,
    check_mmd,
    check_precision_recall,
    reference_holm,
    reference_mmd,
    reference_precision_recall,
)


def kernel(x, y, h, scale=2.0, power=2):
    return torch.exp(-torch.cdist(x, y).pow(power) / (scale * h**2))


def test_reference_mmd_passes(capsys):
    check_mmd(reference_mmd)
    assert "all 4 checks passed" in capsys.readouterr().out


def test_library_mmd_passes():
    from genae.metrics import mmd

    check_mmd(lambda a, b, bandwidth: mmd(a, b, bandwidth=bandwidth))


def test_mmd_stub_fails():
    def my_mmd(a, b, bandwidth):
        raise NotImplementedError()

    with pytest.raises(ExerciseError, match="not written yet"):
        check_mmd(my_mmd)


def test_biased_mmd_fails():
    def my_mmd(a, b, bandwidth):
        return (kernel(a, a, bandwidth).mean() + kernel(b, b, bandwidth).mean()
                - 2 * kernel(a, b, bandwidth).mean()).item()

    with pytest.raises(ExerciseError, match="biased estimate"):
        check_mmd(my_mmd)


def test_kernel_without_the_two_fails():
    def my_mmd(a, b, bandwidth):
        m, n = len(a), len(b)
        kaa, kbb = kernel(a, a, bandwidth, scale=1), kernel(b, b, bandwidth, scale=1)
        return ((kaa.sum() - m) / (m * (m - 1)) + (kbb.sum() - n) / (n * (n - 1))
                - 2 * kernel(a, b, bandwidth, scale=1).mean())

    with pytest.raises(ExerciseError, match="left out the 2"):
        check_mmd(my_mmd)


def test_unsquared_distance_fails():
    def my_mmd(a, b, bandwidth):
        m, n = len(a), len(b)
        kaa, kbb = kernel(a, a, bandwidth, power=1), kernel(b, b, bandwidth, power=1)
        return ((kaa.sum() - m) / (m * (m - 1)) + (kbb.sum() - n) / (n * (n - 1))
                - 2 * kernel(a, b, bandwidth, power=1).mean())

    with pytest.raises(ExerciseError, match="squared distance"):
        check_mmd(my_mmd)


def test_one_normaliser_for_both_samples_fails():
    def my_mmd(a, b, bandwidth):  # divides both within-sample sums by len(a)'s pairs
        m = len(a)
        kaa, kbb = kernel(a, a, bandwidth), kernel(b, b, bandwidth)
        return ((kaa.sum() - m) / (m * (m - 1)) + (kbb.sum() - len(b)) / (m * (m - 1))
                - 2 * kernel(a, b, bandwidth).mean())

    with pytest.raises(ExerciseError, match="unbiased squared MMD is"):
        check_mmd(my_mmd)


def test_reference_precision_recall_passes(capsys):
    check_precision_recall(reference_precision_recall)
    assert "all 4 checks passed" in capsys.readouterr().out


def test_precision_recall_stub_fails():
    def my_precision_recall(real, fake, k):
        raise NotImplementedError()

    with pytest.raises(ExerciseError, match="not written yet"):
        check_precision_recall(my_precision_recall)


def test_swapped_precision_and_recall_fails():
    def my_precision_recall(real, fake, k):
        p, r = reference_precision_recall(real, fake, k)
        return r, p

    with pytest.raises(ExerciseError, match="swapped"):
        check_precision_recall(my_precision_recall)


def test_radius_that_counts_the_point_itself_fails():
    def my_precision_recall(real, fake, k):
        cross = torch.cdist(fake, real)
        real_r = torch.cdist(real, real).kthvalue(k, dim=1).values  # k-th including itself
        fake_r = torch.cdist(fake, fake).kthvalue(k, dim=1).values
        return (cross <= real_r).any(1).double().mean().item(), (cross.T <= fake_r).any(1).double().mean().item()

    with pytest.raises(ExerciseError, match="k-th nearest \\*other\\* point"):
        check_precision_recall(my_precision_recall)


def test_returning_one_number_fails():
    with pytest.raises(ExerciseError, match="pair \\(precision, recall\\)"):
        check_precision_recall(lambda real, fake, k: 0.5)


def test_reference_holm_passes(capsys):
    check_holm(reference_holm)
    assert "all 4 checks passed" in capsys.readouterr().out


def test_library_holm_passes():
    from genae.summary import holm

    check_holm(lambda p: list(holm(p)))


def test_holm_stub_fails():
    def my_holm(p_values):
        raise NotImplementedError()

    with pytest.raises(ExerciseError, match="not written yet"):
        check_holm(my_holm)


def test_bonferroni_fails():
    with pytest.raises(ExerciseError, match="Bonferroni"):
        check_holm(lambda p: [min(len(p) * v, 1.0) for v in p])


def test_holm_without_running_maximum_fails():
    def my_holm(p_values):
        order = sorted(range(len(p_values)), key=lambda i: p_values[i])
        out = [0.0] * len(p_values)
        for rank, i in enumerate(order):
            out[i] = min((len(p_values) - rank) * p_values[i], 1.0)
        return out

    with pytest.raises(ExerciseError, match="running maximum"):
        check_holm(my_holm)


def test_uncapped_holm_fails():
    def my_holm(p_values):
        order = sorted(range(len(p_values)), key=lambda i: p_values[i])
        out, running = [0.0] * len(p_values), 0.0
        for rank, i in enumerate(order):
            running = max(running, (len(p_values) - rank) * p_values[i])
            out[i] = running
        return out

    with pytest.raises(ExerciseError, match="cap it at 1"):
        check_holm(my_holm)


def test_sorted_holm_fails():
    with pytest.raises(ExerciseError, match="sorted"):
        check_holm(lambda p: sorted(reference_holm(p)))
