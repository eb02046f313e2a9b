"""Section 4.5 in numbers and words: what a few chain steps do to samples, per chain.

The paper judges its samples by eye (figures 4-8). Chapters 05, 06 and 08 measure
the same chains instead, and say what they find in sentences generated from the
numbers, so a sentence cannot claim more than the numbers hold:

- :func:`chain_measures`: per chain and step, the distance to the nearest real
  image, the diversity (distance to the other samples), the digit a classifier
  sees, and the latent norm;
- :func:`measures_table`: their means per step, with the share of the most
  common digit and the effective number of digits (collapse shows in both);
- :func:`change_phrase`: "fell" / "rose" / "no clear change" for a paired change
  over chains, decided by its standard error, with the numbers;
- :func:`trend_phrase`: the words for a sequence of values (e.g. steps 0, 10,
  50, 100), from consecutive paired changes.
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd
import torch
from torch import Tensor, nn

from genae.chainstats import decode_latents, nearest_distance

CLEAR = 2.0  # a change counts when it is over 2 standard errors: about a two-sided 5% test


def diversity(images: Tensor) -> Tensor:
    """Each image's mean RMS pixel distance to the other images of the batch: shape (N,).

    Samples that collapse onto a few images come close to each other, so this falls.
    """
    flat = images.flatten(1).float()
    dist = torch.cdist(flat, flat) / flat.shape[1] ** 0.5
    return dist.sum(1) / max(len(flat) - 1, 1)  # the zero distance to itself left out


def effective_digits(labels: Tensor, n_classes: int = 10) -> float:
    """exp(entropy) of the label histogram: 10 for ten equally common digits, 1 for one digit."""
    share = torch.bincount(labels, minlength=n_classes).double() / len(labels)
    share = share[share > 0]
    return float(torch.exp(-(share * share.log()).sum()))


def chain_measures(model: nn.Module, trajectory: Tensor, steps: Sequence[int], reference: Tensor,
                   classifier: nn.Module | None = None) -> dict[int, dict[str, Tensor]]:
    """Per-chain measures at ``steps`` of a trajectory (steps + 1, N, latent_dim).

    Returns ``{step: {"near", "diversity", "norm", "label"}}``, each a tensor (N,):
    the RMS distance of the decoded image to its nearest ``reference`` image, its
    :func:`diversity`, the latent norm, and the classifier's digit (absent without one).
    """
    out = {}
    for step in steps:
        images = decode_latents(model, trajectory[step])
        row = {"near": nearest_distance(images, reference), "diversity": diversity(images),
               "norm": trajectory[step].norm(dim=-1).cpu()}
        if classifier is not None:
            row["label"] = classifier.probabilities(images).argmax(-1)
        out[step] = row
    return out


def image_measures(images: Tensor, reference: Tensor,
                   classifier: nn.Module | None = None) -> dict[str, Tensor]:
    """The same per-image measures for a batch of images (e.g. held-out digits), no latents."""
    row = {"near": nearest_distance(images, reference), "diversity": diversity(images)}
    if classifier is not None:
        row["label"] = classifier.probabilities(images).argmax(-1)
    return row


def summary_row(row: dict[str, Tensor]) -> dict[str, float]:
    """Means of one step's measures, and the collapse numbers from its labels."""
    out = {name: float(values.double().mean()) for name, values in row.items() if name != "label"}
    if "label" in row:
        counts = torch.bincount(row["label"], minlength=10)
        out["top digit"] = int(counts.argmax())
        out["top share"] = float(counts.max()) / len(row["label"])
        out["digits (effective)"] = effective_digits(row["label"])
    return out


def measures_table(measures: dict[str, dict[int, dict[str, Tensor]]],
                   labels: dict[str, str] | None = None) -> pd.DataFrame:
    """One row per (model, step): the means of :func:`chain_measures` and the collapse numbers."""
    rows = [{"model": (labels or {}).get(kind, kind), "step": step, **summary_row(row)}
            for kind, per_step in measures.items() for step, row in per_step.items()]
    return pd.DataFrame(rows).set_index(["model", "step"])


