import pytest
import torch
from conftest import tiny
from torch import nn

from genae.models import KINDS, make_model


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("image_size", [32, 64])
@pytest.mark.parametrize("channels", [1, 3])
@pytest.mark.parametrize("latent_dim", [200, 8])
def test_shapes_and_ranges(kind, image_size, channels, latent_dim):
    model = make_model(kind, image_size=image_size, channels=channels, latent_dim=latent_dim, width=8).eval()
    x = torch.rand(3, channels, image_size, image_size)
    z = model.encode(x)
    assert z.shape == (3, latent_dim)
    assert model.encode(x, sample=False).shape == (3, latent_dim)
    out = model.decode(torch.randn(3, latent_dim))
    assert out.shape == (3, channels, image_size, image_size)
    assert out.min() >= 0 and out.max() <= 1
    terms = model.loss(x)
    assert {"reconstruction", "prior"} <= set(terms)
    assert all(torch.isfinite(v).all() for v in terms.values())  # scalar terms, and the encodings "z"
    assert model.kind == kind and model.latent_dim == latent_dim


def test_image_size_16_is_supported():
    model = make_model("vae", image_size=16, channels=1, latent_dim=4, width=8)
    assert model.decode(torch.randn(2, 4)).shape == (2, 1, 16, 16)


def convs(module):
    return [m for m in module.modules() if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d))]


@pytest.mark.parametrize("kind", KINDS)
def test_dcgan_structure_at_paper_scale(kind):
    model = make_model(kind)  # 64x64, 3 channels, latent 200, width 64
    enc_layers = list(model.features)
    for seq in (enc_layers, list(model.decoder)):
        for i, layer in enumerate(seq):
            if isinstance(layer, (nn.Conv2d, nn.ConvTranspose2d)) and i + 1 < len(seq) - 1:
                assert isinstance(seq[i + 1], nn.BatchNorm2d), f"no batch norm after {layer}"
                assert isinstance(seq[i + 2], nn.ReLU), f"no ReLU after {layer}"
    assert isinstance(model.decoder[-1], nn.Sigmoid) and isinstance(model.decoder[-2], nn.ConvTranspose2d)
    assert not any("Pool" in type(m).__name__ for m in model.modules())
    assert all(c.kernel_size == (4, 4) and c.stride == (2, 2) for c in convs(model.features))
    assert model.to_code.in_features == 8192
    assert model.to_code.out_features == (400 if kind.endswith("vae") else 200)
    # every convolution except the decoder's top is followed by batch norm
    n_bn = sum(isinstance(m, nn.BatchNorm2d) for m in model.modules())
    assert n_bn == len(convs(model)) - 1


def test_denoise_defaults_and_explicit_values():
    assert make_model("dvae", width=8).denoise_std == 0.5
    assert make_model("daae", width=8).denoise_std == 0.5
    assert make_model("vae", width=8).denoise_std == 0.0
    assert make_model("aae", width=8, denoise_std=0.3).denoise_std == 0.3
    assert make_model("dvae", width=8, denoise_std=0).denoise_std == 0.0


def test_corrupt_statistics():
    x = torch.full((64, 1, 16, 16), 0.5)
    assert torch.equal(tiny("vae").corrupt(x), x)
    noise = tiny("dvae").corrupt(x) - x
    assert abs(noise.mean().item()) < 0.02
    assert abs(noise.std().item() - 0.5) < 0.02  # Q(x~|x) = N(x, 0.25 I)


def test_vae_sampling_and_mean():
    model = tiny("vae").eval()
    x = torch.rand(4, 1, 16, 16)
    assert torch.equal(model.encode(x, sample=False), model.encode(x, sample=False))
    assert not torch.equal(model.encode(x), model.encode(x))
    mu, log_sigma = model.posterior(x)
    assert torch.equal(mu, model.encode(x, sample=False))


def test_aae_encoder_is_deterministic_and_has_an_adversary():
    model = tiny("aae").eval()
    x = torch.rand(4, 1, 16, 16)
    assert torch.equal(model.encode(x), model.encode(x))
    assert set(model.param_groups()) == {"autoencoder", "adversary"}
    adv = model.adversary
    assert any(isinstance(m, nn.Dropout) for m in adv.modules())
    assert any(isinstance(m, nn.LeakyReLU) for m in adv.modules())
    assert "adversary" in model.loss(x)


@pytest.mark.parametrize("bad, match", [
    (torch.rand(2, 3, 16, 16), "1x16x16"),
    (torch.rand(2, 1, 32, 32), "image_size=16"),
    (torch.rand(1, 16, 16), "3-D"),
    (torch.rand(2, 1, 16, 16) * 2, r"\[0, 1\]"),
    (torch.randint(0, 255, (2, 1, 16, 16)), "float"),
])
def test_bad_images_get_clear_errors(bad, match):
    with pytest.raises(ValueError, match=match):
        tiny("vae").loss(bad)


def test_bad_latents_and_arguments():
    model = tiny("vae")
    with pytest.raises(ValueError, match=r"\(N, 4\)"):
        model.decode(torch.randn(2, 5))
    with pytest.raises(ValueError, match="unknown model kind 'gan'.*vae, aae, dvae, daae"):
        make_model("gan")
    with pytest.raises(ValueError, match="image_size 48"):
        make_model("vae", image_size=48)
    with pytest.raises(ValueError, match="denoise_std"):
        make_model("dvae", denoise_std=-1)
    with pytest.raises(ValueError, match="latent_dim"):
        make_model("vae", latent_dim=0)
