"""Section 4.4 and figures 1, 3, 6 and 8: interpolation paths, and the chain run on their points.

Chapter 06's plumbing, so its cells show only the calls the text explains:

- :func:`path_norms` / :func:`plot_path_norms`: the norm along straight (lerp) and
  great-circle (slerp) paths between prior draws, against the shell where the
  prior's mass lives (why the paper interpolates spherically);
- :func:`pick_pairs`: pairs of held-out images to interpolate between, pairs of
  two different digits first (a 3 -> 3 path is a dull picture);
- :func:`slerp_chains`: encode both ends, slerp between them, and run the chain
  on every point of every path at once;
- :func:`path_distances` / :func:`plot_path_distances` / :func:`path_sentences`:
  each point's distance to its nearest training image, drawn and put in words.
"""

from __future__ import annotations

from collections.abc import Sequence

import matplotlib.pyplot as plt
import torch
from matplotlib.figure import Figure
from torch import Tensor, nn

from genae.chain_words import change_word
from genae.chainstats import decode_latents, nearest_distance
from genae.interpolate import lerp, slerp
from genae.mcmc import run_chain, sample_prior


def path_norms(d: int, n: int, steps: int, generator: torch.Generator, band: float = 0.95,
               ) -> dict[str, Tensor | tuple[float, float]]:
    """Norms / sqrt(d) along lerp and slerp paths between ``n`` pairs of prior draws in ``d``-D.

    Returns ``{"lerp": (steps, n), "slerp": (steps, n), "band": (low, high)}``, the band
    holding the middle ``band`` share of the prior draws' own norms.
    """
    z_a, z_b = (sample_prior(n, d, generator=generator) for _ in range(2))
    shell = z_a.norm(dim=1) / d ** 0.5
    out: dict = {"band": (shell.quantile((1 - band) / 2).item(),
                          shell.quantile((1 + band) / 2).item())}
    for name, interpolate in (("lerp", lerp), ("slerp", slerp)):
        out[name] = interpolate(z_a, z_b, steps).norm(dim=-1) / d ** 0.5
    return out


def plot_path_norms(norms: dict[int, dict], band: float = 0.95) -> Figure:
    """One panel per dimension: the mean norm along lerp (dashed) and slerp (solid) paths."""
    fig, axes = plt.subplots(1, len(norms), figsize=(4.4 * len(norms), 3.4), squeeze=False)
    for ax, (d, row) in zip(axes[0], norms.items()):
        t = torch.linspace(0, 1, row["lerp"].shape[0])
        ax.axhspan(*row["band"], color="0.85", label=f"{band:.0%} of P(Z) draws")
        for name, style in (("lerp", "--"), ("slerp", "-")):
            ax.plot(t, row[name].mean(1), style, marker="o", label=f"{name} (mean)")
        ax.set(xlabel="position t along the path", ylabel=r"$\|z\| / \sqrt{d}$",
               title=f"d = {d}", ylim=(0.55, 1.25))
        ax.legend(fontsize=8, loc="lower right")
    fig.tight_layout()
    return fig


def pick_pairs(labels: Tensor, n_pairs: int, generator: torch.Generator,
               ) -> tuple[Tensor, Tensor]:
    """Indices (a, b) of ``n_pairs`` random pairs of images, pairs of different digits first.

    Every pair counts in the numbers; the order only decides which pairs the figures show.
    """
    order = torch.randperm(len(labels), generator=generator)
    a, b = order[:n_pairs], order[n_pairs:2 * n_pairs]
    same = (labels[a] == labels[b]).long()
    first = torch.argsort(same, stable=True)  # different digits (0) before the same digit (1)
    return a[first], b[first]


@torch.no_grad()
def slerp_chains(model: nn.Module, ends_a: Tensor, ends_b: Tensor, points: int, steps: int,
                 generator: torch.Generator) -> Tensor:
    """Slerp between the encodings (encoder means) of ``ends_a`` and ``ends_b``, then run
    ``steps`` steps of the chain on every point: shape (steps + 1, points, pairs, latent_dim).

    Entry 0 is the interpolation itself (the paper's figure 1), 1, 5, 10 its figures 3, 6, 8.
    """
    device = next(model.parameters()).device
    z_a, z_b = (model.encode(x.to(device), sample=False) for x in (ends_a, ends_b))
    path = slerp(z_a, z_b, points)  # (points, pairs, latent_dim)
    flat = path.reshape(-1, path.shape[-1])  # every point of every path is one chain
    return run_chain(model, flat, steps, generator=generator).reshape(
        steps + 1, *path.shape).cpu()


def path_distances(model: nn.Module, chains: Tensor, steps: Sequence[int], reference: Tensor,
                   ) -> Tensor:
    """Each point's distance to its nearest training image at ``steps``: (steps, points, pairs)."""
    _, points, pairs, dim = chains.shape
    return torch.stack([
        nearest_distance(decode_latents(model, chains[s].reshape(-1, dim)), reference)
        .reshape(points, pairs) for s in steps])


def plot_path_distances(near: dict[str, Tensor], steps: Sequence[int], level: float,
                        labels: dict[str, str]) -> Figure:
    """One panel per model: mean distance to the nearest training image along the path."""
    fig, axes = plt.subplots(1, len(near), figsize=(3.1 * len(near), 3.0), sharey=True,
                             squeeze=False)
    for ax, (kind, values) in zip(axes[0], near.items()):
        t = torch.linspace(0, 1, values.shape[1])
        for row, s in zip(values, steps):
            name = "path" if s == 0 else f"{s} step" + "s" * (s > 1)
            ax.plot(t, row.mean(1), marker="o", ms=3, label=name)
        ax.axhline(level, color="k", ls="--", lw=1, label="held-out digits")
        ax.set(title=labels[kind], xlabel="position t along the path")
    axes[0, 0].set_ylabel("distance to nearest\ntraining image")
    axes[0, 0].legend(fontsize=7)
    fig.tight_layout()
    return fig


