import pytest
import torch
from torch.utils.data import Dataset, TensorDataset

from genae.infra.loader import BatchStream, default_workers
from genae.train import epoch_batches


class RandomItems(Dataset):
    """A data set 'on disk' with a random transform: item i is i plus torch noise."""

    def __len__(self):
        return 40

    def __getitem__(self, i):
        return torch.full((1, 2, 2), float(i)) + torch.rand(1, 1, 1), i


def read(stream, epoch, batches):
    return [x.clone() for x in stream(epoch, batches)]


def test_in_memory_data_is_sliced_like_before():
    images = torch.rand(30, 1, 4, 4)
    stream = BatchStream(TensorDataset(images, torch.arange(30)))
    batches = epoch_batches(30, 8, seed=0, epoch=0)
    assert all(torch.equal(x, images[idx]) for x, idx in zip(stream(0, batches), batches))


@pytest.mark.parametrize("workers", [0, 2])
def test_disk_data_gives_the_batches_asked_for_and_leaves_the_global_rng_alone(workers):
    stream = BatchStream(RandomItems(), num_workers=workers, seed=1)
    for epoch in range(2):  # the same loader (and, with workers, the same processes) serves both epochs
        batches = epoch_batches(40, 8, seed=1, epoch=epoch)
        rng = torch.get_rng_state()
        xs = read(stream, epoch, batches)
        if workers:
            assert torch.equal(rng, torch.get_rng_state()), "reading data drew from the global RNG"
        for x, idx in zip(xs, batches):
            assert torch.equal(x.flatten(1)[:, 0].floor(), idx.float())
    if workers:
        assert stream.loader._iterator is not None and stream.loader.persistent_workers
    stream.close()


def test_random_transforms_depend_on_the_item_not_the_worker_or_a_resume():
    batches = epoch_batches(40, 8, seed=2, epoch=3)
    one = torch.cat(read(BatchStream(RandomItems(), num_workers=1, seed=2), 3, batches))
    two = torch.cat(read(BatchStream(RandomItems(), num_workers=2, seed=2), 3, batches))
    resumed = torch.cat(read(BatchStream(RandomItems(), num_workers=2, seed=2), 3, batches[2:]))
    assert torch.equal(one, two)
    assert torch.equal(one[16:], resumed)
    other_epoch = torch.cat(read(BatchStream(RandomItems(), num_workers=2, seed=2), 4, batches))
    assert not torch.equal(one, other_epoch)


def test_bad_worker_counts():
    assert default_workers() >= 0
    with pytest.raises(ValueError, match="num_workers"):
        BatchStream(RandomItems(), num_workers=-1)
    with pytest.raises(ValueError, match="num_workers"):
        BatchStream(RandomItems(), num_workers=1.5)
