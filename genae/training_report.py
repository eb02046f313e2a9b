"""Chapter 04's report on the four trained models (sections 4.1-4.3 and appendix B.1).

What the chapter shows of its models, so that it shows only the calls that teach:

- :func:`layer_table` and :func:`part_counts`: the networks layer by layer (section 4.1);
- :func:`trained_aae_with_weight`: an AAE trained with another weight on its adversarial
  term, cached like :func:`genae.infra.cache.trained_model` (the chapter compares the
  book's weighting with the unweighted one);
- :func:`training_sentences` and :func:`adversary_table`: what the histories say;
- :func:`reconstruct`, :func:`bce`, :func:`show_rows`: reconstructions and denoising;
- :func:`spread`, :func:`spread_table`, :func:`spread_sentences`: how spread out the
  encodings are (appendix B.1).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import pandas as pd
import torch
from torch import Tensor, nn

from genae import plots
from genae.data import CHANNELS, load_images
from genae.infra import checkpoint
from genae.infra.cache import cache_key, default_cache_dir
from genae.models import make_model
from genae.train import TRAINER_VERSION, History, fit


def layer_table(model: nn.Module) -> pd.DataFrame:
    """Input and output shape and parameter count of every convolution and linear layer,
    in forward order (recorded by forward hooks on one random image)."""
    rows, hooks = [], []
    for name, module in model.named_modules():
        if isinstance(module, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)):
            def record(mod: nn.Module, inputs: tuple, output: Tensor, name: str = name) -> None:
                rows.append({"layer": name, "type": type(mod).__name__,
                             "input": tuple(inputs[0].shape[1:]),
                             "output": tuple(output.shape[1:]),
                             "parameters": sum(p.numel() for p in mod.parameters())})
            hooks.append(module.register_forward_hook(record))
    model.eval()
    with torch.no_grad():
        z = model.encode(torch.rand(1, model.channels, model.image_size, model.image_size))
        model.decode(z)
        if hasattr(model, "adversary"):
            model.adversary(z)
    for hook in hooks:
        hook.remove()
    return pd.DataFrame(rows).set_index("layer")


def part_counts(model: nn.Module) -> dict[str, int]:
    """Parameters of the encoder, the decoder and (for an AAE) the adversary."""
    parts = {"encoder": [model.features, model.to_code], "decoder": [model.decoder]}
    if hasattr(model, "adversary"):
        parts["adversary"] = [model.adversary]
    return {part: sum(p.numel() for m in mods for p in m.parameters())
            for part, mods in parts.items()}


def trained_aae_with_weight(prior_weight: float, dataset: str, image_size: int, latent_dim: int,
                            width: int, epochs: int, seed: int, batch_size: int = 64,
                            root: str | None = None) -> tuple[nn.Module, History]:
    """An AAE trained as :func:`~genae.infra.cache.trained_model` trains one, with
    ``prior_weight`` on its adversarial term; cached in the same folder under its own key."""
    config = dict(kind="aae", dataset=dataset, image_size=image_size, latent_dim=latent_dim,
                  width=width, epochs=epochs, batch_size=batch_size, seed=seed,
                  prior_weight=prior_weight, root=root, trainer=TRAINER_VERSION)
    path = default_cache_dir() / f"aae-weight-{dataset}-{cache_key(config)}.pt"
    if path.is_file():
        model = checkpoint.load(path)
        return model, list(model.checkpoint_extra["history"])
    data = load_images(dataset, "train", image_size=image_size, root=root)
    torch.manual_seed(seed)
    model = make_model("aae", image_size=image_size, channels=CHANNELS[dataset],
                       latent_dim=latent_dim, width=width, prior_weight=prior_weight)
    history = fit(model, data, epochs=epochs, batch_size=batch_size, seed=seed, progress=False)
    checkpoint.save(model, path, history=history, training=config)
    return model.eval(), history


def epochs_text(n: int) -> str:
    return f"{n} epoch{'' if n == 1 else 's'}"


def training_sentences(histories: dict[str, History], train_size: int, batch_size: int) -> str:
    """How far each model's reconstruction fell, and how many optimiser steps that took."""
    lines = []
    for name, history in histories.items():
        first, last = history[0]["reconstruction"], history[-1]["reconstruction"]
        trend = ("one epoch shows no trend" if len(history) < 2 else
                 "still falling in the last epoch"
                 if last < history[-2]["reconstruction"] else "no longer falling in the last epoch")
        lines.append(f"{name}: reconstruction {first:.1f} → {last:.1f} nats per image over "
                     f"{epochs_text(len(history))} ({1 - last / first:.0%} lower); {trend}.")
    n = len(next(iter(histories.values())))
    steps = n * math.ceil(train_size / batch_size)
    celeba = 162_770  # CelebA's training split, which the paper trains on for 20 epochs
    lines.append(f"{epochs_text(n)} of {train_size:,} images in batches of {batch_size} are "
                 f"{steps:,} optimiser steps; 20 epochs of CelebA's {celeba:,} training images "
                 f"would be {20 * math.ceil(celeba / 64):,} at a batch size of 64 (the paper does "
                 "not state its batch size).")
    return " ".join(lines)


