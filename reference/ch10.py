"""Chapter 10's stored results: every sampler x every model, over several seeds.

The chapter measures the samplers live on its own models only (one latent size,
one seed); this script runs the full table and writes

- ``ch10.csv``: one row per (latent_dim, model, seed, sampler), the columns of
  :func:`genae.samplers.compare` (``copying_ct`` included: the data-copying statistic C_T of the
  sampler's latents, Meehan et al. 2020), plus ``chain_step`` (the steps of a chain row);
- ``ch10.json``: provenance (git commit, command, library versions, machine, threads, run time),
  the settings, and for every model the chain step chosen for the "chain (best step)" row.

It reuses chapter 9's models through :func:`genae.infra.cache.trained_model` with ch09.py's
arguments (its data set, 32x32, width 32, batches of 64, and its longer training length,
``max(ch09.LENGTHS)``), so nothing is trained twice. The held-out split is halved as ch09.py
halves it: the second half is the reference every row is measured against (and Q(Z) for the
MMD), the first half serves only to choose the chain's best step.

The chain is reported at steps 1, 2, 5 and 10 (``chain`` is step 10, as before), and as "chain
(best step)": for each model and seed, the step of 1, 2, 5, 10 with the lowest FID against the
first half, measured on chains of their own (another seed); the row then measures that step with
the same draws as every other row, against the second half. Neither the images nor the draws
that chose the step score it, so the row is not flattered by the choice.

"two-stage VAE" is a simplified version of Dai and Wipf's (2019) sampler: their first stage is a
VAE with a learned-gamma Gaussian decoder; ours is the book's model as trained, with no learned
gamma (see :class:`genae.samplers.TwoStageSampler`).

Run it from the repository root:

    python reference/ch10.py                      # the full table, after reference/ch09.py
    python reference/ch10.py --only vae:16:0 --samplers prior,mixture --out /tmp/x   # one check
"""

from __future__ import annotations

import argparse
import json
import platform
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "reference"))  # ch09.py's constants: one definition of the models
import ch09  # noqa: E402

KINDS = ch09.KINDS
EPOCHS = max(ch09.LENGTHS)  # the longer training length: the loss has flattened (or nearly)
CHAIN_STEPS = (1, 2, 5, 10)
SELECT_SEED_OFFSET = 10_000  # the chains that choose the best step are not the ones it is scored on
TWO_STAGE_NOTE = ("a simplified version of Dai and Wipf (2019): their first stage has a "
                  "learned-gamma Gaussian decoder; ours is the book's model, without one")
#: the columns that a rerun must reproduce (the timings depend on the machine's load)
MEASURED = ("fid", "kid", "precision", "recall", "mmd_q", "nearest", "acceptance")


