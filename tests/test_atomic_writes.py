"""Nothing is ever half-written (issue 9): fault injection in every save the library makes.

Each save is interrupted at several points: while the temporary file is being
written, while it is flushed to disk, and just before the rename. Every time the
previous file must be intact (and load), and no temporary file may remain. A
process killed outright during a save leaves its temporary file behind; the next
save of the same file removes it, but never one of a live writer.
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

import genae.infra.files
from genae.infra import checkpoint
from genae.infra.files import atomic_path, remove_stale

pytestmark = pytest.mark.usefixtures("one_thread")  # tiny models train fastest on one thread


def only(folder, *names):
    """The folder holds exactly these files (no temporary files)."""
    assert sorted(p.name for p in folder.iterdir()) == sorted(names)


def fail_at(monkeypatch, point, exc=KeyboardInterrupt):
    """Make the save fail at ``point``: 'fsync' (flushing the temporary file) or 'replace' (the rename)."""
    def boom(*args, **kwargs):
        raise exc("injected")

    if point == "fsync":
        monkeypatch.setattr(genae.infra.files.os, "fsync", boom)
    elif point == "replace":
        monkeypatch.setattr(genae.infra.files.os, "replace", boom)


POINTS = ["writing", "fsync", "replace"]


@pytest.mark.parametrize("point", POINTS)
@pytest.mark.parametrize("exc", [KeyboardInterrupt, OSError])
def test_atomic_path_keeps_the_old_file(point, exc, tmp_path, monkeypatch):
    target = tmp_path / "table.csv"
    target.write_text("old\n")
    fail_at(monkeypatch, point, exc)
    with pytest.raises(exc), atomic_path(target) as tmp:
        tmp.write_text("new, but only half")
        if point == "writing":
            raise exc("injected")
    assert target.read_text() == "old\n"
    only(tmp_path, "table.csv")


def test_atomic_path_writes_and_keeps_the_suffix(tmp_path):
    with atomic_path(tmp_path / "sub" / "fig.png") as tmp:
        assert tmp.parent == tmp_path / "sub" and tmp.suffix == ".png" and tmp.name.startswith(".fig.png.")
        tmp.write_bytes(b"png")
    assert (tmp_path / "sub" / "fig.png").read_bytes() == b"png"
    only(tmp_path / "sub", "fig.png")
    mask = os.umask(0)
    os.umask(mask)
    assert (tmp_path / "sub" / "fig.png").stat().st_mode & 0o777 == 0o666 & ~mask, "usual permissions, not 0600"
    with pytest.raises(IsADirectoryError, match="is a folder"), atomic_path(tmp_path / "sub"):
        pass


@pytest.mark.parametrize("point", POINTS)
def test_interrupted_checkpoint_save_keeps_the_old_checkpoint(point, tmp_path, monkeypatch):
    old = tiny("aae", seed=1)
    path = checkpoint.save(old, tmp_path / "model.pt", history=[{"epoch": 1}])
    if point == "writing":
        real = torch.save

        def half(obj, f, *args, **kwargs):
            real(obj, f, *args, **kwargs)
            with open(f, "r+b") as fh:  # the bytes are half there when the interrupt comes
                fh.truncate(os.path.getsize(f) // 2)
            raise KeyboardInterrupt

        monkeypatch.setattr(torch, "save", half)
    fail_at(monkeypatch, point)
    with pytest.raises(KeyboardInterrupt):
        checkpoint.save(tiny("aae", seed=2), path)
    monkeypatch.undo()
    again = checkpoint.load(path, device="cpu")
    assert all(torch.equal(v, again.state_dict()[k]) for k, v in old.state_dict().items())
    assert again.checkpoint_extra == {"history": [{"epoch": 1}]}
    only(tmp_path, "model.pt")


def test_interrupted_training_save_keeps_the_last_state(tmp_path, digits16, monkeypatch):
    from genae.train import STATE_FILE, fit

    real, calls = genae.infra.files.os.replace, [0]

    def second_fails(*args):
        calls[0] += 1
        if calls[0] == 2:
            raise KeyboardInterrupt
        return real(*args)

    monkeypatch.setattr(genae.infra.files.os, "replace", second_fails)
    with pytest.raises(KeyboardInterrupt):
        fit(tiny("vae", width=4), digits16, epochs=1, progress=False, checkpoint_dir=tmp_path, checkpoint_every=5)
    monkeypatch.undo()
    state = checkpoint.read(tmp_path / STATE_FILE)
    assert (state["epoch"], state["step"]) == (0, 5)
    only(tmp_path, STATE_FILE)
    history = fit(tiny("vae", width=4), digits16, epochs=1, progress=False, checkpoint_dir=tmp_path, resume=True)
    assert len(history) == 1


CACHE_KW = dict(image_size=16, latent_dim=4, width=4, epochs=1, progress=False, device="cpu")


@pytest.mark.parametrize("point", POINTS)
def test_interrupted_cache_save_leaves_no_cached_file(point, tmp_path, monkeypatch):
    from genae.infra.cache import trained_model

    if point == "writing":
        monkeypatch.setattr(torch, "save", lambda *a, **k: (_ for _ in ()).throw(KeyboardInterrupt()))
    fail_at(monkeypatch, point)
    with pytest.raises(KeyboardInterrupt):
        trained_model("vae", cache_dir=tmp_path, **CACHE_KW)
    monkeypatch.undo()
    assert list(tmp_path.iterdir()) == []
    model, history = trained_model("vae", cache_dir=tmp_path, **CACHE_KW)  # trains again, and caches
    (cached,) = tmp_path.iterdir()
    assert cached.suffix == ".pt" and not cached.name.startswith(".")
    again, history_again = trained_model("vae", cache_dir=tmp_path, **CACHE_KW)
    assert history_again == history
    assert all(torch.equal(v, again.state_dict()[k]) for k, v in model.state_dict().items())


def test_a_damaged_cache_file_is_retrained_with_a_warning(tmp_path):
    from genae.infra.cache import trained_model

    model, history = trained_model("vae", cache_dir=tmp_path, **CACHE_KW)
    (cached,) = tmp_path.iterdir()
    cached.write_bytes(cached.read_bytes()[:1000])  # damaged outside genae, e.g. a full disk or a bad copy
    with pytest.warns(UserWarning, match=f"cached model {cached} could not be read .*: training it again"):
        again, history_again = trained_model("vae", cache_dir=tmp_path, **CACHE_KW)
    assert history_again == history
    assert all(torch.equal(v, again.state_dict()[k]) for k, v in model.state_dict().items())
    only(tmp_path, cached.name)


@pytest.mark.parametrize("point", POINTS)
def test_interrupted_figure_and_table_writes_keep_the_old_files(point, tmp_path, monkeypatch):
    import matplotlib.pyplot as plt
    import pandas as pd

    fig, ax = plt.subplots()
    ax.plot([0, 1], [1, 0])
    with atomic_path(tmp_path / "fig.png") as tmp:
        fig.savefig(tmp)  # the format comes from the temporary file's suffix
    with atomic_path(tmp_path / "table.csv") as tmp:
        pd.DataFrame({"steps": [0, 1], "fid": [3.0, 2.5]}).to_csv(tmp, index=False)
    png, csv = (tmp_path / "fig.png").read_bytes(), (tmp_path / "table.csv").read_text()
    assert png.startswith(b"\x89PNG") and csv.startswith("steps,fid")
    fail_at(monkeypatch, point)
    for name, write in [("fig.png", lambda p: fig.savefig(p)),
                        ("table.csv", lambda p: pd.DataFrame({"x": [9]}).to_csv(p))]:
        with pytest.raises(KeyboardInterrupt), atomic_path(tmp_path / name) as tmp:
            write(tmp)
            if point == "writing":
                with open(tmp, "r+b") as fh:
                    fh.truncate(10)
                raise KeyboardInterrupt
    plt.close(fig)
    assert (tmp_path / "fig.png").read_bytes() == png and (tmp_path / "table.csv").read_text() == csv
    only(tmp_path, "fig.png", "table.csv")


KILLED_WRITER = textwrap.dedent("""
    import sys, time
    from pathlib import Path
    from genae.infra.files import atomic_path

    target = Path(sys.argv[1])
    with atomic_path(target) as tmp:
        tmp.write_bytes(b"half of a new file")
        (target.parent.parent / "writing").write_text(tmp.name)
        time.sleep(300)  # killed here, in the middle of the save
