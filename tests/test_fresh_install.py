"""genae installed as Colab installs it, in a fresh virtual environment, runs chapters 5, 9 and 10.

The Colab setup cell (notebooks/setup_cell.py) runs ``pip install git+<repository>``:
a non-editable install of the package alone, no extras, into a runtime that
already has Jupyter's kernel and client, ipywidgets and matplotlib. This test
does the same with the checkout: it copies the files git knows (tracked and
untracked, not the ignored ones: what a clone has) to a temporary folder, makes
a virtual environment (``python -m venv``, no system site packages), installs
ipykernel, nbclient, nbconvert, ipywidgets and matplotlib (Colab's preinstalled
part), then ``pip install -c constraints.txt <copy>`` (the
constraints pin torch to the release on this machine's disk). Then it runs
each chapter with nbclient in that environment's kernel, from a working folder
outside the repository, so neither ``reference/`` nor the repository's
``genae/`` can be reached: the chapters must find everything they read in the
installed package (``genae/stored``, the package data). No cell may raise.

The models the book trained (``$GENAE_CACHE``, which ``make`` exports) are
copied into the run's own model cache when they exist, so the chapters load
them as they would in Colab after the first chapter that trains them; without
them the chapters train their own.

Slow: skipped unless ``GENAE_FRESH_INSTALL=1`` (set by ``.ci/run``). The
environment (about 5 GB with torch and its CUDA libraries) is made once for a
given pyproject.toml and constraints.txt and kept next to the runs' folders in
pytest's temporary root (``genae-fresh-venv-<hash>``, one at a time); each run
installs this checkout's genae into it again. Nothing outside pytest's
temporary folders is written: pip runs without its cache, the chapters with a
home folder of their own.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CHAPTERS = ["05-sampling", "09-does-the-chain-help", "10-other-samplers"]
COLAB_PREINSTALLED = ["ipykernel", "nbclient", "nbconvert", "nbformat", "ipywidgets", "matplotlib"]
CELL_TIMEOUT = 3600  # seconds, as book/_config.yml: a chapter may train the shared models

pytestmark = [pytest.mark.book, pytest.mark.skipif(  # it copies the models `make book` trained
    os.environ.get("GENAE_FRESH_INSTALL") != "1",
    reason="slow (a fresh virtual environment with torch, then three chapters): "
    "set GENAE_FRESH_INSTALL=1 to run it (.ci/run does)")]

# Runs in the fresh environment: execute one notebook with nbclient, in the current folder.
RUNNER = """
import sys, nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError
notebook = nbformat.read(sys.argv[1], as_version=4)
client = NotebookClient(notebook, timeout=int(sys.argv[3]), kernel_name="python3",
                        resources={"metadata": {"path": "."}})
try:
    client.execute()
except CellExecutionError as error:
    print(error, file=sys.stderr)
    sys.exit(1)
finally:
    nbformat.write(notebook, sys.argv[2])
"""

# The kernel's genae and Python, printed by a one-cell notebook.
PROBE = "import sys, genae; print(genae.__file__); print(sys.executable)"


def kernel_env(home: Path, models: Path) -> dict[str, str]:
    """The chapters' environment on a fresh machine: no settings of this checkout or its venv."""
    keep = ("PATH", "LANG", "LC_ALL", "TMPDIR")
    env = {k: v for k, v in os.environ.items() if k in keep}
    env.update(HOME=str(home), GENAE_CACHE=str(models), PYTHONNOUSERSITE="1",
               XDG_CACHE_HOME=str(home / ".cache"))
    return env


def pip_env() -> dict[str, str]:
    """pip's environment: this machine's pip settings (its package indexes), no cache, no venv."""
    env = {k: v for k, v in os.environ.items()
           if k not in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV", "PYTHONUSERBASE")}
    return {**env, "PIP_NO_CACHE_DIR": "1"}


def copy_checkout(to: Path) -> None:
    """The files a clone of this checkout would have (git's tracked and untracked, not ignored)."""
    if (ROOT / ".git").exists() and shutil.which("git"):
        listed = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
                                cwd=ROOT, capture_output=True, check=True).stdout.decode().split("\0")
        for name in filter(None, listed):
            source = ROOT / name
            if source.is_file():
                (to / name).parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(source, to / name, follow_symlinks=False)
    else:
        shutil.copytree(ROOT, to, symlinks=True, ignore=shutil.ignore_patterns(
            ".git", ".venv", ".cache", "_build", "__pycache__", "*.egg-info", "build", "student"))


def disk_use(path: Path) -> int:
    return sum(p.lstat().st_size for p in path.rglob("*") if p.is_file() and not p.is_symlink())


