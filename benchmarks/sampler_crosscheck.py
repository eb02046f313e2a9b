"""Cross-check: genae's ex-post Gaussian mixture sampler against pythae's GaussianMixtureSampler.

Both fit a 10-component, full-covariance Gaussian mixture (scikit-learn) to the
same training encodings of one of the book's cached models and draw latents from
it. pythae's sampler encodes images with a pythae model and decodes its draws; to
give it exactly genae's encodings, a pythae ``AE`` is built around them: its
encoder looks the code of each training item up by index, its decoder is the
identity, so what pythae's ``sample`` returns are its mixture's latents.

Printed side by side, on one kernel width per model (the median heuristic on Q(Z)
and P(Z), as in :func:`genae.samplers.compare`): the squared MMD between the two
samplers' draws, each one's MMD to Q(Z) (held-out encodings), the MMD between two
independent genae draws (what "the same distribution" scores at this sample size),
and each mixture's mean log-likelihood of the held-out encodings.

pythae is NOT a dependency of genae: install it only to run this benchmark,

    .venv/bin/pip install pythae==0.1.2
    python benchmarks/sampler_crosscheck.py                    # the four kinds, 16-D and 200-D
    python benchmarks/sampler_crosscheck.py --kinds vae --latent-dims 16
"""

from __future__ import annotations

import argparse
import contextlib
import io
import logging

import numpy as np
import pandas as pd
import torch


def pythae_mixture(codes: torch.Tensor, n: int, seed: int):
    """Fit pythae's GaussianMixtureSampler on ``codes`` (N, L) and draw ``n`` latents; also return its mixture."""
    from pythae.models import AE, AEConfig
    from pythae.models.base.base_utils import ModelOutput
    from pythae.models.nn import BaseDecoder, BaseEncoder
    from pythae.samplers import GaussianMixtureSampler, GaussianMixtureSamplerConfig

    class Lookup(BaseEncoder):
        def forward(self, x):  # x holds i / (N - 1) for training item i: pythae wants data in [0, 1]
            return ModelOutput(embedding=codes[(x[:, 0] * (len(codes) - 1)).round().long()])

    class Identity(BaseDecoder):
        def forward(self, z):
            return ModelOutput(reconstruction=z)

    model = AE(AEConfig(input_dim=(1,), latent_dim=codes.shape[1]), encoder=Lookup(), decoder=Identity())
    sampler = GaussianMixtureSampler(model, GaussianMixtureSamplerConfig(n_components=10))
    index = (torch.arange(len(codes), dtype=torch.float32) / (len(codes) - 1))[:, None]
    np.random.seed(seed)  # pythae draws through the mixture's numpy random state (random_state=None)
    with contextlib.redirect_stderr(io.StringIO()):  # pythae warns about the (N, L) vs (N, 1) loss shapes
        sampler.fit(index)
        z = sampler.sample(num_samples=n, return_gen=True)
    return z.cpu().float(), sampler.gmm


def crosscheck(kind: str, latent_dim: int, seed: int, n: int) -> dict:
    from genae.chainstats import aggregate_posterior
    from genae.data import load_images
    from genae.infra.cache import trained_model
    from genae.mcmc import sample_prior
    from genae.metrics import median_bandwidth, mmd
    from genae.samplers import MixtureSampler

    model, _ = trained_model(kind, latent_dim=latent_dim, epochs=20, seed=seed, progress=False)
    g = torch.Generator().manual_seed(seed)
    codes = aggregate_posterior(model, load_images("digits", "train", image_size=32).tensors[0], g)
    q = aggregate_posterior(model, load_images("digits", "test", image_size=32).tensors[0], g)
    h = median_bandwidth(q, sample_prior(len(q), latent_dim, torch.Generator().manual_seed(seed)))
    ours = MixtureSampler(seed=seed).fit(codes)
    z_genae = ours.sample(n, torch.Generator().manual_seed(seed))
    z_again = ours.sample(n, torch.Generator().manual_seed(seed + 1))
    z_pythae, gmm = pythae_mixture(codes, n, seed)
    held_out = q.double().numpy()
    return {"model": kind, "latent_dim": latent_dim, "n": n,
            "mmd_genae_pythae": mmd(z_genae, z_pythae, h), "mmd_genae_genae": mmd(z_genae, z_again, h),
            "mmd_q_genae": mmd(z_genae, q, h), "mmd_q_pythae": mmd(z_pythae, q, h),
            "loglik_genae": float(ours.gmm.score(held_out)), "loglik_pythae": float(gmm.score(held_out))}


def main(argv: list[str] | None = None) -> pd.DataFrame:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--kinds", nargs="+", default=["vae", "aae", "dvae", "daae"])
    parser.add_argument("--latent-dims", type=int, nargs="+", default=[16, 200])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--n", type=int, default=1000, help="latents drawn from each mixture")
    args = parser.parse_args(argv)
    try:
        import pythae  # noqa: F401
    except ImportError:
        parser.exit(1, "this benchmark needs pythae: pip install pythae==0.1.2 (not a genae dependency)\n")
    logging.getLogger("pythae").setLevel(logging.ERROR)
    rows = [crosscheck(k, d, args.seed, args.n) for d in args.latent_dims for k in args.kinds]
    table = pd.DataFrame(rows)
    with pd.option_context("display.width", 200, "display.float_format", "{:.4g}".format):
        print(table.to_string(index=False))
    print("\nmmd_genae_pythae near mmd_genae_genae (two draws of one mixture) means the two samplers agree.")
    return table


if __name__ == "__main__":
    main()
