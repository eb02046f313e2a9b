"""Interrupted training resumes exactly (issue 9).

A run stopped between two steps, by SIGKILL in another process or by a
KeyboardInterrupt here, and resumed from its last checkpoint must end with the
same weights, optimiser state, random number generator state and history as a
run that was never interrupted. CPU results depend on the thread count, so
every run here uses one thread.
"""

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
import torch
from conftest import tiny
from torch.utils.data import Dataset

from genae.infra import checkpoint
from genae.train import STATE_FILE, fit

KW = dict(epochs=2, batch_size=64, seed=3, progress=False)  # 22 steps per epoch on the digits


pytestmark = pytest.mark.usefixtures("one_thread")  # tiny models train fastest on one thread


class Unsliced(Dataset):
    """The same images, but not a TensorDataset: training goes through a DataLoader, as for data on disk."""

    def __init__(self, data):
        self.data = data

    def __len__(self):
        return len(self.data)

    def __getitem__(self, i):
        return self.data[i]


def stop_at(model, n, action):
    """Make ``model.loss`` call ``action()`` instead of computing training step ``n`` (counted from 1)."""
    real, calls = model.loss, [0]

    def loss(x):
        calls[0] += 1
        if calls[0] == n:
            action()
        return real(x)

    model.loss = loss


def assert_same_state(a: Path, b: Path) -> None:
    """Two training states hold the same weights, optimiser state, RNG state, position and history."""
    sa, sb = checkpoint.read(a), checkpoint.read(b)
    assert (sa["epoch"], sa["step"]) == (sb["epoch"], sb["step"])
    assert sa["history"] == sb["history"]
    assert sa["state_dict"].keys() == sb["state_dict"].keys()
    for k, v in sa["state_dict"].items():
        assert torch.equal(v, sb["state_dict"][k]), f"weight {k} differs"
    for name, opt in sa["optimisers"].items():
        other = sb["optimisers"][name]
        assert opt["param_groups"] == other["param_groups"]
        for i, slot in opt["state"].items():
            for key, v in slot.items():
                assert torch.equal(v, other["state"][i][key]), f"optimiser {name} state {i}.{key} differs"
    assert torch.equal(sa["rng"]["cpu"], sb["rng"]["cpu"])


def reference(kind, data, tmp_path, **kw):
    """An uninterrupted run; its final training state is left in ``tmp_path / 'ref'``."""
    model = tiny(kind, width=4)
    history = fit(model, data, checkpoint_dir=tmp_path / "ref", **{**KW, **kw})
    return model, history


WORKER = textwrap.dedent("""
    import sys, time
    from pathlib import Path
    import torch
    torch.set_num_threads(1)
    sys.path.insert(0, sys.argv[1])
    from conftest import tiny
    from genae.data import load_images
    from genae.train import fit

    run, stop = Path(sys.argv[2]), int(sys.argv[3])
    model = tiny("aae", width=4)
    real, calls = model.loss, [0]

    def loss(x):
        calls[0] += 1
        if calls[0] == stop:  # tell the test we are between two steps, then wait to be killed
            (run.parent / "reached").write_text(str(stop))
            time.sleep(300)
        return real(x)

    model.loss = loss
    fit(model, load_images("digits", "train", image_size=16), epochs=2, batch_size=64, seed=3,
        progress=False, checkpoint_dir=run, checkpoint_every=4)
""")


