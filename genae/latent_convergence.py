"""Does the trained models' chain stay at Q(Z), and approach it from P(Z)? (Section 3.2, Lemma 2.)

Chapter 03's measurement on the four trained models. For each model, Q(Z) is drawn
as encodings of held-out images (:func:`genae.chainstats.aggregate_posterior`,
corrupted first for a denoising model); chains start at Q(Z) (encodings of *other*
held-out images) and at P(Z), and run as the authors' code runs them (mean
decoding), as Eq. 1 writes them (the decoder sampled) and deterministically
(``sample=False``). At every step the squared MMD to the Q(Z) sample
(:func:`genae.metrics.mmd`: unbiased, Gaussian kernel, one median-heuristic
bandwidth per model) and the mean latent norm are recorded.

Uncertainty: the MMD of the chains from P(Z) is bootstrapped over the chains
(:func:`bootstrap_mmd`), so that a "closest at step t" can be told from noise
(:func:`closest_approach`); the MMD's noise level between two Q(Z) samples is a
permutation quantile (:func:`noise_level`).
"""

from __future__ import annotations

import math

import numpy as np
import torch
from matplotlib import pyplot as plt
from matplotlib.figure import Figure
from torch import Tensor, nn

from genae.chainstats import aggregate_posterior
from genae.data import load_images
from genae.mcmc import run_chain, sample_prior
from genae.metrics import median_bandwidth, mmd

#: the three chains measured: run_chain's (sample, decode) and their names in the chapter
CHAINS = {"mean": (True, "mean", "mean decoding"),
          "sample": (True, "sample", "decoder sampled"),
          "deterministic": (False, "mean", "deterministic (sample=False)")}
BOOTSTRAP_DRAWS = 200


def held_out_images(dataset: str, n: int, seed: int, image_size: int,
                    root: str | None = None) -> Tensor:
    """``2 n`` held-out images in a seeded random order (the first ``n`` for Q(Z), the rest
    for z0)."""
    held_out = load_images(dataset, "test", image_size=image_size, root=root)
    if 2 * n > len(held_out):
        raise ValueError(f"n={n} needs {2 * n} held-out images; {dataset} has {len(held_out)}")
    order = torch.randperm(len(held_out), generator=torch.Generator().manual_seed(seed))
    first = [held_out[i] for i in order[: 2 * n].tolist()]
    return torch.stack([x[0] if isinstance(x, (tuple, list)) else x for x in first])


def noise_level(a: Tensor, b: Tensor, bandwidth: float, generator: torch.Generator,
                permutations: int = 200) -> float:
    """The 95% quantile of the MMD between random halves of ``a`` and ``b`` pooled:
    what 'no difference' looks like at these sample sizes."""
    pooled = torch.cat([a, b])
    values = []
    for _ in range(permutations):
        idx = torch.randperm(len(pooled), generator=generator)
        values.append(mmd(pooled[idx[: len(a)]], pooled[idx[len(a):]], bandwidth=bandwidth))
    return float(np.quantile(values, 0.95))


def _kernel(x: Tensor, y: Tensor, bandwidth: float) -> Tensor:
    return torch.exp(-(torch.cdist(x.double(), y.double()) / bandwidth).square() / 2)


def bootstrap_mmd(trajectory: Tensor, reference: Tensor, bandwidth: float,
                  generator: torch.Generator, draws: int = BOOTSTRAP_DRAWS) -> np.ndarray:
    """The MMD^2 of every step, recomputed on ``draws`` resamplings of the chains: (draws, T+1).

    The same resampled chains at every step (a chain is one unit), so differences
    between steps are paired. A chain drawn twice is not paired with itself: with
    counts w, the within-sample term is (w^T K w - sum w_i^2) / (n^2 - sum w_i^2).
    """
    n = trajectory.shape[1]
    idx = torch.randint(n, (draws, n), generator=generator)
    w = torch.zeros(draws, n, dtype=torch.float64).scatter_add_(
        1, idx, torch.ones(draws, n, dtype=torch.float64))
    ref = reference.double()
    m = len(ref)
    k_rr = _kernel(ref, ref, bandwidth)
    yy = (k_rr.sum() - m) / (m * (m - 1))
    same = (w**2).sum(1)
    out = np.empty((draws, len(trajectory)))
    for t, z in enumerate(trajectory):
        xx = (((w @ _kernel(z, z, bandwidth)) * w).sum(1) - same) / (n**2 - same)
        xy = w @ _kernel(z, ref, bandwidth).sum(1) / (n * m)
        out[:, t] = (xx + yy - 2 * xy).numpy()
    return out