def change_word(before: Tensor, after: Tensor) -> str:
    """"fell", "rose" or "no clear change": the paired change over chains against 2 standard errors.

    ``before`` and ``after`` hold one value per chain (the same chains). A change within
    ``CLEAR`` standard errors of zero is noise as far as these chains can tell.
    """
    diff = (after.double() - before.double()).flatten()
    if len(diff) < 2:
        raise ValueError("a paired change needs at least two chains")
    se = float(diff.std() / len(diff) ** 0.5)
    mean = float(diff.mean())
    if abs(mean) <= CLEAR * se:
        return "no clear change"
    return "fell" if mean < 0 else "rose"


def change_phrase(name: str, before: Tensor, after: Tensor, fmt: str = ".3f") -> str:
    """"the {name} fell from a to b" (or rose), or "no clear change in the {name} (a to b)"."""
    word = change_word(before, after)
    a, b = format(float(before.double().mean()), fmt), format(float(after.double().mean()), fmt)
    if word == "no clear change":
        return f"no clear change in the {name} ({a} to {b})"
    return f"the {name} {word} from {a} to {b}"


def trend_phrase(name: str, values: Sequence[Tensor], points: Sequence[int],
                 fmt: str = ".3f") -> str:
    """The words for a sequence of per-chain values at ``points`` (steps), each change paired.

    For example: "the distance fell from 0.196 at step 0 to 0.140 at step 10, then no clear
    change (0.139 at step 50, 0.141 at step 100)".
    """
    if len(values) != len(points) or len(values) < 2:
        raise ValueError("trend_phrase needs one tensor of values per point, and two points")
    means = [format(float(v.double().mean()), fmt) for v in values]
    parts, i = [], 0
    while i < len(values) - 1:
        word = change_word(values[i], values[i + 1])
        j = i + 1  # extend the run while the next change has the same word
        while j < len(values) - 1 and change_word(values[j], values[j + 1]) == word:
            j += 1
        span = ", ".join(f"{means[k]} at step {points[k]}" for k in range(i + 1, j + 1))
        parts.append(f"no clear change ({span})" if word == "no clear change"
                     else f"{word} to {span}")
        i = j
    return f"the {name} at step {points[0]} was {means[0]}; then it " + ", then ".join(parts)


def image_change(model: nn.Module, trajectory: Tensor, a: int, b: int) -> Tensor:
    """RMS pixel difference between each chain's decoded images at steps ``a`` and ``b``: (N,)."""
    first, second = (decode_latents(model, trajectory[s]) for s in (a, b))
    return (second - first).flatten(1).pow(2).mean(1).sqrt()


def a_digit(digit: int) -> str:
    """"a 3", "an 8": the article English wants before a digit's name."""
    return f"an {digit}" if digit == 8 else f"a {digit}"


def _digit_words(row: dict[str, Tensor]) -> str:
    s = summary_row(row)
    return (f"{s['top share']:.0%} {a_digit(s['top digit'])}, "
            f"{s['digits (effective)']:.1f} digits")


def step_report(measures: dict[int, dict[str, Tensor]], real: dict[str, Tensor], label: str,
                start: int, end: int) -> str:
    """One model's line: nearest-image distance, diversity and digits from ``start`` to ``end``.

    Each change is judged by :func:`change_word` over the same chains; the held-out digits'
    levels are given for scale. "digits" is :func:`effective_digits` of the classifier's labels.
    """
    a, b = measures[start], measures[end]
    parts = [change_phrase("distance to the nearest training image", a["near"], b["near"]),
             change_phrase("diversity", a["diversity"], b["diversity"])]
    text = (f"**{label}**: {parts[0]} (held-out digits: {real['near'].mean():.3f}); "
            f"{parts[1]} (held-out digits: {real['diversity'].mean():.3f})")
    if "label" in a:
        text += (f"; most common digit, share of chains and effective number of digits: "
                 f"{_digit_words(a)} at step {start}, {_digit_words(b)} at step {end} "
                 f"(held-out digits: {_digit_words(real)})")
    return text + "."


