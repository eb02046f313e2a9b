"""The command line: the paper's experiments (sections 4.3-4.5) from a shell, ``genae ...``.

``python -m genae ...`` works too (and ``torchrun -m genae train ...``)::

    genae train --data celeba --root DIR --kind dvae --out runs/dvae-celeba  # section 4.3
    genae sample --checkpoint runs/dvae-celeba --steps 0,1,5,10 --out samples.png  # figures 4, 5, 7
    genae interpolate --checkpoint runs/dvae-celeba --data celeba --root DIR \
        --out interp.png  # figures 3, 6, 8
    genae evaluate --checkpoint runs/dvae-celeba --data celeba --root DIR  # against chain steps

Each subcommand is one function below; :func:`main` parses and dispatches.
Bad arguments end with one line on stderr and exit code 2.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from collections.abc import Sequence
from pathlib import Path

from genae.infra.cli_parser import MODEL_FILE, PAPER, RUN_FILE, RUN_KEYS, build_parser


class UsageError(Exception):
    """A bad argument found after parsing; reported in one line with exit code 2."""


# ---- subcommands ---------------------------------------------------------------------------------

def train(args: argparse.Namespace) -> int:
    """Train one of the four models with the paper's settings, checkpointing every epoch."""
    import torch

    from genae.data import CHANNELS, load_images
    from genae.infra import checkpoint, distributed
    from genae.infra.runlog import RunLog
    from genae.models import make_model
    from genae.train import STATE_FILE, fit

    out = Path(args.out)
    settings = _train_settings(args, out)
    if args.resume and not (out / STATE_FILE).is_file():
        raise UsageError(f"--resume: {out} holds no {STATE_FILE} to resume from; drop --resume to "
                         "start a new run")
    if not args.resume and (out / STATE_FILE).exists():
        raise UsageError(f"{out} already holds a run: pass --resume to continue it, or choose "
                         "another --out")
    ctx = distributed.setup(args.device)  # one process, or this rank's share under torchrun
    try:
        where = dict(image_size=settings["image_size"], root=args.root)
        if args.download and ctx.is_main:  # one rank downloads; the others wait, then read
            load_images(settings["data"], "train", **where, download=True)
        ctx.barrier()
        data = load_images(settings["data"], "train", **where)
        torch.manual_seed(settings["seed"])
        model = make_model(settings["kind"], image_size=settings["image_size"],
                           channels=CHANNELS[settings["data"]], latent_dim=settings["latent_dim"],
                           width=settings["width"], denoise_std=settings["denoise_std"])
        log = None
        if ctx.is_main:
            _write_json(settings, out / RUN_FILE)
            log = RunLog(out, echo=_echo)
        history = fit(model, data, epochs=args.epochs, batch_size=settings["batch_size"],
                      lr=settings["lr"], betas=(settings["beta1"], settings["beta2"]),
                      device=ctx.device, seed=settings["seed"], checkpoint_dir=out,
                      resume=args.resume, checkpoint_every=args.checkpoint_every,
                      progress=args.progress and ctx.is_main, num_workers=args.num_workers,
                      compile=args.compile, on_epoch=log)
        if ctx.is_main:
            log.close()
            checkpoint.save(model, out / MODEL_FILE, history=history, training=settings)
            last = {k: round(v, 4) for k, v in history[-1].items()} if history else {}
            print(
                f"trained {settings['kind']} for {len(history)} epoch{'s' * (len(history) != 1)}; "
                f"model in {out / MODEL_FILE}; last epoch: {last}"
            )
    finally:
        ctx.close()
    return 0


def sample(args: argparse.Namespace) -> int:
    """Decode P(Z) samples after each number of chain steps, side by side: figures 4, 5 and 7."""
    import matplotlib.pyplot as plt
    import torch

    from genae import plots
    from genae.mcmc import run_chain, sample_prior

    model, device = _load_model(args)
    generator = torch.Generator(device=device).manual_seed(args.seed)
    z0 = sample_prior(args.n, model.latent_dim, generator=generator, device=device)
    trajectory = run_chain(model, z0, max(args.steps), sample=not args.mean, generator=generator)
    nrow = args.nrow or math.ceil(math.sqrt(args.n))
    axes = plots.show_chain(model, trajectory, args.steps, nrow=nrow, label=model.kind.upper())
    fig = axes[0].figure
    fig.suptitle(f"{args.n} samples from z0 ~ P(Z) (seed {args.seed}), decoded after each number "
                 "of chain steps")
    _save_figure(fig, args.out)
    plt.close(fig)
    return 0


def interpolate(args: argparse.Namespace) -> int:
    """Spherical interpolations between test images, then chain steps on each: figures 3, 6, 8."""
    import matplotlib.pyplot as plt
    import torch

    from genae import plots
    from genae.interpolate import slerp
    from genae.mcmc import run_chain

    model, device = _load_model(args)
    picks, images = _test_images(args, model, 2 * args.pairs)
    if len(picks) < 2 * args.pairs:
        raise UsageError(
            f"--pairs {args.pairs} needs {2 * args.pairs} test images; {args.data} has {len(picks)}"
        )
    images = images.to(device)
    generator = torch.Generator(device=device).manual_seed(args.seed)
    with torch.no_grad():
        z = model.encode(images, sample=False)  # the encoder's mean: the test images' own codes
    labels = ["slerp" if s == 0 else f"{s} step" + ("s" if s > 1 else "") for s in args.steps]
    size = (0.7 * args.points + 1.5, 0.75 * len(args.steps) * args.pairs + 0.6)
    fig, axes = plt.subplots(args.pairs, 1, squeeze=False, figsize=size)
    for k, ax in enumerate(axes[:, 0]):
        path = slerp(z[2 * k], z[2 * k + 1], args.points)
        trajectory = run_chain(model, path, max(args.steps), sample=not args.mean,
                               generator=generator)
        plots.show_paths(model, [trajectory[s] for s in args.steps], labels, ax=ax)
        ax.set_title(f"{model.kind.upper()}: test images {int(picks[2 * k])} to "
                     f"{int(picks[2 * k + 1])}", fontsize=9)
    fig.tight_layout()
    _save_figure(fig, args.out)
    plt.close(fig)
    return 0


