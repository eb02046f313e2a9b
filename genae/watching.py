"""Chapter 7's measurements: watching the chain of section 3 (Eq. 1 and 2) converge, step by step.

Theorem 1 says the chain's states approach Q(Z). Chapter 7 watches that with many
chains from the same starts: their latents in the PCA plane of Q(Z), the images
they decode to, and three statistics per step against draws of Q(Z) from held-out
images: the mean latent norm, the squared MMD (:func:`genae.metrics.mmd`) and the
per-dimension gap of means and standard deviations. The chapter calls these
functions one line each; the figures are :func:`plot_panels` and
:func:`plot_statistics`.
"""

from __future__ import annotations

import math

import matplotlib.pyplot as plt
import numpy as np
import torch
from sklearn.decomposition import PCA
from torch import Tensor, nn

from genae.chainstats import aggregate_posterior
from genae.mcmc import run_chain, sample_prior
from genae.metrics import median_bandwidth, mmd
from genae.plots import decode_steps, show_images

LABELS = {"vae": "VAE", "aae": "AAE", "dvae": "DVAE", "daae": "DAAE"}


def held_out_images(dataset, n: int, image_size: int, root=None) -> Tensor:
    """``n`` images of the test split drawn at random (a fixed draw; fewer if it is smaller), as
    one tensor. At random, not the first ``n``: a split stored in class order would give halves
    Q_A and Q_B of different digits."""
    from genae.data import load_images

    test = load_images(dataset, "test", image_size=image_size, root=root)
    order = torch.randperm(len(test), generator=torch.Generator().manual_seed(0))
    items = [test[int(i)] for i in order[:n]]
    return torch.stack([x[0] if isinstance(x, (tuple, list)) else x for x in items])


def per_dim_gap(z: Tensor, y: Tensor) -> float:
    """Mean over dimensions of |mean difference| + |std difference|."""
    return ((z.mean(0) - y.mean(0)).abs() + (z.std(0) - y.std(0)).abs()).mean().item()


def watch(model: nn.Module, held_out: Tensor, z0: Tensor, steps: int,
          generator: torch.Generator, n_show: int = 16) -> dict:
    """One model's chains from ``z0``: the trajectory, Q(Z)'s two halves (A: the target, B: an
    independent draw of it, the floor), the PCA plane of Q(Z) and the decoded images."""
    q = aggregate_posterior(model, held_out, generator=generator)
    n = len(held_out) // 2
    trajectory = run_chain(model, z0, steps, generator=generator).cpu()
    pca = PCA(n_components=2).fit(q.numpy())
    return dict(q_a=q[:n], q_b=q[n:], trajectory=trajectory, pca=pca,
                images=torch.stack(decode_steps(model, trajectory[:, :n_show],
                                                range(steps + 1))),
                flat_q=pca.transform(q.numpy()),
                flat=np.stack([pca.transform(z.numpy()) for z in trajectory]))


def statistics(run: dict, seed: int = 0) -> dict:
    """Per step: the mean latent norm with its standard error over chains, the MMD^2 and the
    per-dimension gap to Q_A, and the same two for Q_B (the floor)."""
    q_a, q_b, trajectory = run["q_a"], run["q_b"], run["trajectory"]
    prior = sample_prior(len(q_a), q_a.shape[1], generator=torch.Generator().manual_seed(seed + 1))
    h = median_bandwidth(q_a, prior)  # one kernel width per model, for every step
    norms = trajectory.norm(dim=-1)  # (steps + 1, n)
    q_norms = torch.cat([q_a, q_b]).norm(dim=1)
    return dict(
        bandwidth=h,
        mmd=np.array([mmd(z, q_a, bandwidth=h) for z in trajectory]),
        gap=np.array([per_dim_gap(z, q_a) for z in trajectory]),
        norm=norms.mean(1).numpy(), norm_se=(norms.std(1) / math.sqrt(norms.shape[1])).numpy(),
        floor=dict(mmd=mmd(q_b, q_a, bandwidth=h), gap=per_dim_gap(q_b, q_a)),
        q_norm=q_norms.mean().item(), q_norm_se=(q_norms.std() / math.sqrt(len(q_norms))).item())


def repeated_mmd(model: nn.Module, q_a: Tensor, bandwidth: float, n: int, steps: int,
                 repeats: int, seed: int) -> np.ndarray:
    """MMD^2 to Q_A at every step for ``repeats`` independent runs (fresh starts and noise):
    shape (repeats, steps + 1). Its spread over runs is the statistic's own uncertainty."""
    generator = torch.Generator().manual_seed(seed + 1000)
    out = []
    for _ in range(repeats):
        z0 = sample_prior(n, q_a.shape[1], generator=generator)
        trajectory = run_chain(model, z0, steps, generator=generator).cpu()
        out.append([mmd(z, q_a, bandwidth=bandwidth) for z in trajectory])
    return np.array(out)