def count_sentence(measures: dict[str, dict[int, dict[str, Tensor]]], labels: dict[str, str],
                   start: int, end: int, collapse: float = 0.5) -> str:
    """How many models' distance and diversity fell, rose or did not clearly change; who collapsed.

    A model *collapses* here when at least ``collapse`` of its chains end on one digit.
    """
    def tally(name: str) -> str:
        words = {kind: change_word(m[start][name], m[end][name]) for kind, m in measures.items()}
        groups = {w: [labels[k] for k, v in words.items() if v == w]
                  for w in ("fell", "rose", "no clear change")}
        return "; ".join(f"{w} for {len(ks)} of {len(words)} ({', '.join(ks)})"
                         for w, ks in groups.items() if ks)

    text = (f"From step {start} to step {end}, the distance to the nearest training image "
            f"{tally('near')}. The diversity {tally('diversity')}.")
    if all("label" in m[end] for m in measures.values()):
        gone = [(labels[k], summary_row(m[end])) for k, m in measures.items()
                if summary_row(m[end])["top share"] >= collapse]
        text += (" " + "; ".join(f"The {name}'s chains collapse: {s['top share']:.0%} of them "
                                 f"draw {a_digit(s['top digit'])} at step {end}"
                                 for name, s in gone)
                 + "." if gone else f" No model has {collapse:.0%} of its chains on one digit.")
    return text


def moves_sentence(start: Tensor, moved: Tensor, label: str) -> tuple[str, float]:
    """The rank correlation between a chain's start (distance to data) and how far it moves,
    with the far quarter's mean move against the near quarter's; returns (text, rho)."""
    from scipy.stats import spearmanr

    rho = float(spearmanr(start.numpy(), moved.numpy()).statistic)
    far = moved[start >= start.quantile(0.75)].mean().item()
    near = moved[start <= start.quantile(0.25)].mean().item()
    return (f"**{label}**: rank correlation {rho:+.2f}; the quarter of chains that start "
            f"farthest from the data change by {far:.3f} in step 1, the closest quarter by "
            f"{near:.3f} ({far / near:.1f} times as much).", rho)


def step_size_sentence(stochastic: Tensor, deterministic: Tensor, label: str) -> str:
    """How the step size of the deterministic and the stochastic chain shrinks (same starts)."""
    sto, det = ((t[1:] - t[:-1]).norm(dim=-1).mean(1) for t in (stochastic, deterministic))
    if torch.equal(stochastic, deterministic):
        return (f"**{label}**: the two chains are one (its steps shrink from {det[0]:.3f} to "
                f"{det[-1]:.3f}).")
    return (f"**{label}**: from step 1 to step {len(det)} the deterministic step shrinks from "
            f"{det[0]:.3f} to {det[-1]:.3f} ({det[-1] / det[0]:.0%} of its first step), the "
            f"stochastic one from {sto[0]:.3f} to {sto[-1]:.3f} ({sto[-1] / sto[0]:.0%}).")


def summary_sentences(measures: dict[str, dict[int, dict[str, Tensor]]], real: dict[str, Tensor],
                      labels: dict[str, str], start: int, end: int) -> str:
    """A chapter's closing numbers: who got closer to the data, at what cost in diversity."""
    words = {k: (change_word(m[start]["near"], m[end]["near"]),
                 change_word(m[start]["diversity"], m[end]["diversity"]))
             for k, m in measures.items()}
    traded = [labels[k] for k, (near, div) in words.items() if near == "fell" and div == "fell"]
    gained = [labels[k] for k, (near, div) in words.items() if near == "fell" and div != "fell"]
    text = count_sentence(measures, labels, start, end)
    if traded:
        text += (f" For {', '.join(traded)} the chain bought its closeness to training digits with "
                 f"diversity: the samples came closer to the data while becoming more alike, and "
                 f"nearest-image distance rewards exactly that.")
    if gained:
        text += f" Only {', '.join(gained)} got closer without losing diversity."
    level = float(real["near"].mean())
    below = [labels[k] for k, m in measures.items() if float(m[end]["near"].mean()) < level]
    text += (f" Held-out digits sit {level:.3f} from their nearest training image; "
             + (f"after {end} steps {', '.join(below)} sit closer than that, closer than real "
                "unseen digits, which is a sign of gathering on typical digits, not of realism."
                if below else f"no model's samples get that close in {end} steps."))
    return text
