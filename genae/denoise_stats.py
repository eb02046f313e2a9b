"""Section 4.5's claims about the denoising models' chains (Eq. 2), in numbers and words.

The paper says the DVAE's chain "blurs away the improbable regions", that its
samples "occasionally revert to a 'mean face'", and that the DAAE's denoising is
visible "with even the novel samples". Chapter 08 tests that on the chains of a
plain model and its denoising twin run from the same starts:

- :func:`image_stats`: sharpness (total variation), contrast, diversity, the
  distance to the mean training image and to the nearest one, per batch;
- :func:`stats_table`: those, with the share of "mean-like" samples and the
  latent norm, per (model, step);
- :func:`twin_sentences`: what the twins' rows say, in sentences;
- :func:`uncorrupted_chain`: the denoising model's chain with the corruption
  left out (is the difference in the weights or in the corruption?);
- :func:`with_noise`: a model whose chain corrupts with another noise level.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence

import pandas as pd
import torch
from torch import Tensor, nn

from genae.chain_words import diversity
from genae.chainstats import decode_latents, nearest_distance, total_variation

MEAN_LIKE = 0.05  # "mean-like": closer to the mean image than 95% of real digits are
SHARP, DIVERSE = ("less sharp", "sharper"), ("less diverse", "more diverse")  # ratio words


def _to_mean(images: Tensor, mean_image: Tensor) -> Tensor:
    return (images.flatten(1) - mean_image.flatten(1)).pow(2).mean(1).sqrt()


def image_stats(images: Tensor, reference: Tensor, mean_image: Tensor) -> dict[str, float]:
    """Batch means of the five statistics of chapter 08 for images (N, C, H, W)."""
    flat = images.flatten(1)
    return {"sharpness (TV)": total_variation(images).mean().item(),
            "contrast": flat.std(1).mean().item(),
            "diversity": diversity(images).mean().item(),
            "to mean image": _to_mean(images, mean_image).mean().item(),
            "to nearest image": nearest_distance(images, reference).mean().item()}


def mean_like_level(held_out: Tensor, mean_image: Tensor) -> float:
    """The distance to the mean image that only ``MEAN_LIKE`` of held-out digits come within."""
    return _to_mean(held_out, mean_image).quantile(MEAN_LIKE).item()


def stats_table(models: dict[str, nn.Module], trajectories: dict[str, Tensor],
                steps: Sequence[int], reference: Tensor, held_out: Tensor,
                labels: dict[str, str]) -> pd.DataFrame:
    """:func:`image_stats` per (model, step), with the mean-like share and the latent norm."""
    mean_image = reference.mean(0, keepdim=True).cpu()
    level = mean_like_level(held_out, mean_image)
    rows = []
    for kind, model in models.items():
        for step in steps:
            x = decode_latents(model, trajectories[kind][step])
            rows.append({"model": labels[kind], "step": step,
                         **image_stats(x, reference.cpu(), mean_image),
                         "mean-like share": (_to_mean(x, mean_image) < level).float().mean().item(),
                         "latent norm": trajectories[kind][step].norm(dim=1).mean().item()})
    return pd.DataFrame(rows).set_index(["model", "step"])


def twin_sentences(stats: pd.DataFrame, pairs: Sequence[tuple[str, str]], last: int,
                   real: dict[str, float]) -> str:
    """What the (plain, denoising) twins' rows say: alike at the start? blurrier, less diverse,
    mean-like at step 10 and ``last``? Ratios over 10% count; the rest is "about the same"."""
    def at(model: str, step: int, column: str) -> float:
        return float(stats.loc[(model, step), column])

    def ratio_word(r: float, less: str, more: str) -> str:
        return less if r < 0.9 else more if r > 1.1 else "about as " + less.split()[-1]

    lines = []
    for plain, noisy in pairs:
        tv = [at(noisy, s, "sharpness (TV)") / at(plain, s, "sharpness (TV)")
              for s in (0, 10, last)]
        dv = [at(noisy, s, "diversity") / at(plain, s, "diversity") for s in (0, last)]
        lines.append(
            f"- **{noisy} vs {plain}**: at step 0 {ratio_word(tv[0], *SHARP)} "
            f"(ratio {tv[0]:.2f}) and {ratio_word(dv[0], *DIVERSE)} "
            f"({dv[0]:.2f}); at step 10 {ratio_word(tv[1], *SHARP)} ({tv[1]:.2f}); "
            f"at step {last} {ratio_word(tv[2], *SHARP)} ({tv[2]:.2f}) and "
            f"{ratio_word(dv[1], *DIVERSE)} ({dv[1]:.2f}); mean-like share "
            f"{at(noisy, last, 'mean-like share'):.0%} vs {at(plain, last, 'mean-like share'):.0%} "
            f"(step 0: {at(noisy, 0, 'mean-like share'):.0%} vs "
            f"{at(plain, 0, 'mean-like share'):.0%}); distance to the nearest training image "
            f"{at(noisy, last, 'to nearest image'):.3f} vs "
            f"{at(plain, last, 'to nearest image'):.3f} "
            f"(held-out digits: {real['to nearest image']:.3f}).")
    return "\n".join(lines)


@torch.no_grad()
def uncorrupted_chain(model: nn.Module, z0: Tensor, steps: int,
                      generator: torch.Generator | None = None) -> Tensor:
    """The chain of Eq. 1 on a denoising model: decode, encode with a sample, no corruption.

    Returns the trajectory (steps + 1, N, latent_dim) on the CPU, like ``run_chain``.
    """
    device = next(model.parameters()).device
    z, out = z0.to(device), [z0.cpu()]
    for _ in range(steps):
        z = model.encode(model.decode(z), generator=generator)
        out.append(z.cpu())
    return torch.stack(out)


def with_noise(model: nn.Module, denoise_std: float) -> nn.Module:
    """A copy of ``model`` whose chain corrupts with N(x, denoise_std^2 I); the weights unchanged.

    It tests the run-time half of a noise level only: the model was trained at its own level.
    """
    other = copy.deepcopy(model)
    other.denoise_std = float(denoise_std)
    return other


def noise_sentence(rows: dict[str, dict[str, float]], low: str, high: str) -> str:
    """Rows of :func:`image_stats` at noise levels; says whether ``low`` -> ``high`` noise lowers
    sharpness and diversity and brings samples nearer the mean image, as the prediction says."""
    predicted = {"sharpness (TV)": -1, "diversity": -1, "to mean image": -1}
    said = []
    for column, sign in predicted.items():
        a, b = rows[low][column], rows[high][column]
        change = (b - a) / abs(a)
        if abs(change) < 0.05:
            said.append(f"{column} about the same ({a:.3f} -> {b:.3f}, against the prediction)")
        else:
            agree = (change < 0) == (sign < 0)
            said.append(f"{column} {'fell' if change < 0 else 'rose'} ({a:.3f} -> {b:.3f}, "
                        f"{'as predicted' if agree else 'against the prediction'})")
    return f"From {low} to {high}: " + "; ".join(said) + "."


def summary_sentence(stats: pd.DataFrame, pairs: Sequence[tuple[str, str]], last: int,
                     real: dict[str, float]) -> str:
    """Chapter 08's findings: do twins start alike; after the chain, is the denoising one blurrier
    and less diverse (the paper's claim) or sharper and more diverse (the opposite)?"""
    def ratio(n: str, p: str, step: int, column: str) -> float:
        return float(stats.loc[(n, step), column] / stats.loc[(p, step), column])

    alike = [n for p, n in pairs if abs(ratio(n, p, 0, "sharpness (TV)") - 1) < 0.1]
    text = (f"On MNIST, drawn from the prior, {len(alike)} of {len(pairs)} denoising models "
            f"({', '.join(alike) or 'none'}) give samples within 10% of their twin's sharpness"
            + (", as the paper says." if len(alike) == len(pairs) else "."))
    for p, n in pairs:
        tv, dv = ratio(n, p, last, "sharpness (TV)"), ratio(n, p, last, "diversity")
        sharp = "less sharp" if tv < 0.9 else "sharper" if tv > 1.1 else "about as sharp"
        wide = "less diverse" if dv < 0.9 else "more diverse" if dv > 1.1 else "about as diverse"
        claim = ("as the paper's \"blurs away\" says" if tv < 0.9 and dv < 0.9 else
                 "the opposite of the paper's claim" if tv > 1.1 and dv > 1.1 else
                 "partly as the paper says")
        text += (f" After {last} steps the {n}'s samples are {sharp} (ratio {tv:.2f}) and {wide} "
                 f"({dv:.2f}) than the {p}'s: {claim}.")
    return text
