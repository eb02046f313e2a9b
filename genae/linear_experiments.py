"""Chapter 03's linear-Gaussian experiments: where the chain of Eq. 1 and 2 settles (section 3.2).

:mod:`genae.linear` holds the model and its closed forms; this module runs the
chapter's experiment on them, so that the chapter shows only the calls that teach:

- :func:`make_setup`: the five-dimensional Gaussian data P(x), the prior, and the
  far-away start z0 from which every chain is watched;
- :func:`study`: one setting (a model and the chain it runs, ``decode="sample"``
  for Eq. 1 as written, ``"mean"`` for the authors' code): its stationary
  distribution, its distances to Q(Z) and P(Z), and ``run_chain`` on it, checked
  against the closed form;
- :func:`distance_paths`: W2 from z_t to Q(Z) and to P(Z) at every step, from the
  *same* chain as the setting (its ``decode``). The table, the figure and the
  printed lines all read a setting's chain from here, so they cannot disagree
  (the chapter once printed the mean-decoding chain's distances under a sampled
  chain's table);
- :func:`settings_table`, :func:`plot_ellipses`, :func:`plot_distances` and the
  ``*_sentence`` functions: what the chapter shows of them.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch
from matplotlib import pyplot as plt
from matplotlib.figure import Figure
from matplotlib.patches import Ellipse

from genae.gaussians import Gaussian, kl, moment_z_scores, w2
from genae.linear import (
    LinearGaussianAE,
    aggregate_posterior,
    chain_marginals,
    decoded,
    fit_ppca,
    spectral_radius,
    stationary,
    transition,
)
from genae.mcmc import run_chain

# An uneven spectrum, so that a two-dimensional model cannot fit the data exactly.
DATA_SPECTRUM = (4.0, 1.5, 0.5, 0.35, 0.25)
# z0 far from P(Z) and Q(Z), with a small spread, so that the chain is seen to move.
START_MEAN, START_VAR = (2.5, -2.0), 0.05
Z_BOUND = 5.0  # simulated moments must lie within this many Monte-Carlo standard errors
CHECK_STEPS = (1, 5)  # steps (besides the last) at which the simulation is checked


@dataclass(frozen=True)
class LinearSetup:
    """What every setting of the chapter shares: the data, the prior, the start, the sizes."""

    data: Gaussian  # P(x)
    prior: Gaussian  # P(z) = N(0, I)
    start: Gaussian  # the distribution of z0
    n_samples: int  # simulated chains per setting
    steps: int  # chain length
    seed: int


def make_setup(seed: int, n_samples: int, steps: int, latent_dim: int = 2) -> LinearSetup:
    """The chapter's data N(mu, U diag(DATA_SPECTRUM) U^T) with a random rotation U, and z0."""
    rng = np.random.default_rng(seed)
    d = len(DATA_SPECTRUM)
    basis = np.linalg.qr(rng.normal(size=(d, d)))[0]
    data = Gaussian(rng.normal(size=d), basis @ np.diag(DATA_SPECTRUM) @ basis.T)
    start = Gaussian(np.array(START_MEAN), START_VAR * np.eye(latent_dim))
    return LinearSetup(data, Gaussian.standard(latent_dim), start, n_samples, steps, seed)


def draw_data(setup: LinearSetup, n: int, draw_seed: int) -> np.ndarray:
    """``n`` samples of P(x), from numpy's generator so that no table depends on torch's."""
    eps = np.random.default_rng(draw_seed).standard_normal((n, setup.data.dim))
    return setup.data.mean + eps @ np.linalg.cholesky(setup.data.cov).T


def simulate(model: LinearGaussianAE, setup: LinearSetup, decode: str) -> torch.Tensor:
    """``run_chain`` on ``setup.n_samples`` chains from z0 ~ ``setup.start``: (steps + 1, n, k)."""
    generator = torch.Generator().manual_seed(setup.seed)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # 2-D latents: more threads only add overhead
    try:
        z0 = setup.start.sample(setup.n_samples, generator=generator)
        return run_chain(model, z0, setup.steps, generator=generator, decode=decode)
    finally:
        torch.set_num_threads(threads)


