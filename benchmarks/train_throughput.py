"""Training throughput: genae.train.fit against pythae's trainer, on the same VAE network, data and batch size.

pythae (Chadebec et al., 2022) is the best-known library of generative
autoencoders. Its ``BaseTrainer`` here trains exactly genae's VAE network: the
encoder (``model.features`` then ``model.to_code``, giving mu and log sigma)
and the decoder (``model.decoder``) are wrapped in pythae's ``BaseEncoder`` and
``BaseDecoder``, both start from the same seeded weights, and both trainers use
Adam (2e-4, betas 0.5/0.999), batches of 64, the same images and the same
number of epochs, with the same thread count. Runs alternate (genae, pythae,
genae, ...) so that a change in the machine's load hits both; the tables give
the best and the median of the repeats, and the median of each repeat's pair
ratio. Each run is timed twice: by the wall clock, and by the CPU time the
process used (``time.process_time``), which a busy machine disturbs far less
(use ``--threads 1`` for it: waiting threads would count).

What each trainer does per epoch beyond the steps is left in, since it is part
of using it: genae reports the encodings' spread (``z_std``, from the encodings
its steps already drew: no extra pass); pythae copies the model when the loss
improved (``keep_best_on_train``, its default without validation data) and
saves the final model. pythae's data loader also keeps the short last batch
that genae drops, so images/s counts the images each one actually trained on.

pythae is NOT a dependency of genae: install it only to run this benchmark,

    .venv/bin/pip install pythae==0.1.2

    python benchmarks/train_throughput.py             # book scale on the digits: 32x32x1, 16-D, width 32
    python benchmarks/train_throughput.py --paper     # the paper's network on random 64x64x3 images
"""

from __future__ import annotations

import argparse
import contextlib
import io
import logging
import os
import statistics
import tempfile
import time

import torch
from torch.utils.data import TensorDataset

from genae.data import load_images
from genae.models import make_model
from genae.train import epoch_batches, fit


def pythae_vae(model):
    """pythae's VAE around genae's own encoder and decoder modules (shared, not copied)."""
    from pythae.models import VAE, VAEConfig
    from pythae.models.base.base_utils import ModelOutput
    from pythae.models.nn import BaseDecoder, BaseEncoder

    class Encoder(BaseEncoder):
        def __init__(self):
            super().__init__()
            self.features, self.to_code = model.features, model.to_code

        def forward(self, x):
            mu, log_sigma = self.to_code(self.features(x)).chunk(2, dim=1)
            return ModelOutput(embedding=mu, log_covariance=2 * log_sigma)  # pythae wants log sigma^2

    class Decoder(BaseDecoder):
        def __init__(self):
            super().__init__()
            self.decoder = model.decoder

        def forward(self, z):
            return ModelOutput(reconstruction=self.decoder(z))

    config = VAEConfig(input_dim=(model.channels, model.image_size, model.image_size), latent_dim=model.latent_dim,
                       reconstruction_loss="bce")
    return VAE(config, encoder=Encoder(), decoder=Decoder())


def time_genae(make, data: TensorDataset, epochs: int, device: str) -> tuple[float, float, int]:
    model = make()
    start, cpu = time.perf_counter(), time.process_time()
    fit(model, data, epochs=epochs, batch_size=64, device=device, progress=False)
    _sync(device)
    seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
    return seconds, cpu, epochs * sum(len(b) for b in epoch_batches(len(data), 64, 0, 0))


def time_pythae(make, data: TensorDataset, epochs: int, device: str) -> tuple[float, float, int]:
    from pythae.data.datasets import BaseDataset
    from pythae.trainers import BaseTrainer, BaseTrainerConfig

    images, labels = data.tensors
    with tempfile.TemporaryDirectory() as out, contextlib.redirect_stderr(io.StringIO()), \
            contextlib.redirect_stdout(io.StringIO()):
        config = BaseTrainerConfig(output_dir=out, per_device_train_batch_size=64, num_epochs=epochs,
                                   learning_rate=2e-4, optimizer_cls="Adam",
                                   optimizer_params={"betas": (0.5, 0.999)}, no_cuda=device == "cpu")
        trainer = BaseTrainer(pythae_vae(make()), BaseDataset(images, labels), training_config=config)
        start, cpu = time.perf_counter(), time.process_time()
        trainer.train()
        _sync(device)
        seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
    return seconds, cpu, epochs * len(images)


def _sync(device: str) -> None:
    if device != "cpu":
        torch.cuda.synchronize()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--paper", action="store_true", help="the paper's network, 64x64x3, 200-D, width 64, on "
                        "random CelebA-shaped images")
    parser.add_argument("--images", type=int, default=1024, help="random images for --paper (default 1024)")
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--warmup", type=int, default=1, help="untimed runs of each trainer first "
                        "(the first run in a process pays for one-off initialisation)")
    parser.add_argument("--threads", type=int, default=min(2, torch.get_num_threads()))
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    logging.disable(logging.INFO)  # pythae logs every epoch to the console
    try:
        import pythae  # noqa: F401
    except ImportError:
        raise SystemExit("this benchmark needs pythae, which genae does not depend on: "
                         ".venv/bin/pip install pythae==0.1.2") from None
    if args.paper:
        shape = dict(image_size=64, channels=3, latent_dim=200, width=64)
        images = torch.rand(args.images, 3, 64, 64, generator=torch.Generator().manual_seed(0))
        data, name = TensorDataset(images, torch.zeros(args.images)), f"{args.images} random 64x64x3 images"
    else:
        shape = dict(image_size=32, channels=1, latent_dim=16, width=32)
        data, name = load_images("digits", "train", image_size=32), "the digits' training split (32x32)"

    def make():
        torch.manual_seed(0)
        return make_model("vae", **shape)

    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"VAE {shape}, {name} ({len(data)} images), batch 64, {args.epochs} epochs, device {args.device}, "
          f"{args.threads} thread(s), torch {torch.__version__}, load average {load:.1f}")
    rates = {clock: {"genae": [], "pythae": []} for clock in ("wall clock", "CPU time")}
    for _ in range(args.warmup):
        for timer in (time_genae, time_pythae):
            timer(make, data, 1, args.device)
    for _ in range(args.repeats):
        for label, timer in (("genae", time_genae), ("pythae", time_pythae)):
            seconds, cpu, n = timer(make, data, args.epochs, args.device)
            rates["wall clock"][label].append(n / seconds)
            rates["CPU time"][label].append(n / cpu)
    for clock, by in rates.items():
        ours, theirs = by["genae"], by["pythae"]
        print(f"\n{clock}: {'trainer':8} {'best img/s':>11} {'median img/s':>13}   runs")
        for label, r in by.items():
            runs = ", ".join(f"{x:.0f}" for x in r)
            print(f"{'':{len(clock) + 2}}{label:8} {max(r):11.1f} {statistics.median(r):13.1f}   {runs}")
        pairs = statistics.median(a / b for a, b in zip(ours, theirs))
        print(f"genae / pythae by {clock}: {max(ours) / max(theirs):.2f}x (best), "
              f"{statistics.median(ours) / statistics.median(theirs):.2f}x (median), "
              f"{pairs:.2f}x (median of the pairs)")
    print(f"load average now {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