def _measure_chain(model: nn.Module, z0: Tensor, reference: Tensor, bandwidth: float,
                   steps: int, chain: str, generator: torch.Generator) -> dict:
    """Both starts of one chain kind, run together: MMD^2 and mean norm per step (and the
    bootstrap for the start at P(Z))."""
    sample, decode, _ = CHAINS[chain]
    n = len(z0["Q"])
    both = run_chain(model, torch.cat([z0["Q"], z0["P"]]), steps, sample=sample,
                     generator=generator, decode=decode).cpu()
    out = {}
    for start, traj in (("Q", both[:, :n]), ("P", both[:, n:])):
        out[start] = {"mmd": np.array([mmd(z, reference, bandwidth=bandwidth) for z in traj]),
                      "norm": traj.norm(dim=2).mean(dim=1).numpy()}
    out["P"]["boot"] = bootstrap_mmd(both[:, n:], reference, bandwidth, generator)
    return out


def measure_model(model: nn.Module, images: Tensor, steps: int, seed: int) -> dict:
    """One model: Q(Z) from the first half of ``images``, z0 from the second half and from
    P(Z); every chain of :data:`CHAINS`."""
    n = len(images) // 2
    g = torch.Generator().manual_seed(seed)
    reference = aggregate_posterior(model, images[:n], g)
    z0 = {"Q": aggregate_posterior(model, images[n:], g),
          "P": sample_prior(n, model.latent_dim, generator=g)}
    bandwidth = median_bandwidth(reference, z0["P"])  # fixed per model: one scale for all steps
    r = {"n": n, "bandwidth": bandwidth, "tau": noise_level(reference, z0["Q"], bandwidth, g),
         "q_norm": reference.norm(dim=1).mean().item()}
    for chain in CHAINS:
        # the AAE's encoder is deterministic and it has no corruption: sample=False changes nothing
        if chain == "deterministic" and model.kind == "aae":
            r[chain] = r["mean"]
            continue
        r[chain] = _measure_chain(model, z0, reference, bandwidth, steps, chain, g)
    return r


def measure_models(models: dict[str, nn.Module], images: Tensor, steps: int,
                   seed: int) -> dict[str, dict]:
    """:func:`measure_model` for each model, with the same images and seed."""
    return {kind: measure_model(model, images, steps, seed) for kind, model in models.items()}


def prior_norm(latent_dim: int) -> float:
    """E||z|| under N(0, I): sqrt(2) Gamma((k + 1) / 2) / Gamma(k / 2)."""
    return math.sqrt(2) * math.exp(math.lgamma((latent_dim + 1) / 2) - math.lgamma(latent_dim / 2))


def closest_approach(curve: dict) -> dict:
    """The step at which the chains from P(Z) came closest to Q(Z), with its uncertainty.

    ``curve`` is a start-at-P entry of :func:`measure_model` (``mmd``, ``boot``). Returns the
    step, the MMD^2 there and at steps 0 and 1 with bootstrap standard errors, and the 95%
    percentile interval of (closest - step 0) and (closest - step 1), paired over chains.
    The closest step is picked on the same chains, so the interval leans towards a
    difference: one that still contains 0 is no evidence that the step is closer.
    """
    boot, best = curve["boot"], int(np.argmin(curve["mmd"]))
    se = boot.std(axis=0, ddof=1)
    out = {"step": best, "mmd": curve["mmd"][best], "se": se[best]}
    for t in (0, 1):
        out[f"mmd{t}"], out[f"se{t}"] = curve["mmd"][t], se[t]
        out[f"vs{t}"] = tuple(np.quantile(boot[:, best] - boot[:, t], [0.025, 0.975]))
    return out


def closest_words(c: dict) -> str:
    """'lowest at step t (x ± se), clearly below step 0' or '..., no clear difference'."""
    head = f"lowest at step {c['step']} ({c['mmd']:.4f} ± {c['se']:.4f})"
    if c["step"] == 0:
        return head + ": no step came closer than the start"
    lo, hi = c["vs0"]
    verdict = "clearly below step 0" if hi < 0 else "no clear difference from step 0"
    return (f"{head} against {c['mmd0']:.4f} ± {c['se0']:.4f} at step 0: {verdict} "
            f"(difference 95% interval [{lo:.4f}, {hi:.4f}])")


def convergence_table(results: dict[str, dict]):
    """One row per model and chain: the MMD^2 to Q(Z) from each start, the closest step."""
    import pandas as pd

    rows = []
    for kind, r in results.items():
        for chain, (_, _, label) in CHAINS.items():
            p, q, c = r[chain]["P"], r[chain]["Q"], closest_approach(r[chain]["P"])
            lo, hi = c["vs0"]
            rows.append({"model": kind.upper(), "chain": label, "noise level": r["tau"],
                         "from P: t=0": p["mmd"][0], "closest t": c["step"],
                         "there (± se)": f"{c['mmd']:.4f} ± {c['se']:.4f}",
                         "closest − t=0 (95%)": f"[{lo:.4f}, {hi:.4f}]" if c["step"] else "—",
                         "from P: last": p["mmd"][-1], "from Q: last": q["mmd"][-1]})
    return pd.DataFrame(rows).set_index(["model", "chain"]).round(4)