def _groups(words: dict[str, str], say_as: dict[str, str] | None = None) -> str:
    """"fell for 2 (DVAE, DAAE); no clear change for 2 (VAE, AAE)"; ``say_as`` renames words."""
    out = []
    for word in ("fell", "rose", "no clear change"):
        names = [k for k, w in words.items() if w == word]
        if names:
            out.append(f"{(say_as or {}).get(word, word)} for {len(names)} ({', '.join(names)})")
    return "; ".join(out)


def path_sentences(near: dict[str, Tensor], labels: dict[str, str], one: int, last: int) -> str:
    """What 1 and ``last`` steps do to the middle and the ends of the paths, judged over pairs.

    ``near[kind]`` is (steps, points, pairs) with rows at steps (0, ..., ``one``, ..., ``last``);
    ``one`` and ``last`` are row indices. Each change is paired over the same paths.
    """
    lines, mid_one, mid_last, ends_last = [], {}, {}, {}
    for kind, n in near.items():
        mid, ends = n[:, n.shape[1] // 2], (n[:, 0] + n[:, -1]) / 2  # (steps, pairs)
        name = labels[kind]
        mid_one[name] = change_word(mid[0], mid[one])
        mid_last[name] = change_word(mid[0], mid[last])
        ends_last[name] = change_word(ends[0], ends[last])
        lines.append(f"- **{name}**: middle of the path {mid[0].mean():.3f} -> "
                     f"{mid[one].mean():.3f} after the first step -> {mid[last].mean():.3f} at "
                     f"the last; ends {ends[0].mean():.3f} -> {ends[one].mean():.3f} -> "
                     f"{ends[last].mean():.3f}")
    return ("\n".join(lines) + "\n\nOver the same paths, the middle's distance to the data, "
            f"from the path to one step: {_groups(mid_one)}. From the path to the last step: "
            f"{_groups(mid_last)}. The ends, which began as encodings of real digits, from the "
            f"path to the last step: {_groups(ends_last)}.")


def lerp_vs_slerp(model: nn.Module, chains: Tensor, reference: Tensor) -> dict[str, dict]:
    """The middle points of the lerp and slerp paths between the same ends, before the chain.

    ``chains`` is :func:`slerp_chains`' output. Returns ``{"lerp" | "slerp": {"z", "norm",
    "near"}}``, one value per pair (the middle's latent, its norm, its image's distance to
    the nearest ``reference`` image).
    """
    path = chains[0]
    mid = path.shape[0] // 2
    middles = {"lerp": lerp(path[0], path[-1], path.shape[0])[mid], "slerp": path[mid]}
    return {name: {"z": z, "norm": z.norm(dim=-1),
                   "near": nearest_distance(decode_latents(model, z), reference)}
            for name, z in middles.items()}


def lerp_slerp_sentence(label: str, middles: dict[str, dict]) -> str:
    """One model's middles compared: norms, distances, and the paired verdict on distance."""
    line, sphere = middles["lerp"], middles["slerp"]
    word = change_word(line["near"], sphere["near"])
    verdict = {"fell": "the slerp middle is closer to the data",
               "rose": "the lerp middle is closer to the data",
               "no clear change": "no clear difference in distance"}[word]
    return (f"**{label}**: middle norm {line['norm'].mean():.2f} (lerp) vs "
            f"{sphere['norm'].mean():.2f} (slerp); distance to the nearest training image "
            f"{line['near'].mean():.3f} vs {sphere['near'].mean():.3f}: {verdict}.")


def summary_sentence(norms: dict[int, dict], near: dict[str, Tensor],
                     middles: dict[str, dict[str, dict]], labels: dict[str, str]) -> str:
    """Chapter 06's findings in its own numbers: the lerp sag, the chain on the path, slerp's gain.

    ``near[kind]`` rows are steps (0, ..., last); ``middles`` is :func:`lerp_vs_slerp` per model.
    """
    dims = sorted(norms)
    sag = ", ".join(f"{norms[d]['lerp'][norms[d]['lerp'].shape[0] // 2].mean():.2f} of the "
                    f"shell's radius in {d} dimensions" for d in dims)
    mids, ends = {}, {}
    for kind, n in near.items():
        mids[labels[kind]] = change_word(n[0, n.shape[1] // 2], n[-1, n.shape[1] // 2])
        ends[labels[kind]] = change_word((n[0, 0] + n[0, -1]) / 2, (n[-1, 0] + n[-1, -1]) / 2)
    wins = {labels[k]: change_word(m["lerp"]["near"], m["slerp"]["near"])
            for k, m in middles.items()}
    closer = {"fell": "slerp's middle closer to the data", "rose": "lerp's middle closer",
              "no clear change": "no clear difference"}
    return (f"A straight path between two prior draws sags in the middle to {sag}; slerp stays "
            f"on the shell. On MNIST, from the path to the chain's last step, the distance to "
            f"the nearest training image of the path's middle {_groups(mids)}; of its ends, "
            f"{_groups(ends)}. Before the chain, slerp against lerp on the same pairs: "
            f"{_groups(wins, closer)}.")
