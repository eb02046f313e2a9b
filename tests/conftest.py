import os

import pytest
import torch

os.environ.setdefault("MPLBACKEND", "Agg")
torch.set_num_threads(min(2, torch.get_num_threads()))


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