def worst_z(model: LinearGaussianAE, setup: LinearSetup, trajectory: torch.Tensor,
            decode: str) -> float:
    """The largest z-score of the simulated means and covariances against the closed form.

    At steps 1, 5 and the last; raises ``AssertionError`` above :data:`Z_BOUND`, so a
    simulation that disagrees with the formula by more than sampling noise is caught.
    """
    marginals = chain_marginals(model, setup.start, len(trajectory) - 1, decode=decode)
    scores = [np.concatenate([z.ravel() for z in moment_z_scores(trajectory[t], marginals[t])])
              for t in (*CHECK_STEPS, len(trajectory) - 1)]
    worst = float(np.max(np.concatenate(scores)))
    assert worst < Z_BOUND, f"simulation and closed form differ by {worst:.1f} standard errors"
    return worst


def joint_of_conditionals(model: LinearGaussianAE, decode: str) -> np.ndarray | None:
    """The z-covariance of the Gaussian joint whose conditionals are the decoder and encoder.

    ``None`` when there is none. The chain's x (x~ for Eq. 2) given z is
    N(Wz + b, (s^2 + sigma_n^2) I), s = 0 for mean decoding: that is the conditional to
    match against the encoder N(Ax + c, S). They are one joint's conditionals exactly when
    S^-1 A = W^T / s^2 and S^-1 - W^T W / s^2 is positive definite.
    """
    s_dec = model.decoder_std if decode == "sample" else 0.0
    W, A, S = (getattr(model, n).numpy() for n in ("W", "A", "S"))
    s = np.hypot(s_dec, model.denoise_std)
    if s == 0 or np.linalg.matrix_rank(S) < len(S):
        return None  # a deterministic decoder or encoder has no joint density
    S_inv = np.linalg.inv(S)
    schur = S_inv - W.T @ W / s**2
    consistent = np.allclose(S_inv @ A, W.T / s**2, atol=1e-9)
    if not consistent or np.linalg.eigvalsh(schur).min() <= 0:
        return None
    return np.linalg.inv(schur)


def study(name: str, model: LinearGaussianAE, setup: LinearSetup, *, decode: str,
          corrupted: bool = True) -> dict:
    """One setting: the chain's stationary Pi, its distances, and the simulation check.

    ``decode`` is required, as in :mod:`genae.linear`: ``"sample"`` is Eq. 1 (Eq. 2 with
    corruption) as written, ``"mean"`` the authors' code. Every number of the setting,
    closed form or simulated, is of that one chain.
    """
    pi = stationary(model, decode=decode)
    q = aggregate_posterior(model, setup.data, corrupted)
    trajectory = simulate(model, setup, decode)
    return dict(
        name=name, model=model, decode=decode, pi=pi, q=q, trajectory=trajectory,
        rho=spectral_radius(transition(model, decode=decode)[0]),
        kl_pi_q=kl(pi, q), kl_pi_p=kl(pi, setup.prior),
        w2_pi_q=w2(pi, q), w2_pi_p=w2(pi, setup.prior),
        gap=w2(decoded(model, q), setup.data),
        joint="no" if joint_of_conditionals(model, decode) is None else "yes",
        max_z=worst_z(model, setup, trajectory, decode),
    )


def distance_paths(r: dict, setup: LinearSetup) -> dict[str, np.ndarray]:
    """W2(z_t, Q(Z)) and W2(z_t, P(Z)) for t = 0..steps, closed form, of the setting's chain.

    Read by :func:`plot_distances` and :func:`distance_sentence` alike, with the
    setting's own ``decode``, so the figure and the printed lines show the chain
    whose stationary distribution :func:`settings_table` reports.
    """
    marginals = chain_marginals(r["model"], setup.start, setup.steps, decode=r["decode"])
    return {"Q(Z)": np.array([w2(g, r["q"]) for g in marginals]),
            "P(Z)": np.array([w2(g, setup.prior) for g in marginals])}


