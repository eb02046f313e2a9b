import sys
import urllib.error

import pytest
import torch

from genae import features
from genae.features import (
    DomainClassifier,
    FeaturesUnavailableError,
    InceptionFeatures,
    domain_classifier,
    feature_extractor,
    train_classifier,
)


def test_classifier_is_trained_once_then_cached(tmp_path, monkeypatch):
    clf = domain_classifier("digits", image_size=16, epochs=3, width=8, feature_dim=16, cache_dir=tmp_path,
                            device="cpu")
    files = list(tmp_path.iterdir())
    assert len(files) == 1 and files[0].name.startswith("classifier-digits-")
    assert 0.3 < clf.test_accuracy <= 1.0, "three epochs on digits should beat chance (0.1) by far"

    def no_training(*args, **kwargs):
        raise AssertionError("a cached classifier must not be retrained")

    monkeypatch.setattr(features, "train_classifier", no_training)
    again = domain_classifier("digits", image_size=16, epochs=3, width=8, feature_dim=16, cache_dir=tmp_path,
                              device="cpu")
    assert again.test_accuracy == clf.test_accuracy
    x = torch.rand(5, 1, 16, 16)
    assert torch.equal(again.features(x), clf.features(x))
    with pytest.raises(AssertionError, match="must not be retrained"):  # another setting is another file
        domain_classifier("digits", image_size=16, epochs=4, width=8, feature_dim=16, cache_dir=tmp_path)


def test_features_and_confidence_shapes(digits16):
    clf = train_classifier(digits16, 16, 1, epochs=1, width=4, feature_dim=8)
    x = digits16.tensors[0][:20]
    assert clf.features(x).shape == (20, 8)
    conf = clf.confidence(x)
    assert conf.shape == (20,) and (conf >= 0.1 - 1e-6).all() and (conf <= 1).all()
    assert torch.allclose(clf.probabilities(x).sum(-1), torch.ones(20))
    with pytest.raises(ValueError, match=r"\(N, 1, 16, 16\)"):
        clf.features(torch.rand(3, 1, 32, 32))


def test_bad_classifier_settings():
    with pytest.raises(ValueError, match="labelled data set.*InceptionFeatures"):
        domain_classifier("celeba")
    with pytest.raises(ValueError, match="epochs must be a whole number >= 1"):
        domain_classifier("digits", epochs=0)
    with pytest.raises(ValueError, match="unknown data set 'cifar'"):
        feature_extractor("cifar")


@pytest.fixture
def empty_hub(tmp_path, monkeypatch):
    monkeypatch.setattr(torch.hub, "get_dir", lambda: str(tmp_path / "hub"))
    return tmp_path / "hub" / "checkpoints" / features.INCEPTION_FILE


def test_inception_offline_raises_a_clear_error(empty_hub, monkeypatch):
    def offline(*args, **kwargs):
        raise urllib.error.URLError("[Errno -2] Name or service not known")

    monkeypatch.setattr(torch.hub, "load_state_dict_from_url", offline)
    for make in (InceptionFeatures, lambda: feature_extractor("svhn", image_size=32)):
        with pytest.raises(FeaturesUnavailableError) as err:
            make()
        msg = str(err.value)
        assert features.INCEPTION_URL in msg and str(empty_hub) in msg and "weights_path=" in msg
        assert "URLError" in msg


def test_inception_without_torch_fidelity(monkeypatch):
    import torchmetrics.utilities.imports as imports

    monkeypatch.setattr(imports, "_TORCH_FIDELITY_AVAILABLE", False)
    with pytest.raises(FeaturesUnavailableError, match="pip install torch-fidelity"):
        InceptionFeatures()
    monkeypatch.setitem(sys.modules, "torchmetrics.image.fid", None)  # torchmetrics itself missing
    with pytest.raises(FeaturesUnavailableError, match="pip install 'genae\\[paper\\]'"):
        InceptionFeatures()


def test_inception_refuses_a_bad_weights_file(tmp_path):
    pytest.importorskip("torch_fidelity")
    bad = tmp_path / "w.pth"
    bad.write_bytes(b"not a checkpoint")
    with pytest.raises(FeaturesUnavailableError, match="not a readable Inception weights file"):
        InceptionFeatures(weights_path=bad)


