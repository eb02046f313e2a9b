"""Chapter 10's plumbing: the samplers of :mod:`genae.samplers` measured, drawn and put into words.

- :func:`load_split`: a data set's images as one tensor (the samplers' fits and references).
- :func:`measure_samplers`: every standard sampler on every model (:func:`genae.samplers.compare`),
  with the latent data-copying statistic C_T of Meehan et al. (2020) per sampler, and the chain's
  FID at each of a few steps (so its best step is reported beside step 10).
- :func:`draw_samplers`: one panel per model, one row per sampler, the same generator state in
  every row.
- :func:`sampler_sentences`, :func:`recommendation`, :func:`stored_sentence`: the generated
  sentences, from the live table or the stored one (``reference/ch10.py``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import matplotlib.pyplot as plt
import pandas as pd
import torch
from torch import Tensor, nn

from genae import metrics
from genae.chainstats import aggregate_posterior, decode_latents
from genae.infra.devices import model_device
from genae.mcmc import run_chain, sample_prior
from genae.plots import show_paths
from genae.samplers import TwoStageSampler, compare, standard_fit_data, standard_samplers
from genae.summary import paired_interval, paired_p_value

REFERENCE = "Q(Z)"  # replays training images: left out of every "best sampler"
CHAIN_STEPS = (1, 2, 5, 10)  # the steps at which the live chain's FID is measured
BEST = "chain (best step)"  # the stored run's chain at the step chosen on other images


def load_split(dataset: str, split: str, image_size: int, root: str | None = None) -> Tensor:
    """The images of one split of a data set (N, C, H, W), as one tensor."""
    from genae.data import load_images

    data = load_images(dataset, split, image_size=image_size, root=root)
    if hasattr(data, "tensors"):  # the offline sets are TensorDatasets: no copy needed
        return data.tensors[0]
    return torch.stack([data[i][0] for i in range(len(data))])


@torch.no_grad()
def chain_fid_by_step(model: nn.Module, extractor, real: Tensor, n: int, seed: int,
                      steps: Sequence[int] = CHAIN_STEPS) -> dict[int, float]:
    """FID of the authors' chain (mean decoding) from n prior draws at step 0 and at ``steps``."""
    g = torch.Generator(device=model_device(model)).manual_seed(seed)
    z0 = sample_prior(n, model.latent_dim, generator=g, device=model_device(model))
    path = run_chain(model, z0, max(steps), generator=g, decode="mean")
    real_feats = extractor.features(real)
    return {s: metrics.frechet_distance(extractor.features(decode_latents(model, path[s])),
                                        real_feats) for s in (0, *steps)}


def measure_samplers(models: Mapping[str, nn.Module], train: Tensor, real: Tensor, extractor,
                     n: int, seed: int = 0, steps: int = 10,
                     two_stage_epochs: int | None = None) -> tuple[pd.DataFrame, dict, dict]:
    """Fit, draw and measure every standard sampler on every model.

    Returns the table (one row per model and sampler: the columns of :func:`compare`, with
    ``copying_ct``, C_T of the latents against the training codes, held-out codes as fresh data),
    the fitted samplers per model (for :func:`draw_samplers`) and the chain's FID per step per
    model (:func:`chain_fid_by_step`). ``two_stage_epochs`` shortens the second-stage VAE's
    training (its default, 100 epochs, is most of the run's cost on a CPU).
    """
    rows, fitted, by_step = [], {}, {}
    for kind, model in models.items():
        g = torch.Generator().manual_seed(seed)
        train_codes, q = aggregate_posterior(model, train, g), aggregate_posterior(model, real, g)
        samplers = fitted[kind] = standard_samplers(model, steps=steps, seed=seed)
        if two_stage_epochs is not None:
            samplers["two-stage VAE"] = TwoStageSampler(epochs=two_stage_epochs, seed=seed)
        fits = standard_fit_data(samplers, train, train_codes, seed)
        table = compare(model, samplers, fits, extractor, real, train, q, n=n, seed=seed,
                        copying_train=train_codes)
        rows.append(table.assign(model=kind, seed=seed))  # one seed: paired tests need it
        by_step[kind] = chain_fid_by_step(model, extractor, real, n, seed)
    return pd.concat(rows, ignore_index=True), fitted, by_step


def draw_samplers(models: Mapping[str, nn.Module], fitted: Mapping[str, dict], n_show: int = 6,
                  seed: int = 0) -> plt.Figure:
    """One panel per model (2 x 2), one row per sampler, ``n_show`` samples each; every row draws
    with a generator in the same state, so the prior and chain rows share z0."""
    fig, axes = plt.subplots(2, 2, figsize=(12, 11), layout="constrained")
    for ax, (kind, model) in zip(axes.flat, models.items()):
        rows = [s.sample(n_show, torch.Generator().manual_seed(seed))
                for s in fitted[kind].values()]
        show_paths(model, rows, list(fitted[kind]), ax=ax)
        ax.set_title(kind.upper(), fontsize=13)
        ax.set_xlabel(f"{n_show} samples per sampler (the same generator state in every row)")
    return fig