def settings_table(rows: list[dict]) -> pd.DataFrame:
    """The closed-form summary of each setting: spectral radius, distances, the joint."""
    columns = {"decode": "decode", "rho": "ρ(M)", "kl_pi_q": "KL(Π‖Q)", "kl_pi_p": "KL(Π‖P)",
               "w2_pi_q": "W2(Π,Q)", "w2_pi_p": "W2(Π,P)", "gap": "W2(Q̄,P(x))",
               "joint": "one joint?"}
    table = pd.DataFrame([{label: r[key] for key, label in columns.items()} for r in rows],
                         index=pd.Index([r["name"] for r in rows], name="setting"))
    return table.round(4)


def distance_sentence(r: dict, setup: LinearSetup, mid: int = 5) -> str:
    """W2 from z_t to Q(Z) at steps 0, ``mid`` and the last, of the setting's own chain."""
    to_q = distance_paths(r, setup)["Q(Z)"]
    return (f"{r['name']} (decode=\"{r['decode']}\"): W2(z_t, Q(Z)) = {to_q[0]:.3f} at t = 0, "
            f"{to_q[mid]:.3f} at t = {mid}, {to_q[-1]:.3f} at t = {setup.steps}, "
            f"towards W2(Π, Q(Z)) = {r['w2_pi_q']:.3f} (ρ(M) = {r['rho']:.3f}).")


def destination_sentence(r: dict, setup: LinearSetup) -> str:
    """Where the setting's chain settles, and how close the simulated chains came to Pi."""
    same_as = [name for name, d in (("Q(Z)", r["w2_pi_q"]), ("P(Z)", r["w2_pi_p"])) if d < 1e-6]
    where = " and ".join(same_as) if same_as else "neither Q(Z) nor P(Z)"
    sim = Gaussian.from_samples(r["trajectory"][-1])
    return (f"{r['name']}: the chain settles on {where}; after {setup.steps} steps the "
            f"simulated ellipse is W2 = {w2(sim, r['pi']):.3f} from Π (simulation within "
            f"{r['max_z']:.2f} standard errors of the closed form).")


def _ellipse(ax: plt.Axes, g: Gaussian, **style: object) -> None:
    """The 2-standard-deviation ellipse of a 2-D Gaussian (86% of its mass)."""
    values, vectors = np.linalg.eigh(g.cov)
    angle = np.degrees(np.arctan2(vectors[1, -1], vectors[0, -1]))
    sizes = 4 * np.sqrt(np.clip(values[::-1], 0, None))
    ax.add_patch(Ellipse(g.mean, *sizes, angle=angle, fill=False, **style))


def _ellipse_panel(ax: plt.Axes, r: dict, setup: LinearSetup, show_steps: tuple[int, ...],
                   legend: bool) -> None:
    """One setting: z_t's closed-form ellipses (grey, darker later), the simulated last step,
    P(Z), Q(Z) and Pi."""
    marginals = chain_marginals(r["model"], setup.start, setup.steps, decode=r["decode"])
    for i, t in enumerate(show_steps):
        _ellipse(ax, marginals[t], color=plt.cm.Greys(0.35 + 0.6 * i / len(show_steps)), lw=1)
        if t <= 5:  # later steps crowd the centre
            ax.annotate(f"t={t}", marginals[t].mean, fontsize=7, color="0.3", ha="center")
    _ellipse(ax, Gaussian.from_samples(r["trajectory"][-1]), color="tab:orange", lw=3, ls=":",
             label=f"simulated, t={setup.steps}")
    _ellipse(ax, setup.prior, color="black", lw=1.5, ls="--", label="P(Z)")
    _ellipse(ax, r["q"], color="tab:blue", lw=1.5, label="Q(Z)")
    _ellipse(ax, r["pi"], color="tab:red", lw=1.5, ls="-.", label="stationary Π")
    ax.set(title=f"{r['name']}\n(decode=\"{r['decode']}\")", xlim=(-3.2, 4.2), ylim=(-4.2, 3.2),
           aspect="equal", xlabel="$z_1$", ylabel="$z_2$")
    ax.title.set_fontsize(9)
    if legend:
        ax.legend(fontsize=7, loc="upper right")