""")


def test_a_killed_save_leaves_the_old_file_and_its_leftover_is_swept(tmp_path):
    folder = tmp_path / "models"
    old = tiny("vae", seed=1)
    path = checkpoint.save(old, folder / "model.pt")
    proc = subprocess.Popen([sys.executable, "-c", KILLED_WRITER, str(path)], stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 120
        while not (tmp_path / "writing").exists():
            if proc.poll() is not None:
                pytest.fail(proc.stderr.read().decode()[-2000:])
            assert time.monotonic() < deadline, "the writer never started its save"
            time.sleep(0.05)
        leftover = folder / (tmp_path / "writing").read_text()
        # While the writer lives, a save of the same file by another process leaves its temporary file alone.
        checkpoint.save(tiny("vae", seed=2), path)
        assert leftover.exists()
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.kill()
        proc.wait()
    assert leftover.exists(), "SIGKILL cannot be caught: the half-written temporary file is still there"
    assert torch.equal(checkpoint.load(path, device="cpu").state_dict()["to_code.weight"],
                       tiny("vae", seed=2).state_dict()["to_code.weight"]), "the target itself is never half-written"
    assert remove_stale(tmp_path / "other.pt") == []
    checkpoint.save(old, path)  # the next save of the same file sweeps the dead writer's leftover
    only(folder, "model.pt")
    assert torch.equal(checkpoint.load(path, device="cpu").state_dict()["to_code.weight"],
                       old.state_dict()["to_code.weight"])


def test_stale_files_of_other_hosts_and_foreign_names_are_left_alone(tmp_path):
    target = tmp_path / "model.pt"
    other_host = tmp_path / ".model.pt.elsewhere-1.abcd.tmp.pt"
    foreign = tmp_path / ".model.pt.notes.tmp.pt"
    for p in (other_host, foreign):
        p.write_text("x")
    assert remove_stale(target) == []
    assert other_host.exists() and foreign.exists()


class Explodes(float):
    """A number whose text form is an interrupt: the CSV writer has written some rows when it comes."""

    def __repr__(self):
        raise KeyboardInterrupt

    __str__ = __repr__


@pytest.mark.parametrize("point", POINTS)
def test_interrupted_run_log_and_cli_figure_keep_the_old_files(point, tmp_path, monkeypatch, capsys):
    import matplotlib.pyplot as plt

    from genae.infra.cli import _save_figure
    from genae.infra.runlog import write_csv

    fig, ax = plt.subplots()
    ax.plot([0, 1], [1, 0])
    write_csv([{"epoch": 1, "prior": 1.0}], tmp_path / "metrics.csv")
    _save_figure(fig, tmp_path / "samples.png")
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
    fail_at(monkeypatch, point)
    history = [{"epoch": e, "prior": 0.5} for e in range(1, 50)]
    if point == "writing":
        history.append({"epoch": 50, "prior": Explodes(0.5)})

        def half(path, **kwargs):
            Path(path).write_bytes(before["samples.png"][:100])
            raise KeyboardInterrupt

        monkeypatch.setattr(fig, "savefig", half)
    with pytest.raises(KeyboardInterrupt):
        write_csv(history, tmp_path / "metrics.csv")
    with pytest.raises(KeyboardInterrupt):
        _save_figure(fig, tmp_path / "samples.png")
    plt.close(fig)
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} == before, "old files intact, no temporary files"


WRITERS = {"savefig", "to_csv", "write_text", "write_bytes", "save", "to_parquet", "to_json", "imsave"}


def unguarded_writes(root: Path) -> list[str]:
    """Write calls under ``root`` that are not inside ``with atomic_path(...)`` (torch.save, savefig, open 'w'...)."""
    import ast

    offenders = []
    for source in sorted(root.rglob("*.py")):
        if source.name == "files.py":
            continue
        tree = ast.parse(source.read_text())
        parents = {child: node for node in ast.walk(tree) for child in ast.iter_child_nodes(node)}
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call):
                continue
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else ""
            writes = name in WRITERS or (name == "open" and any(
                isinstance(a, ast.Constant) and isinstance(a.value, str) and set(a.value) & set("wax+")
                for a in node.args[1:2] + [k.value for k in node.keywords if k.arg == "mode"]))
            if name == "save" and not (isinstance(func, ast.Attribute) and getattr(func.value, "id", "") == "torch"):
                writes = False  # checkpoint.save and friends write through checkpoint.write
            if not writes:
                continue
            up, guarded = node, False
            while up in parents:
                up = parents[up]
                if isinstance(up, ast.With) and any("atomic_path" in ast.unparse(item.context_expr)
                                                    for item in up.items):
                    guarded = True
                    break
            if not guarded:
                offenders.append(f"{source.name}:{node.lineno}: {ast.unparse(node)[:80]}")
    return offenders


def test_every_file_the_library_writes_goes_through_atomic_path(tmp_path):
    offenders = unguarded_writes(Path(genae.__file__).parent)  # the whole package
    assert not offenders, "write these through genae.infra.files.atomic_path:\n" + "\n".join(offenders)
    # the check itself finds direct writes
    (tmp_path / "bad.py").write_text("import torch\n\ndef f(fig, p):\n    fig.savefig(p)\n"
                                     "    torch.save({}, p)\n    open(p, 'w').write('x')\n"
                                     "    with atomic_path(p) as tmp:\n        fig.savefig(tmp)\n")
    assert [o.split(":")[1] for o in unguarded_writes(tmp_path)] == ["4", "5", "6"]
