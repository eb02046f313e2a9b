"""genae: sampling from generative autoencoders with Markov chains.

A thin PyTorch library behind the teaching book on Creswell, Arulkumaran and
Bharath, "Improving Sampling from Generative Autoencoders with Markov Chains".
One module per concern. The modules a reader of the book opens sit at the top:

- :mod:`genae.data`: the data sets (5,000 MNIST digits
  offline; MNIST, SVHN, CelebA, folders; sections 4.2-4.3).
- :mod:`genae.models`: the DCGAN-style VAE, AAE, DVAE and DAAE (section 4.1).
- :mod:`genae.train`: one training step, one epoch, and ``fit`` for all four models (section 4.3).
- :mod:`genae.mcmc`: the Markov chain of section 3 (Eq. 1 and 2).
- :mod:`genae.samplers`: other ways to sample Q(Z), beside the chain (chapter 10).
- :mod:`genae.interpolate`: spherical and linear interpolation (figures 1, 3, 6, 8).
- :mod:`genae.linear`: the chain on a linear-Gaussian autoencoder, in closed form (section 3.2).
- :mod:`genae.gaussians`: Gaussians, their KL and 2-Wasserstein distances, moment checks.
- :mod:`genae.metrics`: Frechet distance, MMD, precision and recall of samples.
- :mod:`genae.features`: the feature networks the metrics compare images in.
- :mod:`genae.evaluate`: sample quality against chain steps (section 4.5 in numbers).
- :mod:`genae.summary`: reading those measurements over several seeds.
- :mod:`genae.chainstats`: per-step statistics of a chain (Q(Z) draws, step sizes, sharpness).
- :mod:`genae.plots`: image grids, chain figures and loss curves.
- :mod:`genae.checks`: the checks of the notebooks' exercises, one module per chapter.

The shared vocabulary and settings:

- :mod:`genae.defaults`: the paper's settings and the notebooks' quick ones, in one place.
- :mod:`genae.validate`: the checks of what a user passes in, and the model interfaces.
- :mod:`genae.notebook`: the check of a notebook's papermill parameters.
- :mod:`genae.seeds`: how one seed gives every random stream its own.

Infrastructure, in :mod:`genae.infra` (a reader can skip it):

- :mod:`genae.infra.run`: what a production training run adds around :mod:`genae.train`.
- :mod:`genae.infra.loader`: the training batches (seeded order, loader workers, pinned memory).
- :mod:`genae.infra.distributed`: several GPUs or CPU processes under torchrun.
- :mod:`genae.infra.devices`: choosing the device.
- :mod:`genae.infra.checkpoint`: saving and loading models and training states safely.
- :mod:`genae.infra.cache`: the cache of trained models the notebooks share.
- :mod:`genae.infra.files`: atomic file writes.
- :mod:`genae.infra.runlog`: a command-line run's log (CSV, TensorBoard).
- :mod:`genae.infra.cli`, :mod:`genae.infra.cli_parser`: the ``genae`` command line.
"""


__version__ = "0.1.0"
