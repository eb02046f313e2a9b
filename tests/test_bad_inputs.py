"""Bad input, clear error (issue 9): one table of what a user can get wrong, for every public function.

Each row calls a public function with one bad input and asserts the error's
type and that its message names the offending value (and so says what was
wrong). Run this file as a script to print the table with each message, for
the issue's note: ``python tests/test_bad_inputs.py``.
"""

from __future__ import annotations

import math
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest
import torch
from torch import nn
from torch.utils.data import TensorDataset

sys.path.insert(0, str(Path(__file__).parent))
from conftest import tiny  # noqa: E402

from genae import chainstats, evaluate, linear, metrics, plots  # noqa: E402
from genae.data import DataNotFoundError, load_images  # noqa: E402
from genae.features import domain_classifier, feature_extractor, train_classifier  # noqa: E402
from genae.gaussians import Gaussian  # noqa: E402
from genae.infra import checkpoint  # noqa: E402
from genae.infra.cache import trained_model  # noqa: E402
from genae.infra.checkpoint import CheckpointError  # noqa: E402
from genae.infra.devices import resolve_device  # noqa: E402
from genae.interpolate import lerp, slerp  # noqa: E402
from genae.mcmc import chain_step, run_chain, sample_prior  # noqa: E402
from genae.models import make_model  # noqa: E402
from genae.notebook import check_notebook_parameters  # noqa: E402
from genae.train import STATE_FILE, fit  # noqa: E402

NO_CUDA = not torch.cuda.is_available()


@dataclass
class Row:
    function: str
    bad: str                       # the bad input, in words
    call: Callable[[Any], object]  # called with the environment below
    error: type[BaseException]
    names: tuple[str, ...]         # what the message must contain: the offending value (and the fix)
    needs_no_cuda: bool = False


class CliExit(Exception):
    """``genae ...`` ended with a non-zero exit code; the message is the code and what it printed on stderr."""


def cli(e, *argv: str) -> None:
    """Run the command line as ``genae ARGV`` would, in this process, and raise :class:`CliExit` unless it succeeds."""
    import contextlib
    import io

    from genae.infra.cli import main

    argv = [a.replace("DIR", str(e.dir)) for a in argv]
    err = io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        try:
            code = main(argv)
        except SystemExit as exit_:  # argparse's errors
            code = exit_.code
    if code:
        raise CliExit(f"exit {code}: {err.getvalue().strip()}")