def ink(models: Mapping[str, nn.Module], fitted: Mapping[str, dict], n: int = 200,
        seed: int = 0) -> pd.DataFrame:
    """The mean pixel value (the ink) of n decoded samples, per model (columns) and sampler."""
    return pd.DataFrame({kind: {name: float(decode_latents(
        models[kind], s.sample(n, torch.Generator().manual_seed(seed))).mean())
        for name, s in fitted[kind].items()} for kind in models})


def ink_sentence(table: pd.DataFrame) -> str:
    """Whether the chain's samples carry less ink than the prior's they started from."""
    fainter = [k.upper() for k in table if table.loc["chain", k] < table.loc["prior", k]]
    values = ", ".join(f"{k.upper()} {table.loc['prior', k]:.3f} → {table.loc['chain', k]:.3f}"
                       for k in table)
    return (f"The chain's samples carry less ink than the prior draws they started from for "
            f"{len(fainter)} of {table.shape[1]} models ({', '.join(fainter) or 'none'}): the "
            f"mean pixel value goes {values} over 200 samples.")


def _paired(frame: pd.DataFrame, a: str, b: str, metric: str = "fid") -> str:
    """'b - a' over seeds: the mean change with its 95% interval (or the one value, one seed)."""
    wide = frame.pivot_table(index="seed", columns="sampler", values=metric)
    d = (wide[b] - wide[a]).dropna().to_numpy()
    if len(d) < 2:
        return f"{d.mean():+.3g}"
    low, high = paired_interval(d)
    return f"{d.mean():+.3g} [95% CI {low:.3g}, {high:.3g}; p = {paired_p_value(d):.2g}]"


def _model_sentence(kind: str, f: pd.DataFrame) -> str:
    """One model's bullet from its rows (one or more seeds)."""
    v = f.groupby("sampler", sort=False).mean(numeric_only=True)
    top = v.drop(index=REFERENCE).fid.idxmin()
    line = (f"- **{kind.upper()}**: lowest FID without replaying training images: {top} "
            f"({v.fid[top]:.3g}; Q(Z) itself {v.fid[REFERENCE]:.3g}, the prior "
            f"{v.fid['prior']:.3g}). The chain changes the prior's FID by "
            f"{_paired(f, 'prior', 'chain')}")
    if BEST in v.index:
        steps = sorted(f[f.sampler == BEST].chain_step.dropna().astype(int).unique())
        line += (f"; at its best step (chosen on other images and chains: step "
                 f"{', '.join(map(str, steps))}), by {_paired(f, 'prior', BEST)}")
    line += (f". Started from the mixture, its MMD to Q(Z) goes {v.mmd_q['mixture']:.2g} → "
             f"{v.mmd_q['mixture + chain']:.2g} and its FID {v.fid['mixture']:.3g} → "
             f"{v.fid['mixture + chain']:.3g}")
    if "adversary" in v.index:
        line += (f"; the adversary's rejection sampler keeps {v.acceptance['adversary']:.0%} of "
                 f"its proposals (FID {v.fid['adversary']:.3g})")
    return line + "." + _copy_clause(v, top)


def _copy_clause(v: pd.DataFrame, top: str) -> str:
    """The two memorisation checks of the best sampler, beside Q(Z)'s."""
    text = (f" Its images lie {v.nearest[top]:.3g} from their nearest training image (Q(Z)'s: "
            f"{v.nearest[REFERENCE]:.3g})")
    ct = v.get("copying_ct")
    if ct is not None and pd.notna(ct[top]):
        flag = "copying" if ct[top] < -3 else "no sign of copying"
        text += (f"; its C_T is {ct[top]:.2g} (Q(Z)'s {ct[REFERENCE]:.2g}; below -3 flags "
                 f"copying): {flag}")
    return text + "."


def sampler_sentences(frame: pd.DataFrame) -> str:
    """One generated bullet per model: the best sampler, the chain, the mixture + chain, the
    adversary, and memorisation."""
    return "\n".join(_model_sentence(kind, f) for kind, f in frame.groupby("model", sort=False))


def best_step_sentence(by_step: Mapping[str, Mapping[int, float]]) -> str:
    """Per model: the live chain's FID at its best step and at its last, against step 0."""
    parts = []
    for kind, fid in by_step.items():
        best = min((s for s in fid if s), key=fid.get)
        last = max(fid)
        parts.append(f"{kind.upper()} {fid[0]:.3g} at step 0, lowest at step {best} "
                     f"({fid[best]:.3g}), {fid[last]:.3g} at step {last}")
    return ("The chain's FID by step (one seed; the best step is chosen on the same samples, "
            "so it flatters the chain): " + "; ".join(parts) + ".")


def recommendation(frame: pd.DataFrame) -> str:
    """Per model: the sampler with the lowest mean FID and the runner-up, Q(Z) left out."""
    lines = []
    for kind, f in frame.groupby("model", sort=False):
        fid = f.groupby("sampler", sort=False).fid.mean().drop(index=REFERENCE)
        pick, runner = fid.nsmallest(2).index
        lines.append(f"- {kind.upper()}: **{pick}** (FID {fid[pick]:.3g}; next {runner}, "
                     f"{fid[runner]:.3g}; the chain from the prior {fid['chain']:.3g})")
    return "\n".join(lines)