def git(*cmd: str) -> str:
    try:
        return subprocess.run(["git", *cmd], cwd=ROOT, capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def code_version() -> dict:
    """The commit, and whether genae or this script differ from it: taken when the run starts."""
    return {"git_commit": git("rev-parse", "HEAD"),
            "git_dirty": bool(git("status", "--porcelain", "--", "genae", "reference/ch10.py"))}


def provenance(args: argparse.Namespace, seconds: float, version: dict) -> dict:
    import numpy
    import sklearn

    return {**version,
            "command": " ".join([Path(sys.executable).name, *sys.argv]),
            "versions": {"python": platform.python_version(), "torch": torch.__version__,
                         "scikit-learn": sklearn.__version__, "numpy": numpy.__version__, "pandas": pd.__version__},
            "machine": {"platform": platform.platform(), "processor": platform.processor() or platform.machine(),
                        "cpu_count": __import__("os").cpu_count(), "torch_threads": torch.get_num_threads()},
            "run_seconds": round(seconds, 1),
            "settings": {"latent_dims": args.latent_dims, "seeds": args.seeds, "kinds": args.kinds,
                         "n": args.n, "steps": args.steps, "chain_steps": list(CHAIN_STEPS),
                         "samplers": args.samplers,
                         "model": {"dataset": ch09.DATASET, "image_size": 32, "width": 32,
                                   "epochs": args.epochs, "batch_size": 64},
                         "split": f"the held-out split halved with split_halves(seed={ch09.SPLIT_SEED})"
                                  " as ch09.py does: the second half is the reference and Q(Z), the"
                                  " first half chooses the chain's best step",
                         "best_step": "per model and seed, the step of "
                                      f"{', '.join(map(str, CHAIN_STEPS))} with the lowest FID against"
                                      " the first half, on chains seeded with seed + "
                                      f"{SELECT_SEED_OFFSET}; scored like every row",
                         "two_stage_vae": TWO_STAGE_NOTE,
                         "copying_ct": "genae.metrics.data_copying_ct in latent space: training "
                                       "encodings, Q(Z) on the reference half as held-out, 10 cells"}}


def choose_step(model, extractor, select: torch.Tensor, n: int, seed: int) -> tuple[int, dict]:
    """The chain step of CHAIN_STEPS with the lowest FID against ``select``, on chains of their
    own (mean decoding, stochastic, seeded apart from the scored ones)."""
    from genae.chainstats import decode_latents
    from genae.mcmc import run_chain, sample_prior
    from genae.metrics import frechet_distance

    g = torch.Generator().manual_seed(seed + SELECT_SEED_OFFSET)
    trajectory = run_chain(model, sample_prior(n, model.latent_dim, generator=g), max(CHAIN_STEPS),
                           generator=g)
    ref = extractor.features(select)
    fids = {s: frechet_distance(extractor.features(decode_latents(model, trajectory[s])), ref)
            for s in CHAIN_STEPS}
    return min(fids, key=fids.get), fids


def samplers_for(model, steps: int, seed: int, best: int | None) -> dict:
    """The standard samplers, the chain at each of CHAIN_STEPS, and at the chosen best step."""
    from genae.samplers import ChainSampler, standard_samplers

    samplers = standard_samplers(model, steps=steps, seed=seed)
    for k in CHAIN_STEPS:
        if k != steps:
            samplers[f"chain ({k} step{'s' if k > 1 else ''})"] = ChainSampler(model, k)
    if best is not None:
        samplers["chain (best step)"] = ChainSampler(model, best)
    return samplers


def measure(kind: str, latent_dim: int, seed: int, n: int | None, steps: int, only: list[str] | None,
            extractor, train: torch.Tensor, real: torch.Tensor, select: torch.Tensor,
            epochs: int = EPOCHS) -> tuple[pd.DataFrame, dict]:
    from genae.chainstats import aggregate_posterior
    from genae.infra.cache import trained_model
    from genae.samplers import ChainSampler, compare, standard_fit_data

    model, _ = trained_model(kind, dataset=ch09.DATASET, latent_dim=latent_dim, epochs=epochs,
                             seed=seed, progress=False)
    g = torch.Generator().manual_seed(seed)
    train_codes = aggregate_posterior(model, train, g)  # the fit data: draws of Q(Z) on the training split
    q = aggregate_posterior(model, real, g)  # the MMD's Q(Z): on held-out images
    n = n or len(real)
    wanted = only is None or "chain (best step)" in only
    best, fids = choose_step(model, extractor, select, n, seed) if wanted else (None, {})
    samplers = samplers_for(model, steps, seed, best)
    if only:
        samplers = {k: v for k, v in samplers.items() if k in only or (k == "mixture" and "mixture + chain" in only)}
    table = compare(model, samplers, standard_fit_data(samplers, train, train_codes, seed), extractor, real, train,
                    q, n=n, seed=seed, copying_train=train_codes)
    table["chain_step"] = [samplers[name].steps if isinstance(samplers[name], ChainSampler) else float("nan")
                           for name in table.sampler]
    choice = {"best_step": best, "selection_fid": {str(k): v for k, v in fids.items()}}
    return table.assign(latent_dim=latent_dim, model=kind, seed=seed), choice


def main(argv: list[str] | None = None) -> pd.DataFrame:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--latent-dims", type=int, nargs="+", default=list(ch09.LATENTS))
    parser.add_argument("--seeds", type=int, nargs="+", default=list(ch09.SEEDS))
    parser.add_argument("--kinds", nargs="+", default=list(KINDS), choices=KINDS)
    parser.add_argument("--n", type=int, default=0, help="samples per sampler; 0: as many as held-out images")
    parser.add_argument("--steps", type=int, default=10, help="chain steps")
    parser.add_argument("--epochs", type=int, default=EPOCHS,
                        help="the models' training length (default: ch09.py's longest); for quick checks")
    parser.add_argument("--samplers", default="", help="comma-separated subset of the samplers (default: all)")
    parser.add_argument("--only", default="", help="KIND:LATENT_DIM:SEED, one model (overrides the lists)")
    parser.add_argument("--threads", type=int, default=1,
                        help="torch threads (CPU results depend on them; one is fastest for these small networks)")
    parser.add_argument("--out", type=Path, default=ROOT / "genae" / "stored")
    args = parser.parse_args(argv)
    if args.only:
        try:
            kind, dim, seed = args.only.split(":")
            args.kinds, args.latent_dims, args.seeds = [kind], [int(dim)], [int(seed)]
        except ValueError:
            parser.error(f"--only {args.only!r}: write KIND:LATENT_DIM:SEED, for example vae:16:0")
        if kind not in KINDS:
            parser.error(f"--only: unknown kind {kind!r}, choose one of {', '.join(KINDS)}")
    torch.set_num_threads(args.threads)
    from genae.features import feature_extractor

    started, version = time.perf_counter(), code_version()
    extractor = feature_extractor(ch09.DATASET, image_size=32)
    select, real, train = ch09.held_out()  # ch09.py's halves: choose on the first, score on the second
    only = [s.strip() for s in args.samplers.split(",") if s.strip()] or None
    parts, choices = [], {}
    for dim in args.latent_dims:
        for seed in args.seeds:
            for kind in args.kinds:
                t = time.perf_counter()
                table, choices[f"{kind}:{dim}:{seed}"] = measure(
                    kind, dim, seed, args.n or None, args.steps, only, extractor, train, real, select,
                    args.epochs)
                parts.append(table)
                print(f"{kind} {dim}-D seed {seed}: {time.perf_counter() - t:.0f} s", flush=True)
    table = pd.concat(parts, ignore_index=True)
    table = table[["latent_dim", "model", "seed", *[c for c in table if c not in ("latent_dim", "model", "seed")]]]
    args.out.mkdir(parents=True, exist_ok=True)
    table.to_csv(args.out / "ch10.csv", index=False, float_format="%.6g")
    meta = {**provenance(args, time.perf_counter() - started, version), "best_steps": choices}
    (args.out / "ch10.json").write_text(json.dumps(meta, indent=2) + "\n")
    print(f"wrote {args.out / 'ch10.csv'} ({len(table)} rows) in {meta['run_seconds']:.0f} s")
    return table


if __name__ == "__main__":
    main()
