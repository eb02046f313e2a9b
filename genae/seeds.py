"""How one run's seed gives every random stream its own: the data order of each epoch, each loader
item's transforms, each process's noise."""

from __future__ import annotations

_PRIME = 1_000_003  # a prime larger than any epoch, step or item count it separates


def mix_seed(seed: int, *parts: int) -> int:
    """A seed for the stream named by ``parts`` (epoch, step, item, ...) of the run seeded ``seed``.

    ``mix_seed(seed, a, b) == (seed * p + a) * p + b`` for the prime p = 1,000,003: distinct
    (seed, parts) give distinct seeds while every part stays below p.
    """
    for part in parts:
        seed = seed * _PRIME + part
    return seed
