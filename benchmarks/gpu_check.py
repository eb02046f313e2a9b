"""The Python half of ``benchmarks/gpu_check.sh``: paper-scale training speed on one GPU, measured.

For each kind (vae, aae, dvae, daae) at the paper's size (64x64x3, 200-D,
width 64, batches of 64) on random CelebA-shaped images held on the GPU, it
trains a fixed number of steps with :func:`genae.train.fit` (after a warm-up
that lets cuDNN pick its kernels) and prints images/s, peak GPU memory and the
projected time of the paper's 20 CelebA epochs (162,770 training images). Then:

- ``torch.compile`` against eager for the DVAE, compile time included (measured, not assumed);
- the per-step input check in ``model.loss`` (three GPU-to-CPU synchronisations) switched off, to size its cost;
- the loader alone reading 64x64 images from JPEG files it writes to a temporary
  folder (CelebA's 178x218), beside training from those files end to end: which one bounds;
- the Markov chain's throughput in sample-steps/s at batch 1, 64 and 1,024.

``--cpu-smoke`` runs every part on the CPU at a tiny size, in seconds (a test runs it).
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

import torch
from torch.utils.data import TensorDataset

import genae.models
from genae.data import ImageFolderFlat
from genae.infra.loader import BatchStream, default_workers
from genae.mcmc import run_chain
from genae.models import make_model
from genae.train import epoch_batches, fit

CELEBA_TRAIN = 162_770
PAPER_EPOCHS = 20


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def peak_gib(device: torch.device) -> float:
    return torch.cuda.max_memory_allocated(device) / 2**30 if device.type == "cuda" else float("nan")


def timed_fit(kind: str, size: dict, data, steps: int, warmup: int, device: torch.device, **kw) -> dict:
    """Warm up (compiling, cuDNN autotuning) on ``warmup`` steps, then time ``steps`` steps.

    Returns images/s, peak GPU memory of the timed part, and the warm-up's seconds.
    """
    torch.manual_seed(0)
    model = make_model(kind, **size)
    n_warm = min(len(data), warmup * 64)
    start = time.perf_counter()
    fit(model, torch.utils.data.Subset(data, range(n_warm)) if not isinstance(data, TensorDataset)
        else TensorDataset(*(t[:n_warm] for t in data.tensors)), epochs=1, device=device, progress=False, **kw)
    sync(device)
    warm_s = time.perf_counter() - start
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
    n = min(len(data), steps * 64)
    part = (TensorDataset(*(t[:n] for t in data.tensors)) if isinstance(data, TensorDataset)
            else torch.utils.data.Subset(data, range(n)))
    start = time.perf_counter()
    fit(model, part, epochs=1, device=device, progress=False, **kw)
    sync(device)
    seconds = time.perf_counter() - start
    images = sum(len(b) for b in epoch_batches(n, 64, 0, 0))
    # fit keeps an in-memory data set on the GPU: its share of the peak is not the model's
    data_gib = sum(t.nelement() * t.element_size() for t in part.tensors) / 2**30 if isinstance(part, TensorDataset) \
        and device.type == "cuda" else 0.0
    return {"img_s": images / seconds, "peak_gib": peak_gib(device), "data_gib": data_gib, "warmup_s": warm_s}


@contextmanager
def without_input_check():
    """Swap the models' per-step input check for a no-op (to measure what it costs)."""
    real = genae.models.check_images
    genae.models.check_images = lambda *a, **k: None
    try:
        yield
    finally:
        genae.models.check_images = real


def write_jpegs(folder: Path, n: int, size: tuple[int, int]) -> None:
    """``n`` smooth random colour images of ``size`` (width, height) as JPEG, like CelebA's aligned faces."""
    from PIL import Image

    g = torch.Generator().manual_seed(0)
    for i in range(n):
        low = torch.rand(3, 12, 10, generator=g)
        img = torch.nn.functional.interpolate(low[None], size=size[::-1], mode="bicubic", align_corners=False)[0]
        img = (img + 0.05 * torch.randn(img.shape, generator=g)).clamp(0, 1)
        Image.fromarray((img.permute(1, 2, 0) * 255).byte().numpy()).save(folder / f"{i:06d}.jpg", quality=90)


def loader_rate(data, device: torch.device, epochs: int = 2) -> float:
    """Images/s of the training loader alone (last of ``epochs`` passes, workers warm), batches copied to ``device``."""
    stream = BatchStream(data, pin_memory=device.type == "cuda", seed=0)
    rate = 0.0
    for epoch in range(epochs):
        batches = epoch_batches(len(data), 64, 0, epoch)
        start = time.perf_counter()
        for x in stream(epoch, batches):
            x.to(device, non_blocking=True)
        sync(device)
        rate = sum(len(b) for b in batches) / (time.perf_counter() - start)
    stream.close()
    return rate


