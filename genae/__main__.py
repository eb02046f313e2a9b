"""``python -m genae``: the command line of :mod:`genae.infra.cli` (also under ``torchrun -m
genae``)."""

import sys

from genae.infra.cli import main

if __name__ == "__main__":
    sys.exit(main())