def plot_ellipses(rows: list[dict], setup: LinearSetup) -> Figure:
    """One panel per setting: where the chain goes from z0, step by step (Figures 1 and 3)."""
    show_steps = (0, 1, 2, 5, 10, setup.steps)
    fig, axes = plt.subplots(1, len(rows), figsize=(4 * len(rows), 4.6))
    for i, (ax, r) in enumerate(zip(np.atleast_1d(axes), rows)):
        _ellipse_panel(ax, r, setup, show_steps, legend=i == 0)
    fig.tight_layout()
    return fig


def plot_distances(rows: list[dict], setup: LinearSetup) -> Figure:
    """W2 from z_t to Q(Z) and P(Z) per step: closed form (lines), simulated (circles) (Figure 2).

    The dotted grey line is what sampling noise alone gives: W2 from the sample moments
    of ``n_samples`` fresh draws of the last step's exact distribution to that distribution.
    """
    fig, axes = plt.subplots(1, len(rows), figsize=(4 * len(rows), 3.4), sharey=True)
    sim_steps = (*CHECK_STEPS, setup.steps)
    for ax, r in zip(np.atleast_1d(axes), rows):
        paths = distance_paths(r, setup)
        last = chain_marginals(r["model"], setup.start, setup.steps, decode=r["decode"])[-1]
        for (name, path), colour in zip(paths.items(), ("tab:blue", "black")):
            target = r["q"] if name == "Q(Z)" else setup.prior
            ax.plot(path, color=colour, label=f"W2(z_t, {name})")
            simulated = [w2(Gaussian.from_samples(r["trajectory"][t]), target) for t in sim_steps]
            ax.plot(sim_steps, simulated, "o", color=colour, mfc="none")
        g = torch.Generator().manual_seed(setup.seed + 2)
        fresh = last.sample(setup.n_samples, generator=g)
        ax.axhline(w2(Gaussian.from_samples(fresh), last), color="0.6", ls=":",
                   label="sampling noise")
        ax.set(title=f"{r['name']}\n(decode=\"{r['decode']}\")", xlabel="step t", yscale="log",
               ylim=(1e-3, 5))
        ax.title.set_fontsize(9)
    np.atleast_1d(axes)[0].set_ylabel("2-Wasserstein distance")
    np.atleast_1d(axes)[0].legend(fontsize=8)
    fig.tight_layout()
    return fig


def exact_posterior_sentence(r: dict, setup: LinearSetup) -> str:
    """Where the chain of a setting with an exact-posterior encoder goes, and the decoder's gap.

    By the chapter's Gibbs proposition the chain goes to P(Z); whether that is Q(Z) is read
    off the numbers, and so is whether the sufficient condition (decoded Q(Z) = P(x)) holds.
    """
    w2_qp = w2(r["q"], setup.prior)
    head = (f"{r['name']}: W2(Π, P(Z)) = {r['w2_pi_p']:.1e}, W2(Π, Q(Z)) = {r['w2_pi_q']:.4f}, "
            f"W2(Q(Z), P(Z)) = {w2_qp:.4f}; the decoded Q(Z) is W2 = {r['gap']:.3f} from the data.")
    if r["w2_pi_q"] < 1e-6 and r["gap"] > 1e-3:
        return (head + " Π, P(Z) and Q(Z) agree to rounding although the decoded Q(Z) is not "
                "the data: the sufficient condition fails and Q(Z) is stationary anyway.")
    if r["w2_pi_p"] < 1e-6:
        return head + " The chain goes to P(Z), and Q(Z), the encodings of the data, is elsewhere."
    return head