def make_env(folder: Path) -> SimpleNamespace:
    """The files and models the rows need: checkpoints gone wrong, an image folder with broken files."""
    from PIL import Image

    env = SimpleNamespace(dir=folder, model=tiny("vae"), model3=tiny("vae", channels=3))
    env.digits = load_images("digits", "train", image_size=16)
    env.small = TensorDataset(env.digits.tensors[0][:64])
    env.exact = linear.LinearGaussianAE.from_decoder(np.ones((3, 2)), np.zeros(3), 0.5)
    env.feats = np.random.default_rng(0).normal(size=(6, 4))
    env.real = load_images("digits", "test", image_size=16).tensors[0][:20]
    env.classifier = train_classifier(env.digits, 16, 1, epochs=1, width=4, feature_dim=8)
    env.vae_file = checkpoint.save(tiny("vae"), folder / "vae.pt")
    data = env.vae_file.read_bytes()
    (folder / "truncated.pt").write_bytes(data[: len(data) // 2])
    (folder / "notes.pt").write_text("not a checkpoint")
    torch.save({"weights": torch.zeros(2)}, folder / "foreign.pt")
    torch.save({"format": checkpoint.FORMAT, "version": checkpoint.VERSION, "obj": Path("x")}, folder / "code.pt")
    old = torch.load(env.vae_file, weights_only=True)
    torch.save({**old, "version": 0}, folder / "old.pt")
    edited = torch.load(env.vae_file, weights_only=True)
    edited["config"]["latent_dim"] = 5
    torch.save(edited, folder / "edited.pt")
    fit(tiny("vae"), env.small, epochs=1, progress=False, checkpoint_dir=folder / "run-vae")
    (folder / "run-old").mkdir()
    state = torch.load(folder / "run-vae" / STATE_FILE, weights_only=True)
    torch.save({**state, "version": 0}, folder / "run-old" / STATE_FILE)
    checkpoint.save(tiny("vae"), folder / "run-model" / STATE_FILE)
    (folder / "empty").mkdir()
    (folder / "a-file.txt").write_text("x")
    for name in ("broken", "cut"):
        images = folder / f"images-{name}"
        images.mkdir()
        for i in range(4):
            Image.new("RGB", (20, 20), color=(40 * i, 90, 200)).save(images / f"ok{i}.png")
    (folder / "images-broken" / "broken.png").write_bytes(b"\x89PNG but not really an image")
    noise = np.random.default_rng(0).integers(0, 256, (48, 48, 3), dtype=np.uint8)
    Image.fromarray(noise).save(folder / "whole.png")
    whole = (folder / "whole.png").read_bytes()
    (folder / "images-cut" / "cut.png").write_bytes(whole[: len(whole) * 2 // 3])  # a copy cut short
    return env


def images_folder(e, name):
    return load_images("folder", "all", image_size=16, root=e.dir / f"images-{name}")


ROWS = [
    # --- genae.data.load_images -------------------------------------------------------------------------
    Row("load_images", "unknown data set 'cifar'", lambda e: load_images("cifar"), ValueError, ("'cifar'", "digits")),
    Row("load_images", "split 'valid' of the digits", lambda e: load_images("digits", "valid"), ValueError,
        ("'valid'", "train, test")),
    Row("load_images", "image_size=0", lambda e: load_images("digits", image_size=0), ValueError, ("got 0",)),
    Row("load_images", "image_size=1.5", lambda e: load_images("digits", image_size=1.5), ValueError, ("1.5",)),
    Row("load_images", "'folder' without root=", lambda e: load_images("folder"), ValueError, ("root=",)),
    Row("load_images", "a folder that does not exist", lambda e: load_images("folder", root=e.dir / "nowhere"),
        DataNotFoundError, ("nowhere", "does not exist")),
    Row("load_images", "a folder without images", lambda e: load_images("folder", root=e.dir / "empty"),
        DataNotFoundError, ("empty", "no image files")),
    Row("load_images", "MNIST not downloaded", lambda e: load_images("mnist", root=e.dir / "data"),
        DataNotFoundError, ("'mnist'", "data", "download=True")),
    Row("load_images + fit", "a corrupt image file in a folder data set",
        lambda e: fit(e.model3, images_folder(e, "broken"), epochs=1, progress=False, num_workers=0),
        ValueError, ("broken.png", "corrupt or truncated")),
    Row("load_images + fit", "a truncated image file in a folder data set",
        lambda e: fit(e.model3, images_folder(e, "cut"), epochs=1, progress=False, num_workers=0),
        ValueError, ("cut.png", "corrupt or truncated")),
    Row("load_images + fit", "a corrupt image read by 2 DataLoader workers",
        lambda e: fit(e.model3, images_folder(e, "broken"), epochs=1, progress=False, num_workers=2),
        ValueError, ("broken.png", "corrupt or truncated")),
    # --- genae.models.make_model and the models' methods --------------------------------------------------
    Row("make_model", "unknown kind 'gan'", lambda e: make_model("gan"), ValueError, ("'gan'", "vae, aae")),
    Row("make_model", "image_size=48", lambda e: make_model("vae", image_size=48), ValueError, ("48", "16, 32, 64")),
    Row("make_model", "channels=0", lambda e: make_model("vae", channels=0), ValueError, ("channels", "got 0")),
    Row("make_model", "latent_dim=2.5", lambda e: make_model("vae", latent_dim=2.5), ValueError,
        ("latent_dim", "2.5")),
    Row("make_model", "width=-1", lambda e: make_model("vae", width=-1), ValueError, ("width", "-1")),
    Row("make_model", "denoise_std=-0.5", lambda e: make_model("dvae", denoise_std=-0.5), ValueError,
        ("denoise_std", "-0.5")),
    Row("make_model", "denoise_std=nan", lambda e: make_model("dvae", denoise_std=math.nan), ValueError, ("nan",)),
    Row("make_model", "denoise_std='0.5' (a string)", lambda e: make_model("dvae", denoise_std="0.5"), ValueError,
        ("'0.5'",)),
    Row("make_model", "denoise_std=True", lambda e: make_model("dvae", denoise_std=True), ValueError, ("True",)),
    Row("model.loss", "3-channel images for a 1-channel model", lambda e: e.model.loss(torch.rand(2, 3, 16, 16)),
        ValueError, ("3x16x16", "1x16x16", "channel")),
    Row("model.loss", "32x32 images for a 16x16 model", lambda e: e.model.loss(torch.rand(2, 1, 32, 32)),
        ValueError, ("1x32x32", "image_size=16")),
    Row("model.loss", "one image without the batch dimension", lambda e: e.model.loss(torch.rand(1, 16, 16)),
        ValueError, ("3-D", "(1, 16, 16)")),
    Row("model.loss", "uint8 pixels", lambda e: e.model.loss(torch.zeros(2, 1, 16, 16, dtype=torch.uint8)),
        ValueError, ("torch.uint8", "/ 255")),
    Row("model.loss", "pixels in [0, 255]", lambda e: e.model.loss(torch.linspace(0, 255, 512).view(2, 1, 16, 16)),
        ValueError, ("255", "[0, 1]")),
    Row("model.loss", "NaN pixels", lambda e: e.model.loss(torch.full((2, 1, 16, 16), math.nan)), ValueError,
        ("NaN", "512 of 512")),
    Row("model.encode", "a NumPy array", lambda e: e.model.encode(np.zeros((2, 1, 16, 16))), TypeError,
        ("ndarray",)),
    Row("model.decode", "latents of size 5 for latent_dim 4", lambda e: e.model.decode(torch.randn(2, 5)),
        ValueError, ("(N, 4)", "(2, 5)")),
    Row("model.decode", "integer latents", lambda e: e.model.decode(torch.zeros(2, 4, dtype=torch.long)),
        ValueError, ("torch.int64",)),
    # --- genae.train.fit -----------------------------------------------------------------------------------
    Row("fit", "epochs=-1", lambda e: fit(e.model, e.small, epochs=-1), ValueError, ("epochs", "-1")),
    Row("fit", "epochs=2.5", lambda e: fit(e.model, e.small, epochs=2.5), ValueError, ("epochs", "2.5")),
    Row("fit", "batch_size=0", lambda e: fit(e.model, e.small, batch_size=0), ValueError, ("batch_size", "got 0")),
    Row("fit", "an empty data set", lambda e: fit(e.model, TensorDataset(torch.rand(0, 1, 16, 16))), ValueError,
        ("empty",)),
    Row("fit", "checkpoint_every=0", lambda e: fit(e.model, e.small, checkpoint_every=0), ValueError,
        ("checkpoint_every", "got 0")),
    Row("fit", "resume=True without checkpoint_dir", lambda e: fit(e.model, e.small, resume=True), ValueError,
        ("checkpoint_dir",)),
    Row("fit", "num_workers=-1", lambda e: fit(e.model, e.small, num_workers=-1, progress=False), ValueError,
        ("num_workers", "-1")),
    Row("fit", "lr=-1", lambda e: fit(e.model, e.small, lr=-1), ValueError, ("lr", "got -1")),
    Row("fit", "lr=nan", lambda e: fit(e.model, e.small, lr=math.nan), ValueError, ("lr", "got nan")),
    Row("fit", "betas=(1.5, 0.9)", lambda e: fit(e.model, e.small, betas=(1.5, 0.9)), ValueError,
        ("betas", "(1.5, 0.9)", "[0, 1)")),
    Row("fit", "seed=1.5", lambda e: fit(e.model, e.small, seed=1.5), ValueError, ("seed", "1.5")),
    Row("fit", "a module that is not a genae model", lambda e: fit(nn.Linear(2, 2), e.small), TypeError,
        ("Linear", "param_groups")),
    Row("fit", "device='tpu'", lambda e: fit(e.model, e.small, device="tpu"), ValueError, ("'tpu'", "'cpu'")),
    Row("fit", "device='cuda' on a machine without CUDA", lambda e: fit(e.model, e.small, device="cuda"),
        ValueError, ("'cuda'", "no CUDA GPU"), needs_no_cuda=True),
    Row("fit", "16x16 digits for a 32x32 model", lambda e: fit(tiny(image_size=32), e.small, progress=False),
        ValueError, ("1x16x16", "1x32x32")),
    Row("fit", "colour images for a grey model",
        lambda e: fit(e.model, TensorDataset(torch.rand(8, 3, 16, 16)), progress=False), ValueError, ("3x16x16",)),
    Row("fit", "uint8 images", lambda e: fit(e.model, TensorDataset(torch.zeros(8, 1, 16, 16, dtype=torch.uint8)),
                                             progress=False), ValueError, ("torch.uint8",)),
    Row("fit", "images in [0, 255]", lambda e: fit(e.model, TensorDataset(e.small.tensors[0] * 255), progress=False),
        ValueError, ("255", "x / 255")),
    Row("fit", "resume from a run of another kind (vae run, aae model)",
        lambda e: fit(tiny("aae"), e.small, epochs=1, checkpoint_dir=e.dir / "run-vae", resume=True),
        CheckpointError, ("'kind': 'vae'", "'kind': 'aae'", "run-vae")),
    Row("fit", "resume from a training state of an older format",
        lambda e: fit(tiny("vae"), e.small, epochs=1, checkpoint_dir=e.dir / "run-old", resume=True),
        CheckpointError, ("version 0", "run-old")),
    Row("fit", "resume from a saved model, not a training state",
        lambda e: fit(tiny("vae"), e.small, epochs=1, checkpoint_dir=e.dir / "run-model", resume=True),
        CheckpointError, ("run-model", "not a training state")),
    # --- genae.mcmc -------------------------------------------------------------------------------------------
    Row("run_chain", "steps=-1", lambda e: run_chain(e.model, torch.randn(2, 4), -1), ValueError, ("steps", "-1")),
    Row("run_chain", "steps=1.5", lambda e: run_chain(e.model, torch.randn(2, 4), 1.5), ValueError, ("1.5",)),
    Row("run_chain", "steps=True", lambda e: run_chain(e.model, torch.randn(2, 4), True), ValueError, ("True",)),
    Row("run_chain", "z0 of size 7 for latent_dim 4", lambda e: run_chain(e.model, torch.randn(2, 7), 1),
        ValueError, ("(N, 4)", "(2, 7)")),
    Row("run_chain", "one latent without the batch dimension", lambda e: run_chain(e.model, torch.randn(4), 1),
        ValueError, ("(4,)",)),
    Row("run_chain", "z0 as a NumPy array", lambda e: run_chain(e.model, np.zeros((2, 4)), 1), TypeError,
        ("ndarray",)),
    Row("run_chain", "integer z0", lambda e: run_chain(e.model, torch.zeros(2, 4, dtype=torch.long), 1), ValueError,
        ("torch.int64",)),
    Row("run_chain", "a module that is not an autoencoder", lambda e: run_chain(nn.Linear(4, 4), torch.randn(2, 4), 1),
        TypeError, ("Linear", "encode")),
    Row("chain_step", "z of size 5", lambda e: chain_step(e.model, torch.randn(2, 5)), ValueError, ("(2, 5)",)),
    Row("sample_prior", "n=-1", lambda e: sample_prior(-1, 4), ValueError, ("n must", "-1")),
    Row("sample_prior", "latent_dim=0", lambda e: sample_prior(3, 0), ValueError, ("latent_dim", "got 0")),
    # --- genae.interpolate ------------------------------------------------------------------------------------
    Row("slerp", "ends of different sizes", lambda e: slerp(torch.randn(2, 3), torch.randn(2, 4), 5), ValueError,
        ("(2, 3)", "(2, 4)")),
    Row("slerp", "steps=1", lambda e: slerp(torch.randn(3), torch.randn(3), 1), ValueError, ("at least 2", "got 1")),
    Row("slerp", "steps=-1", lambda e: slerp(torch.randn(3), torch.randn(3), -1), ValueError, ("-1",)),
    Row("slerp", "ends as NumPy arrays", lambda e: slerp(np.zeros(3), np.ones(3), 5), TypeError, ("ndarray",)),
    Row("slerp", "integer ends", lambda e: slerp(torch.zeros(3, dtype=torch.long), torch.ones(3, dtype=torch.long), 5),
        ValueError, ("torch.int64",)),
    Row("slerp", "0-D ends", lambda e: slerp(torch.tensor(1.0), torch.tensor(2.0), 5), ValueError, ("shape ()",)),
    Row("lerp", "ends of different dtypes", lambda e: lerp(torch.zeros(3), torch.ones(3, dtype=torch.float64), 3),
        ValueError, ("torch.float32", "torch.float64")),
    Row("lerp", "steps=2.5", lambda e: lerp(torch.zeros(3), torch.ones(3), 2.5), ValueError, ("2.5",)),
    # --- genae.infra.checkpoint ---------------------------------------------------------------------------------------
    Row("checkpoint.save", "a plain nn.Linear", lambda e: checkpoint.save(nn.Linear(2, 2), e.dir / "x.pt"), TypeError,
        ("Linear", "make_model")),
    Row("checkpoint.save", "a NumPy array in extra=", lambda e: checkpoint.save(e.model, e.dir / "x.pt",
                                                                                arr=np.zeros(3)),
        TypeError, ("extra['arr']", "numpy.ndarray", "torch.from_numpy")),
    Row("checkpoint.save", "a folder as the path", lambda e: checkpoint.save(e.model, e.dir / "empty"),
        IsADirectoryError, ("empty", "is a folder")),
    Row("checkpoint.load", "a missing file", lambda e: checkpoint.load(e.dir / "missing.pt"), FileNotFoundError,
        ("missing.pt",)),
    Row("checkpoint.load", "a truncated checkpoint", lambda e: checkpoint.load(e.dir / "truncated.pt"),
        CheckpointError, ("truncated.pt", "truncated")),
    Row("checkpoint.load", "a text file", lambda e: checkpoint.load(e.dir / "notes.pt"), CheckpointError,
        ("notes.pt", "not a readable checkpoint", "b'not '")),
    Row("checkpoint.load", "a PyTorch file that is not a genae checkpoint",
        lambda e: checkpoint.load(e.dir / "foreign.pt"), CheckpointError, ("foreign.pt", "not a genae checkpoint")),
    Row("checkpoint.load", "a file that needs pickled code", lambda e: checkpoint.load(e.dir / "code.pt"),
        CheckpointError, ("code.pt", "pathlib.", "arbitrary code", "weights_only=True")),
    Row("checkpoint.load", "a checkpoint of another kind", lambda e: checkpoint.load(e.vae_file, kind="aae"),
        CheckpointError, ("'vae'", "'aae'")),
    Row("checkpoint.load", "a checkpoint of an older format", lambda e: checkpoint.load(e.dir / "old.pt"),
        CheckpointError, ("old.pt", "version 0")),
    Row("checkpoint.load", "an edited config that no longer fits the weights",
        lambda e: checkpoint.load(e.dir / "edited.pt"), CheckpointError, ("edited.pt", "cannot rebuild")),
    Row("checkpoint.load", "device='cuda' on a machine without CUDA",
        lambda e: checkpoint.load(e.vae_file, device="cuda"), ValueError, ("'cuda'",), needs_no_cuda=True),
    # --- genae.infra.cache.trained_model ----------------------------------------------------------------------------
    Row("cache.trained_model", "unknown data set", lambda e: trained_model("vae", "cifar", cache_dir=e.dir / "cache"),
        ValueError, ("'cifar'",)),
    Row("cache.trained_model", "unknown kind",
        lambda e: trained_model("gan", image_size=16, cache_dir=e.dir / "cache"), ValueError, ("'gan'",)),
    Row("cache.trained_model", "device='tpu'",
        lambda e: trained_model("vae", device="tpu", cache_dir=e.dir / "cache"), ValueError, ("'tpu'",)),
    Row("cache.trained_model", "epochs=-1",
        lambda e: trained_model("vae", image_size=16, epochs=-1, cache_dir=e.dir / "cache"), ValueError, ("-1",)),
    Row("cache.trained_model", "a snapshot at or past the last epoch",
        lambda e: trained_model("vae", image_size=16, epochs=5, snapshots=(5,), cache_dir=e.dir / "cache"), ValueError,
        ("snapshots=(5,)", "1 to epochs - 1 = 4")),
    # --- genae.plots ---------------------------------------------------------------------------------------------
    Row("plots.show_images", "a NumPy array", lambda e: plots.show_images(np.zeros((2, 1, 8, 8))), TypeError,
        ("ndarray",)),
    Row("plots.show_images", "one image without the batch dimension", lambda e: plots.show_images(torch.rand(1, 8, 8)),
        ValueError, ("(1, 8, 8)",)),
    Row("plots.show_images", "2 channels", lambda e: plots.show_images(torch.rand(2, 2, 8, 8)), ValueError,
        ("(2, 2, 8, 8)", "C = 1 or 3")),
    Row("plots.show_images", "no images", lambda e: plots.show_images(torch.rand(0, 1, 8, 8)), ValueError,
        ("(0, 1, 8, 8)",)),
    Row("plots.show_images", "uint8 pixels", lambda e: plots.show_images(torch.zeros(2, 1, 8, 8, dtype=torch.uint8)),
        ValueError, ("torch.uint8",)),
    Row("plots.show_images", "nrow=0", lambda e: plots.show_images(torch.rand(2, 1, 8, 8), nrow=0), ValueError,
        ("nrow", "got 0")),
    Row("plots.show_chain", "a step beyond the trajectory",
        lambda e: plots.show_chain(e.model, torch.randn(3, 2, 4), (0, 5)), ValueError, ("0..2", "step 5")),
    Row("plots.show_chain", "a negative step", lambda e: plots.show_chain(e.model, torch.randn(3, 2, 4), (-1,)),
        ValueError, ("step -1",)),
    Row("plots.show_chain", "no steps", lambda e: plots.show_chain(e.model, torch.randn(3, 2, 4), ()), ValueError,
        ("no steps",)),
    Row("plots.show_chain", "latents of size 5 for latent_dim 4",
        lambda e: plots.show_chain(e.model, torch.randn(3, 2, 5), (0, 1)), ValueError, ("(N, 4)", "(2, 5)")),
    Row("plots.decode_steps", "a batch of latents instead of a trajectory",
        lambda e: plots.decode_steps(e.model, torch.randn(3, 4), [1]), ValueError, ("(3, 4)", "run_chain")),
    Row("plots.show_paths", "2 paths, 1 label",
        lambda e: plots.show_paths(e.model, [torch.randn(5, 4)] * 2, ["slerp"]), ValueError, ("2 path", "1 label")),
    Row("plots.show_paths", "paths of different lengths",
        lambda e: plots.show_paths(e.model, [torch.randn(5, 4), torch.randn(4, 4)], ["a", "b"]), ValueError,
        ("(4, 4)", "(5, 4)")),
    Row("plots.plot_history", "an empty history", lambda e: plots.plot_history([]), ValueError, ("empty",)),
    Row("plots.plot_history", "a misspelt term", lambda e: plots.plot_history([{"epoch": 1, "prior": 1.0}],
                                                                              terms=["priors"]),
        ValueError, ("'priors'", "prior")),
    Row("plots.plot_history", "entries without 'epoch'", lambda e: plots.plot_history([{"prior": 1.0}]), ValueError,
        ("'epoch'", "['prior']")),
    # --- genae.infra.devices.resolve_device -------------------------------------------------------------------------
    Row("resolve_device", "'tpu'", lambda e: resolve_device("tpu"), ValueError, ("'tpu'", "'cuda:N'")),
    Row("resolve_device", "1.5", lambda e: resolve_device(1.5), ValueError, ("1.5",)),
    Row("resolve_device", "'cuda' without CUDA", lambda e: resolve_device("cuda"), ValueError,
        ("'cuda'", "device='cpu'"), needs_no_cuda=True),
    Row("resolve_device", "'cuda:5' without CUDA", lambda e: resolve_device("cuda:5"), ValueError, ("'cuda:5'",),
        needs_no_cuda=True),
    Row("resolve_device", "'mps' without Apple MPS", lambda e: resolve_device("mps"), ValueError, ("'mps'", "MPS"),
        needs_no_cuda=not torch.backends.mps.is_available()),
    # --- genae.linear (the exact linear-Gaussian chain) -----------------------------------------------------
    Row("linear.LinearGaussianAE", "W a vector, not a matrix",
        lambda e: linear.LinearGaussianAE(np.ones(3), np.zeros(3), np.ones((2, 3)), np.zeros(2), np.eye(2)),
        ValueError, ("W must be", "(3,)")),
    Row("linear.LinearGaussianAE", "A of the wrong shape",
        lambda e: linear.LinearGaussianAE(np.ones((3, 2)), np.zeros(3), np.ones((3, 3)), np.zeros(2), np.eye(2)),
        ValueError, ("A must have shape (2, 3)", "(3, 3)")),
    Row("linear.LinearGaussianAE", "an encoder covariance S that is not positive semi-definite",
        lambda e: linear.LinearGaussianAE(np.ones((3, 2)), np.zeros(3), np.ones((2, 3)), np.zeros(2), -np.eye(2)),
        ValueError, ("positive semi-definite", "-1")),
    Row("linear.LinearGaussianAE", "NaN in W",
        lambda e: linear.LinearGaussianAE(np.full((3, 2), np.nan), np.zeros(3), np.ones((2, 3)), np.zeros(2),
                                          np.eye(2)), ValueError, ("W must be finite",)),
    Row("linear.LinearGaussianAE.from_decoder", "decoder noise s=0",
        lambda e: linear.LinearGaussianAE.from_decoder(np.ones((3, 2)), np.zeros(3), 0.0), ValueError,
        ("s must be", "got 0.0")),
    Row("linear.run_chain", "float32 latents for the float64 exact model",
        lambda e: run_chain(e.exact, torch.zeros(2, 2), 3), ValueError, ("torch.float32", "x.double()")),
    Row("linear.stationary", "a chain with spectral radius >= 1",
        lambda e: linear.stationary(e.exact.replace(A=np.ones((2, 3)), S=np.eye(2)), decode="sample"), ValueError,
        ("spectral radius", "6 >= 1")),
    Row("linear.chain_marginals", "steps=-1",
        lambda e: linear.chain_marginals(e.exact, Gaussian.standard(2), -1, decode="sample"), ValueError, ("steps", "-1")),
    Row("linear.chain_marginals", "a start of the wrong dimension",
        lambda e: linear.chain_marginals(e.exact, Gaussian.standard(3), 2, decode="sample"), ValueError, ("2-D latent", "dimension 3")),
    Row("linear.fit_ppca", "latent_dim as large as the data's dimension",
        lambda e: linear.fit_ppca(np.random.default_rng(0).normal(size=(10, 3)), 3), ValueError,
        ("latent_dim", "got 3", "from 1 to 2")),
    # --- genae.metrics --------------------------------------------------------------------------------------------
    Row("metrics.frechet_distance", "3-D features", lambda e: metrics.frechet_distance(np.zeros((2, 3, 4)), e.feats),
        ValueError, ("(2, 3, 4)", "flatten")),
    Row("metrics.frechet_distance", "feature sets of different widths",
        lambda e: metrics.frechet_distance(e.feats, e.feats[:, :3]), ValueError, ("4 features", "has 3")),
    Row("metrics.frechet_distance", "one sample", lambda e: metrics.frechet_distance(e.feats[:1], e.feats),
        ValueError, ("1 samples", "at least 2")),
    Row("metrics.frechet_distance", "NaN features", lambda e: metrics.frechet_distance(e.feats * np.nan, e.feats),
        ValueError, ("NaN",)),
    Row("metrics.frechet_distance", "a Python list", lambda e: metrics.frechet_distance([[1.0, 2.0]], e.feats),
        TypeError, ("list",)),
    Row("metrics.mmd", "bandwidth=0", lambda e: metrics.mmd(e.feats, e.feats, bandwidth=0), ValueError,
        ("bandwidth", "got 0")),
    Row("metrics.mmd", "boolean features", lambda e: metrics.mmd(e.feats > 0, e.feats), ValueError, ("torch.bool",)),
    Row("metrics.precision_recall", "k=0", lambda e: metrics.precision_recall(e.feats, e.feats, k=0), ValueError,
        ("k must", "got 0")),
    Row("metrics.precision_recall", "no more samples than k",
        lambda e: metrics.precision_recall(e.feats[:3], e.feats, k=3), ValueError, ("3 samples", "at least 4")),
    # --- genae.chainstats -----------------------------------------------------------------------------------------
    Row("chainstats.aggregate_posterior", "8x8 images for a 16x16 model",
        lambda e: chainstats.aggregate_posterior(e.model, torch.rand(3, 1, 8, 8)), ValueError, ("1x8x8", "1x16x16")),
    Row("chainstats.aggregate_posterior", "batch_size=0",
        lambda e: chainstats.aggregate_posterior(e.model, torch.rand(3, 1, 16, 16), batch_size=0), ValueError,
        ("batch_size", "got 0")),
    Row("chainstats.step_sizes", "a single state (no step)", lambda e: chainstats.step_sizes(torch.zeros(1, 2, 4)),
        ValueError, ("(1, 2, 4)", "steps >= 1")),
    Row("chainstats.step_sizes", "a NumPy trajectory", lambda e: chainstats.step_sizes(np.zeros((3, 2, 4))),
        ValueError, ("ndarray",)),
    Row("chainstats.nearest_distance", "images of another size than the reference",
        lambda e: chainstats.nearest_distance(torch.zeros(2, 1, 4, 4), torch.zeros(2, 1, 5, 5)), ValueError,
        ("(2, 1, 4, 4)", "(2, 1, 5, 5)", "same image shape")),
    Row("chainstats.nearest_distance", "an empty reference",
        lambda e: chainstats.nearest_distance(torch.zeros(2, 1, 4, 4), torch.zeros(0, 1, 4, 4)), ValueError,
        ("reference is empty",)),
    Row("chainstats.nearest_distance", "a NumPy reference",
        lambda e: chainstats.nearest_distance(torch.zeros(2, 1, 4, 4), np.zeros((2, 1, 4, 4))), TypeError,
        ("reference", "ndarray")),
    Row("chainstats.nearest_distance", "batch_size=0",
        lambda e: chainstats.nearest_distance(torch.zeros(2, 1, 4, 4), torch.zeros(2, 1, 4, 4), batch_size=0),
        ValueError, ("batch_size", "got 0")),
    Row("chainstats.total_variation", "a single image without the batch axis",
        lambda e: chainstats.total_variation(torch.rand(1, 16, 16)), ValueError, ("(1, 16, 16)", "N, C, H, W")),
    Row("chainstats.total_variation", "a NumPy batch", lambda e: chainstats.total_variation(np.zeros((2, 1, 4, 4))),
        TypeError, ("ndarray",)),
    # --- genae.evaluate -------------------------------------------------------------------------------------------
    Row("evaluate.evaluate_chain", "colour images for a grey model and classifier",
        lambda e: evaluate.evaluate_chain(e.model, e.classifier, torch.rand(20, 3, 16, 16), n_samples=10),
        ValueError, ("(20, 3, 16, 16)", "(N, 1, 16, 16)")),
    Row("evaluate.evaluate_chain", "images in [0, 255]",
        lambda e: evaluate.evaluate_chain(e.model, e.classifier, e.real * 255, n_samples=10), ValueError,
        ("255", "x / 255")),
    Row("evaluate.evaluate_chain", "steps=[-1]",
        lambda e: evaluate.evaluate_chain(e.model, e.classifier, e.real, n_samples=10, steps=[-1]), ValueError,
        ("steps", "-1")),
    Row("evaluate.evaluate_chain", "steps=5 (not a list)",
        lambda e: evaluate.evaluate_chain(e.model, e.classifier, e.real, n_samples=10, steps=5), ValueError,
        ("non-empty list", "got 5")),
    Row("evaluate.evaluate_chain", "n_samples=2 with k=3",
        lambda e: evaluate.evaluate_chain(e.model, e.classifier, e.real, n_samples=2), ValueError,
        ("n_samples", "got 2")),
    Row("evaluate.evaluate_chain", "3 real images with k=3",
        lambda e: evaluate.evaluate_chain(e.model, e.classifier, e.real[:3], n_samples=10), ValueError,
        ("3 images", "k=3")),
    Row("evaluate.evaluate_chain", "a module that is not a genae model",
        lambda e: evaluate.evaluate_chain(nn.Linear(2, 2), e.classifier, e.real, n_samples=10), TypeError,
        ("Linear", "encode")),
    Row("evaluate.evaluate_chain", "no feature network (None)",
        lambda e: evaluate.evaluate_chain(e.model, None, e.real, n_samples=10), TypeError,
        ("NoneType", "feature_extractor")),
    Row("evaluate.real_baseline", "3 images with k=3", lambda e: evaluate.real_baseline(e.model, e.classifier,
                                                                                           e.real[:3], e.real),
        ValueError, ("k=3", "got 3 images")),
    Row("evaluate.split_halves", "3 images", lambda e: evaluate.split_halves(e.real[:3]), ValueError,
        ("at least 4", "got 3 images")),
    Row("features.train_classifier", "images without labels",
        lambda e: train_classifier(e.small, 16, 1, epochs=1), ValueError, ("(image, label)", "1 part(s)")),
    Row("features.feature_extractor", "unknown data set 'cifar'", lambda e: feature_extractor("cifar"), ValueError,
        ("'cifar'",)),
    Row("features.domain_classifier", "a data set without digit or clothes labels",
        lambda e: domain_classifier("folder"), ValueError, ("'folder'", "InceptionFeatures")),
    # --- the command line (genae.infra.cli) -----------------------------------------------------------------------
    Row("genae train", "--data cifar", lambda e: cli(e, "train", "--data", "cifar", "--out", "DIR/r"), CliExit,
        ("exit 2", "'cifar'", "digits")),
    Row("genae train", "--kind gan", lambda e: cli(e, "train", "--data", "digits", "--kind", "gan", "--out", "DIR/r"),
        CliExit, ("exit 2", "'gan'")),
    Row("genae train", "--image-size 48",
        lambda e: cli(e, "train", "--data", "digits", "--image-size", "48", "--out", "DIR/r"), CliExit,
        ("exit 2", "48", "16, 32, 64")),
    Row("genae train", "--latent-dim 0",
        lambda e: cli(e, "train", "--data", "digits", "--latent-dim", "0", "--out", "DIR/r"), CliExit,
        ("exit 2", "--latent-dim: 0 must be >= 1")),
    Row("genae train", "--epochs -1", lambda e: cli(e, "train", "--data", "digits", "--epochs", "-1", "--out", "DIR/r"),
        CliExit, ("exit 2", "-1 must be >= 0")),
    Row("genae train", "--lr 0", lambda e: cli(e, "train", "--data", "digits", "--lr", "0", "--out", "DIR/r"),
        CliExit, ("exit 2", "--lr: 0")),
    Row("genae train", "--beta1 1.5",
        lambda e: cli(e, "train", "--data", "digits", "--beta1", "1.5", "--image-size", "16", "--width", "4",
                      "--latent-dim", "4", "--no-progress", "--out", "DIR/cli-beta"), CliExit,
        ("exit 2", "(1.5, 0.999)")),
    Row("genae train", "--device tpu", lambda e: cli(e, "train", "--data", "digits", "--device", "tpu",
                                                      "--out", "DIR/r"), CliExit, ("exit 2", "'tpu'", "--device cpu")),
    Row("genae train", "--device cuda without CUDA",
        lambda e: cli(e, "train", "--data", "digits", "--device", "cuda", "--out", "DIR/r"), CliExit,
        ("exit 2", "'cuda'", "no CUDA GPU", "--device cpu"), needs_no_cuda=True),
    Row("genae train", "--data folder with a --root that does not exist",
        lambda e: cli(e, "train", "--data", "folder", "--root", "DIR/nowhere", "--out", "DIR/r"), CliExit,
        ("exit 2", "nowhere", "does not exist")),
    Row("genae train", "no --out", lambda e: cli(e, "train", "--data", "digits"), CliExit, ("exit 2", "--out")),
    Row("genae sample", "a --checkpoint that does not exist",
        lambda e: cli(e, "sample", "--checkpoint", "DIR/missing.pt"), CliExit, ("exit 2", "missing.pt")),
    Row("genae sample", "a truncated --checkpoint", lambda e: cli(e, "sample", "--checkpoint", "DIR/truncated.pt"),
        CliExit, ("exit 2", "truncated.pt", "not a readable checkpoint")),
    Row("genae sample", "--steps 0,-1", lambda e: cli(e, "sample", "--checkpoint", "DIR/vae.pt", "--steps", "0,-1"),
        CliExit, ("exit 2", "'0,-1'")),
    Row("genae sample", "--out samples.txt",
        lambda e: cli(e, "sample", "--checkpoint", "DIR/vae.pt", "--out", "samples.txt"), CliExit,
        ("exit 2", "'samples.txt'", ".png")),
    Row("genae interpolate", "--points 1", lambda e: cli(e, "interpolate", "--checkpoint", "DIR/vae.pt",
                                                          "--points", "1"), CliExit, ("exit 2", "1 must be >= 2")),
    Row("genae evaluate", "--n 2", lambda e: cli(e, "evaluate", "--checkpoint", "DIR/vae.pt", "--n", "2"), CliExit,
        ("exit 2", "2 must be >= 4")),
    # --- genae.notebook.check_notebook_parameters -------------------------------------------------------------
    Row("check_notebook_parameters", "dataset='cifar'", lambda e: check_notebook_parameters(dataset="cifar"),
        ValueError, ("dataset='cifar'", "digits")),
    Row("check_notebook_parameters", "image_size=48", lambda e: check_notebook_parameters(image_size=48), ValueError,
        ("image_size=48", "(16, 32, 64)")),
    Row("check_notebook_parameters", "image_size=32.0", lambda e: check_notebook_parameters(image_size=32.0),
        ValueError, ("image_size=32.0",)),
    Row("check_notebook_parameters", "latent_dim=0", lambda e: check_notebook_parameters(latent_dim=0), ValueError,
        ("latent_dim=0", ">= 1")),
    Row("check_notebook_parameters", "epochs=-1", lambda e: check_notebook_parameters(epochs=-1), ValueError,
        ("epochs=-1",)),
    Row("check_notebook_parameters", "width=0", lambda e: check_notebook_parameters(width=0), ValueError,
        ("width=0",)),
    Row("check_notebook_parameters", "seed=-1", lambda e: check_notebook_parameters(seed=-1), ValueError,
        ("seed=-1",)),
    Row("check_notebook_parameters", "quick='yes'", lambda e: check_notebook_parameters(quick="yes"), ValueError,
        ("quick='yes'", "True or False")),
    Row("check_notebook_parameters", "chain_steps=-3", lambda e: check_notebook_parameters(chain_steps=-3),
        ValueError, ("chain_steps=-3",)),
    Row("check_notebook_parameters", "n_samples=2.5", lambda e: check_notebook_parameters(n_samples=2.5),
        ValueError, ("n_samples=2.5",)),
    Row("check_notebook_parameters", "dataset='folder' without root",
        lambda e: check_notebook_parameters(dataset="folder", root=None), ValueError, ("root=None", "-p root")),
    Row("check_notebook_parameters", "root= a file",
        lambda e: check_notebook_parameters(root=str(e.dir / "a-file.txt")), ValueError, ("a-file.txt", "is a file")),
]


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    return make_env(tmp_path_factory.mktemp("bad-inputs"))


def row_id(row: Row) -> str:
    return f"{row.function}: {row.bad}"


@pytest.mark.parametrize("row", ROWS, ids=row_id)
def test_bad_input_gets_a_clear_error(row, env):
    if row.needs_no_cuda and not NO_CUDA:
        pytest.skip("this machine has CUDA")
    with pytest.raises(row.error) as err:
        row.call(env)
    msg = str(err.value)
    for part in row.names:
        assert part in msg, f"the message does not name {part!r}: {msg}"


def test_every_public_function_has_a_row():
    covered = {row.function.split(" ")[0].split(".")[-1] for row in ROWS}
    public = {"load_images", "make_model", "loss", "encode", "decode", "fit", "run_chain", "chain_step",
              "sample_prior", "slerp", "lerp", "save", "load", "trained_model", "show_images", "show_chain",
              "decode_steps", "show_paths", "plot_history", "resolve_device", "check_notebook_parameters",
              "LinearGaussianAE", "stationary", "chain_marginals", "fit_ppca", "frechet_distance", "mmd",
              "precision_recall", "evaluate_chain", "real_baseline", "split_halves", "feature_extractor",
              "domain_classifier", "train_classifier", "genae"}
    assert public <= covered, f"no row for {sorted(public - covered)}"


def main() -> None:
    """Print the table (function, bad input, error) as Markdown, for the issue's note."""
    import tempfile

    torch.set_num_threads(1)
    with tempfile.TemporaryDirectory() as folder:
        env = make_env(Path(folder))
        print("| function | bad input | error |\n|---|---|---|")
        for row in ROWS:
            if row.needs_no_cuda and not NO_CUDA:
                continue
            try:
                row.call(env)
                msg = "NO ERROR"
            except Exception as err:  # noqa: BLE001 - the table shows whatever comes
                text = str(err).replace(folder, "DIR").replace("\n", " ").replace("|", "\\|")
                msg = f"`{type(err).__name__}`: {text[:400]}"
            print(f"| `{row.function}` | {row.bad} | {msg} |")


if __name__ == "__main__":
    import matplotlib

    matplotlib.use("Agg")
    main()
