"""Measuring every trained model of several seeds along the chain (section 4.5, chapter 09's live
run).

:func:`measure_models` runs :func:`genae.evaluate.evaluate_chain` for each model and each chain
asked for, and adds the real-vs-real and decoded-Q(Z) rows of each model, all in one table with
``model``, ``seed`` and ``variant`` columns (the layout of the stored results, so
:mod:`genae.stored_tables` reads both). :func:`latent_tests` asks, at chosen steps, whether the
chain's latents could come from Q(Z), with the single median-width MMD and with the multi-scale
MMD's permutation test, which keeps its power in more dimensions.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import pandas as pd
import torch
from torch import Tensor, nn

from genae.chainstats import aggregate_posterior
from genae.evaluate import evaluate_chain, posterior_baseline, real_baseline
from genae.infra.devices import model_device
from genae.mcmc import run_chain, sample_prior
from genae.metrics import mmd_permutation_test
from genae.stored_tables import VARIANTS, name_variants

#: the chain's name -> (chain, decode, sample), the inverse of VARIANTS
CHAINS = {name: key for key, name in VARIANTS.items()}


def measure_models(models: Mapping[tuple[str, int], nn.Module], extractor, real_a: Tensor,
                   real_b: Tensor, chains: Sequence[str] = ("mean decoding",),
                   steps: Sequence[int] = (0, 1, 2, 5, 10),
                   n_samples: int | None = None) -> pd.DataFrame:
    """Every (kind, seed) model along each chain of ``chains`` (names of :data:`CHAINS`), and its
    two baselines; ``real_b`` is the reference, ``real_a`` the other half of the held-out images.

    ``n_samples`` chains per model (default: ``len(real_a)``, so every row compares as many
    images as real-vs-real does). The model's seed also seeds its chains.
    """
    unknown = [c for c in chains if c not in CHAINS]
    if unknown:
        raise ValueError(f"unknown chain(s) {unknown}: choose from {list(CHAINS)}")
    n = len(real_a) if n_samples is None else n_samples
    parts = []
    for (kind, seed), model in models.items():
        for name in chains:
            chain, decode, sample = CHAINS[name]
            parts.append(evaluate_chain(model, extractor, real_b, n_samples=n, steps=steps,
                                        sample=sample, interpolation_steps=None, seed=seed,
                                        decode=decode, chain=chain).assign(model=kind, seed=seed))
        for base in (real_baseline, posterior_baseline):
            parts.append(base(model, extractor, real_a, real_b, seed=seed)
                         .assign(model=kind, seed=seed, chain=None, decode=None))
    return name_variants(pd.concat(parts, ignore_index=True))


@torch.no_grad()
def latent_tests(models: Mapping[str, nn.Module], real: Tensor, steps: Sequence[int] = (0, 1, 10),
                 n_permutations: int = 200, seed: int = 0) -> pd.DataFrame:
    """Could the chain's latents at each step come from Q(Z)? One row per (model, step).

    As many chains (z0 ~ P(Z), the authors' chain) as ``real`` has images are compared with one
    draw of Q(Z) per image (:func:`genae.chainstats.aggregate_posterior`). ``p_median``: the
    permutation p-value of the single median-width Gaussian MMD (the ``mmd_q`` of the tables);
    ``p_multiscale``: the same test with the kernel summed over several widths.
    """
    rows = []
    for kind, model in models.items():
        dev = model_device(model)
        g = torch.Generator(device=dev).manual_seed(seed)
        q = aggregate_posterior(model, real, g)
        z0 = sample_prior(len(real), model.latent_dim, generator=g, device=dev)
        trajectory = run_chain(model, z0, max(steps), generator=g, decode="mean").cpu()
        for s in steps:
            single = mmd_permutation_test(trajectory[s], q, scales=(1.0,),
                                          n_permutations=n_permutations, seed=seed)
            multi = mmd_permutation_test(trajectory[s], q, n_permutations=n_permutations,
                                         seed=seed)
            rows.append({"model": kind.upper(), "step": s, "mmd_median": single["statistic"],
                         "p_median": single["p_value"], "mmd_multiscale": multi["statistic"],
                         "p_multiscale": multi["p_value"]})
    return pd.DataFrame(rows).set_index(["model", "step"])


@torch.no_grad()
def kid_kernel_mean(extractor, real_a: Tensor, real_b: Tensor, degree: int = 3) -> float:
    """The mean of KID's kernel (x.y / D + 1)^degree between the features of two sets of real
    images: the scale KID's values are measured in."""
    a, b = extractor.features(real_a).double(), extractor.features(real_b).double()
    return float(((a @ b.T / a.shape[1] + 1) ** degree).mean())


def degradation_ranks(extractors: Mapping[str, object], images: Tensor, labels: Tensor,
                      reference: Tensor) -> pd.DataFrame:
    """Does each image metric rank controlled damage correctly, in each extractor? The rows of
    :func:`genae.degrade.ranking_check` for every extractor (named by the keys), from
    :func:`genae.degrade.degradation_table` of ``images`` against ``reference``."""
    from genae.degrade import degradation_table, ranking_check

    return pd.concat([ranking_check(degradation_table(x, reference, images, labels))
                      .assign(extractor=name) for name, x in extractors.items()],
                     ignore_index=True)
