"""Chapter 7's exported graphs (genae/export.py) compute what the torch models compute.

For each of the four kinds, on small models with random weights and batch-norm
statistics (no training needed: the export copies whatever weights it is given),
onnxruntime in Python runs the ``decode`` and ``transition`` graphs and the test
compares them with the model's own ``decode``, ``corrupt``, ``posterior`` and
``encode`` given the same noise, to float tolerance. Also: the manifest the page
reads, the skip of an unchanged export, and the explorer's HTML.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from genae.defaults import KINDS
from genae.models import VAE, make_model

ort = pytest.importorskip("onnxruntime")
pytest.importorskip("onnxscript")

from genae import export  # noqa: E402  (needs onnxscript for torch.onnx's exporter)


def random_model(kind: str, seed: int = 0):
    torch.manual_seed(seed)
    model = make_model(kind, image_size=16, channels=1, latent_dim=4, width=8)
    for module in model.modules():  # batch norm with statistics unlike the defaults
        if isinstance(module, torch.nn.BatchNorm2d):
            module.running_mean.uniform_(-0.3, 0.3)
            module.running_var.uniform_(0.5, 2.0)
            module.weight.data.uniform_(0.5, 1.5)
            module.bias.data.uniform_(-0.2, 0.2)
    return model.eval()


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    out = tmp_path_factory.mktemp("onnx")
    models = {kind: random_model(kind, i) for i, kind in enumerate(KINDS)}
    held_out = torch.rand(40, 1, 16, 16)
    manifest = export.export_explorer(models, held_out, out, seed=3, n_images=8,
                                      about={"dataset": "test"})
    return models, held_out, out, manifest


def sessions(out, manifest, kind):
    files = manifest["kinds"][kind]
    return (ort.InferenceSession(str(out / files["decode"])),
            ort.InferenceSession(str(out / files["transition"])))


@pytest.mark.parametrize("kind", KINDS)
def test_decode_graph_matches_the_model(exported, kind):
    models, _, out, manifest = exported
    decode, _ = sessions(out, manifest, kind)
    z = torch.randn(7, 4, generator=torch.Generator().manual_seed(1)) * 2
    (mean,) = decode.run(None, {"z": z.numpy()})
    with torch.no_grad():
        want = models[kind].decode(z).numpy()
    assert mean.shape == want.shape
    np.testing.assert_allclose(mean, want, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("sample_decode", [0.0, 1.0])
def test_transition_graph_is_one_chain_step(exported, kind, sample_decode):
    models, _, out, manifest = exported
    model = models[kind]
    _, transition = sessions(out, manifest, kind)
    names = [i.name for i in transition.get_inputs()]
    assert names == manifest["kinds"][kind]["inputs"] == export.transition_inputs(model)
    g = torch.Generator().manual_seed(2)
    n = 9
    with torch.no_grad():
        mean = model.decode(torch.randn(n, 4, generator=g))
    u = torch.rand(mean.shape, generator=g)
    noise_x = torch.randn(mean.shape, generator=g)
    noise_z = torch.randn(n, 4, generator=g)
    feeds = {"mean": mean.numpy(), "u": u.numpy(),
             "sample_decode": np.array([sample_decode], dtype=np.float32)}
    if "noise_x" in names:
        feeds["noise_x"] = noise_x.numpy()
    if "noise_z" in names:
        feeds["noise_z"] = noise_z.numpy()
    outputs = dict(zip([o.name for o in transition.get_outputs()], transition.run(None, feeds)))

    # The same step in torch: the decoded x (means or Bernoulli pixels), corrupt, encode.
    x = (u < mean).float() if sample_decode else mean
    if model.denoise_std > 0:
        x = x + model.denoise_std * noise_x  # model.corrupt with this noise
    with torch.no_grad():
        if isinstance(model, VAE):
            mu, log_sigma = model.posterior(x)
            want = mu + log_sigma.exp() * noise_z
            np.testing.assert_allclose(outputs["mu"], mu.numpy(), rtol=1e-4, atol=1e-5)
            np.testing.assert_allclose(outputs["log_sigma"], log_sigma.numpy(), rtol=1e-4, atol=1e-5)
        else:
            want = model.encode(x)
    np.testing.assert_allclose(outputs["z"], want.numpy(), rtol=1e-4, atol=1e-5)


def test_graphs_draw_only_the_noise_their_model_uses():
    assert export.transition_inputs(make_model("vae", 16, 1, 4, 8)) == ["mean", "u", "sample_decode", "noise_z"]
    assert export.transition_inputs(make_model("aae", 16, 1, 4, 8)) == ["mean", "u", "sample_decode"]
    assert export.transition_inputs(make_model("dvae", 16, 1, 4, 8)) == [
        "mean", "u", "sample_decode", "noise_x", "noise_z"]
    assert export.transition_inputs(make_model("daae", 16, 1, 4, 8)) == ["mean", "u", "sample_decode", "noise_x"]


def test_corruption_scale_lives_in_the_graph(exported):
    """A denoising graph adds denoise_std * noise_x: doubling the noise input moves z (an AAE's
    does not take the input at all)."""
    models, _, out, manifest = exported
    _, transition = sessions(out, manifest, "daae")
    mean = np.full((3, 1, 16, 16), 0.5, np.float32)
    feeds = {"mean": mean, "u": np.zeros_like(mean), "sample_decode": np.zeros(1, np.float32)}
    noise = np.random.default_rng(0).standard_normal(mean.shape).astype(np.float32)
    (z1,) = transition.run(None, {**feeds, "noise_x": noise})
    (z0,) = transition.run(None, {**feeds, "noise_x": 0 * noise})
    with torch.no_grad():
        want = models["daae"].encode(torch.from_numpy(mean + 0.5 * noise)).numpy()
    assert models["daae"].denoise_std == 0.5
    np.testing.assert_allclose(z1, want, rtol=1e-4, atol=1e-5)
    assert np.abs(z1 - z0).max() > 1e-3


def test_manifest_has_what_the_page_reads(exported):
    models, held_out, out, manifest = exported
    on_disk = json.loads((out / "manifest.json").read_text())
    assert on_disk == manifest
    assert manifest["format"] == export.FORMAT and manifest["dataset"] == "test"
    assert manifest["latent_dim"] == 4 and manifest["image"] == [1, 16, 16]
    assert manifest["held_out"]["n"] == 8
    assert abs(manifest["prior_norm"] - torch.randn(200_000, 4).norm(dim=1).mean().item()) < 0.01
    assert manifest["fingerprint"] == export.fingerprint(models)
    for kind in KINDS:
        entry = manifest["kinds"][kind]
        assert (out / entry["decode"]).is_file() and (out / entry["transition"]).is_file()
        assert len(entry["mean"]) == 4 and np.array(entry["components"]).shape == (2, 4)
        components = np.array(entry["components"])
        np.testing.assert_allclose(components @ components.T, np.eye(2), atol=1e-4)
        assert len(entry["cloud"]) == 2 * len(held_out)
        assert entry["q_norm"] > 0 and entry["denoise_std"] == models[kind].denoise_std


def test_fingerprint_changes_with_the_weights():
    a = {"vae": random_model("vae", 0)}
    b = {"vae": random_model("vae", 1)}
    assert export.fingerprint(a) == export.fingerprint({"vae": random_model("vae", 0)})
    assert export.fingerprint(a) != export.fingerprint(b)


def test_chapter_parameters_are_read_from_the_notebook(tmp_path):
    cell = {"cell_type": "code", "metadata": {"tags": ["parameters"]}, "outputs": [],
            "source": ["dataset = \"digits\"  # a comment\n", "latent_dim = 16\n", "root = None\n",
                       "chain_steps = 2 * 5\n"]}
    path = tmp_path / "nb.ipynb"
    path.write_text(json.dumps({"cells": [{"cell_type": "markdown", "source": "# x", "metadata": {}}, cell]}))
    assert export.chapter_parameters(path) == {"dataset": "digits", "latent_dim": 16, "root": None}


def test_explorer_html_carries_its_fallback_and_no_remote_url_in_the_book():
    from genae.explorer import explorer_html

    page = explorer_html(b"\x89PNG fake", kind="daae", n_chains=32, seed=7)
    assert 'data-kind="daae"' in page and 'data-chains="32"' in page and 'data-seed="7"' in page
    assert page.count("data:image/png;base64,") == 1  # the fallback, shown by <noscript> too
    assert "content_root" in page and "_static/" in page  # the book's page: its own files