def chain_rates(model, device: torch.device, batches=(1, 64, 1024), steps: int = 10) -> dict[int, float]:
    model = model.to(device).eval()
    rates = {}
    for batch in batches:
        z = torch.randn(batch, model.latent_dim, device=device)
        run_chain(model, z, 1)  # warm-up
        sync(device)
        start = time.perf_counter()
        run_chain(model, z, steps)
        sync(device)
        rates[batch] = batch * steps / (time.perf_counter() - start)
    return rates


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cpu-smoke", action="store_true", help="every part, tiny, on the CPU (seconds)")
    parser.add_argument("--steps", type=int, default=400, help="timed training steps per kind (default 400)")
    parser.add_argument("--warmup", type=int, default=30, help="warm-up steps (default 30)")
    parser.add_argument("--jpegs", type=int, default=6400, help="JPEG files for the loader check (default 6400)")
    parser.add_argument("--no-compile", action="store_true", help="skip the torch.compile comparison")
    args = parser.parse_args(argv)
    if args.cpu_smoke:
        device = torch.device("cpu")
        size, jpeg_size = dict(image_size=16, channels=3, latent_dim=4, width=8), (22, 27)
        args.steps, args.warmup, args.jpegs, chain_batches = 3, 2, 192, (1, 4)
        compile_backend = "eager"  # exercises the compile path without a C++ toolchain's minutes
    else:
        if not torch.cuda.is_available():
            raise SystemExit("no CUDA GPU here: run with --cpu-smoke for the CPU smoke test")
        device = torch.device("cuda")
        size, jpeg_size, chain_batches, compile_backend = {}, (178, 218), (1, 64, 1024), True
    gpu = torch.cuda.get_device_name(device) if device.type == "cuda" else "CPU"
    bf16 = device.type == "cuda" and torch.cuda.is_bf16_supported()
    precision = "bf16" if bf16 else "fp16" if device.type == "cuda" else "none"
    print(f"torch {torch.__version__} on {gpu}; mixed precision: {precision}; {os.cpu_count()} CPUs, "
          f"{default_workers()} loader workers; load average {os.getloadavg()[0]:.1f}")
    shape = (size.get("channels", 3), size.get("image_size", 64), size.get("image_size", 64))
    n = max(args.steps, args.warmup) * 64
    images = torch.rand(n, *shape, generator=torch.Generator().manual_seed(0))
    data = TensorDataset(images, torch.zeros(n))

    print(f"\n1. training on random {'x'.join(map(str, shape))} images in {device.type} memory, batch 64, "
          f"{args.steps} timed steps")
    print(f"{'kind':6} {'img/s':>9} {'peak GiB':>9} {'(data GiB)':>11} {'20 CelebA epochs':>17}")
    results = {}
    for kind in ("vae", "aae", "dvae", "daae"):
        r = results[kind] = timed_fit(kind, size, data, args.steps, args.warmup, device)
        hours = PAPER_EPOCHS * CELEBA_TRAIN / r["img_s"] / 3600
        print(f"{kind:6} {r['img_s']:9.0f} {r['peak_gib']:9.2f} {r['data_gib']:11.2f} {hours:15.2f} h")

    print("\n2. variants of the DVAE step")
    eager = results["dvae"]["img_s"]
    if not args.no_compile:
        r = timed_fit("dvae", size, data, args.steps, args.warmup, device, compile=compile_backend)
        print(f"torch.compile: {r['img_s']:.0f} img/s ({r['img_s'] / eager:.2f}x eager); warm-up with compiling "
              f"{r['warmup_s']:.1f} s against {results['dvae']['warmup_s']:.1f} s eager")
    with without_input_check():
        r = timed_fit("dvae", size, data, args.steps, args.warmup, device)
    print(f"without model.loss's input check (3 GPU syncs per step): {r['img_s']:.0f} img/s "
          f"({r['img_s'] / eager:.2f}x)")

    print(f"\n3. data from {args.jpegs} JPEG files ({jpeg_size[0]}x{jpeg_size[1]}, centre-cropped and resized to "
          f"{shape[1]}x{shape[2]})")
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        write_jpegs(Path(tmp), args.jpegs, jpeg_size)
        print(f"wrote them in {time.perf_counter() - start:.1f} s")
        folder = ImageFolderFlat(tmp, "all", image_size=shape[1])
        load = loader_rate(folder, device)
        steps = len(folder) // 64
        from_disk = timed_fit("dvae", size, folder, steps, args.warmup, device)
    train = results["dvae"]["img_s"]
    print(f"loader alone: {load:.0f} img/s; DVAE training from memory: {train:.0f} img/s; from the JPEG files end to "
          f"end: {from_disk['img_s']:.0f} img/s")
    bound = "the loader (decoding)" if load < train else "training (the GPU)"
    print(f"bound by {bound}: the loader delivers {load / train:.2f}x what training consumes")

    print("\n4. the Markov chain (dvae, 10 steps, no_grad, float32)")
    torch.manual_seed(0)
    for batch, rate in chain_rates(make_model("dvae", **size), device, chain_batches).items():
        print(f"batch {batch:5}: {rate:10.0f} sample-steps/s")


if __name__ == "__main__":
    main()