def stored_sentence(meta: dict, stored: pd.DataFrame) -> str:
    """What the stored run measured, from its provenance and rows."""
    model = meta.get("settings", {}).get("model", {})
    counts = stored.groupby(["latent_dim", "model"]).seed.nunique()
    seeds = (f"{counts.min()}" if counts.min() == counts.max()
             else f"{counts.min()}-{counts.max()}")
    dims = ", ".join(str(d) for d in sorted(stored.latent_dim.unique()))
    return (f"The stored run (`{meta['command']}`, commit {meta['git_commit'][:10]}): "
            f"{dims}-D models trained on {model.get('dataset', '?')} for "
            f"{model.get('epochs', '?')} epochs, {seeds} seeds per model, "
            f"{meta.get('settings', {}).get('n') or 'as many'} samples per sampler as reference "
            f"images; torch {meta['versions']['torch']} on {meta['machine']['cpu_count']} cores.")


def _picks(frame: pd.DataFrame) -> dict[str, str]:
    """Per model: the sampler with the lowest mean FID, Q(Z) left out."""
    return {kind: f.groupby("sampler").fid.mean().drop(index=REFERENCE).idxmin()
            for kind, f in frame.groupby("model", sort=False)}


def _chain_effect(frame: pd.DataFrame) -> str:
    """Per model, the chain's FID change from the prior (paired over seeds where there are some)."""
    return "; ".join(f"{kind.upper()} {_paired(f, 'prior', 'chain')}"
                     for kind, f in frame.groupby("model", sort=False))


def _copying_line(stored: pd.DataFrame, picked_ct: list[float]) -> str:
    """The recommended samplers' C_T, and the prior's as a control: its draws never see the
    training set, so a prior flagged as copying says the test misreads this latent space."""
    line = (f"- **Copying**: the recommended samplers' mean $C_T$ ranges from "
            f"{min(picked_ct):.2g} to {max(picked_ct):.2g} (below -3 flags copying: "
            f"{sum(c < -3 for c in picked_ct)} of {len(picked_ct)}).")
    prior = stored[stored.sampler == "prior"].groupby("model", sort=False).copying_ct.mean()
    false = prior[prior < -3]
    if false.empty:
        return line + " The prior, whose draws never see the training set, is flagged for no model."
    return line + (
        " Yet the prior, whose draws never see the training set and so cannot copy it, is "
        "flagged for " + ", ".join(f"the {k.upper()} ($C_T$ = {v:.2g})" for k, v in false.items())
        + f": in this {stored.latent_dim.iloc[0]}-D latent space the test raises false alarms, "
        "so read its flags beside `nearest`, not alone.")


def chapter_summary(live: pd.DataFrame, stored: pd.DataFrame,
                    by_step: Mapping[str, Mapping[int, float]], table: pd.DataFrame,
                    run: Mapping[str, float]) -> str:
    """The chapter's summary, as Markdown bullets generated from its live and stored numbers."""
    live_picks, stored_picks = _picks(live), _picks(stored)
    worse = [k.upper() for k, f in by_step.items() if f[max(f)] > f[0]]
    best = {k: min((s for s in f if s), key=f.get) for k, f in by_step.items()}
    picked_ct = []
    if "copying_ct" in stored:
        top = stored.groupby(["model", "sampler"]).copying_ct.mean()
        picked_ct = [top[k, s] for k, s in stored_picks.items()]
    err = {(r.encoder, r.decode): r.cov_error for r in table.itertuples()}
    seeds = stored.seed.nunique()
    lines = [
        "- **Live** (this chapter's models, one seed): lowest FID without replaying training "
        "images: " + ", ".join(f"{k.upper()} {s}" for k, s in live_picks.items()) + ". The "
        f"chain's FID at step {max(next(iter(by_step.values())))} is above step 0's for "
        f"{len(worse)} of {len(by_step)} models ({', '.join(worse) or 'none'}); its best step: "
        + ", ".join(f"{k.upper()} {s}" for k, s in best.items()) + ".",
        f"- **Stored** ({stored.latent_dim.iloc[0]}-D, {seeds} seeds): lowest mean FID: "
        + ", ".join(f"{k.upper()} {s}" for k, s in stored_picks.items()) + ". The chain changes "
        f"the prior's FID by: {_chain_effect(stored)}.",
    ]
    if picked_ct:
        lines.append(_copying_line(stored, picked_ct))
    lines.append(
        f"- **Exact chain**: in the linear-Gaussian model only Eq. 1's chain with the exact "
        f"posterior keeps the prior (covariance error {err['exact posterior', 'sample']:.2g}; "
        f"mean decoding {err['exact posterior', 'mean']:.3f}, imperfect encoder "
        f"{err['imperfect', 'sample']:.3f}); the exact chain returns to the prior (error "
        f"{run['cov_error']:.3f}), so it cannot be what changes the paper's samples.")
    return "\n".join(lines)
