"""Draw the landing page's figure and its caption: book/images/landing.png and landing.md.

One quick-mode model (the digits VAE that chapters 4-8 share) is sampled two ways: chains started
from the prior P(Z), and chains started from its Q(Z) (encodings of held-out images). The figure
shows the first decoded samples of each after 0, 1, 5 and 10 steps, with the squared MMD of all the
chains' states to an independent draw of Q(Z), as chapter 7 measures it. The caption is generated
here with the numbers of the run, because a page cannot glue outputs from a notebook.

Run from the repository root after the shared models are trained (any of chapters 4-8 trains them):

    python book/landing_figure.py
"""

from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt
import torch

from genae.chainstats import aggregate_posterior
from genae.data import load_images
from genae.infra.cache import trained_model
from genae.mcmc import run_chain, sample_prior
from genae.metrics import median_bandwidth, mmd
from genae.plots import show_chain

OUT = Path(__file__).resolve().parent / "images"
KIND, SEED, STEPS, N_SHOW = "vae", 0, (0, 1, 5, 10), 16
SETTINGS = dict(dataset="digits", image_size=32, latent_dim=16, width=32, epochs=20)  # quick mode


def main() -> None:
    model = trained_model(KIND, seed=SEED, progress=False, **SETTINGS)[0].eval()
    test = load_images(SETTINGS["dataset"], "test", image_size=SETTINGS["image_size"])
    n = min(200, len(test) // 2)  # chains per start, and the size of each half of Q(Z)
    images = torch.stack([test[i][0] if isinstance(test[i], (tuple, list)) else test[i]
                          for i in range(2 * n)])
    generator = torch.Generator().manual_seed(SEED)
    q = aggregate_posterior(model, images, generator=generator)
    q_a, q_b = q[:n], q[n:]  # q_a is the target; q_b starts the Q(Z) chains
    prior = sample_prior(n, SETTINGS["latent_dim"], generator=generator)
    bandwidth = median_bandwidth(q_a, prior)
    floor = mmd(q_b, q_a, bandwidth=bandwidth)  # two independent draws of Q(Z)

    starts = {"from P(Z)": prior, "from Q(Z)": q_b}
    fig, axes = plt.subplots(2, len(STEPS), figsize=(2.4 * len(STEPS), 5.6), layout="constrained")
    scores = {}
    for row, (name, z0) in zip(axes, starts.items()):
        trajectory = run_chain(model, z0, max(STEPS), generator=generator)
        scores[name] = [mmd(trajectory[s], q_a, bandwidth=bandwidth) for s in STEPS]
        show_chain(model, trajectory[:, :N_SHOW], steps=STEPS, nrow=4, axes=row)
        for ax, step, score in zip(row, STEPS, scores[name]):
            ax.set_title(f"{name}, {'start' if step == 0 else f'step {step}'}\nMMD² to Q(Z) {score:.3f}",
                         fontsize=9)
    OUT.mkdir(exist_ok=True)
    fig.savefig(OUT / "landing.png", dpi=110)

    p, q_scores = scores["from P(Z)"], scores["from Q(Z)"]
    best = STEPS[min(range(len(STEPS)), key=p.__getitem__)]
    from_prior = (f"the chains from $P(Z)$ come closest to $Q(Z)$ at step {best} (MMD² {p[0]:.3f} at the "
                  f"start, {min(p):.3f} there, {p[-1]:.3f} at step {STEPS[-1]})")
    away = "move away from it" if q_scores[-1] > q_scores[0] + abs(floor) + 0.005 else "stay near it"
    caption = (
        f"The digits VAE of chapters 4-8 (quick mode: scikit-learn's digits at "
        f"{SETTINGS['image_size']}x{SETTINGS['image_size']}, a {SETTINGS['latent_dim']}-dimensional "
        f"latent space, one seed), sampled with the chain as the authors' codes run it (decoding to the "
        f"pixel means). Top: {n} chains started from the prior $P(Z)$; bottom: {n} chains started "
        f"from $Q(Z)$ itself (encodings of held-out images), where a chain that samples $Q(Z)$ would "
        f"stay. Each panel shows the first {N_SHOW} samples at steps 0, 1, 5 and 10; its title gives "
        f"the squared MMD of all {n} chains' states to {n} other encodings of held-out images "
        f"(chapter 7's measure; two independent draws of $Q(Z)$ give {floor:.3f}). In this run "
        f"{from_prior}, and the chains started at $Q(Z)$ {away} (MMD² {q_scores[-1]:.3f} at step "
        f"{STEPS[-1]}). Drawn by `book/landing_figure.py`."
    )
    (OUT / "landing.md").write_text(
        "```{figure} images/landing.png\n:name: fig-landing\n:width: 100%\n\n" + caption + "\n```\n")
    print(caption)


if __name__ == "__main__":
    main()
