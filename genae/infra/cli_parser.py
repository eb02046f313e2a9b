"""The parser of :mod:`genae.infra.cli`: its options, their paper defaults (section 4.3), checks.

Every option that takes a value checks it while parsing and says, in one line,
what was wrong (:class:`Parser` prints no usage block and exits with code 2).
"""

from __future__ import annotations

import argparse
import math
from collections.abc import Callable
from pathlib import Path

from genae.defaults import IMAGE_SIZES, KINDS, PAPER_DENOISE_STD
from genae.defaults import PAPER as _PAPER

#: The paper's settings (genae.defaults.PAPER) that ``genae train`` starts from.
PAPER = {k: v for k, v in _PAPER.asdict().items() if k != "dataset"}
#: Settings that define a run: a resumed run keeps them. Others (epochs, device, workers) may
#: change.
RUN_KEYS = ("data", "kind", "image_size", "latent_dim", "width", "denoise_std", "batch_size", "lr",
            "beta1", "beta2", "seed")
RUN_FILE = "run.json"
MODEL_FILE = "model.pt"
FIGURE_FORMATS = ("png", "pdf", "svg", "jpg", "jpeg")


class Parser(argparse.ArgumentParser):
    """An argparse parser whose errors are one line: what was wrong, and where help is."""

    def error(self, message: str):  # noqa: D401 - argparse's hook
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


# ---- argument types: each raises ArgumentTypeError with a sentence -------------------------------

def whole(low: int):
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
        if value < low:
            raise argparse.ArgumentTypeError(f"{value} must be >= {low}")
        return value
    parse.__name__ = f"whole number >= {low}"
    return parse


def positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not (math.isfinite(value) and value > 0):
        raise argparse.ArgumentTypeError(f"{text} must be a finite number > 0")
    return value


def steps_list(text: str) -> list[int]:
    """``"0,1,5,10"`` -> [0, 1, 5, 10]: distinct whole numbers >= 0."""
    try:
        steps = [int(s) for s in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a comma-separated list of whole numbers, like 0,1,5,10"
        ) from None
    if any(s < 0 for s in steps) or len(set(steps)) != len(steps):
        raise argparse.ArgumentTypeError(f"{text!r} must list distinct chain steps >= 0, "
                                         "like 0,1,5,10")
    return steps


def device_name(text: str) -> str:
    """A device this machine has, kept as typed (torchrun's ranks pick their own GPU from it)."""
    from genae.infra.devices import resolve_device  # imports torch: only when --device is given

    try:
        resolve_device(text)
    except ValueError as err:
        message = str(err).split(": ")[0]  # the library's advice names device=...; this, --device
        raise argparse.ArgumentTypeError(f"{message}: use --device cpu, cuda or cuda:N where they "
                                         "exist, or leave --device out (CUDA when present, else "
                                         "the CPU)") from None
    return text


def figure_path(text: str) -> Path:
    path = Path(text)
    if path.suffix.lower().lstrip(".") not in FIGURE_FORMATS:
        suffixes = ", .".join(FIGURE_FORMATS)
        raise argparse.ArgumentTypeError(f"{text!r} needs a figure suffix: one of .{suffixes}")
    return path


def _default(key: str) -> str:
    """The help's default for ``key``, written from genae.defaults.PAPER."""
    value = PAPER[key]
    small = isinstance(value, float) and value < 1e-3
    return f"(default: {f'{value:.0e}'.replace('e-0', 'e-') if small else value})"


def _data_options(p: Parser, required: bool) -> None:
    from genae.data import CHANNELS

    p.add_argument("--data", choices=list(CHANNELS), required=required,
                   help="data set (mnist-5k is bundled and works offline; the paper: celeba, "
                   "svhn)" + ("" if required else "; required unless --resume, which reads it "
                              "from run.json"))
    p.add_argument("--root", help="folder holding the data set (for --data folder: the images)")


def _device_option(p: Parser) -> None:
    p.add_argument("--device", type=device_name,
                   help="cpu, cuda or cuda:N (default: CUDA when present)")


def _model_options(t: Parser) -> None:
    """``genae train``'s model and optimiser settings (the paper's by default)."""
    t.add_argument("--kind", choices=KINDS, help=f"the model {_default('kind')}")
    t.add_argument("--image-size", type=int, choices=IMAGE_SIZES,
                   help=f"side of the square images {_default('image_size')}")
    t.add_argument("--latent-dim", type=whole(1), help=f"size of z {_default('latent_dim')}")
    t.add_argument("--width", type=whole(1),
                   help=f"channels of the first convolution {_default('width')}")
    t.add_argument("--denoise-std", type=float,
                   help=f"corruption std for dvae/daae (default: the paper's {PAPER_DENOISE_STD})")
    t.add_argument("--epochs", type=whole(0), default=PAPER["epochs"],
                   help=f"epochs in all, counting resumed ones {_default('epochs')}")
    t.add_argument("--batch-size", type=whole(1),
                   help=f"global batch, split across ranks under torchrun {_default('batch_size')}")
    t.add_argument("--lr", type=positive_float, help=f"Adam's learning rate {_default('lr')}")
    t.add_argument("--beta1", type=float, help=f"Adam's beta1 {_default('beta1')}")
    t.add_argument("--beta2", type=float, help=f"Adam's beta2 {_default('beta2')}")
    t.add_argument("--seed", type=whole(0),
                   help=f"seeds the weights, noise and data order {_default('seed')}")


