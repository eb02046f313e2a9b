"""Chapter 7's explorer: the chain of section 3 (Eq. 1 and 2) as ONNX graphs, for the browser.

The book's page runs the four trained models with onnxruntime-web, with no kernel
and no server. One step of :func:`genae.mcmc.chain_step` is split into two graphs
per model, so that everything the step computes lives in the exported graphs and
the page's script only draws the noise, loops and draws:

- ``decode``: z -> the decoder's pixel means, Q(X|Z)'s mean (the images the page shows);
- ``transition``: the pixel means of z_t and the step's noise -> z_{t+1}. It takes
  x = the means (``sample_decode`` 0, what ``run_chain`` does by default) or a
  Bernoulli draw per pixel, x = [u < mean] with u uniform (``sample_decode`` 1,
  ``decode="sample"``); corrupts it, x~ = x + denoise_std * noise_x (denoising
  models: the corruption's scale is a constant of the graph); encodes x~, and for a
  VAE draws z = mu + exp(log sigma) * noise_z (it also returns mu and log sigma).
  An AAE's encoder is deterministic, so its graph has no ``noise_z``; a plain
  model's has no ``noise_x``: the page draws exactly the inputs a graph declares.

:func:`export_explorer` writes the graphs and a ``manifest.json`` with what the
page needs beside them: per model, the PCA plane of Q(Z) and a cloud of Q(Z) draws
projected on it, Q(Z)'s mean latent norm; and held-out images (the "encodings of
held-out digits" start, encoded in the page by the ``transition`` graph, exactly
as :func:`genae.chainstats.aggregate_posterior` encodes them).

``python -m genae.export OUT`` exports the models that chapter 7 loads (its
``parameters`` cell, read from the notebook), from the model cache
(``$GENAE_CACHE``; trained when missing). ``make book`` runs it into
``book/_vendor/explorer/models``, which the book serves as
``_static/explorer/models``. It skips the export when the cached models have not
changed since the last one.
"""

from __future__ import annotations

import argparse
import ast
import base64
import hashlib
import json
import math
import os
import warnings
from pathlib import Path

import numpy as np
import torch
from torch import Tensor, nn

from genae.chainstats import aggregate_posterior
from genae.defaults import KINDS, QUICK
from genae.infra.files import atomic_path
from genae.models import VAE

ROOT = Path(__file__).resolve().parents[1]
CHAPTER = ROOT / "notebooks" / "07-watching-convergence.ipynb"
LABELS = {"vae": "VAE", "aae": "AAE", "dvae": "DVAE", "daae": "DAAE"}
OPSET = 18
FORMAT = 1  # the manifest's layout; the page refuses another


class Decode(nn.Module):
    """z (N, latent_dim) -> the decoder's pixel means (N, C, H, W)."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.decoder = model.decoder

    def forward(self, z: Tensor) -> Tensor:
        return self.decoder(z)


class Transition(nn.Module):
    """The rest of one chain step: (decoded means, noise) -> z_{t+1} (and mu, log sigma for a VAE).

    ``u`` (uniform, the shape of the images) draws the Bernoulli pixels when
    ``sample_decode`` (shape (1,)) is 1; ``noise_x`` and ``noise_z`` are standard
    normal. Same maths as :func:`genae.mcmc.chain_step` with ``sample=True``.
    """

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.features, self.to_code = model.features, model.to_code
        self.denoise_std = float(model.denoise_std)
        self.variational = isinstance(model, VAE)

    def forward(self, mean: Tensor, u: Tensor, sample_decode: Tensor,
                noise_x: Tensor | None = None, noise_z: Tensor | None = None):
        x = torch.where(sample_decode > 0.5, (u < mean).to(mean.dtype), mean)
        if noise_x is not None:
            x = x + self.denoise_std * noise_x
        code = self.to_code(self.features(x))
        if not self.variational:
            return code
        mu, log_sigma = code.chunk(2, dim=1)
        return mu + log_sigma.exp() * noise_z, mu, log_sigma


def transition_inputs(model: nn.Module) -> list[str]:
    """The names of the ``transition`` graph's inputs for ``model``, in order."""
    names = ["mean", "u", "sample_decode"]
    if model.denoise_std > 0:
        names.append("noise_x")
    if isinstance(model, VAE):
        names.append("noise_z")
    return names


