"""What chapter 9 ("Does the chain help?") costs, in units of one training epoch of a shared model.

Times, side by side in one process: one training epoch of each kind at the shared
digits size (the unit), and the kinds of measurement the chapter makes
(`genae.evaluate.evaluate_chain`: the authors' chain to step 50 with interpolation
midpoints, and three chains to step 10: sampled decoding, the fixed-input loop and
the deterministic chain). From them it prints the chapter's quick-mode
cost: training its models from an empty cache (all but the four shared ones) and
measuring them. On a shared machine the seconds vary with the load; the ratios to
the epoch hold better, so multiply them by an idle epoch (about 1.3 s on 2 cores).

    python benchmarks/evaluate_cost.py            # the chapter's quick defaults
    python benchmarks/evaluate_cost.py --threads 1
"""

from __future__ import annotations

import argparse
import time

import torch

from genae.data import load_images
from genae.evaluate import INTERPOLATION_STEPS, evaluate_chain, split_halves
from genae.features import DomainClassifier
from genae.models import KINDS, make_model
from genae.train import fit


def seconds(fn, repeats: int) -> float:
    """Best wall-clock time of ``repeats`` calls of ``fn``."""
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n-chains", type=int, default=128, help="chains per model (the chapter's quick default)")
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--threads", type=int, default=None)
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    train = load_images("digits", "train", image_size=32)
    real_a, real_b = split_halves(load_images("digits", "test", image_size=32).tensors[0])
    clf = DomainClassifier(32, 1).eval()  # an untrained classifier costs what a trained one does
    size = dict(image_size=32, channels=1, latent_dim=16, width=32)
    print(f"torch threads {torch.get_num_threads()}, {args.n_chains} chains, best of {args.repeats}")
    epoch = {}
    for kind in KINDS:
        model = make_model(kind, **size)
        epoch[kind] = seconds(lambda m=model: fit(m, train, epochs=1, progress=False), args.repeats)
        print(f"one training epoch, {kind:4}: {epoch[kind]:6.2f} s")
    unit = epoch["vae"]
    model = make_model("dvae", **size).eval()
    short = dict(steps=(0, 1, 2, 5, 10), interpolation_steps=None)
    plans = {"to step 50 + midpoints": dict(steps=(0, 1, 2, 5, 10, 20, 50), interpolation_steps=INTERPOLATION_STEPS),
             "to step 10, sampled decoding": dict(short, decode="sample"),
             "to step 10, fixed input": dict(short, chain="fixed input"),
             "to step 10 (deterministic)": dict(short, sample=False)}
    cost = {}
    for name, plan in plans.items():
        cost[name] = seconds(lambda p=plan: evaluate_chain(model, clf, real_b, n_samples=args.n_chains, **p),
                             args.repeats)
        print(f"evaluate_chain {name:29}: {cost[name]:6.2f} s = {cost[name] / unit:5.2f} VAE epochs")
    n_models = len(KINDS) * args.seeds
    extra_seeds = args.seeds - 1  # the seed-0 models at the main length are the book's shared ones
    train_s = sum(epoch[k] * extra_seeds * args.epochs for k in KINDS)
    eval_s = n_models * sum(cost.values())
    print(f"\nchapter 9, quick mode: training {train_s:6.0f} s ({train_s / unit:5.0f} VAE epochs), "
          f"measuring {eval_s:5.0f} s ({eval_s / unit:4.0f} VAE epochs)")
    idle = 1.3  # seconds per VAE epoch on 2 idle cores (README)
    print(f"at {idle} s per idle VAE epoch: training ~{train_s / unit * idle:.0f} s, "
          f"measuring ~{eval_s / unit * idle:.0f} s")


if __name__ == "__main__":
    main()
