import os
import sys
from pathlib import Path

import pytest
import torch

sys.path.insert(0, str(Path(__file__).parent))  # tests/background_runs.py, tests/check_recorder.py
pytest_plugins = ["check_recorder"]  # records exercise checks' outcomes for tests/test_exercises.py

os.environ.setdefault("MPLBACKEND", "Agg")
# One thread under pytest-xdist (its workers share the cores) or OMP_NUM_THREADS=1 (make test: the
# regeneration of stored results runs beside the session on the other core). Under xdist the
# processes the tests start (notebook kernels, command-line runs) get one thread too.
if os.environ.get("PYTEST_XDIST_WORKER"):
    os.environ["OMP_NUM_THREADS"] = "1"
torch.set_num_threads(1 if os.environ.get("PYTEST_XDIST_WORKER") else min(2, torch.get_num_threads()))


@pytest.fixture
def one_thread():
    """Torch on one thread for the test (tiny models train fastest so on shared cores), then as it was."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture
def digits16():
    from genae.data import load_images

    return load_images("digits", "train", image_size=16)


def tiny(kind="vae", image_size=16, channels=1, latent_dim=4, width=8, seed=0, **kw):
    """A small model for fast tests."""
    from genae.models import make_model

    torch.manual_seed(seed)
    return make_model(kind, image_size=image_size, channels=channels, latent_dim=latent_dim, width=width, **kw)


def pytest_configure(config):
    config.addinivalue_line("markers", "background(command=...): the test's slow command starts when the "
                            "session is collected and runs beside the other tests (tests/background_runs.py)")


def pytest_collection_finish(session):
    """Start the selected tests' background commands (tests/background_runs.py) now."""
    import background_runs

    if session.config.option.collectonly or os.environ.get("PYTEST_XDIST_WORKER"):
        return  # under xdist every worker collects every test: the fixture starts the command itself
    for item in session.items:
        marker = item.get_closest_marker("background")
        if marker is not None:
            background_runs.start(marker.kwargs["command"], item.config.rootpath)


def pytest_sessionfinish(session):
    import background_runs

    background_runs.stop_all()


@pytest.fixture
def background(request):
    """The finished run of this test's ``@pytest.mark.background`` command (tests/background_runs.py)."""
    import background_runs

    marker = request.node.get_closest_marker("background")
    run = background_runs.run_for(marker.kwargs["command"], request.config.rootpath)
    return run.folder, run.result()