def fit_size_table(setup: LinearSetup, sizes: tuple[int, ...], draw_seed: int) -> pd.DataFrame:
    """pPCA fitted on more and more samples of P(x), exact posterior, the chain of Eq. 1:
    W2 from its stationary distribution to P(Z) and to Q(Z) (closed forms only)."""
    rows = []
    for n_fit in sizes:
        model = LinearGaussianAE.from_decoder(*fit_ppca(draw_data(setup, n_fit, draw_seed),
                                                        setup.prior.dim))
        pi = stationary(model, decode="sample")
        rows.append({"samples fitted": n_fit, "W2(Π, P(Z))": w2(pi, setup.prior),
                     "W2(Π, Q(Z))": w2(pi, aggregate_posterior(model, setup.data))})
    table = pd.DataFrame(rows).set_index("samples fitted")
    table["W2(Π, P(Z))"] = table["W2(Π, P(Z))"].map(lambda v: f"{v:.1e}")
    return table.round(4)


def shrunk_sentence(r: dict, setup: LinearSetup) -> str:
    """Where the chain of an encoder that is no exact posterior goes, against Q(Z) and P(Z)."""
    closer = "Q(Z)" if r["w2_pi_q"] < r["w2_pi_p"] else "P(Z)"
    neither = min(r["w2_pi_q"], r["w2_pi_p"]) > 1e-3
    return (f"{r['name']}: the chain goes to "
            f"{'neither Q(Z) nor P(Z)' if neither else closer}: W2(Π, Q(Z)) = "
            f"{r['w2_pi_q']:.4f}, W2(Π, P(Z)) = {r['w2_pi_p']:.4f} (KL {r['kl_pi_q']:.4f} and "
            f"{r['kl_pi_p']:.4f}); it is closer to {closer}. Its covariance has trace "
            f"{np.trace(r['pi'].cov):.3f}, Q(Z)'s {np.trace(r['q'].cov):.3f}, P(Z)'s "
            f"{setup.prior.dim}.")


def mean_decoding_sentence(chains: list[dict], setup: LinearSetup) -> str:
    """What mean decoding does to the stationary distribution, plain and with corruption.

    ``chains``: the ML pPCA model sampled and mean-decoded, then the denoising model
    sampled and mean-decoded (section 3 of the chapter). The plain model's mean-decoding
    variances are set beside the prediction 1 / (2 - s^2 / lambda_i).
    """
    s = chains[1]["model"].decoder_std
    lam = np.linalg.eigvalsh(setup.data.cov)[::-1][: setup.prior.dim]
    predicted = np.sort(1 / (2 - s**2 / lam))
    found = np.linalg.eigvalsh(chains[1]["pi"].cov)
    narrower = [r for r in chains if np.trace(r["pi"].cov) < np.trace(r["q"].cov) - 1e-6]
    on_q = [r for r in chains if r["w2_pi_q"] < 1e-6]

    def names(rows: list[dict]) -> str:
        return ", ".join(f"{r['name']} with decode=\"{r['decode']}\"" for r in rows)

    return (f"Π is narrower than Q(Z) for {names(narrower) or 'no chain'}, and equal to Q(Z) "
            f"for {names(on_q) or 'no chain'}. The plain model's mean-decoding variances are "
            f"{np.round(found, 3)}, predicted 1/(2 - s²/λ_i) = {np.round(predicted, 3)}; with "
            f"corruption W2(Π, Q(Z)) = {chains[3]['w2_pi_q']:.3f}, against "
            f"{chains[1]['w2_pi_q']:.3f} without.")