def spread_ratio(run: dict, step: int) -> float:
    """The chains' total variance at ``step`` over Q(Z)'s: near 1 for chains spread like Q(Z),
    near 0 when they have collapsed onto a few points."""
    z, q = run["trajectory"][step], torch.cat([run["q_a"], run["q_b"]])
    return (z.var(0).sum() / q.var(0).sum()).item()


def _limits(run: dict) -> np.ndarray:
    points = np.concatenate([run["flat_q"], run["flat"][0]])
    return np.percentile(points, [0.5, 99.5], axis=0) * 1.15


def draw_step(run: dict, step: int, ax_images, ax_latent, n_show: int = 16) -> None:
    """The images of the first chains and all chains' latents (PCA plane of Q(Z)) at one step."""
    show_images(run["images"][step], nrow=int(n_show ** 0.5), ax=ax_images)
    ax_latent.scatter(*run["flat_q"].T, s=4, color="0.7")
    ax_latent.scatter(*run["flat"][step].T, s=5, color="C3", alpha=0.7)
    ax_latent.scatter(*run["flat"][step][:n_show].T, s=22, facecolors="none", edgecolors="k",
                      lw=0.6)
    (x0, y0), (x1, y1) = _limits(run)
    ax_latent.set(xlim=(x0, x1), ylim=(y0, y1), xticks=[], yticks=[])


def plot_panels(runs: dict, steps: list[int], n_show: int = 16) -> plt.Figure:
    """Figure 1: per model, a row of decoded images and a row of latents, one column per step."""
    fig, axes = plt.subplots(2 * len(runs), len(steps), figsize=(2.1 * len(steps), 4.3 * len(runs)),
                             layout="constrained")
    for k, (kind, run) in enumerate(runs.items()):
        for j, step in enumerate(steps):
            draw_step(run, step, axes[2 * k, j], axes[2 * k + 1, j], n_show)
            name = "z0 ~ P(Z)" if step == 0 else f"step {step}"
            axes[2 * k, j].set_title(f"{LABELS[kind]}, {name}", fontsize=9)
            axes[2 * k + 1, j].set_xlabel("PC 1", fontsize=8)
        axes[2 * k + 1, 0].set_ylabel("PC 2", fontsize=8)
    handles = [plt.Line2D([], [], ls="", marker="o", color=c, mfc=f, ms=s)
               for c, f, s in (("0.7", "0.7", 3), ("C3", "C3", 3), ("k", "none", 5))]
    fig.legend(handles, ["Q(Z): encodings of held-out images", "the chains' states at that step",
                         "the chains whose images are shown"],
               loc="outside lower center", ncol=3, fontsize=9)
    fig.suptitle("Per model: decoded images of the first chains (upper row), all chains' latents "
                 "in the PCA plane of Q(Z) (lower row)", fontsize=10)
    return fig


def plot_statistics(runs: dict, stats: dict, mmd_runs: dict, prior_norm: float) -> plt.Figure:
    """Figure 2: mean latent norm (band: 2 standard errors over chains), MMD^2 (mean over runs,
    band: 2 standard errors over runs) and the per-dimension gap, each with its floor."""
    fig, (ax_norm, ax_mmd, ax_gap) = plt.subplots(1, 3, figsize=(10, 3.6))
    for i, kind in enumerate(runs):
        s, c = stats[kind], f"C{i}"
        steps = np.arange(len(s["norm"]))
        ax_norm.plot(steps, s["norm"], color=c, label=LABELS[kind])
        ax_norm.fill_between(steps, s["norm"] - 2 * s["norm_se"], s["norm"] + 2 * s["norm_se"],
                             color=c, alpha=0.2)
        ax_norm.axhline(s["q_norm"], color=c, ls=":", lw=1)
        m = mmd_runs[kind]
        mean, se = m.mean(0), m.std(0, ddof=1) / math.sqrt(len(m))
        ax_mmd.plot(steps, mean, color=c, label=LABELS[kind])
        ax_mmd.fill_between(steps, mean - 2 * se, mean + 2 * se, color=c, alpha=0.2)
        ax_mmd.axhline(s["floor"]["mmd"], color=c, ls=":", lw=1)
        ax_gap.plot(steps, s["gap"], color=c, label=LABELS[kind])
        ax_gap.axhline(s["floor"]["gap"], color=c, ls=":", lw=1)
    ax_norm.axhline(prior_norm, color="k", ls="--", lw=1, label="P(Z) draws")
    ax_norm.set(xlabel="step t", ylabel=r"mean $\|z_t\|$", title="latent norm (dotted: Q(Z))")
    ax_mmd.set(xlabel="step t", ylabel=r"MMD$^2$ to $Q_A$",
               title=f"MMD$^2$, mean of {len(m)} runs (dotted: floor)")
    ax_gap.set(xlabel="step t", ylabel="mean |mean gap| + |sd gap|",
               title="per-dimension gap (dotted: floor)")
    for ax in (ax_norm, ax_mmd, ax_gap):
        ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def fallback_figure(runs: dict, steps: tuple[int, ...] = (0, 1, 10), n_show: int = 16):
    """The explorer's static figure: each model's decoded chains at a few steps."""
    fig, axes = plt.subplots(len(runs), len(steps), figsize=(1.9 * len(steps), 2 * len(runs)),
                             layout="constrained")
    for k, (kind, run) in enumerate(runs.items()):
        for j, step in enumerate(steps):
            show_images(run["images"][step], nrow=int(n_show ** 0.5), ax=axes[k, j],
                        title=f"{LABELS[kind]}, step {step}")
    plt.close(fig)
    return fig