def test_sigkill_mid_epoch_then_resume_is_bit_identical(tmp_path, digits16):
    run = tmp_path / "run"
    # The worker stops before global step 35 (step 13 of the second epoch); it checkpoints every 4 steps.
    proc = subprocess.Popen([sys.executable, "-c", WORKER, str(Path(__file__).parent), str(run), "35"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 240
        while not (tmp_path / "reached").exists():
            if proc.poll() is not None:
                pytest.fail(f"the training process ended early: {proc.stderr.read().decode()[-2000:]}")
            assert time.monotonic() < deadline, "the training process never reached step 35"
            time.sleep(0.05)
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.kill()
        proc.wait()
    assert proc.returncode == -signal.SIGKILL
    state = checkpoint.read(run / STATE_FILE)
    assert (state["epoch"], state["step"]) == (1, 12), "the last checkpoint is mid-epoch, two steps before the kill"
    assert len(state["history"]) == 1
    assert [p.name for p in run.iterdir()] == [STATE_FILE], "no temporary file is left by a kill between saves"

    model = tiny("aae", width=4, seed=123)  # other initial weights: everything must come from the checkpoint
    history = fit(model, digits16, checkpoint_dir=run, resume=True, checkpoint_every=4, **KW)
    ref_model, ref_history = reference("aae", digits16, tmp_path, checkpoint_every=4)
    assert history == ref_history
    assert_same_state(run / STATE_FILE, tmp_path / "ref" / STATE_FILE)
    for k, v in ref_model.state_dict().items():
        assert torch.equal(v, model.state_dict()[k])


@pytest.mark.parametrize("kind, source, stop", [
    ("aae", "tensor", 28),   # epoch 2, just after its step-5 checkpoint
    ("dvae", "tensor", 14),  # epoch 1, step 14, three steps after the last checkpoint
    ("daae", "loader", 27),  # through a DataLoader, as for images on disk
    ("vae", "loader", 22),   # interrupted at the last step of an epoch
])
def test_keyboard_interrupt_then_resume_is_bit_identical(kind, source, stop, tmp_path, digits16, capsys):
    data = digits16 if source == "tensor" else Unsliced(digits16)
    model = tiny(kind, width=4)

    def interrupt():
        raise KeyboardInterrupt

    stop_at(model, stop, interrupt)
    with pytest.raises(KeyboardInterrupt):
        fit(model, data, checkpoint_dir=tmp_path / "run", checkpoint_every=5, **KW)
    assert "resume from" in capsys.readouterr().out
    saved = checkpoint.read(tmp_path / "run" / STATE_FILE)
    done = stop - 1  # steps finished before the interrupt; checkpoints every 5 steps and at each epoch's end
    assert saved["epoch"] * 22 + saved["step"] == done - done % 22 % 5

    resumed = tiny(kind, width=4, seed=99)
    history = fit(resumed, data, checkpoint_dir=tmp_path / "run", resume=True, checkpoint_every=5, **KW)
    ref_model, ref_history = reference(kind, data, tmp_path, checkpoint_every=5)
    assert history == ref_history
    assert_same_state(tmp_path / "run" / STATE_FILE, tmp_path / "ref" / STATE_FILE)
    assert all(torch.equal(v, resumed.state_dict()[k]) for k, v in ref_model.state_dict().items())


def test_resuming_a_finished_run_trains_nothing(tmp_path, digits16):
    model, history = reference("vae", digits16, tmp_path)
    again = tiny("vae", width=4, seed=5)

    def never():
        raise AssertionError("a finished run must not train again")

    stop_at(again, 1, never)
    assert fit(again, digits16, checkpoint_dir=tmp_path / "ref", resume=True, **KW) == history
    assert all(torch.equal(v, again.state_dict()[k]) for k, v in model.state_dict().items())


def test_checkpoint_every_does_not_change_the_result(tmp_path, digits16):
    a, ha = reference("daae", digits16, tmp_path)
    b = tiny("daae", width=4)
    hb = fit(b, digits16, checkpoint_dir=tmp_path / "b", checkpoint_every=3, **KW)
    assert ha == hb
    assert all(torch.equal(v, b.state_dict()[k]) for k, v in a.state_dict().items())


def test_resuming_with_another_thread_count_warns(tmp_path, digits16):
    reference("vae", digits16, tmp_path, epochs=1)
    torch.set_num_threads(2)
    with pytest.warns(UserWarning, match=r"1 CPU thread\(s\) and this one uses 2: .*torch.set_num_threads\(1\)"):
        fit(tiny("vae", width=4), digits16, checkpoint_dir=tmp_path / "ref", resume=True, **KW)


def test_resume_refuses_a_state_of_another_run(tmp_path, digits16):
    reference("vae", digits16, tmp_path)
    with pytest.raises(checkpoint.CheckpointError, match="'kind': 'vae'.*not .*'kind': 'aae'"):
        fit(tiny("aae", width=4), digits16, checkpoint_dir=tmp_path / "ref", resume=True, **KW)
    with pytest.raises(checkpoint.CheckpointError, match="'seed': 3.*not .*'seed': 4"):
        fit(tiny("vae", width=4), digits16, checkpoint_dir=tmp_path / "ref", resume=True, **{**KW, "seed": 4})
    checkpoint.save(tiny("vae", width=4), tmp_path / "model" / STATE_FILE)
    with pytest.raises(checkpoint.CheckpointError, match="saved model, not a training state"):
        fit(tiny("vae", width=4), digits16, checkpoint_dir=tmp_path / "model", resume=True, **KW)
