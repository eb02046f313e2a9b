"""How long each notebook takes to run, for the README's and the instructor page's run times.

Executes each notebook (quick mode, its default parameters) top to bottom with
nbclient in ``notebooks/``, as the book build and a student do, and prints the
wall-clock seconds per notebook and in total, the CPU seconds its kernel used (user +
system, all threads: unlike the wall-clock time, hardly stretched by other work on a
shared machine), the load average, and the number of CPU threads torch uses.

    python benchmarks/notebook_times.py                   # every notebook, models from $GENAE_CACHE
    python benchmarks/notebook_times.py --cold 05-sampling # one notebook from an empty model cache

With a warm cache (the book's case: the four shared models were trained once)
the times are the notebooks' own work; ``--cold`` gives each notebook an empty
cache of its own, as a student who opens that one notebook in a fresh Colab
session has, so its time includes training the models it needs.
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

import nbformat
import torch
from nbclient import NotebookClient

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "book" / "_ext"))
from patient_kernel import patch_nbclient  # noqa: E402

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"


def children_cpu() -> float:
    """CPU seconds used so far by this process's finished children (the kernels, once shut down)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run_measured(path: Path, cache: str) -> tuple[float, float]:
    """Wall-clock and kernel CPU seconds to execute the notebook at ``path`` with models cached in ``cache``."""
    nb = nbformat.read(path, as_version=4)
    os.environ["GENAE_CACHE"] = cache
    os.environ.pop("MPLBACKEND", None)  # as in Jupyter or Colab: the notebooks say %matplotlib inline
    patch_nbclient()  # a missed wake-up would otherwise make chapter 7's widget cell wait out the whole timeout
    cpu, start = children_cpu(), time.perf_counter()
    NotebookClient(nb, timeout=1800, kernel_name="python3", resources={"metadata": {"path": str(NOTEBOOKS)}}).execute()
    return time.perf_counter() - start, children_cpu() - cpu


def run(path: Path, cache: str) -> float:
    """Seconds to execute the notebook at ``path`` with models cached in ``cache``."""
    return run_measured(path, cache)[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("names", nargs="*", help="notebook names or prefixes (default: all)")
    parser.add_argument("--cold", action="store_true", help="an empty model cache for each notebook")
    args = parser.parse_args()
    paths = sorted(NOTEBOOKS.glob("[0-9][0-9]-*.ipynb"))
    if args.names:
        paths = [p for p in paths if any(p.stem.startswith(n.removesuffix(".ipynb")) for n in args.names)]
    if not paths:
        raise SystemExit(f"no notebook in {NOTEBOOKS} matches {args.names}")
    warm = os.environ.get("GENAE_CACHE", str(Path.home() / ".cache" / "genae" / "models"))
    print(f"{'cold' if args.cold else 'warm'} model cache; torch uses {torch.get_num_threads()} CPU threads; "
          f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    print(f"{'notebook':40s} {'wall':>9s} {'CPU':>9s}")
    total_wall = total_cpu = 0.0
    for path in paths:
        if args.cold:
            with tempfile.TemporaryDirectory() as empty:
                wall, cpu = run_measured(path, empty)
        else:
            wall, cpu = run_measured(path, warm)
        total_wall, total_cpu = total_wall + wall, total_cpu + cpu
        print(f"{path.stem:40s} {wall:7.1f} s {cpu:7.1f} s   (load {os.getloadavg()[0]:.1f})", flush=True)
    print(f"{'total':40s} {total_wall:7.1f} s {total_cpu:7.1f} s")


if __name__ == "__main__":
    main()