def adversary_table(histories: dict[str, History]) -> pd.DataFrame:
    """The last epoch of each AAE's game: the adversary's loss and accuracy, the encoder's
    -log D(e(x)) (the prior term divided by its weight), and z_std."""
    rows = {}
    for name, (history, weight) in histories.items():
        h = history[-1]
        rows[name] = {"prior weight": weight, "adversary loss": h["adversary"],
                      "encoder's -log D(e(x))": h["prior"] / weight,
                      "adversary accuracy": h["adversary_accuracy"], "z_std": h["z_std"]}
    return pd.DataFrame(rows).T.round(3)


@torch.no_grad()
def reconstruct(model: nn.Module, x: Tensor) -> Tensor:
    """d(e(x)) with the encoder's mean, in chunks of 500 (paper-scale batches would not fit)."""
    return torch.cat([model.decode(model.encode(c, sample=False)) for c in x.split(500)])


@torch.no_grad()
def bce(x_hat: Tensor, x: Tensor) -> float:
    """Cross-entropy of ``x`` under Bernoulli pixels ``x_hat``, summed over pixels, mean over
    images (nats per image)."""
    x_hat = x_hat.clamp(1e-6, 1 - 1e-6)
    per_pixel = x * x_hat.log() + (1 - x) * (1 - x_hat).log()
    return float(-per_pixel.flatten(1).sum(1).mean())


def reconstruction_table(models: dict[str, nn.Module], x: Tensor) -> pd.DataFrame:
    """Each model's reconstruction of ``x``: cross-entropy per image and squared error per pixel."""
    rows = {}
    for name, model in models.items():
        x_hat = reconstruct(model, x)
        rows[name] = {"cross-entropy (nats per image)": bce(x_hat, x),
                      "mean squared error per pixel": float(((x_hat - x) ** 2).mean())}
    return pd.DataFrame(rows).T.round(4)


def show_rows(rows: Sequence[Tensor], labels: Sequence[str], title: str) -> None:
    """Image rows (each (n, C, H, W)) as one grid, a label per row; large enough to see strokes."""
    import matplotlib.pyplot as plt

    n = len(rows[0])
    fig, ax = plt.subplots(figsize=(1.1 * n + 1.5, 1.1 * len(rows) + 0.6))
    plots.show_images(torch.cat([r.cpu() for r in rows]).clamp(0, 1), nrow=n, ax=ax)
    size = rows[0].shape[-1] + 2  # make_grid's padding of 2
    ax.set_yticks([size * (i + 0.5) for i in range(len(rows))], labels)
    ax.set_title(title, fontsize=9)
    plt.show()


