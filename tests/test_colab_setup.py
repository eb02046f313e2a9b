"""The notebooks' setup cell (notebooks/setup_cell.py) in Colab and locally.

The cell runs with Colab simulated: a fake ``google.colab`` module records the
widget-manager call, ``importlib.util.find_spec`` says whether genae is
installed, and ``subprocess.run`` records what would be installed instead of
installing it.
"""

import importlib.util
import subprocess
import sys
import types
from pathlib import Path

import pytest
import torch
import yaml

ROOT = Path(__file__).resolve().parents[1]
SETUP_CELL = ROOT / "notebooks" / "setup_cell.py"


def book_repository_url() -> str:
    config = yaml.safe_load((ROOT / "book" / "_config.yml").read_text())
    return config["repository"]["url"]


class Recorder:
    """Stands in for a function and remembers how it was called."""

    def __init__(self, result=None):
        self.calls = []
        self.result = result

    def __call__(self, *args, **kwargs):
        self.calls.append((args, kwargs))
        return self.result


@pytest.fixture
def no_gpu(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)


@pytest.fixture
def pip(monkeypatch):
    """subprocess.run, recorded: nothing is installed."""
    recorder = Recorder(subprocess.CompletedProcess(args=[], returncode=0))
    monkeypatch.setattr(subprocess, "run", recorder)
    return recorder


def fake_colab(monkeypatch) -> Recorder:
    """Put a fake ``google.colab`` in sys.modules; return its widget-manager recorder."""
    enable = Recorder()
    output = types.ModuleType("google.colab.output")
    output.enable_custom_widget_manager = enable
    colab = types.ModuleType("google.colab")
    colab.output = output
    monkeypatch.setitem(sys.modules, "google.colab", colab)
    monkeypatch.setitem(sys.modules, "google.colab.output", output)
    return enable


def genae_installed(monkeypatch, installed: bool) -> None:
    real_find_spec = importlib.util.find_spec

    def find_spec(name, *args, **kwargs):
        if name == "genae":
            return real_find_spec(name, *args, **kwargs) if installed else None
        return real_find_spec(name, *args, **kwargs)

    monkeypatch.setattr(importlib.util, "find_spec", find_spec)


def run_setup_cell() -> dict:
    namespace = {"__name__": "__main__"}
    exec(compile(SETUP_CELL.read_text(), str(SETUP_CELL), "exec"), namespace)
    return namespace


def test_colab_without_genae_installs_it_from_the_books_repository(monkeypatch, pip, no_gpu, capsys):
    enable = fake_colab(monkeypatch)
    genae_installed(monkeypatch, installed=False)
    namespace = run_setup_cell()
    url = book_repository_url()
    assert len(pip.calls) == 1, f"expected one pip install, got {pip.calls}"
    (command,), kwargs = pip.calls[0]
    assert command[:4] == [sys.executable, "-m", "pip", "install"], command
    assert command[-1] == f"git+{url}", (
        f"the setup cell installs {command[-1]!r}, but book/_config.yml names the repository {url!r}: "
        "change GENAE_REPO in notebooks/setup_cell.py and in every notebook's first cell")
    assert kwargs.get("check") is True, "a failed install must stop the notebook, not let it run on without genae"
    assert enable.calls == [((), {})], "the widget manager must be enabled once in Colab (ipywidgets sliders)"
    assert namespace["device"] == "cpu"
    assert "genae will run on cpu (no GPU found)" in capsys.readouterr().out


def test_colab_with_genae_installs_nothing_but_still_enables_widgets(monkeypatch, pip, no_gpu):
    enable = fake_colab(monkeypatch)
    genae_installed(monkeypatch, installed=True)
    run_setup_cell()
    assert pip.calls == []
    assert len(enable.calls) == 1


def test_colab_gpu_is_reported_by_name(monkeypatch, pip, capsys):
    fake_colab(monkeypatch)
    genae_installed(monkeypatch, installed=True)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "get_device_name", lambda index=0: "Tesla T4")
    namespace = run_setup_cell()
    assert namespace["device"] == "cuda"
    assert "genae will run on cuda (Tesla T4)" in capsys.readouterr().out


def test_locally_the_cell_installs_nothing_and_touches_no_colab_module(monkeypatch, pip, no_gpu, capsys):
    monkeypatch.delitem(sys.modules, "google.colab", raising=False)
    genae_installed(monkeypatch, installed=False)  # even with genae missing, nothing is installed outside Colab
    namespace = run_setup_cell()
    assert pip.calls == []
    assert "google.colab" not in sys.modules
    assert namespace["device"] == "cpu"
    assert capsys.readouterr().out.strip() == "genae will run on cpu (no GPU found)"


def test_the_repository_url_is_a_github_repository_pip_can_install():
    url = book_repository_url()
    assert url.startswith("https://github.com/") and url.count("/") == 4 and not url.endswith("/"), url