def _names(kinds: list[str], total: int) -> str:
    return f"{len(kinds)} of {total} ({', '.join(kinds) or 'none'})"


def verdict_sentences(results: dict[str, dict]) -> str:
    """What the measurements say about Lemma 2, model by model, in Markdown."""
    kinds, total = [k.upper() for k in results], len(results)
    last = {k.upper(): r for k, r in results.items()}
    stay = {c: [k for k in kinds if last[k][c]["Q"]["mmd"][-1] <= last[k]["tau"]] for c in CHAINS}
    closer = [k for k in kinds if last[k]["mean"]["P"]["mmd"][-1] < last[k]["mean"]["P"]["mmd"][0]]
    dipped = [k for k in kinds if closest_approach(last[k]["mean"]["P"])["vs0"][1] < 0]
    lines = [
        f"With mean decoding (the authors' chain), the chain from P(Z) came clearly closer to "
        f"Q(Z) than it started, at its closest step, for {_names(dipped, total)}, and ended "
        f"closer than it started for {_names(closer, total)}; the chain started at Q(Z) ended "
        f"within the noise level of Q(Z) for {_names(stay['mean'], total)}.",
        f"With the decoder sampled (Eq. 1 as written), the chain started at Q(Z) ended within "
        f"the noise level for {_names(stay['sample'], total)}.",
    ]
    off = [k for k in kinds if k not in stay["mean"] and k not in stay["sample"]]
    if off:
        lines.append(f"For {', '.join(off)} the chain leaves Q(Z) under both decodings, so mean "
                     "decoding is not the (whole) reason: Q(Z) is not that chain's stationary "
                     "distribution, and the encoder and decoder are not the two conditionals of "
                     "the joint of data and encodings.")
    further = [k for k in kinds
               if last[k]["sample"]["Q"]["mmd"][-1] > last[k]["mean"]["Q"]["mmd"][-1]]
    if further:
        lines.append(f"Sampling the decoder ends further from Q(Z) than mean decoding for "
                     f"{_names(further, total)}: each draw is a binary image, unlike the "
                     "grey-level digits the encoder was trained on.")
    return " ".join(lines)


#: line colour per start, line style per chain
_COLOURS = {"Q": "tab:blue", "P": "tab:red"}
_STYLES = {"mean": "-", "sample": ":", "deterministic": "--"}


def _mmd_panel(ax: plt.Axes, r: dict, kind: str, first: bool) -> None:
    """MMD^2 to Q(Z) per step for both starts and the three chains; a band of ± one bootstrap
    standard error around the chains from P(Z), and the noise level in grey."""
    for chain, (_, _, label) in CHAINS.items():
        for start, colour in _COLOURS.items():
            curve = r[chain][start]["mmd"]
            ax.plot(curve, color=colour, ls=_STYLES[chain], label=f"z0 ~ {start}(Z), {label}")
            if start == "P":
                se = r[chain]["P"]["boot"].std(axis=0, ddof=1)
                ax.fill_between(np.arange(len(curve)), curve - se, curve + se, color=colour,
                                alpha=0.12, lw=0)
    ax.axhspan(-r["tau"], r["tau"], color="0.85", label="noise level")
    ax.set_yscale("symlog", linthresh=max(r["tau"], 1e-4))
    ax.set_ylim(bottom=-r["tau"])
    ax.set(title=kind.upper(), ylabel="MMD² to Q(Z)" if first else None)


def _norm_panel(ax: plt.Axes, r: dict, expected_prior_norm: float, first: bool) -> None:
    """Mean latent norm per step, with Q(Z)'s and P(Z)'s."""
    for chain in CHAINS:
        for start, colour in _COLOURS.items():
            ax.plot(r[chain][start]["norm"], color=colour, ls=_STYLES[chain])
    ax.axhline(r["q_norm"], color="tab:blue", lw=0.8, ls="-.", label="Q(Z)'s mean ‖z‖")
    ax.axhline(expected_prior_norm, color="black", lw=0.8, ls="-.", label="P(Z)'s mean ‖z‖")
    ax.set(xlabel="step", ylabel="mean ‖z‖" if first else None)


