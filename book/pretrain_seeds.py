"""Train chapter 09's extra seeds into the model cache before its notebook runs.

Chapter 09 trains the four kinds with the seeds seed, seed + 1, ..., seed + seeds - 1 of its
parameters cell; the first seed's models are the ones every chapter shares. ``make test`` runs
this beside the book's build, on the other core, with the call the chapter makes, so the chapter
finds the other seeds' models in the cache (both on one torch thread: the same models). A build
needs none of it: a model the chapter does not find in the cache, it trains.

    python book/pretrain_seeds.py
"""

from __future__ import annotations

from pathlib import Path

from genae.defaults import KINDS, QUICK
from genae.export import chapter_parameters
from genae.infra.cache import trained_model

CHAPTER = Path(__file__).resolve().parents[1] / "notebooks" / "09-does-the-chain-help.ipynb"


def main() -> None:
    p = chapter_parameters(CHAPTER)
    settings = {name: p.get(name, getattr(QUICK, name))
                for name in ("dataset", "image_size", "latent_dim", "width", "epochs")}
    seeds = range(p["seed"] + 1, p["seed"] + p["seeds"])  # after the shared one, as the chapter
    for s in seeds:
        for kind in KINDS:
            trained_model(kind, seed=s, root=p.get("root"), progress=False, **settings)
    print(f"book/pretrain_seeds.py: chapter 09's seeds {list(seeds)} are in the model cache")


if __name__ == "__main__":
    main()
