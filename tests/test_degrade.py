import pytest
import torch

from genae.degrade import (
    add_noise,
    blur,
    degradation_table,
    degraded_sets,
    drop_classes,
    ranking_check,
)


@pytest.fixture(scope="module")
def digits_and_classifier():
    """The digits at 16x16, a classifier trained for 3 epochs, held-out images split in two."""
    from genae.data import load_images
    from genae.features import train_classifier

    torch.set_num_threads(1)
    clf = train_classifier(load_images("digits", "train", image_size=16), 16, 1, epochs=3, width=8,
                           feature_dim=16)
    x, y = load_images("digits", "test", image_size=16).tensors
    order = torch.randperm(len(x), generator=torch.Generator().manual_seed(0))
    ref, rest = order[:120], order[120:]
    return clf, x[ref], x[rest], y[rest]


def test_blur_noise_and_drop_by_hand():
    x = torch.zeros(2, 1, 9, 9)
    x[:, :, 4, 4] = 1.0
    b = blur(x, 1.0)
    assert b.sum() == pytest.approx(2.0, rel=1e-5)  # the kernel sums to 1: mass is kept
    assert b[0, 0, 4, 4] < 0.2 and b[0, 0, 4, 5] > 0.05 and torch.equal(blur(x, 0), x)
    assert b[0, 0, 4, 5] == pytest.approx(float(b[0, 0, 5, 4]))  # rows and columns alike
    n = add_noise(torch.full((100, 1, 8, 8), 0.5), 0.1)
    assert n.min() >= 0 and n.max() <= 1 and float(n.std()) == pytest.approx(0.1, rel=0.05)
    assert add_noise(torch.ones(3, 1, 4, 4), 0.5).max() == 1.0  # clamped
    labels = torch.tensor([0, 1, 2, 1])
    assert len(drop_classes(torch.rand(4, 1, 2, 2), labels, [1])) == 2
    with pytest.raises(ValueError, match="leaves no image"):
        drop_classes(torch.rand(4, 1, 2, 2), labels, [0, 1, 2])
    with pytest.raises(ValueError, match="sigma must be a finite number >= 0"):
        blur(x, -1.0)
    with pytest.raises(ValueError, match="images must lie in \\[0, 1\\]"):
        blur(x * 3, 1.0)


def test_degraded_sets_have_one_size():
    x = torch.rand(100, 1, 4, 4)
    y = torch.arange(100) % 10
    sets = degraded_sets(x, y, {"noise": [0.1], "drop classes": [1, 4]})
    assert [(k, s) for k, s, _ in sets] == [("none", 0.0), ("noise", 0.1), ("drop classes", 1.0),
                                            ("drop classes", 4.0)]
    assert {len(s) for _, _, s in sets} == {60}  # what 4 dropped classes leave
    with pytest.raises(ValueError, match="unknown degradation"):
        degraded_sets(x, y, {"rotate": [1]})
    with pytest.raises(ValueError, match="cannot drop 10"):
        degraded_sets(x, y, {"drop classes": [10]})


def test_metrics_rank_the_controlled_degradations(digits_and_classifier):
    clf, ref, images, labels = digits_and_classifier
    # levels a ~100-image set can tell apart (blur 0.5 px is within the noise of FID at this n)
    severities = {"blur": (1.0, 2.0, 3.0), "noise": (0.1, 0.2, 0.4), "drop classes": (2, 5)}
    table = degradation_table(clf, ref, images, labels, severities)
    assert table.degradation.tolist()[0] == "none" and table.n.nunique() == 1
    check = ranking_check(table).set_index(["degradation", "metric"])
    for metric in ("fid", "kid"):
        assert check.loc[("blur", metric), "monotone"], check.loc[("blur", metric), "values"]
        assert check.loc[("noise", metric), "monotone"], check.loc[("noise", metric), "values"]
    for metric in ("fid", "recall"):
        assert check.loc[("drop classes", metric), "monotone"], check.loc[("drop classes", metric), "values"]
    assert check.loc[("noise", "mmd_feat"), "spearman"] == pytest.approx(1.0)
    # mode dropping leaves the kept samples realistic: precision does not see it (recall does)
    assert check.loc[("drop classes", "precision"), "spearman"] < 0
    # a metric that ranks backwards is caught: reverse one and the check fails
    flipped = table.assign(fid=-table.fid)
    assert not ranking_check(flipped, metrics=["fid"]).monotone.any()


def test_ranking_check_needs_a_direction():
    import pandas as pd

    table = pd.DataFrame({"degradation": ["none", "noise", "noise"], "severity": [0, 1, 2],
                          "score": [1.0, 2.0, 3.0]})
    assert ranking_check(table, metrics=["score"], directions={"score": -1}).monotone.all()
    assert not ranking_check(table, metrics=["score"], directions={"score": 1}).monotone.any()
    with pytest.raises(ValueError, match="no direction for metric\\(s\\) \\['score'\\]"):
        ranking_check(table, metrics=["score"])