def plot_convergence(results: dict[str, dict], latent_dim: int) -> Figure:
    """Figure 4: top, MMD^2 to Q(Z); bottom, the mean latent norm; one column per model."""
    fig, axes = plt.subplots(2, len(results), figsize=(4 * len(results), 6.8), sharex=True)
    for col, (kind, r) in enumerate(results.items()):
        _mmd_panel(axes[0, col], r, kind, col == 0)
        _norm_panel(axes[1, col], r, prior_norm(latent_dim), col == 0)
    # one legend for all panels, below them, so that it hides no line
    handles, labels = axes[0, 0].get_legend_handles_labels()
    more = axes[1, 0].get_legend_handles_labels()
    fig.legend(handles + more[0], labels + more[1], loc="lower center", ncol=4, fontsize=8)
    fig.tight_layout(rect=(0, 0.12, 1, 1))
    return fig


def closest_sentences(results: dict[str, dict]) -> str:
    """For each model, where its mean-decoding chains from P(Z) came closest to Q(Z), with
    the bootstrap uncertainty, and whether step 1 differs from step 0 (Markdown)."""
    return " ".join(f"{kind.upper()}, mean decoding, from P(Z): "
                    f"{closest_words(closest_approach(r['mean']['P']))}."
                    for kind, r in results.items())


def step_one_interval(curve: dict) -> tuple[float, float, float]:
    """MMD^2 at step 1 minus step 0 for chains from P(Z): the estimate and its 95% interval,
    paired over the chains by the bootstrap."""
    diff = curve["boot"][:, 1] - curve["boot"][:, 0]
    lo, hi = np.quantile(diff, [0.025, 0.975])
    return float(curve["mmd"][1] - curve["mmd"][0]), float(lo), float(hi)


def norm_dip_sentence(results: dict[str, dict]) -> str:
    """How one mean-decoding step changes the mean latent norm of the chains started at Q(Z)."""
    drops = {kind.upper(): (r["mean"]["Q"]["norm"][0], r["mean"]["Q"]["norm"][1])
             for kind, r in results.items()}
    shrunk = [k for k, (a, b) in drops.items() if b < a]
    parts = ", ".join(f"{k} {a:.2f} → {b:.2f} ({b / a - 1:+.0%})" for k, (a, b) in drops.items())
    text = f"One mean-decoding step from Q(Z) changes the mean ‖z‖: {parts}."
    if len(shrunk) == len(drops):
        text += (" Every model's step shrinks it: the decoder returns pixel means, smoother and "
                 "more average images than real digits, and the encoder puts such images nearer "
                 "the centre of Q(Z).")
    return text


def figure_sentence(results: dict[str, dict]) -> str:
    """What Figure 4 shows, from its own numbers (Markdown)."""
    kinds = [k.upper() for k in results]
    left = [k.upper() for k, r in results.items() if r["mean"]["Q"]["mmd"][-1] > r["tau"]]
    rise = [k.upper() for k, r in results.items()
            if r["mean"]["P"]["mmd"][-1] > r["mean"]["P"]["mmd"].min() + 2 * _se_at_min(r)]
    dip = [k.upper() for k, r in results.items()
           if k.upper() in rise and np.argmin(r["mean"]["P"]["mmd"]) > 0]
    return (f"The blue lines (chains started at Q(Z)) leave the grey noise band and end above it "
            f"for {_names(left, len(kinds))} with mean decoding: for those models Q(Z) is not the "
            f"chain's stationary distribution. The red mean-decoding lines (from P(Z)) end more "
            f"than two standard errors above their lowest point for {_names(rise, len(kinds))}"
            + (f"; of those, {', '.join(dip)} first dipped below their start, then drifted away "
               "from Q(Z)." if dip else "."))


def _se_at_min(r: dict) -> float:
    curve = r["mean"]["P"]
    return float(curve["boot"][:, int(np.argmin(curve["mmd"]))].std(ddof=1))


def summary_sentence(results: dict[str, dict]) -> str:
    """The chapter's finding on the trained models, in one paragraph (Markdown)."""
    kinds = [k.upper() for k in results]
    stay = [k.upper() for k, r in results.items() if r["mean"]["Q"]["mmd"][-1] <= r["tau"]]
    def words(c: dict) -> str:
        if c["step"] == 0:
            return "step 0 (no later step came closer)"
        verdict = "clearly below" if c["vs0"][1] < 0 else "no clear difference from"
        return f"step {c['step']} ({c['mmd']:.4f} ± {c['se']:.4f}, {verdict} step 0)"

    steps = ", ".join(f"{k.upper()} {words(closest_approach(r['mean']['P']))}"
                      for k, r in results.items())
    return (f"On the trained models, the authors' chain (mean decoding) started at Q(Z) stayed "
            f"within the noise level of Q(Z) for {_names(stay, len(kinds))} after the last step. "
            f"From P(Z) its chains came closest to Q(Z) at: {steps}.")