def _export(module: nn.Module, args: tuple, kwargs: dict, path: Path,
            input_names: list[str], output_names: list[str]) -> None:
    batch = torch.export.Dim("batch", min=1, max=65536)
    shapes = {name: ({0: batch} if name != "sample_decode" else None) for name in input_names}
    arg_names = input_names[:len(args)]
    names = [*arg_names, *kwargs]
    module.eval()
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")
        program = torch.onnx.export(
            module, args, kwargs=kwargs, dynamo=True, opset_version=OPSET,
            input_names=names, output_names=output_names,
            dynamic_shapes={**{n: shapes[n] for n in arg_names},
                            **{n: shapes[n] for n in kwargs}},
            verbose=False, optimize=True, external_data=False,
        )
    program.save(str(path), external_data=False)


def export_model(model: nn.Module, out_dir: str | os.PathLike, name: str) -> dict[str, str]:
    """Write ``{name}-decode.onnx`` and ``{name}-transition.onnx``; return their file names."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    model = model.cpu().eval()
    shape = (model.channels, model.image_size, model.image_size)
    z = torch.randn(2, model.latent_dim)
    files = {"decode": f"{name}-decode.onnx", "transition": f"{name}-transition.onnx"}
    _export(Decode(model), (z,), {}, out_dir / files["decode"], ["z"], ["mean"])
    inputs = transition_inputs(model)
    mean = torch.rand(2, *shape)
    kwargs = {}
    if "noise_x" in inputs:
        kwargs["noise_x"] = torch.randn(2, *shape)
    if "noise_z" in inputs:
        kwargs["noise_z"] = torch.randn(2, model.latent_dim)
    outputs = ["z", "mu", "log_sigma"] if isinstance(model, VAE) else ["z"]
    _export(Transition(model), (mean, torch.rand(2, *shape), torch.zeros(1)), kwargs,
            out_dir / files["transition"], inputs, outputs)
    return files


def expected_norm(latent_dim: int) -> float:
    """E||z|| for z ~ P(Z) = N(0, I): sqrt(2) Gamma((d + 1) / 2) / Gamma(d / 2)."""
    return math.sqrt(2) * math.exp(math.lgamma((latent_dim + 1) / 2) - math.lgamma(latent_dim / 2))


def fingerprint(models: dict[str, nn.Module]) -> str:
    """A hash of the models' weights and buffers: the export is redone when it changes."""
    digest = hashlib.sha256()
    for kind in sorted(models):
        digest.update(kind.encode())
        for name, value in sorted(models[kind].state_dict().items()):
            digest.update(name.encode())
            digest.update(value.detach().cpu().contiguous().numpy().tobytes())
    return digest.hexdigest()[:16]


def _round(values, digits: int = 4) -> list[float]:
    return [round(float(v), digits) for v in np.asarray(values).ravel()]


def latent_plane(model: nn.Module, held_out: Tensor, generator: torch.Generator,
                 cloud: int = 600) -> dict:
    """Q(Z) for the page: its PCA plane (mean, two components), its draws projected, its norm."""
    q = aggregate_posterior(model.cpu(), held_out, generator=generator).double()
    mean = q.mean(0)
    # The principal axes of Q(Z)'s draws, as the chapter's sklearn PCA finds them.
    _, _, vt = torch.linalg.svd(q - mean, full_matrices=False)
    components = vt[:2]
    flat = (q[:cloud] - mean) @ components.T
    norms = q.norm(dim=1)
    return {"mean": _round(mean, 6), "components": [_round(c, 6) for c in components],
            "cloud": _round(flat, 3), "q_norm": float(norms.mean()),
            "q_norm_se": float(norms.std() / math.sqrt(len(norms)))}


