"""Interpolating between latents: linear, and spherical (White, 2016), as in figures 1, 3, 6 and 8.

In a high-dimensional Gaussian prior almost all mass lies near the sphere of
radius sqrt(latent_dim); a straight line between two latents cuts through the
low-density middle, so White recommends interpolating along the great circle.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

from genae.validate import check_steps, check_tensor


def _check_pair(z_a: Tensor, z_b: Tensor, steps: int) -> None:
    check_tensor(z_a, "z_a")
    check_tensor(z_b, "z_b")
    if z_a.shape != z_b.shape:
        raise ValueError(f"z_a and z_b must have the same shape, got {tuple(z_a.shape)} and "
                         f"{tuple(z_b.shape)}")
    if z_a.dim() < 1 or not z_a.is_floating_point():
        raise ValueError(f"z_a and z_b must be float tensors of shape (..., latent_dim), "
                         f"got {z_a.dtype} "
                         f"of shape {tuple(z_a.shape)}")
    if z_a.dtype != z_b.dtype or z_a.device != z_b.device:
        raise ValueError(f"z_a and z_b must have the same dtype and device, "
                         f"got {z_a.dtype} on {z_a.device} "
                         f"and {z_b.dtype} on {z_b.device}")
    check_steps(steps)
    if steps < 2:
        raise ValueError(f"steps must be at least 2 to include both ends, got {steps}")


def _fractions(steps: int, z: Tensor) -> Tensor:
    """t = 0, ..., 1 shaped to broadcast against a stack of ``z``-shaped tensors."""
    return torch.linspace(0, 1, steps, dtype=z.dtype, device=z.device).view(steps, *([1] * z.dim()))


def lerp(z_a: Tensor, z_b: Tensor, steps: int) -> Tensor:
    """Straight-line interpolation; shape (steps, *z_a.shape), exactly z_a first and z_b last."""
    _check_pair(z_a, z_b, steps)
    t = _fractions(steps, z_a)
    path = (1 - t) * z_a + t * z_b
    path[0], path[-1] = z_a, z_b
    return path


def slerp(z_a: Tensor, z_b: Tensor, steps: int, eps: float = 1e-6) -> Tensor:
    """Spherical interpolation along the last dimension; returns shape (steps, *z_a.shape).

    Uses White's formula sin((1-t)w)/sin(w) z_a + sin(t w)/sin(w) z_b, where w is
    the angle between z_a and z_b, so unit vectors stay on the unit sphere. Where
    the formula breaks down (sin w below ``eps``, or the square root of the
    dtype's machine epsilon if larger) it stays defined: for (nearly) parallel
    pairs it is the straight line, and for (nearly) opposite pairs the path turns
    through a fixed direction perpendicular to them, with the norm moving
    linearly. Swapping the ends reverses the path, in every case.
    """
    _check_pair(z_a, z_b, steps)
    t = _fractions(steps, z_a)
    norm_a, norm_b = z_a.norm(dim=-1, keepdim=True), z_b.norm(dim=-1, keepdim=True)
    u, w = z_a / norm_a.clamp_min(eps), z_b / norm_b.clamp_min(eps)
    # The angle from atan2 of the chord lengths, not arccos of the dot product: arccos loses half
    # the digits near 0 and pi, and dividing by sin(omega) there magnified the error (found by
    # hypothesis).
    omega = 2 * torch.atan2((u - w).norm(dim=-1, keepdim=True), (u + w).norm(dim=-1, keepdim=True))
    sin = torch.sin(omega)
    # below this, 1/sin(omega) magnifies rounding
    regular = sin > max(eps, torch.finfo(z_a.dtype).eps ** 0.5)
    safe_sin = torch.where(regular, sin, torch.ones_like(sin))
    white = (torch.sin((1 - t) * omega) * z_a + torch.sin(t * omega) * z_b) / safe_sin
    straight = (1 - t) * z_a + t * z_b
    # Opposite directions: rotate u by t*pi towards v, perpendicular to the axis u - w (which
    # swapping the ends only flips, so the path reverses exactly), then made exactly perpendicular
    # to u.
    axis = u - w
    v = _perpendicular(axis / axis.norm(dim=-1, keepdim=True).clamp_min(eps))
    v = v - (v * u).sum(-1, keepdim=True) * u
    v = v / v.norm(dim=-1, keepdim=True).clamp_min(1e-12)
    norm = (1 - t) * norm_a + t * norm_b
    turned = norm * (torch.cos(t * math.pi) * u + torch.sin(t * math.pi) * v)
    path = torch.where(regular, white, torch.where(omega < math.pi / 2, straight, turned))
    path[0], path[-1] = z_a, z_b
    return path


def _perpendicular(u: Tensor) -> Tensor:
    """A unit vector perpendicular to each unit row of ``u``: Gram-Schmidt on its smallest axis."""
    if u.shape[-1] == 1:
        return torch.zeros_like(u)  # no perpendicular direction in 1-D; the path goes through 0
    axis = torch.zeros_like(u).scatter_(-1, u.abs().argmin(-1, keepdim=True), 1.0)
    v = axis - (axis * u).sum(-1, keepdim=True) * u
    return v / v.norm(dim=-1, keepdim=True).clamp_min(1e-12)
