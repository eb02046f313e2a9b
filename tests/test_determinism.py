"""What the README's Reproducibility section promises, tested (issue 9).

On the CPU with one thread count, training is bit-for-bit reproducible, and
neither the number of DataLoader workers nor whether the images come from
memory or from files on disk changes a single bit: the data order of an epoch
is fixed by (seed, epoch) and every image is read the same way. (Resuming is
tested in test_resume.py.)
"""

import pytest
import torch
from conftest import tiny
from PIL import Image
from torch.utils.data import TensorDataset

from genae.data import load_images
from genae.train import fit

KW = dict(epochs=2, batch_size=16, seed=7, progress=False)


pytestmark = pytest.mark.usefixtures("one_thread")  # tiny models train fastest on one thread


@pytest.fixture(scope="module")
def image_folder(tmp_path_factory):
    """72 PNG files made from the digits (colour-tinted so that the three channels differ)."""
    folder = tmp_path_factory.mktemp("pngs")
    digits = load_images("digits", "train", image_size=16).tensors[0][:72, 0]
    for i, image in enumerate(digits):
        rgb = torch.stack([image, image * 0.5, 1 - image]).mul(255).round().byte().permute(1, 2, 0).numpy()
        Image.fromarray(rgb).save(folder / f"{i:03d}.png")
    return folder


def train(data, **kw):
    model = tiny("daae", channels=3, width=4)
    history = fit(model, data, **{**KW, **kw})
    return model.state_dict(), history


def assert_identical(a, b):
    (wa, ha), (wb, hb) = a, b
    assert ha == hb
    assert all(torch.equal(v, wb[k]) for k, v in wa.items())


@pytest.mark.parametrize("workers", [2, None])
def test_the_number_of_loader_workers_changes_nothing(image_folder, workers):
    data = load_images("folder", "all", image_size=16, root=image_folder)
    assert_identical(train(data, num_workers=0), train(data, num_workers=workers))


def test_images_in_memory_or_on_disk_train_identically(image_folder):
    on_disk = load_images("folder", "all", image_size=16, root=image_folder)
    in_memory = TensorDataset(torch.stack([on_disk[i] for i in range(len(on_disk))]))
    assert_identical(train(on_disk, num_workers=0), train(in_memory))


def test_the_same_seed_gives_the_same_model_and_another_seed_does_not(image_folder):
    data = load_images("folder", "all", image_size=16, root=image_folder)
    first = train(data, num_workers=0)
    assert_identical(first, train(data, num_workers=0))
    other_weights, _ = train(data, num_workers=0, seed=8)
    assert not all(torch.equal(v, other_weights[k]) for k, v in first[0].items())


def test_the_model_cache_returns_what_training_gives(tmp_path):
    from genae.infra.cache import trained_model

    kw = dict(image_size=16, latent_dim=4, width=4, epochs=1, progress=False, device="cpu", seed=3)
    trained, history = trained_model("dvae", cache_dir=tmp_path / "a", **kw)
    again, history_again = trained_model("dvae", cache_dir=tmp_path / "b", **kw)  # trained afresh elsewhere
    cached, history_cached = trained_model("dvae", cache_dir=tmp_path / "a", **kw)  # loaded from the cache
    assert history == history_again == history_cached
    for other in (again, cached):
        assert all(torch.equal(v, other.state_dict()[k]) for k, v in trained.state_dict().items())
