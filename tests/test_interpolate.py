import math

import pytest
import torch

from genae.interpolate import lerp, slerp


def test_ends_are_exact():
    a, b = torch.randn(4, 10), torch.randn(4, 10)
    for f in (slerp, lerp):
        path = f(a, b, 7)
        assert path.shape == (7, 4, 10)
        assert torch.equal(path[0], a) and torch.equal(path[-1], b)


def test_unit_vectors_stay_on_the_sphere():
    a, b = torch.randn(16, 50, dtype=torch.float64), torch.randn(16, 50, dtype=torch.float64)
    a, b = a / a.norm(dim=1, keepdim=True), b / b.norm(dim=1, keepdim=True)
    norms = slerp(a, b, 11).norm(dim=-1)
    assert torch.allclose(norms, torch.ones_like(norms), atol=1e-10)


def test_matches_whites_formula():
    a, b = torch.randn(3, 8, dtype=torch.float64), torch.randn(3, 8, dtype=torch.float64)
    omega = torch.arccos((a / a.norm(dim=1, keepdim=True) * b / b.norm(dim=1, keepdim=True)).sum(1, keepdim=True))
    t = 0.3
    white = (torch.sin((1 - t) * omega) * a + torch.sin(t * omega) * b) / torch.sin(omega)
    path = slerp(a, b, 11)
    assert torch.allclose(path[3], white)


def test_parallel_and_antiparallel_are_defined():
    a = torch.tensor([[1.0, 2.0, 2.0]])
    path = slerp(a, 2 * a, 5)
    assert torch.isfinite(path).all()
    assert torch.allclose(path, lerp(a, 2 * a, 5))
    path = slerp(a, -a, 5)
    assert torch.isfinite(path).all()
    assert torch.allclose(path.norm(dim=-1), torch.full((5, 1), 3.0))
    mid = path[2, 0]
    assert abs(torch.dot(mid, a[0]).item()) < 1e-5  # halfway round: perpendicular to both ends


def test_quarter_circle():
    a, b = torch.tensor([[1.0, 0.0]]), torch.tensor([[0.0, 1.0]])
    mid = slerp(a, b, 3)[1, 0]
    assert torch.allclose(mid, torch.tensor([math.sqrt(0.5), math.sqrt(0.5)]))


def test_bad_arguments():
    with pytest.raises(ValueError, match="same shape"):
        slerp(torch.randn(2, 3), torch.randn(2, 4), 5)
    with pytest.raises(ValueError, match="at least 2"):
        slerp(torch.randn(2, 3), torch.randn(2, 3), 1)
