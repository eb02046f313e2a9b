import math

import pandas as pd
import pytest
import torch

from genae.training_curve import flatness, flatness_table, target_entropy


def test_target_entropy_by_hand():
    # one image of pixels 0, 1, 0.5, 0.5: entropies 0, 0, log 2, log 2
    one = torch.tensor([[[[0.0, 1.0], [0.5, 0.5]]]])
    assert target_entropy(one) == pytest.approx(2 * math.log(2))
    two = torch.cat([one, torch.zeros_like(one)])  # a black image adds 0: the mean halves
    assert target_entropy(two) == pytest.approx(math.log(2))
    x = torch.full((3, 1, 4, 4), 0.2)
    assert target_entropy(x) == pytest.approx(16 * -(0.2 * math.log(0.2) + 0.8 * math.log(0.8)))


def test_target_entropy_is_the_bce_floor():
    # no decoder output gives a lower summed BCE than the targets themselves
    x = torch.rand(5, 1, 4, 4, generator=torch.Generator().manual_seed(0))

    def bce(p):
        return float(torch.nn.functional.binary_cross_entropy(p, x, reduction="sum")) / len(x)

    floor = target_entropy(x)
    assert bce(x) == pytest.approx(floor, rel=1e-5)
    assert bce((x + 0.05).clamp(0.01, 0.99)) > floor and bce(torch.full_like(x, 0.5)) > floor


def test_target_entropy_bad_input():
    with pytest.raises(ValueError, match="\\[0, 1\\]"):
        target_entropy(torch.full((2, 1, 2, 2), 2.0))
    with pytest.raises(TypeError, match="images must be a torch.Tensor"):
        target_entropy([[0.5]])


def test_flatness_above_the_floor_is_stricter():
    epochs, losses = [10, 15, 20], [420.0, 405.0, 402.0]
    plain = flatness(epochs, losses, window=10)
    assert plain["fall"] == pytest.approx(18 / 420) and not plain["flat"]
    slow = [403.0, 402.0, 401.0]  # falls by 0.5% of the loss ...
    assert flatness(epochs, slow, window=10)["flat"]
    above = flatness(epochs, slow, floor=350.0, window=10)  # ... but by 2 of 53 above the floor
    assert above["fall"] == pytest.approx(2 / 53) and not above["flat"]
    assert above["excess"] == pytest.approx(51.0)


def test_flatness_bad_input():
    with pytest.raises(ValueError, match="no point at epoch 5"):
        flatness([10, 15], [1.0, 0.9], window=10)
    with pytest.raises(ValueError, match="not above the floor"):
        flatness([10, 20], [1.0, 0.9], floor=5.0)
    with pytest.raises(ValueError, match="equal length"):
        flatness([10, 20], [1.0])


def test_flatness_table_per_model_and_up_to():
    curve = pd.DataFrame({"model": ["vae"] * 4 + ["aae"] * 4, "epochs": [10, 20, 30, 40] * 2,
                          "heldout_bce": [500, 420, 401, 400, 500, 450, 430, 420]})
    out = flatness_table(curve, floor=390.0, by=["model"]).set_index("model")
    assert bool(out.loc["vae", "flat"]) and not bool(out.loc["vae", "flat_above_floor"])
    assert out.loc["aae", "fall"] == pytest.approx(10 / 430)
    at20 = flatness_table(curve, floor=390.0, by=["model"], up_to=20).set_index("model")
    assert at20.loc["vae", "epoch"] == 20 and at20.loc["vae", "fall"] == pytest.approx(80 / 500)
    with pytest.raises(ValueError, match="no column"):
        flatness_table(curve, floor=0.0)
