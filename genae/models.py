"""Section 4.1: the DCGAN-style generative autoencoders (VAE, AAE, DVAE, DAAE).

The encoder mimics the DCGAN discriminator (strided 4x4 convolutions, no
pooling) and the decoder the DCGAN generator (fractionally-strided
convolutions). Every convolution is followed by batch norm and ReLU, except the
decoder's top, which is a sigmoid. The encoder's last layer is fully connected
from the flattened 4x4 features (512 x 4 x 4 = 8,192 at 64x64, width 64, as
appendix A says) to z, or to (mu, log sigma) for the VAEs.

The denoising variants are the same networks trained on corrupted inputs,
Q(x~|x) = N(x, denoise_std^2 I) (section 2.2); the paper uses
N(x, 0.25 I), that is ``denoise_std=0.5``.

Every model has the interface that :func:`genae.mcmc.run_chain` relies on
(:class:`genae.validate.ChainModel`: ``encode``, ``decode``, ``corrupt``,
``latent_dim``) and the one :func:`genae.train.fit` trains
(:class:`genae.validate.TrainableModel`: ``loss``, ``objectives``,
``param_groups``, ``config``).
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Iterator

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from genae.defaults import IMAGE_SIZES, KINDS, PAPER, PAPER_DENOISE_STD, denoise_std_for
from genae.validate import check_choice, check_images, check_int, check_latents, check_number

__all__ = ["AAE", "IMAGE_SIZES", "KINDS", "PAPER_DENOISE_STD", "VAE", "GenerativeAutoencoder",
           "evaluating", "make_model"]


@contextlib.contextmanager
def evaluating(model: nn.Module) -> Iterator[nn.Module]:
    """Put ``model`` in eval mode (batch norm's running statistics, no dropout), then back."""
    was_training = model.training
    model.eval()
    try:
        yield model
    finally:
        model.train(was_training)


def conv_encoder(image_size: int, channels: int, width: int) -> nn.Sequential:
    """Strided 4x4 convolutions halving the image down to 4x4, each with batch norm and ReLU."""
    layers: list[nn.Module] = []
    c_in, c_out, size = channels, width, image_size
    while size > 4:
        layers += [nn.Conv2d(c_in, c_out, 4, 2, 1, bias=False), nn.BatchNorm2d(c_out),
                   nn.ReLU(True)]
        c_in, c_out, size = c_out, c_out * 2, size // 2
    return nn.Sequential(*layers, nn.Flatten())


def conv_decoder(image_size: int, channels: int, width: int, latent_dim: int) -> nn.Sequential:
    """The DCGAN generator: z (as a 1x1 map) up to the image, sigmoid on top."""
    n_up = int(math.log2(image_size // 4))  # number of 2x upsamplings after the 4x4 start
    c = width * 2 ** (n_up - 1)
    layers: list[nn.Module] = [
        nn.Unflatten(1, (latent_dim, 1, 1)),
        nn.ConvTranspose2d(latent_dim, c, 4, 1, 0, bias=False), nn.BatchNorm2d(c), nn.ReLU(True),
    ]
    for _ in range(n_up - 1):
        layers += [nn.ConvTranspose2d(c, c // 2, 4, 2, 1, bias=False), nn.BatchNorm2d(c // 2),
                   nn.ReLU(True)]
        c //= 2
    layers += [nn.ConvTranspose2d(c, channels, 4, 2, 1), nn.Sigmoid()]
    return nn.Sequential(*layers)


class Adversary(nn.Module):
    """The AAE's discriminator: tells z ~ P(Z) = N(0, I) (label 1) from encodings (label 0)."""

    def __init__(self, latent_dim: int, hidden: int = 512, dropout: float = 0.2) -> None:
        super().__init__()
        self.net = nn.Sequential(
            nn.Linear(latent_dim, hidden), nn.LeakyReLU(0.2, True), nn.Dropout(dropout),
            nn.Linear(hidden, hidden), nn.LeakyReLU(0.2, True), nn.Dropout(dropout),
            nn.Linear(hidden, 1),
        )

    def forward(self, z: Tensor) -> Tensor:
        """Logit that ``z`` came from the prior."""
        return self.net(z).squeeze(-1)


class GenerativeAutoencoder(nn.Module):
    """What the VAE and the AAE share: the networks, decode, corrupt, the reconstruction term."""

    kind: str
    #: Which loss terms each optimiser minimises, over which parameters (see :meth:`param_groups`).
    objectives: dict[str, tuple[str, ...]] = {"autoencoder": ("reconstruction", "prior")}

    def __init__(self, kind: str, image_size: int, channels: int, latent_dim: int, width: int,
                 denoise_std: float, code_size: int) -> None:
        super().__init__()
        self.kind, self.image_size, self.channels = kind, image_size, channels
        self.latent_dim, self.width, self.denoise_std = latent_dim, width, float(denoise_std)
        self.features = conv_encoder(image_size, channels, width)
        n_features = width * 2 ** (int(math.log2(image_size // 4)) - 1) * 16
        self.to_code = nn.Linear(n_features, code_size)
        self.decoder = conv_decoder(image_size, channels, width, latent_dim)

    @property
    def config(self) -> dict:
        """The arguments of :func:`make_model` that rebuild this model."""
        return dict(kind=self.kind, image_size=self.image_size, channels=self.channels,
                    latent_dim=self.latent_dim, width=self.width, denoise_std=self.denoise_std)

    def decode(self, z: Tensor) -> Tensor:
        """Q(X|Z): the decoder's pixel means in [0, 1], shape (N, C, H, W)."""
        check_latents(z, self.latent_dim)
        return self.decoder(z)

    def decode_logits(self, z: Tensor) -> Tensor:
        """The decoder without its sigmoid; the loss uses it for a stable cross-entropy."""
        return self.decoder[:-1](z)

    def corrupt(self, x: Tensor, generator: torch.Generator | None = None) -> Tensor:
        """Q(x~|x) = N(x, denoise_std^2 I); the identity when ``denoise_std`` is 0."""
        if self.denoise_std == 0:
            return x
        noise = torch.randn(x.shape, generator=generator, device=x.device, dtype=x.dtype)
        return x + self.denoise_std * noise

    def reconstruction(self, x: Tensor, z: Tensor) -> Tensor:
        """Binary cross-entropy of the clean ``x`` under the decoder, summed over pixels."""
        bce = F.binary_cross_entropy_with_logits(self.decode_logits(z), x, reduction="none")
        return bce.flatten(1).sum(1).mean()

    def param_groups(self) -> dict[str, list[nn.Parameter]]:
        """Parameters each objective updates; the trainer makes one optimiser per group."""
        return {"autoencoder": list(self.features.parameters()) + list(self.to_code.parameters())
                + list(self.decoder.parameters())}

    def extra_repr(self) -> str:
        return f"kind={self.kind!r}, latent_dim={self.latent_dim}, denoise_std={self.denoise_std}"


class VAE(GenerativeAutoencoder):
    """Variational autoencoder (section 2.1): Q(z|x) = N(mu, diag sigma^2), KL to N(0, I)."""

    def __init__(self, kind: str = "vae", image_size: int = PAPER.image_size, channels: int = 3,
                 latent_dim: int = PAPER.latent_dim, width: int = PAPER.width,
                 denoise_std: float = 0.0) -> None:
        super().__init__(kind, image_size, channels, latent_dim, width, denoise_std, 2 * latent_dim)

    def posterior(self, x: Tensor) -> tuple[Tensor, Tensor]:
        """The encoder's (mu, log sigma) for images ``x``."""
        check_images(x, self.channels, self.image_size, check_range=False)
        return self._posterior(x)

    def _posterior(self, x: Tensor) -> tuple[Tensor, Tensor]:
        mu, log_sigma = self.to_code(self.features(x)).chunk(2, dim=1)
        return mu, log_sigma

    def encode(self, x: Tensor, sample: bool = True,
               generator: torch.Generator | None = None) -> Tensor:
        """Q(Z|X): a reparameterised sample mu + sigma * eps, or the mean mu (``sample=False``)."""
        mu, log_sigma = self.posterior(x)
        if not sample:
            return mu
        eps = torch.randn(mu.shape, generator=generator, device=mu.device, dtype=mu.dtype)
        return mu + log_sigma.exp() * eps

    def loss(self, x: Tensor) -> dict[str, Tensor]:
        """Reconstruction (from the corrupted input, for a DVAE) and the KL prior term, per image.

        ``"z"`` holds the encodings drawn (detached): the trainer's z_std comes from them.
        """
        check_images(x, self.channels, self.image_size)
        mu, log_sigma = self._posterior(self.corrupt(x))
        z = mu + log_sigma.exp() * torch.randn_like(mu)
        kl = 0.5 * (mu.pow(2) + (2 * log_sigma).exp() - 2 * log_sigma - 1).sum(1).mean()
        return {"reconstruction": self.reconstruction(x, z), "prior": kl, "z": z.detach()}


class AAE(GenerativeAutoencoder):
    """Adversarial autoencoder (section 2.1) with a deterministic encoder and an adversary on z.

    ``prior_weight`` weighs the encoder's adversarial term against the reconstruction, which
    is summed over pixels. Both of the authors' codes average the reconstruction over pixels
    and add the adversarial term at weight 1 (Kaixhin/Autoencoders: ``nn.BCECriterion`` plus
    the minimax loss; ToniCreswell/pyTorch_DAAE: ``recLoss + alpha * encLoss``, ``alpha=1``).
    The default, the number of pixels C x H x W, is that balance: the same loss times C x H x W,
    which Adam's steps do not see.
    """

    objectives = {"autoencoder": ("reconstruction", "prior"), "adversary": ("adversary",)}

    def __init__(self, kind: str = "aae", image_size: int = PAPER.image_size, channels: int = 3,
                 latent_dim: int = PAPER.latent_dim, width: int = PAPER.width,
                 denoise_std: float = 0.0, prior_weight: float | None = None) -> None:
        super().__init__(kind, image_size, channels, latent_dim, width, denoise_std, latent_dim)
        self.adversary = Adversary(latent_dim)
        self.prior_weight = float(channels * image_size**2 if prior_weight is None
                                  else prior_weight)

    @property
    def config(self) -> dict:
        return {**super().config, "prior_weight": self.prior_weight}

    def encode(self, x: Tensor, sample: bool = True,
               generator: torch.Generator | None = None) -> Tensor:
        """Q(Z|X) is deterministic for this AAE, so ``sample`` changes nothing."""
        check_images(x, self.channels, self.image_size, check_range=False)
        return self.to_code(self.features(x))

    def loss(self, x: Tensor) -> dict[str, Tensor]:
        """Reconstruction, the encoder's weighted adversarial term, the adversary's own loss.

        ``prior`` is ``prior_weight`` times -log D(e(x)), averaged over the batch.

        The adversary sees the encodings detached, so its loss moves only its own
        weights; the trainer steps the encoder on ``prior`` and the adversary on
        ``adversary`` (see ``objectives``). ``adversary_accuracy`` is a diagnostic.
        """
        check_images(x, self.channels, self.image_size)
        z = self.to_code(self.features(self.corrupt(x)))
        z_prior = torch.randn_like(z)
        fake_logit = self.adversary(z)
        real_logit, detached_logit = self.adversary(z_prior), self.adversary(z.detach())
        ones, zeros = torch.ones_like(fake_logit), torch.zeros_like(fake_logit)
        adversary = 0.5 * (F.binary_cross_entropy_with_logits(real_logit, ones)
                           + F.binary_cross_entropy_with_logits(detached_logit, zeros))
        accuracy = 0.5 * ((real_logit > 0).float().mean() + (detached_logit < 0).float().mean())
        return {"reconstruction": self.reconstruction(x, z),
                "prior": self.prior_weight * F.binary_cross_entropy_with_logits(fake_logit, ones),
                "adversary": adversary, "adversary_accuracy": accuracy.detach(), "z": z.detach()}

    def param_groups(self) -> dict[str, list[nn.Parameter]]:
        return {**super().param_groups(), "adversary": list(self.adversary.parameters())}


def make_model(kind: str, image_size: int = PAPER.image_size, channels: int = 3,
               latent_dim: int = PAPER.latent_dim, width: int = PAPER.width,
               denoise_std: float | None = None,
               prior_weight: float | None = None) -> GenerativeAutoencoder:
    """Build one of the paper's four models (defaults: the paper's, :data:`genae.defaults.PAPER`).

    Args:
        kind: ``"vae"``, ``"aae"``, ``"dvae"`` or ``"daae"`` (the d-kinds: denoising variants).
        image_size: 16, 32 or 64 (the paper: 64).
        channels: 1 for grey images, 3 for colour.
        latent_dim: size of z (the paper: 200).
        width: channels of the first convolution, doubled at each layer (the paper: 64).
        denoise_std: standard deviation of the corruption N(x, denoise_std^2 I); ``None`` gives
            the paper's 0.5 for the d-kinds and 0 otherwise.
        prior_weight: the AAE's weight on its adversarial term (see :class:`AAE`); ``None`` gives
            the authors' balance, the number of pixels. A VAE's KL term has weight 1 (the ELBO).
    """
    check_choice(kind, "model kind", KINDS)
    check_choice(image_size, "image_size", IMAGE_SIZES)
    for name, value in (("channels", channels), ("latent_dim", latent_dim), ("width", width)):
        check_int(value, name, low=1)
    std = (denoise_std_for(kind) if denoise_std is None
           else check_number(denoise_std, "denoise_std", low=0))
    if kind.endswith("vae"):
        if prior_weight is not None:
            raise ValueError(f"prior_weight={prior_weight!r} is for the AAEs: a {kind}'s prior "
                             "term is its KL divergence, weighted 1 as in the ELBO; leave it None")
        return VAE(kind, image_size, channels, latent_dim, width, std)
    weight = None if prior_weight is None else check_number(prior_weight, "prior_weight", low=0)
    return AAE(kind, image_size, channels, latent_dim, width, std, weight)
