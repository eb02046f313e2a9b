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
