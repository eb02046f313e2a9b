"""Chapter 10's stored results: every sampler x every model, at both latent sizes, over several seeds.

The chapter measures the samplers live on its own models only (one latent size,
one seed); this script runs the full table and writes

- ``reference/ch10.csv``: one row per (latent_dim, model, seed, sampler), the columns of
  :func:`genae.samplers.compare`;
- ``reference/ch10.json``: provenance (git commit, command, library versions, machine, threads,
  run time) and the settings.

It reuses chapter 9's models through :func:`genae.infra.cache.trained_model` (digits, 32x32, width 32,
20 epochs, batches of 64), so nothing is trained twice. Run it from the repository root:

    python reference/ch10.py                               # the full table (about 4 minutes on 2 cores after reference/ch09.py)
    python reference/ch10.py --only vae:16:0 --samplers prior,mixture --out /tmp/x   # one small check
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
KINDS = ("vae", "aae", "dvae", "daae")
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
                         "n": args.n, "steps": args.steps, "samplers": args.samplers,
                         "model": {"dataset": "digits", "image_size": 32, "width": 32, "epochs": 20,
                                   "batch_size": 64}}}


def measure(kind: str, latent_dim: int, seed: int, n: int | None, steps: int, only: list[str] | None,
            extractor, train: torch.Tensor, real: torch.Tensor) -> pd.DataFrame:
    from genae.chainstats import aggregate_posterior
    from genae.infra.cache import trained_model
    from genae.samplers import compare, standard_fit_data, standard_samplers

    model, _ = trained_model(kind, latent_dim=latent_dim, epochs=20, seed=seed, progress=False)
    g = torch.Generator().manual_seed(seed)
    train_codes = aggregate_posterior(model, train, g)  # the fit data: draws of Q(Z) on the training split
    q = aggregate_posterior(model, real, g)  # the MMD's Q(Z): on held-out images
    samplers = standard_samplers(model, steps=steps, seed=seed)
    if only:
        samplers = {k: v for k, v in samplers.items() if k in only or (k == "mixture" and "mixture + chain" in only)}
    table = compare(model, samplers, standard_fit_data(samplers, train, train_codes, seed), extractor, real, train,
                    q, n=n or len(real), seed=seed)
    return table.assign(latent_dim=latent_dim, model=kind, seed=seed)


def main(argv: list[str] | None = None) -> pd.DataFrame:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--latent-dims", type=int, nargs="+", default=[200, 16])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--kinds", nargs="+", default=list(KINDS), choices=KINDS)
    parser.add_argument("--n", type=int, default=0, help="samples per sampler; 0: as many as held-out images")
    parser.add_argument("--steps", type=int, default=10, help="chain steps")
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
    from genae.data import load_images
    from genae.features import feature_extractor

    started, version = time.perf_counter(), code_version()
    extractor = feature_extractor("digits", image_size=32)
    train = load_images("digits", "train", image_size=32).tensors[0]
    real = load_images("digits", "test", image_size=32).tensors[0]
    only = [s.strip() for s in args.samplers.split(",") if s.strip()] or None
    parts = []
    for dim in args.latent_dims:
        for seed in args.seeds:
            for kind in args.kinds:
                t = time.perf_counter()
                parts.append(measure(kind, dim, seed, args.n or None, args.steps, only, extractor, train, real))
                print(f"{kind} {dim}-D seed {seed}: {time.perf_counter() - t:.0f} s", flush=True)
    table = pd.concat(parts, ignore_index=True)
    table = table[["latent_dim", "model", "seed", *[c for c in table if c not in ("latent_dim", "model", "seed")]]]
    args.out.mkdir(parents=True, exist_ok=True)
    table.to_csv(args.out / "ch10.csv", index=False, float_format="%.6g")
    meta = provenance(args, time.perf_counter() - started, version)
    (args.out / "ch10.json").write_text(json.dumps(meta, indent=2) + "\n")
    print(f"wrote {args.out / 'ch10.csv'} ({len(table)} rows) in {meta['run_seconds']:.0f} s")
    return table


if __name__ == "__main__":
    main()
