import pytest
import torch

from genae.checks import ExerciseError
from genae.checks.ch06 import check_slerp
from genae.interpolate import lerp, slerp


def textbook_slerp(z_a, z_b, steps):
    """A student's answer: White's formula with a straight-line fallback."""
    t = torch.linspace(0, 1, steps, dtype=z_a.dtype).view(-1, *[1] * z_a.dim())
    cos = (z_a * z_b).sum(-1, keepdim=True) / (z_a.norm(dim=-1, keepdim=True) * z_b.norm(dim=-1, keepdim=True))
    omega = torch.arccos(cos.clamp(-1, 1))
    so = torch.sin(omega)
    safe = torch.where(so > 1e-6, so, torch.ones_like(so))
    spherical = (torch.sin((1 - t) * omega) * z_a + torch.sin(t * omega) * z_b) / safe
    return torch.where(so > 1e-6, spherical, (1 - t) * z_a + t * z_b)


def test_library_and_textbook_answers_pass(capsys):
    check_slerp(slerp)
    check_slerp(textbook_slerp)
    assert "all 7 checks passed" in capsys.readouterr().out


def test_stub_fails():
    def stub(z_a, z_b, steps):
        raise NotImplementedError()

    with pytest.raises(ExerciseError, match="not written yet"):
        check_slerp(stub)


def test_linear_interpolation_fails():
    with pytest.raises(ExerciseError, match="linear interpolation, sags"):
        check_slerp(lerp)


def test_formula_without_fallback_fails_on_parallel_inputs():
    def naive(z_a, z_b, steps):
        t = torch.linspace(0, 1, steps, dtype=z_a.dtype).view(-1, *[1] * z_a.dim())
        cos = (z_a * z_b).sum(-1, keepdim=True) / (z_a.norm(dim=-1, keepdim=True) * z_b.norm(dim=-1, keepdim=True))
        omega = torch.arccos(cos.clamp(-1, 1))
        return (torch.sin((1 - t) * omega) * z_a + torch.sin(t * omega) * z_b) / torch.sin(omega)

    with pytest.raises(ExerciseError, match="parallel inputs"):
        check_slerp(naive)


def test_steps_last_fails():
    def transposed(z_a, z_b, steps):
        return slerp(z_a, z_b, steps).movedim(0, -1)

    with pytest.raises(ExerciseError, match="steps should come first"):
        check_slerp(transposed)


def test_missing_end_fails():
    def no_end(z_a, z_b, steps):
        return slerp(z_a, z_b, steps + 1)[:-1]

    with pytest.raises(ExerciseError, match="end exactly at z_b"):
        check_slerp(no_end)


def test_unscaled_angle_fails():
    def wrong_weights(z_a, z_b, steps):  # forgets to divide by sin(w)
        t = torch.linspace(0, 1, steps, dtype=z_a.dtype).view(-1, *[1] * z_a.dim())
        omega = torch.arccos(torch.nn.functional.cosine_similarity(z_a, z_b, dim=-1).unsqueeze(-1))
        path = torch.cos(t * omega) * z_a + torch.sin(t * omega) * z_b
        path[-1] = z_b
        return path

    with pytest.raises(ExerciseError, match="norm 1, but yours has norms from") as err:
        check_slerp(wrong_weights)
    assert "sags" not in str(err.value)  # it bulges outside the sphere: not called linear interpolation
