"""The benchmark scripts run (their figures are printed, never asserted: timings live in benchmarks/)."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

ROOT = Path(__file__).resolve().parents[1]


def test_gpu_check_script_is_valid_bash():
    done = subprocess.run(["bash", "-n", str(ROOT / "benchmarks" / "gpu_check.sh")], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr


def test_gpu_check_runs_every_part_on_the_cpu():
    env = {**os.environ, "PYTHON": sys.executable}  # this Python, where genae is installed: nothing to install
    done = subprocess.run(["bash", str(ROOT / "benchmarks" / "gpu_check.sh"), "--cpu-smoke"], capture_output=True,
                          text=True, timeout=600, env=env)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-3000:]
    out = done.stdout
    for kind in ("vae", "aae", "dvae", "daae"):
        assert any(line.startswith(f"{kind} ") and line.rstrip().endswith(" h") for line in out.splitlines()), out
    for marker in ("torch.compile:", "without model.loss's input check", "loader alone:", "bound by",
                   "batch     4:", "== done in"):
        assert marker in out, out


def test_the_pythae_benchmark_trains_the_same_vae():
    pytest.importorskip("pythae", reason="pythae is installed only for benchmarks/train_throughput.py")
    sys.path.insert(0, str(ROOT / "benchmarks"))
    from pythae.data.datasets import DatasetOutput
    from train_throughput import pythae_vae

    from genae.models import make_model

    model = make_model("vae", image_size=16, channels=1, latent_dim=4, width=8).train()
    wrapped = pythae_vae(model).train()
    assert {id(p) for p in wrapped.parameters()} == {id(p) for p in model.parameters()}
    x = torch.rand(8, 1, 16, 16)
    torch.manual_seed(1)
    ours = sum(model.loss(x)[k] for k in model.objectives["autoencoder"])  # not the encodings "z"
    torch.manual_seed(1)  # the same reparameterisation noise
    theirs = wrapped(DatasetOutput(data=x)).loss
    assert torch.allclose(ours, theirs, rtol=1e-4), (ours, theirs)
