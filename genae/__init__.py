"""genae: sampling from generative autoencoders with Markov chains.

A thin PyTorch library behind the teaching book on Creswell, Arulkumaran and
Bharath, "Improving Sampling from Generative Autoencoders with Markov Chains".

One module per concern:

- :mod:`genae.data`: the data sets (digits offline; MNIST, SVHN, CelebA, folders).
- :mod:`genae.models`: the DCGAN-style VAE, AAE, DVAE and DAAE (section 4.1).
- :mod:`genae.train`: one training loop for all four (section 4.3).
- :mod:`genae.mcmc`: the Markov chain of section 3 (Eq. 1 and 2).
- :mod:`genae.linear`: the chain on a linear-Gaussian autoencoder, in closed form (section 3.2).
- :mod:`genae.gaussians`: Gaussians, their KL and 2-Wasserstein distances, Monte-Carlo moment checks.
- :mod:`genae.interpolate`: spherical and linear interpolation.
- :mod:`genae.chainstats`: per-step statistics of a chain (Q(Z) draws, step sizes, image distances, sharpness).
- :mod:`genae.checkpoint`: saving and loading models safely.
- :mod:`genae.plots`: image grids and chain figures.
"""

__version__ = "0.1.0"