def evaluate(args: argparse.Namespace) -> int:
    """Sample quality against chain steps (section 4.5 in numbers) and a real-vs-real baseline."""
    import pandas as pd

    from genae.evaluate import evaluate_chain, real_baseline, split_halves
    from genae.features import feature_extractor

    model, device = _load_model(args)
    real_a, real_b = split_halves(_test_images(args, model, 2 * args.n)[1], seed=args.seed)
    extractor = feature_extractor(args.data, image_size=model.image_size, root=args.root,
                                  device=device, inception_weights=args.inception_weights)
    table = evaluate_chain(model, extractor, real_b, n_samples=len(real_a), steps=args.steps,
                           sample=not args.mean, interpolation_steps=args.steps, seed=args.seed)
    baseline = real_baseline(model, extractor, real_a, real_b, seed=args.seed)
    table = pd.concat([baseline, table], ignore_index=True)
    with pd.option_context("display.width", 160, "display.max_columns", None):
        print(table.to_string(index=False, float_format=lambda v: f"{v:.4g}"))
    if args.out is not None:
        from genae.infra.files import atomic_path

        with atomic_path(args.out) as tmp:
            table.to_csv(tmp, index=False)
        print(f"wrote {args.out}")
    return 0


# ---- helpers -------------------------------------------------------------------------------------

def _echo(line: str) -> None:
    from tqdm.auto import tqdm

    tqdm.write(line)


def _write_json(payload: dict, path: Path) -> None:
    from genae.infra.files import atomic_path

    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(payload, indent=2) + "\n")


def _test_images(args: argparse.Namespace, model, n: int):
    """Up to ``n`` test images of ``--data`` picked by ``--seed``, and their indices."""
    import torch

    from genae.data import CHANNELS, load_images
    from genae.infra.loader import images_of

    if CHANNELS[args.data] != model.channels:
        raise UsageError(
            f"--data {args.data} has {CHANNELS[args.data]} channel(s) but the model in "
            f"{args.checkpoint} was trained on {model.channels}: use the data set it "
            "was trained on"
        )
    data = load_images(args.data, "test", image_size=model.image_size, root=args.root)
    picks = torch.randperm(len(data), generator=torch.Generator().manual_seed(args.seed))[:n]
    return picks, torch.stack([images_of(data[int(i)]) for i in picks])


def _train_settings(args: argparse.Namespace, out: Path) -> dict:
    """The run's settings: the paper's defaults, then the saved run's (--resume), then the given."""
    given = {k: getattr(args, k) for k in RUN_KEYS if getattr(args, k) is not None}
    settings = {**PAPER, "data": None, "denoise_std": None}
    if args.resume and (out / RUN_FILE).is_file():
        saved = json.loads((out / RUN_FILE).read_text())
        for key, value in given.items():
            if key in saved and saved[key] != value:
                raise UsageError(f"--{key.replace('_', '-')} {value} differs from {saved[key]} in "
                                 f"{out / RUN_FILE}: a resumed run keeps its settings (drop the "
                                 "option, or train into a new --out)")
        settings.update({k: v for k, v in saved.items() if k in RUN_KEYS})
    settings.update(given, epochs=args.epochs)  # epochs is the target, free to change on resume
    if settings["data"] is None:
        raise UsageError("--data is required: the data set to train on (mnist-5k works offline)")
    return settings


def _load_model(args: argparse.Namespace):
    """The model in ``--checkpoint`` (a model, a training state or a run folder), on --device."""
    from genae.infra import checkpoint
    from genae.infra.devices import resolve_device
    from genae.train import STATE_FILE

    path = Path(args.checkpoint)
    if path.is_dir():
        path = next((p for p in (path / MODEL_FILE, path / STATE_FILE) if p.is_file()), None)
        if path is None:
            raise UsageError(f"--checkpoint {args.checkpoint} is a folder without {MODEL_FILE} or "
                             f"{STATE_FILE}: "
                             "pass the run folder of `genae train` or a checkpoint file")
    device = resolve_device(args.device)
    return checkpoint.load(path, device=device), device


def _save_figure(fig, path: Path) -> None:
    from genae.infra.files import atomic_path

    with atomic_path(path) as tmp:
        fig.savefig(tmp, format=path.suffix.lower().lstrip("."), dpi=150, bbox_inches="tight")
    print(f"wrote {path}")


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit code (2 for bad arguments)."""
    parser = build_parser({"train": train, "sample": sample, "interpolate": interpolate,
                           "evaluate": evaluate})
    args = parser.parse_args(argv)
    from genae.features import FeaturesUnavailableError
    from genae.infra.checkpoint import CheckpointError

    try:
        return args.func(args)
    except UsageError as err:
        print(f"genae {args.command}: error: {err}", file=sys.stderr)
        return 2
    except (ValueError, FileNotFoundError, CheckpointError) as err:  # the library's name the fix
        print(f"genae {args.command}: error: {err}", file=sys.stderr)
        return 2
    except (FloatingPointError, FeaturesUnavailableError) as err:  # not the arguments' fault
        print(f"genae {args.command}: {err}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