# ---------------------------------------------------------------- the chapter's sentences
def _names(kinds) -> str:
    labels = [LABELS[k] for k in kinds]
    return ", ".join(labels[:-1]) + " and " + labels[-1] if len(labels) > 1 else "".join(labels)


def first_at_floor(values, floor: float) -> int | None:
    """The first step whose value is at or below the floor (None if none is)."""
    at = np.flatnonzero(np.asarray(values) <= floor)
    return int(at[0]) if len(at) else None


def step_change(mmd_runs: np.ndarray, a: int, b: int) -> tuple[float, float]:
    """MMD^2 at step ``b`` minus at step ``a``: the mean over runs and its standard error."""
    d = mmd_runs[:, b] - mmd_runs[:, a]
    return float(d.mean()), float(d.std(ddof=1) / math.sqrt(len(d)))


def closest_sentence(kind: str, mmd_runs: np.ndarray) -> str:
    """Which step is closest to Q(Z) by the MMD, and whether steps 0 and 1 differ beyond noise."""
    best = int(np.argmin(mmd_runs.mean(0)))
    d, se = step_change(mmd_runs, 0, 1)
    verdict = ("closer to Q(Z) after one step than at the start" if d < -2 * se else
               "further from Q(Z) after one step than at the start" if d > 2 * se else
               "not measurably closer or further after one step (the change is within two "
               "standard errors)")
    return (f"{LABELS[kind]}: over {len(mmd_runs)} runs the MMD² is smallest at step {best} on "
            f"average; step 1 minus step 0 is {d:+.4f} ± {se:.4f} (standard error), so its "
            f"chains are {verdict}.")


def norm_sentence(stats: dict) -> str:
    """What the first decode-encode does to the mean latent norm, model by model."""
    below = [k for k, s in stats.items()
             if s["norm"][1] + 2 * s["norm_se"][1] < s["q_norm"] - 2 * s["q_norm_se"]]
    parts = [f"{LABELS[k]} {s['norm'][0]:.2f} → {s['norm'][1]:.2f} (Q(Z): {s['q_norm']:.2f})"
             for k, s in stats.items()]
    text = "After one step the mean latent norm goes " + "; ".join(parts) + "."
    if below:
        text += (f" For the {_names(below)} it falls below Q(Z)'s own norm by more than two "
                 "standard errors: the decoder returns its mean image, an average of every "
                 "digit the latent could stand for, and the encoder puts such a blurred, "
                 "typical image near the centre of Q(Z), so the first re-encoding shrinks the "
                 "latents.")
    return text


def collapse_sentence(runs: dict, step: int, threshold: float = 0.25) -> str:
    """Whether the chains still spread like Q(Z) at ``step`` or have collapsed."""
    ratios = {k: spread_ratio(r, step) for k, r in runs.items()}
    low = [k for k, v in ratios.items() if v < threshold]
    parts = "; ".join(f"{LABELS[k]} {100 * v:.0f}%" for k, v in ratios.items())
    text = (f"At step {step} the chains' latents spread over this share of Q(Z)'s variance: "
            f"{parts}.")
    if low:
        text += (f" The chains of the {_names(low)} have collapsed: they crowd into a small part "
                 "of the plane, and the images they decode to look alike.")
    else:
        text += " No model's chains have collapsed onto a few points."
    return text


def floor_sentence(kind: str, stats: dict, steps: int) -> str:
    """When (if ever) the MMD^2 and the per-dimension gap of one run first reach their floors."""
    s = stats[kind]
    reach = {name: first_at_floor(s[name], s["floor"][name]) for name in ("mmd", "gap")}

    def say(name, what):
        return (f"{what} first reaches its floor at step {reach[name]}" if reach[name] is not None
                else f"{what} does not reach its floor within {steps} steps")

    return (f"{LABELS[kind]}: MMD² {s['mmd'][0]:.4f} at step 0, {s['mmd'][min(10, steps)]:.4f} "
            f"at step {min(10, steps)}, {s['mmd'][-1]:.4f} at step {steps} (floor "
            f"{s['floor']['mmd']:.4f}); {say('mmd', 'it')}; {say('gap', 'the per-dimension gap')}.")