def pip(python: Path, *args: str) -> None:
    # --no-compile: no .pyc files for torch's thousands of modules (CPU time; Python compiles on import)
    done = subprocess.run([str(python), "-m", "pip", "install", "--quiet", "--no-compile", *args],
                          env=pip_env(), capture_output=True, text=True)
    assert done.returncode == 0, f"pip install {' '.join(args)} failed:\n{done.stderr[-3000:]}"


def dependencies_key(source: Path) -> str:
    """What decides the installed dependencies: Python, pyproject.toml, constraints.txt, Colab's part."""
    digest = hashlib.sha256(f"{sys.version}\n{COLAB_PREINSTALLED}\n".encode())
    for name in ("pyproject.toml", "constraints.txt"):
        digest.update((source / name).read_bytes())
    return digest.hexdigest()[:12]


def colab_like_venv(root: Path, source: Path) -> Path:
    """The fresh environment's Python, with the checkout ``source`` installed as Colab installs it.

    Made once per dependencies_key and kept in pytest's temporary root (one at a time: each is
    about 5 GB); a later run with the same dependencies only installs genae again.
    """
    venv = root / f"genae-fresh-venv-{dependencies_key(source)}"
    python = venv / "bin" / "python"
    constraints = ("-c", str(source / "constraints.txt"))
    if (venv / "installed").is_file():
        pip(python, "--no-deps", "--force-reinstall", str(source))  # this checkout's genae
        return python
    for old in root.glob("genae-fresh-venv-*"):
        shutil.rmtree(old, ignore_errors=True)
    start = time.monotonic()
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, env=pip_env())
    pip(python, *constraints, *COLAB_PREINSTALLED)
    pip(python, *constraints, str(source))
    took = f"{time.monotonic() - start:.0f} s, {disk_use(venv) / 2**30:.1f} GiB"
    (venv / "installed").write_text(took + "\n")
    print(f"\nfresh install: {took} in {venv}")
    return python


@pytest.fixture(scope="module")
def fresh(tmp_path_factory):
    """(python, run folder, env): a virtual environment with genae installed as Colab installs it."""
    base = tmp_path_factory.mktemp("fresh-install")
    source, home, models, work = (base / n for n in ("genae", "home", "models", "work"))
    for folder in (source, home, models, work):
        folder.mkdir()
    copy_checkout(source)
    python = colab_like_venv(tmp_path_factory.getbasetemp().parent, source)
    shutil.rmtree(source)  # the kernel must not find the copied checkout either
    shared = Path(os.environ.get("GENAE_CACHE", ROOT / ".cache" / "models"))
    for model in shared.glob("*.pt") if shared.is_dir() else []:
        shutil.copy2(model, models / model.name)
    (work / "runner.py").write_text(RUNNER)
    env = kernel_env(home, models)
    return python, work, {**env, "PATH": f"{python.parent}{os.pathsep}{env.get('PATH', '')}"}


def execute(python: Path, work: Path, env: dict, notebook: Path) -> subprocess.CompletedProcess:
    out = work / f"{notebook.stem}.out.ipynb"
    return subprocess.run([str(python), "runner.py", notebook.name, out.name, str(CELL_TIMEOUT)],
                          cwd=work, env=env, capture_output=True, text=True)


def readable(stderr: str) -> str:
    """nbclient's report without terminal colours and the kernel's start-up warnings."""
    plain = re.sub(r"\x1b\[[0-9;]*m", "", stderr)
    return "\n".join(line for line in plain.splitlines() if not line.startswith("[IPKernelApp]"))


def test_the_kernel_imports_the_installed_genae_not_the_checkout(fresh):
    python, work, env = fresh
    import nbformat

    probe = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(PROBE)])
    nbformat.write(probe, work / "probe.ipynb")
    done = execute(python, work, env, work / "probe.ipynb")
    assert done.returncode == 0, readable(done.stderr)[-3000:]
    text = nbformat.read(work / "probe.out.ipynb", as_version=4).cells[0].outputs[0]["text"]
    where, executable = text.split()
    venv = python.parent.parent
    assert Path(where).is_relative_to(venv) and "site-packages" in where, f"the kernel's genae: {where}"
    assert Path(executable).parent.parent == venv, f"the kernel's Python: {executable}"
    stored = Path(where).parent / "stored"
    assert sorted(p.name for p in stored.glob("*.csv")), f"no package data in {stored}: pyproject's package-data"


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_the_chapter_runs_without_the_repository(fresh, chapter):
    python, work, env = fresh
    notebook = work / f"{chapter}.ipynb"
    shutil.copy2(ROOT / "notebooks" / notebook.name, notebook)
    start = time.monotonic()
    done = execute(python, work, env, notebook)
    print(f"\n{chapter}: {time.monotonic() - start:.0f} s")
    if done.returncode != 0:
        pytest.fail(f"{chapter} failed in a fresh Colab-like install (the cell and its error):\n"
                    + readable(done.stderr)[-6000:], pytrace=False)