def test_inception_features_with_local_weights(tmp_path, monkeypatch):
    # Random weights of the right shapes stand in for the real file (which needs the internet):
    # this checks the path from images in [0, 1] to 2,048-D features, not the features' quality.
    fe = pytest.importorskip("torch_fidelity.feature_extractor_inceptionv3")
    torch.save({}, tmp_path / "empty.pth")
    with monkeypatch.context() as m:
        m.setattr(fe.FeatureExtractorInceptionV3, "load_state_dict", lambda self, *a, **k: None)
        torch.manual_seed(0)
        net = fe.FeatureExtractorInceptionV3("inception-v3-compat", ["2048"], str(tmp_path / "empty.pth"))
    torch.save(net.state_dict(), tmp_path / "random.pth")
    extractor = InceptionFeatures(weights_path=tmp_path / "random.pth", device="cpu")
    grey, colour = torch.rand(2, 1, 32, 32), torch.rand(2, 3, 64, 64)
    assert extractor.features(grey).shape == (2, 2048)
    assert torch.isfinite(extractor.features(colour)).all()
    assert torch.allclose(extractor.features(grey), extractor.features(grey.expand(-1, 3, -1, -1)))
    assert extractor.confidence(grey) is None
    with pytest.raises(ValueError, match="grey or colour"):
        extractor.features(torch.rand(2, 2, 8, 8))


def test_domain_classifier_module_forward():
    net = DomainClassifier(image_size=32, channels=1, width=4, feature_dim=6)
    assert net(torch.rand(3, 1, 32, 32)).shape == (3, 10)


# ---- the second extractor and confidence on noise (issue 24) -------------------------------------

def test_fit_pixel_pca_recovers_the_leading_directions():
    from genae.features import fit_pixel_pca

    g = torch.Generator().manual_seed(0)
    # pixels that vary along two fixed directions (scales 3 and 1) plus tiny noise
    basis = torch.linalg.qr(torch.randn(16, 2, generator=g))[0].T
    coef = torch.randn(400, 2, generator=g) * torch.tensor([3.0, 1.0])
    x = (0.5 + 0.05 * (coef @ basis + 0.01 * torch.randn(400, 16, generator=g))).view(400, 1, 4, 4)
    pca = fit_pixel_pca(x, n_components=2)
    assert pca.explained > 0.99
    assert abs(float(pca.components[0].double() @ basis[0].double())) == pytest.approx(1.0, abs=1e-3)
    f = pca.features(x)
    assert f.shape == (400, 2) and f.mean(0).abs().max() < 1e-10 and f[:, 0].var() > 5 * f[:, 1].var()
    assert pca.confidence(x) is None and pca.test_accuracy != pca.test_accuracy  # NaN: no classifier
    with pytest.raises(ValueError, match="PixelPCA takes images \\(N, 1, 4, 4\\)"):
        pca.features(torch.rand(3, 1, 8, 8))
    with pytest.raises(ValueError, match="n_components must be"):
        fit_pixel_pca(x, n_components=17)


def test_pixel_pca_is_cached_and_selectable_by_kind(tmp_path, monkeypatch):
    from genae.features import pixel_pca

    monkeypatch.setenv("GENAE_CACHE", str(tmp_path))
    pca = pixel_pca("digits", image_size=16, n_components=8, cache_dir=tmp_path)
    assert [p.name.startswith("pca-digits-") for p in tmp_path.iterdir()] == [True]
    again = pixel_pca("digits", image_size=16, n_components=8, cache_dir=tmp_path)
    x = torch.rand(3, 1, 16, 16)
    assert torch.equal(again.features(x), pca.features(x)) and again.explained == pca.explained
    via = feature_extractor("digits", image_size=16, kind="pca")
    assert via.features(x).shape == (3, 32)
    with pytest.raises(ValueError, match="unknown feature extractor kind 'vgg'"):
        feature_extractor("digits", kind="vgg")


def test_noise_exposure_makes_the_classifier_unsure_of_noise():
    from genae.data import load_images
    from genae.features import extractor_report, noise_confidence

    torch.set_num_threads(1)
    train, test = (load_images("digits", split, image_size=32) for split in ("train", "test"))
    # at 32x32 three epochs already make the plain classifier sure of noise (about 0.74)
    plain = train_classifier(train, 32, 1, epochs=3, width=8, feature_dim=16)
    exposed = train_classifier(train, 32, 1, epochs=3, width=8, feature_dim=16, noise_exposure=1.0)
    assert noise_confidence(exposed) < 0.3 < 0.5 < noise_confidence(plain)
    report = extractor_report(exposed, train, test, n_noise=100)
    assert report["test_accuracy"] > 0.7 and report["probe_accuracy"] > 0.7
    assert report["confidence_digits"] > report["confidence_noise"]
    with pytest.raises(ValueError, match="noise_exposure must be a finite number >= 0"):
        train_classifier(train, 32, 1, epochs=1, noise_exposure=-1.0)
    with pytest.raises(TypeError, match="noise_confidence needs a classifier"):
        noise_confidence(object())