@torch.no_grad()
def spread(model: nn.Module, x: Tensor, seed: int) -> np.ndarray:
    """Per latent dimension, the standard deviation of one draw z ~ Q(Z|x) per image."""
    g = torch.Generator(device=x.device).manual_seed(seed)
    z = torch.cat([model.encode(c, sample=True, generator=g) for c in x.split(500)])
    return z.std(0).cpu().numpy()


def spread_table(models: dict[str, nn.Module], clean: Tensor, noisy: Tensor,
                 seed: int) -> pd.DataFrame:
    """:func:`spread` on clean held-out images, and on corrupted ones for the denoising models."""
    rows = {}
    for name, model in models.items():
        for inputs, x in (("clean", clean), ("corrupted", noisy)):
            if inputs == "corrupted" and model.denoise_std == 0:
                continue
            s = spread(model, x, seed)
            rows[f"{name} ({inputs} inputs)"] = {
                "mean std": s.mean(), "smallest": s.min(), "largest": s.max(),
                "dimensions below 1": f"{(s < 1).sum()} of {len(s)}"}
    return pd.DataFrame(rows).T


def spread_sentences(table: pd.DataFrame, histories: dict[str, History]) -> str:
    """Appendix B.1's remark against this run: z_std during training and after, per kind."""
    mean_std = {n: float(table.loc[f"{n} (clean inputs)", "mean std"]) for n in histories}
    z_std = {n: np.array([h["z_std"] for h in hist]) for n, hist in histories.items()}
    below = {n: int((z_std[n] < 1).sum()) for n in ("AAE", "DAAE")}
    epochs = len(z_std["AAE"])
    first = (f"During training the AAE's and DAAE's encodings had a std below 1 (narrower than "
             f"P(Z), as appendix B.1 reports) in {below['AAE']} and {below['DAAE']} of "
             f"{epochs_text(epochs)}")
    # a difference of std below 0.02 is within what one seed and 1,000 images can tell apart
    vae_end = np.mean([abs(1 - mean_std[n]) for n in ("VAE", "DVAE")])
    aae_end = np.mean([abs(1 - mean_std[n]) for n in ("AAE", "DAAE")])
    verdict = ("no clear difference" if abs(vae_end - aae_end) < 0.02 else
               "the VAEs closer to 1, as the paper says" if vae_end < aae_end else
               "the AAEs closer to 1, the opposite of the paper's remark")
    return (f"{first}. After training, on held-out images, the mean std is "
            f"{mean_std['VAE']:.2f} and {mean_std['DVAE']:.2f} for the VAE and DVAE, "
            f"{mean_std['AAE']:.2f} and {mean_std['DAAE']:.2f} for the AAE and DAAE (mean distance "
            f"from 1: {vae_end:.2f} against {aae_end:.2f}): {verdict}.")


def hyperparameter_table(dataset: str, train_size: int, image_size: int, channels: int,
                         latent_dim: int, width: int, epochs: int, batch_size: int) -> pd.DataFrame:
    """Section 4.3's settings beside this run's; the optimiser's read from ``fit``'s defaults."""
    import inspect

    defaults = {k: p.default for k, p in inspect.signature(fit).parameters.items()}
    rows = [("data", "CelebA (SVHN in appendix C)", f"{dataset}, {train_size:,} training images"),
            ("image size", "64 x 64 x 3", f"{image_size} x {image_size} x {channels}"),
            ("latent size b, prior P(Z)", "200, N(0, I)", f"{latent_dim}, N(0, I)"),
            ("channels in the first convolution", "64 (DCGAN)", str(width)),
            ("optimiser", "Adam", "Adam (genae.train.fit)"),
            ("learning rate, betas", "0.0002, (0.5, 0.999)",
             f"{defaults['lr']}, {tuple(defaults['betas'])}"),
            ("epochs", "20", str(epochs)), ("batch size", "not stated", str(batch_size)),
            ("corruption Q(x~|x) (DVAE, DAAE)", "N(x, 0.25 I)", "N(x, 0.25 I)")]
    return pd.DataFrame(rows, columns=["", "paper", "this run"]).set_index("")