def export_explorer(models: dict[str, nn.Module], held_out: Tensor, out_dir: str | os.PathLike,
                    seed: int = 0, n_images: int = 64, far_scale: float = 5.0,
                    about: dict | None = None) -> dict:
    """Write every model's two graphs and ``manifest.json`` into ``out_dir``; return the manifest.

    Args:
        models: kind -> trained model (``"vae"``, ``"aae"``, ``"dvae"``, ``"daae"``).
        held_out: held-out images (N, C, H, W) in [0, 1]: all of them give Q(Z)'s draws,
            the first ``n_images`` travel to the page as the "held-out digits" start.
        seed: seeds the corruption and encoder noise of Q(Z)'s draws.
        far_scale: the "far from Q(Z)" start draws z ~ N(0, far_scale^2 I), as the
            paper's example code does with ``-sampleStd 5``.
        about: anything else to record in the manifest (the data set, the epochs, ...).
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    first = next(iter(models.values()))
    pixels = (held_out[:n_images].clamp(0, 1) * 255).round().to(torch.uint8)
    manifest = {
        "format": FORMAT, "fingerprint": fingerprint(models), **(about or {}),
        "latent_dim": first.latent_dim,
        "image": [first.channels, first.image_size, first.image_size],
        "prior_norm": expected_norm(first.latent_dim), "far_scale": far_scale,
        "held_out": {"n": len(pixels),
                     "uint8": base64.b64encode(pixels.numpy().tobytes()).decode()},
        "kinds": {},
    }
    for kind, model in models.items():
        model = model.cpu().eval()
        generator = torch.Generator().manual_seed(seed)
        manifest["kinds"][kind] = {
            "label": LABELS.get(kind, kind), "denoise_std": float(model.denoise_std),
            "variational": isinstance(model, VAE), "inputs": transition_inputs(model),
            **export_model(model, out_dir, kind), **latent_plane(model, held_out, generator),
        }
    with atomic_path(out_dir / "manifest.json") as tmp:
        Path(tmp).write_text(json.dumps(manifest))
    return manifest


def chapter_parameters(notebook: str | os.PathLike = CHAPTER) -> dict:
    """The values assigned in a notebook's ``parameters`` cell (literals only), e.g. chapter 7's."""
    cells = json.loads(Path(notebook).read_text())["cells"]
    source = next("".join(c["source"]) for c in cells
                  if "parameters" in c.get("metadata", {}).get("tags", []))
    values = {}
    for node in ast.parse(source).body:
        if isinstance(node, ast.Assign) and len(node.targets) == 1 \
                and isinstance(node.targets[0], ast.Name):
            try:
                values[node.targets[0].id] = ast.literal_eval(node.value)
            except ValueError:
                pass
    return values


def chapter_models(parameters: dict | None = None, device: str = "cpu",
                   ) -> tuple[dict[str, nn.Module], Tensor, dict]:
    """The four models chapter 7 loads (trained into the cache if missing), its held-out images,
    and the settings that made them (from the chapter's parameters cell)."""
    from genae.infra.cache import trained_model

    p = chapter_parameters() if parameters is None else parameters
    settings = {name: p.get(name, getattr(QUICK, name))
                for name in ("dataset", "image_size", "latent_dim", "width", "epochs", "seed")}
    root = p.get("root")
    models = {kind: trained_model(kind, **settings, root=root, device=device, progress=False)[0]
              for kind in KINDS}
    from genae.watching import held_out_images

    held_out = held_out_images(settings["dataset"], 1000, settings["image_size"], root)
    return models, held_out, settings


def export_chapter(out_dir: str | os.PathLike, force: bool = False) -> tuple[dict, bool]:
    """Export chapter 7's models into ``out_dir`` unless an export of the same weights is there.

    Returns the manifest and whether it was written now.
    """
    out_dir = Path(out_dir)
    models, held_out, settings = chapter_models()
    old = out_dir / "manifest.json"
    if old.is_file() and not force:
        manifest = json.loads(old.read_text())
        files = [manifest["kinds"][k][g] for k in manifest.get("kinds", {})
                 for g in ("decode", "transition")]
        if (manifest.get("format") == FORMAT and manifest.get("fingerprint") == fingerprint(models)
                and all((out_dir / f).is_file() for f in files)):
            return manifest, False
    seed = settings["seed"]
    return export_explorer(models, held_out, out_dir, seed=seed, about=settings), True


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m genae.export",
        description="Export chapter 7's four models to ONNX for the explorer in the book's page.")
    parser.add_argument("out", help="folder for the .onnx files and manifest.json")
    parser.add_argument("--force", action="store_true", help="export even if nothing changed")
    args = parser.parse_args(argv)
    manifest, written = export_chapter(args.out, force=args.force)
    sizes = sum((Path(args.out) / manifest["kinds"][k][g]).stat().st_size
                for k in manifest["kinds"] for g in ("decode", "transition"))
    print(f"genae.export: {'wrote' if written else 'up to date:'} {len(manifest['kinds'])} models "
          f"({manifest['dataset']}, {sizes / 1e6:.1f} MB of ONNX) in {args.out}")


if __name__ == "__main__":
    main()
