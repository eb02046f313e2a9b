"""The command line (genae.infra.cli): train, resume, sample, interpolate, evaluate, and its errors."""

import subprocess
import sys

import pandas as pd
import pytest
import torch
from conftest import tiny

from genae.data import load_images
from genae.infra import checkpoint
from genae.infra.cli import main
from genae.infra.runlog import RunLog, read_csv
from genae.train import STATE_FILE, fit

SMALL = ["--data", "digits", "--image-size", "16", "--latent-dim", "4", "--width", "8", "--no-progress"]


def run(argv, capsys):
    """Run the CLI in this process; return (exit code, stdout, stderr)."""
    try:
        code = main(argv)
    except SystemExit as stop:  # argparse's own errors and --help
        code = stop.code
    out, err = capsys.readouterr()
    return code, out, err


def assert_one_line_error(argv, capsys, match):
    code, _, err = run(argv, capsys)
    assert code == 2, err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err, err
    assert match in err, err


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A vae trained by the CLI for one epoch, then resumed to two."""
    out = tmp_path_factory.mktemp("cli") / "run"
    assert main(["train", *SMALL, "--epochs", "1", "--out", str(out)]) == 0
    assert len(read_csv(out / "metrics.csv")) == 1
    assert main(["train", *SMALL, "--epochs", "2", "--resume", "--out", str(out)]) == 0
    return out


def test_train_then_resume_equals_one_uninterrupted_run_with_the_paper_optimiser(trained):
    rows = read_csv(trained / "metrics.csv")
    assert [r["epoch"] for r in rows] == [1, 2]
    assert {"reconstruction", "prior", "z_std"} <= set(rows[0])
    assert sorted(p.name for p in trained.iterdir()) == ["last.pt", "metrics.csv", "model.pt", "run.json"]
    model = checkpoint.load(trained / "model.pt")
    assert model.config == tiny("dvae", latent_dim=4, width=8).config
    reference = tiny("dvae", latent_dim=4, width=8)
    history = fit(reference, load_images("digits", "train", image_size=16), epochs=2, progress=False)
    assert model.checkpoint_extra["history"] == history
    assert [r["reconstruction"] for r in rows] == pytest.approx([h["reconstruction"] for h in history], rel=1e-12)
    for key, value in reference.state_dict().items():
        assert torch.equal(value, model.state_dict()[key]), key


def test_sample_and_interpolate_write_figures(trained, tmp_path, capsys):
    for argv, name in ((["sample", "--checkpoint", str(trained), "--steps", "0,1,5", "--n", "16"], "s.png"),
                       (["interpolate", "--checkpoint", str(trained / "model.pt"), "--data", "digits",
                         "--steps", "0,1,5,10", "--pairs", "2", "--points", "6"], "i.png"),
                       (["sample", "--checkpoint", str(trained / STATE_FILE), "--mean"], "t.pdf")):
        code, out, err = run([*argv, "--out", str(tmp_path / name)], capsys)
        assert code == 0, err
        assert f"wrote {tmp_path / name}" in out
    assert (tmp_path / "s.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert (tmp_path / "t.pdf").read_bytes()[:5] == b"%PDF-"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["i.png", "s.png", "t.pdf"], "no temporary file is left"


def test_evaluate_prints_and_writes_the_quality_table(trained, tmp_path, capsys):
    code, out, err = run(["evaluate", "--checkpoint", str(trained), "--data", "digits", "--steps", "0,1",
                          "--n", "40", "--out", str(tmp_path / "quality.csv")], capsys)
    assert code == 0, err
    table = pd.read_csv(tmp_path / "quality.csv")
    assert list(table["path"]) == ["real vs real", "prior sample", "prior sample", "slerp midpoint", "slerp midpoint"]
    assert list(table["step"]) == [0, 0, 1, 0, 1] and (table["n"] == 40).all()
    assert table["fid"].notna().all() and "fid" in out


def test_a_run_folder_is_neither_overwritten_nor_resumed_with_other_settings(trained, tmp_path, capsys):
    assert_one_line_error(["train", *SMALL, "--epochs", "1", "--out", str(trained)], capsys, "already holds a run")
    assert_one_line_error(["train", *SMALL, "--seed", "4", "--resume", "--out", str(trained)], capsys,
                          "--seed 4 differs from 0")
    assert_one_line_error(["train", *SMALL, "--resume", "--out", str(tmp_path / "new")], capsys, "no last.pt")
    code, out, err = run(["train", "--resume", "--epochs", "2", "--no-progress", "--out", str(trained)], capsys)
    assert code == 0 and "trained dvae for 2 epochs" in out, err  # the settings come from run.json; nothing to do


def test_bad_arguments_give_one_line_and_exit_code_2(trained, tmp_path, capsys):
    out = str(tmp_path / "x")
    cases = [
        (["train", "--data", "nope", "--out", out], "invalid choice: 'nope'"),
        (["train", "--out", out], "--data is required"),
        (["train", *SMALL, "--image-size", "48", "--out", out], "invalid choice: 48"),
        (["train", *SMALL, "--epochs", "-1", "--out", out], "-1 must be >= 0"),
        (["train", *SMALL, "--lr", "zero", "--out", out], "'zero' is not a number"),
        (["train", "--data", "folder", "--out", out], "needs root="),
        (["train", "--data", "folder", "--root", str(tmp_path / "none"), "--out", out], "does not exist"),
        (["sample", "--checkpoint", str(tmp_path / "missing.pt")], "no checkpoint at"),
        (["sample", "--checkpoint", str(tmp_path)], "without model.pt or last.pt"),
        (["sample", "--checkpoint", str(trained), "--steps", "0,x"], "comma-separated list"),
        (["sample", "--checkpoint", str(trained), "--steps", "1,1"], "distinct chain steps"),
        (["sample", "--checkpoint", str(trained), "--out", "fig.txt"], "needs a figure suffix"),
        (["interpolate", "--checkpoint", str(trained), "--data", "svhn"], "has 3 channel(s)"),
        (["interpolate", "--checkpoint", str(trained), "--data", "digits", "--pairs", "999"], "needs 1998 test"),
        (["nonsense"], "invalid choice: 'nonsense'"),
    ]
    for argv, match in cases:
        assert_one_line_error(argv, capsys, match)
    assert not (tmp_path / "x").exists()


def test_help_is_complete(capsys):
    code, out, _ = run(["--help"], capsys)
    assert code == 0 and all(c in out for c in ("train", "sample", "interpolate", "evaluate"))
    code, out, _ = run(["train", "--help"], capsys)
    for option in ("--data", "--root", "--kind", "--image-size", "--latent-dim", "--width", "--epochs",
                   "--batch-size", "--lr", "--seed", "--device", "--num-workers", "--compile", "--out", "--resume"):
        assert option in out
    assert "(default: 64)" in out and "(default: 200)" in out


def test_python_m_genae_from_a_shell(tmp_path):
    done = subprocess.run([sys.executable, "-m", "genae", "sample", "--help"], capture_output=True, text=True)
    assert done.returncode == 0 and "--steps" in done.stdout
    done = subprocess.run([sys.executable, "-m", "genae", "train", "--data", "digits"], capture_output=True, text=True)
    assert done.returncode == 2 and done.stderr.strip().count("\n") == 0 and "--out" in done.stderr


class FakeWriter:
    def __init__(self):
        self.scalars, self.closed = [], False

    def add_scalar(self, tag, value, step):
        self.scalars.append((tag, value, step))

    def flush(self):
        pass

    def close(self):
        self.closed = True


def test_runlog_writes_csv_and_tensorboard_once_per_epoch(tmp_path):
    writers = []
    factory = lambda logdir: writers.append(FakeWriter()) or writers[-1]  # noqa: E731
    history = [{"epoch": 1, "reconstruction": 10.0, "prior": 2.0}]
    log = RunLog(tmp_path, echo=None, writer_factory=factory)
    log(history)
    history.append({"epoch": 2, "reconstruction": 9.0, "prior": 2.5, "adversary_collapsed": 1.0})
    log(history)
    log.close()
    assert writers[0].closed
    assert [s for s in writers[0].scalars if s[0] == "train/reconstruction"] == [
        ("train/reconstruction", 10.0, 1), ("train/reconstruction", 9.0, 2)]
    assert read_csv(tmp_path / "metrics.csv") == history
    resumed = RunLog(tmp_path, echo=None, writer_factory=factory)  # a resumed run logs only its new epochs
    resumed(history + [{"epoch": 3, "reconstruction": 8.0, "prior": 2.6}])
    assert {s[2] for s in writers[1].scalars} == {3}