def _run_options(t: Parser) -> None:
    """``genae train``'s device, loading, checkpointing and output options."""
    _device_option(t)
    t.add_argument("--num-workers", type=whole(0), default=None,
                   help="DataLoader workers for data read from disk (default: one per core, at "
                   "most 8)")
    t.add_argument("--compile", action="store_true",
                   help="compile the loss with torch.compile (measure it first)")
    t.add_argument("--checkpoint-every", type=whole(1),
                   help="also checkpoint every N steps (default: each epoch)")
    t.add_argument("--no-progress", dest="progress", action="store_false", help="no progress bar")
    t.add_argument("--out", required=True,
                   help="run folder: last.pt (each epoch), model.pt, run.json, "
                   "metrics.csv, and tensorboard/ when tensorboard is installed")
    t.add_argument("--resume", action="store_true",
                   help="continue the run in --out from its last checkpoint")


def _train_command(sub, commands: dict[str, Callable]) -> None:
    t = sub.add_parser("train", help="train a model (section 4.3)",
                       description=commands["train"].__doc__)
    _data_options(t, required=False)
    t.add_argument("--download", action="store_true",
                   help="download a torchvision data set that is not on disk")
    _model_options(t)
    _run_options(t)
    t.set_defaults(func=commands["train"])


def _chain_options(p: Parser) -> None:
    p.add_argument("--checkpoint", required=True,
                   help="a run folder of `genae train`, or a checkpoint file")
    p.add_argument("--steps", type=steps_list, default=[0, 1, 5, 10],
                   help="chain steps to show, comma-separated (default: 0,1,5,10)")
    p.add_argument("--mean", action="store_true",
                   help="the deterministic chain (encoder means, no corruption)")
    p.add_argument("--seed", type=whole(0), default=0,
                   help="seeds the samples and the chain (default: 0)")
    _device_option(p)


def _chain_command(sub, commands: dict[str, Callable], name: str, summary: str,
                   data: bool = False) -> Parser:
    """A subcommand that runs chains from a trained model: its shared options."""
    p = sub.add_parser(name, help=summary, description=commands[name].__doc__)
    p.set_defaults(func=commands[name])
    _chain_options(p)
    if data:
        _data_options(p, required=True)
    return p


def _sample_command(sub, commands: dict[str, Callable]) -> None:
    s = _chain_command(sub, commands, "sample", "samples after chain steps (figures 4, 5, 7)")
    s.add_argument("--n", type=whole(1), default=64, help="number of samples (default: 64)")
    s.add_argument("--nrow", type=whole(1), help="images per grid row (default: a square grid)")
    s.add_argument("--out", type=figure_path, default=Path("samples.png"),
                   help="figure file (default: samples.png)")


def _interpolate_command(sub, commands: dict[str, Callable]) -> None:
    i = _chain_command(sub, commands, "interpolate",
                       "interpolations after chain steps (figures 3, 6, 8)", data=True)
    i.add_argument("--pairs", type=whole(1), default=2, help="pairs of test images (default: 2)")
    i.add_argument("--points", type=whole(2), default=8,
                   help="points along each interpolation (default: 8)")
    i.add_argument("--out", type=figure_path, default=Path("interp.png"),
                   help="figure file (default: interp.png)")


def _evaluate_command(sub, commands: dict[str, Callable]) -> None:
    e = _chain_command(sub, commands, "evaluate", "sample quality against chain steps", data=True)
    e.add_argument("--n", type=whole(4), default=500,
                   help="held-out images per half: samples, and the real images they are compared "
                   "with (default: 500)")
    e.add_argument("--inception-weights",
                   help="a local copy of FID's Inception weights (celeba, svhn, folder)")
    e.add_argument("--out", type=Path, help="also write the table as CSV")


def build_parser(commands: dict[str, Callable]) -> Parser:
    """The ``genae`` parser; ``commands`` maps each subcommand to its function (and description)."""
    parser = Parser(prog="genae",
                    description="Sampling from generative autoencoders with Markov chains: "
                    "the paper's experiments from a shell.",
                    epilog="Run `genae COMMAND --help` for each command's options.")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=Parser,
                                required=True)
    _train_command(sub, commands)
    _sample_command(sub, commands)
    _interpolate_command(sub, commands)
    _evaluate_command(sub, commands)
    return parser
