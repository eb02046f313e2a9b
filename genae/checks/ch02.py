"""Checks for chapter 2 (sections 3.1, 3.3, Eq. 1 and 2: where the chain's randomness comes from).

:func:`check_noise_sources` checks exercise ex-02-step in two parts:

1. the student's ``my_step(model, z, generator, corrupt, draw)``, one step of the
   chain with mean decoding, where ``corrupt=False`` leaves out the corruption and
   ``draw=False`` encodes with the encoder's mean, against the reference on small
   untrained models of all four kinds, with identically seeded generators;
2. the student's ``my_prediction()``, which names, for each of the two changes, the
   models whose chain stays random. The check runs the student's step twice from
   the same z0 with different seeds on the given models (the chapter's trained
   models) and compares what it measures with the prediction.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor, nn

from genae.checks import ExerciseError, attempt, expect_close, passed
from genae.models import make_model

SETTINGS = {"no corruption": {"corrupt": False, "draw": True},
            "encoder mean": {"corrupt": True, "draw": False}}
# Why each model's chain is, or is not, random in each setting: the message for a wrong guess.
REASONS = {
    ("no corruption", False): "with the corruption gone, an AAE-type encoder (AAE, DAAE) is a "
    "deterministic function, so the step is the map z -> e(d(z))",
    ("no corruption", True): "a VAE-type encoder (VAE, DVAE) still draws z ~ Q(Z|x) = "
    "N(mu(x), sigma(x)^2), whether or not the image was corrupted",
    ("encoder mean", False): "the VAE and the AAE have no corruption, so with the encoder's "
    "mean nothing random is left in their step",
    ("encoder mean", True): "a denoising model (DVAE, DAAE) still corrupts the decoded image, "
    "x~ = d(z) + 0.5 eps, before encoding it",
}


def reference_step(model: nn.Module, z: Tensor, generator: torch.Generator,
                   corrupt: bool = True, draw: bool = True) -> Tensor:
    """One step with mean decoding: x = d(z), x~ ~ Q(x~|x) if ``corrupt``, z' ~ Q(Z|x~) if
    ``draw`` (else the encoder's mean)."""
    with torch.no_grad():
        x = model.decode(z)
        if corrupt:
            x = model.corrupt(x, generator=generator)  # the identity for the VAE and the AAE
        return model.encode(x, sample=draw, generator=generator)


def reference_prediction() -> dict[str, set[str]]:
    """The models whose chain stays random: the encoder's draw or the corruption is left."""
    return {"no corruption": {"VAE", "DVAE"}, "encoder mean": {"DVAE", "DAAE"}}


def tiny_models() -> dict[str, nn.Module]:
    """Small untrained models of the four kinds, named as in the chapter."""
    torch.manual_seed(2)
    return {kind.upper(): make_model(kind, image_size=16, channels=1, latent_dim=3,
                                     width=8).eval()
            for kind in ("vae", "aae", "dvae", "daae")}


def _check_step(fn: Callable) -> int:
    """Part 1: the student's step against :func:`reference_step`, in all four settings."""
    cases = 0
    for i, (name, model) in enumerate(tiny_models().items()):
        z = torch.randn(4 + i, model.latent_dim, generator=torch.Generator().manual_seed(10 + i))
        for corrupt in (True, False):
            for draw in (True, False):
                want = reference_step(model, z, torch.Generator().manual_seed(i), corrupt, draw)
                with torch.no_grad():
                    got = attempt(fn, model, z.clone(), torch.Generator().manual_seed(i),
                                  corrupt=corrupt, draw=draw, name="my_step")
                what = f"my_step(<{name}>, z, generator, corrupt={corrupt}, draw={draw})"
                if isinstance(got, Tensor) and got.dim() == 4:
                    raise ExerciseError(f"{what} returned images: encode them again and return "
                                        "the new latents, shape (N, latent_dim)")
                try:
                    expect_close(got, want, what)
                except ExerciseError as err:
                    raise ExerciseError(
                        f"{err}. Decode with model.decode(z); corrupt with model.corrupt(x, "
                        "generator=generator) only if corrupt is True; encode with "
                        "model.encode(x, sample=draw, generator=generator)") from None
                cases += 1
    return cases


def _is_random(fn: Callable, model: nn.Module, setting: dict, steps: int = 3) -> float:
    """Distance after ``steps`` between two chains of the student's step from one z0."""
    device = next(model.parameters()).device
    z0 = torch.randn(16, model.latent_dim, generator=torch.Generator().manual_seed(0)).to(device)
    ends = []
    for seed in (1, 2):
        g, z = torch.Generator(device=device).manual_seed(seed), z0
        with torch.no_grad():
            for _ in range(steps):
                z = fn(model, z, g, **setting)
        ends.append(z)
    return (ends[0] - ends[1]).norm(dim=-1).mean().item()


def check_noise_sources(step: Callable, prediction: Callable,
                        models: dict[str, nn.Module] | None = None) -> None:
    """Check ``step`` (part 1 of the module doc) and ``prediction()`` on ``models`` (part 2)."""
    cases = _check_step(step)
    models = models or tiny_models()
    guess = attempt(prediction, name="my_prediction")
    if not isinstance(guess, dict) or set(guess) != set(SETTINGS):
        raise ExerciseError(f"my_prediction() should return a dict with the keys "
                            f"{sorted(SETTINGS)}, each a set of model names; got {guess!r}")
    for setting, flags in SETTINGS.items():
        named = {str(n).upper() for n in guess[setting]}
        gaps = {name: _is_random(step, model, flags) for name, model in models.items()}
        print(f"{setting}: two chains from one z0, different seeds, 3 steps apart by "
              + ", ".join(f"{n} {d:.2f}" for n, d in gaps.items()))
        for name, gap in gaps.items():
            if (gap > 1e-6) != (name in named):
                said = "random" if name in named else "deterministic"
                raise ExerciseError(
                    f"{setting}: you predicted the {name}'s chain is {said}, but two chains "
                    f"from the same z0 with different seeds end {gap:.3g} apart: "
                    f"{REASONS[(setting, gap > 1e-6)]}")
            cases += 1
    passed("noise sources", cases)
