"""The whole book's execution time in quick mode, and the peak resident memory of each notebook.

Runs every notebook in ``notebooks/`` (``NN-slug.ipynb``, in the book's order)
top to bottom with its default (quick) parameters, one after another, from one
model cache that starts empty: the first notebook that needs the shared models
trains them and the later ones reuse them, so the total is what a first build
costs when it executes one notebook at a time (``GENAE_BOOK_WORKERS=1``; the
budget: 10 minutes on 2 idle cores). By default the build runs two at a time
(``book/_ext/execute_ahead.py``), which takes less wall time. Each notebook
runs in a child process (through ``benchmarks/notebook_times.py``'s ``run``);
its kernel's peak resident memory is ``resource.getrusage(RUSAGE_CHILDREN)``
in that child once the kernel has exited. The load average before and after is
printed, since other work on the machine stretches every time.

    python benchmarks/book_time.py                    # the whole book, from an empty model cache
    python benchmarks/book_time.py --cache DIR 02 04  # some notebooks, with the models in DIR
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
NOTEBOOKS = HERE.parent / "notebooks"
BUDGET_S = 600


def run_one(path: Path, cache: str) -> dict:
    """In the child: execute one notebook; its seconds and the kernel's peak resident memory."""
    sys.path.insert(0, str(HERE))
    from notebook_times import run

    seconds = run(path, cache)
    peak_kib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss  # KiB on Linux
    return {"seconds": seconds, "kernel_peak_mib": peak_kib / 1024}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("names", nargs="*", help="notebook names or prefixes (default: all)")
    parser.add_argument("--cache", help="a model cache to use (default: a new, empty one)")
    parser.add_argument("--one", help=argparse.SUPPRESS)  # the child's job: one notebook
    args = parser.parse_args()
    if args.one:
        print(json.dumps(run_one(Path(args.one), args.cache)))
        return
    paths = sorted(NOTEBOOKS.glob("[0-9][0-9]-*.ipynb"))
    if args.names:
        paths = [p for p in paths if any(p.stem.startswith(n.removesuffix(".ipynb")) for n in args.names)]
    if not paths:
        raise SystemExit(f"no notebook in {NOTEBOOKS} matches {args.names}")
    with tempfile.TemporaryDirectory() as empty:
        cache = args.cache or empty
        print(f"{len(paths)} notebooks, model cache {'empty at start' if not args.cache else cache}; "
              f"{os.cpu_count()} CPUs; load average {os.getloadavg()[0]:.2f} (1 min), {os.getloadavg()[1]:.2f} (5 min)")
        print(f"{'notebook':40} {'seconds':>8} {'kernel peak MiB':>16}")
        rows, start = [], time.perf_counter()
        for path in paths:
            done = subprocess.run([sys.executable, __file__, "--one", str(path), "--cache", cache],
                                  capture_output=True, text=True)
            if done.returncode != 0:
                print(f"{path.stem:40} failed:\n{done.stderr[-3000:]}")
                continue
            row = json.loads(done.stdout.strip().splitlines()[-1])
            rows.append((path.stem, row))
            print(f"{path.stem:40} {row['seconds']:8.1f} {row['kernel_peak_mib']:16.0f}", flush=True)
        wall = time.perf_counter() - start
    if rows:
        total = sum(r["seconds"] for _, r in rows)
        name, heaviest = max(rows, key=lambda r: r[1]["kernel_peak_mib"])
        print(f"{'total (notebooks)':40} {total:8.1f}   {total / BUDGET_S:.0%} of the {BUDGET_S // 60}-minute budget")
        print(f"wall clock with kernel start-ups: {wall:.1f} s; heaviest notebook: {name}, "
              f"{heaviest['kernel_peak_mib']:.0f} MiB peak resident")
    print(f"load average after: {os.getloadavg()[0]:.2f} (1 min), {os.getloadavg()[1]:.2f} (5 min)")


if __name__ == "__main__":
    main()
