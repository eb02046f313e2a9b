"""One chain step against a bare decode-then-encode forward of the same model.

The chain adds only bookkeeping (and, for denoising models, the corruption
noise) to the two forward passes, so the ratio should stay at or below 1.1.
Also prints the chain's throughput (sample-steps per second) from batch 64 to 4,096, for the
whole batch at once against the chunks ``run_chain`` uses by default
(:func:`genae.mcmc.default_chunk_size`), the two timings interleaved so that a change in the
machine's load hits both alike.

    python benchmarks/chain_step.py            # paper scale: 64x64x3, 200-D, width 64
    python benchmarks/chain_step.py --quick    # small model, for a smoke run
"""

from __future__ import annotations

import argparse
import time

import torch

from genae.infra.devices import resolve_device
from genae.mcmc import default_chunk_size, run_chain
from genae.models import make_model


def best_time(fn, repeats: int) -> float:
    """Best of ``repeats`` wall-clock timings of ``fn()`` (after one warm-up call), in seconds."""
    fn()
    times = []
    for _ in range(repeats):
        if torch.cuda.is_available():
            torch.cuda.synchronize()
        start = time.perf_counter()
        fn()
        if torch.cuda.is_available():
            torch.cuda.synchronize()
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="a small model (32x32x1, 16-D, width 16)")
    parser.add_argument("--batch", type=int, default=256)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--device", default=None)
    args = parser.parse_args()
    device = resolve_device(args.device)
    size = dict(image_size=32, channels=1, latent_dim=16, width=16) if args.quick else {}
    print(f"device {device}, threads {torch.get_num_threads()}, batch {args.batch}, model {size or 'paper scale'}")
    print(f"{'kind':6} {'decode+encode ms':>17} {'chain step ms':>14} {'ratio':>6}")
    for kind in ("vae", "dvae", "aae", "daae"):
        model = make_model(kind, **size).to(device).eval()
        z = torch.randn(args.batch, model.latent_dim, device=device)

        def bare(model=model, z=z):
            with torch.no_grad():
                model.encode(model.decode(z))

        bare_s = best_time(bare, args.repeats)
        chain_s = best_time(lambda model=model, z=z: run_chain(model, z, 1), args.repeats)
        print(f"{kind:6} {bare_s * 1e3:17.1f} {chain_s * 1e3:14.1f} {chain_s / bare_s:6.3f}")
    model = make_model("vae", **size).to(device).eval()
    chunk = default_chunk_size(device)
    print(f"\nchain throughput (vae, 10 steps), sample-steps/s; chunked = chunks of {chunk} (the default)")
    print(f"{'batch':>6} {'whole':>10} {'chunked':>10} {'chunked/whole':>14}")
    for batch in (64, 256, 1024, 4096):
        z = torch.randn(batch, model.latent_dim, device=device)
        whole, chunked = [], []
        for _ in range(max(1, args.repeats // 2)):  # interleaved: each round times both
            whole.append(best_time(lambda z=z, b=batch: run_chain(model, z, 10, chunk_size=b), 1))
            chunked.append(best_time(lambda z=z: run_chain(model, z, 10), 1))
        w, c = batch * 10 / min(whole), batch * 10 / min(chunked)
        print(f"{batch:6} {w:10.0f} {c:10.0f} {c / w:14.2f}")

if __name__ == "__main__":
    main()
