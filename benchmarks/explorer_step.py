"""Chapter 7's explorer: milliseconds per chain step of 64 chains in headless Chromium, per model.

Opens the built chapter (``make book`` first) over a local HTTP server, and for
each model times the page's own step (decode, then the transition graph, with the
noise drawn in JavaScript: what the reader's "step" button does, drawing left out)
with onnxruntime-web on one WebAssembly thread. Prints a table (median, fastest and
slowest of the timed steps) and the sizes of the exported models and the vendored
runtime. The issue's target: at most 50 ms per step for each model on a 2-core CPU.

    python benchmarks/explorer_step.py [--chains 64] [--steps 30] [--html book/_build/html]

A benchmark, not a test: the figures depend on the machine and its load (the
script prints the load average next to them).
"""

from __future__ import annotations

import argparse
import functools
import http.server
import os
import shutil
import statistics
import threading
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PAGE = "notebooks/07-watching-convergence.html"


class Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format, *args):  # noqa: A002
        pass


def sizes(html: Path) -> list[tuple[str, int]]:
    models = html / "_static" / "explorer" / "models"
    rows = [(p.name, p.stat().st_size) for p in sorted(models.glob("*.onnx"))]
    rows.append(("all exported models", sum(s for _, s in rows)))
    ort = ROOT / "book" / "_vendor" / "ort"
    rows += [(f"runtime: {p.name}", p.stat().st_size) for p in sorted(ort.glob("ort*"))]
    rows.append(("runtime, all", sum(p.stat().st_size for p in ort.glob("ort*"))))
    explorer = ROOT / "book" / "_vendor" / "explorer"
    rows.append(("explorer.js + explorer.css",
                 sum((explorer / f).stat().st_size for f in ("explorer.js", "explorer.css"))))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chains", type=int, default=64)
    parser.add_argument("--steps", type=int, default=30, help="timed steps per model (after 2 warm-up steps)")
    parser.add_argument("--html", type=Path, default=ROOT / "book" / "_build" / "html")
    parser.add_argument("--chromium", default=os.environ.get("GENAE_CHROMIUM") or shutil.which("chromium")
                        or "/usr/bin/chromium")
    args = parser.parse_args()
    if not (args.html / PAGE).is_file():
        raise SystemExit(f"no {args.html / PAGE}: build the book first (make book)")

    from playwright.sync_api import sync_playwright

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Quiet, directory=str(args.html)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}/{PAGE}"
    rows = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=args.chromium, args=["--no-sandbox"])
        tab = browser.new_page()
        tab.goto(url)
        tab.wait_for_function("() => window.genaeExplorer !== undefined", timeout=180_000)
        for kind in ("vae", "aae", "dvae", "daae"):
            times = tab.evaluate("""async ([kind, n, steps]) => {
                const api = window.genaeExplorer;
                await api.reset({kind, n, start: 'prior', seed: 0, decode: 'mean'});
                await api.step(1);
                return await api.timeStep(steps);
            }""", [kind, args.chains, args.steps])
            rows.append((kind, statistics.median(times), min(times), max(times)))
        browser.close()
    server.shutdown()

    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"One chain step of {args.chains} chains in headless Chromium (onnxruntime-web, wasm, 1 thread), "
          f"{args.steps} timed steps per model; {os.cpu_count()} CPUs, load average {load:.1f}\n")
    print("| model | median ms/step | fastest | slowest | within 50 ms (median) |")
    print("| --- | ---: | ---: | ---: | --- |")
    for kind, median, fastest, slowest in rows:
        print(f"| {kind.upper()} | {median:.1f} | {fastest:.1f} | {slowest:.1f} | {'yes' if median <= 50 else 'no'} |")
    print("\n| file | size |\n| --- | ---: |")
    for name, size in sizes(args.html):
        print(f"| {name} | {size / 1e6:.2f} MB |")


if __name__ == "__main__":
    main()