def plot_losses(histories: dict[str, History], weights: dict[str, float], title: str) -> None:
    """Reconstruction, the VAEs' KL term, and the AAEs' game: the encoder's -log D(e(x))
    (the prior term divided by its weight in ``weights``) and the adversary's loss, per epoch."""
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 3, figsize=(11, 3.6), layout="constrained")
    for name, history in histories.items():
        plots.plot_history(history, terms=["reconstruction"], ax=axes[0], label=name)
        if name.endswith("VAE"):
            plots.plot_history(history, terms=["prior"], ax=axes[1], label=name)
            continue
        game = [{"epoch": h["epoch"], "-log D(e(x))": h["prior"] / weights[name],
                 "adversary": h["adversary"]} for h in history]
        plots.plot_history(game, terms=["-log D(e(x))", "adversary"], ax=axes[2], label=name)
    axes[0].set(title="reconstruction (nats/image)")
    axes[1].set(title="VAE, DVAE: KL term (nats)")
    axes[2].set(title="AAE, DAAE: -log D(e(x)), adversary")
    axes[2].axhline(np.log(2), color="0.5", ls=":", lw=1, label="log 2 (balanced)")
    for ax in axes:
        ax.legend(fontsize=7.5)
    fig.suptitle(title, fontsize=10)
    plt.show()


def denoising_table(models: dict[str, nn.Module], clean: Tensor, noisy: Tensor) -> pd.Series:
    """Mean squared error to the clean images: of the corrupted inputs, and of each model's
    reconstruction of them."""
    mse = {"corrupted input": float(((noisy - clean) ** 2).mean())}
    for name, model in models.items():
        mse[f"{name} d(e(x~))"] = float(((reconstruct(model, noisy) - clean) ** 2).mean())
    return pd.Series(mse, name="mean squared error to the clean image").round(4)


def weighting_sentence(table: pd.DataFrame, book: str, unweighted: str) -> str:
    """What the weight on the adversarial term changed, from :func:`adversary_table`'s rows."""
    a, b = table.loc[book], table.loc[unweighted]
    return (f"With the book's weight ({a['prior weight']:.0f}) the adversary told encodings from "
            f"prior draws {a['adversary accuracy']:.0%} of the time in the last epoch and the "
            f"encodings' std was {a['z_std']:.2f}; with weight 1 it was right "
            f"{b['adversary accuracy']:.0%} of the time and the std {b['z_std']:.2f} "
            f"(P(Z) has std 1, and an adversary that cannot tell them apart is right 50% of "
            "the time).")


def summary_sentence(histories: dict[str, History], game: pd.DataFrame, mse: pd.Series,
                     spread: pd.DataFrame) -> str:
    """Chapter 04's findings in one paragraph, from its own tables (Markdown)."""
    recon = ", ".join(f"{n} {h[0]['reconstruction']:.0f} → {h[-1]['reconstruction']:.0f}"
                      for n, h in histories.items())
    book, one = game.iloc[0], game.loc["AAE (weight 1)"]
    stds = ", ".join(f"{n} {spread.loc[f'{n} (clean inputs)', 'mean std']:.2f}" for n in histories)
    return (f"Over {epochs_text(len(next(iter(histories.values()))))} the reconstruction "
            f"cross-entropy fell (nats per image, first to last epoch): {recon}. The AAE's "
            f"adversary was right {book['adversary accuracy']:.0%} of the time in the last epoch "
            f"with the book's weight and {one['adversary accuracy']:.0%} with weight 1. The DVAE "
            f"removed the paper's noise: squared error {mse['corrupted input']:.4f} for the "
            f"corrupted images, {mse['DVAE d(e(x~))']:.4f} for its reconstructions. On held-out "
            f"images the encodings' mean std is {stds} (P(Z): 1).")
