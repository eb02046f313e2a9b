"""NaN, divergence and a collapsed adversary (issue 9).

A non-finite loss stops training with an error naming the loss term, the epoch
and step, and the last good checkpoint, which must still hold finite weights
and resume. An AAE adversary whose accuracy is 0 or 1 at every step of an epoch
is reported by a warning and ``adversary_collapsed`` in the history.
"""

import math
import re
import warnings

import pytest
import torch
from conftest import tiny

from genae.infra import checkpoint
from genae.train import STATE_FILE, fit

KW = dict(epochs=1, batch_size=64, seed=0, progress=False)  # 22 steps on the digits


pytestmark = pytest.mark.usefixtures("one_thread")  # tiny models train fastest on one thread


def patch_terms(model, change):
    """Wrap ``model.loss`` so that ``change(step, terms)`` may alter the terms of training step ``step`` (from 1)."""
    real, calls = model.loss, [0]

    def loss(x):
        calls[0] += 1
        terms = real(x)
        change(calls[0], terms)
        return terms

    model.loss = loss


def assert_finite_state(path, step):
    state = checkpoint.read(path)
    assert (state["epoch"], state["step"]) == (0, step)
    assert all(torch.isfinite(v).all() for v in state["state_dict"].values() if v.is_floating_point())


@pytest.mark.parametrize("kind, term, value, at", [
    ("vae", "prior", math.nan, 13),
    ("dvae", "reconstruction", math.inf, 10),  # on a checkpoint step: the good checkpoint must survive
    ("aae", "adversary", math.nan, 7),
    ("daae", "prior", -math.inf, 20),
])
def test_non_finite_loss_names_term_step_and_checkpoint(kind, term, value, at, tmp_path):
    from genae.data import load_images

    model = tiny(kind, width=4)

    def poison(step, terms):
        if step == at:
            terms[term] = terms[term] * value  # keeps the graph, so the optimisers step on a non-finite loss

    patch_terms(model, poison)
    with pytest.raises(FloatingPointError) as err:
        fit(model, load_images("digits", "train", image_size=16), checkpoint_dir=tmp_path, checkpoint_every=5, **KW)
    msg = str(err.value)
    assert f"loss term {term!r} became" in msg and f"epoch 1, step {at}:" in msg
    assert f"the last good checkpoint is {tmp_path / STATE_FILE}" in msg
    good = (at - 1) // 5 * 5
    assert_finite_state(tmp_path / STATE_FILE, good)
    # ... and training resumes from it (without the poison) to the end
    resumed = tiny(kind, width=4)
    history = fit(resumed, load_images("digits", "train", image_size=16), checkpoint_dir=tmp_path, resume=True,
                  checkpoint_every=5, **KW)
    assert len(history) == 1 and all(math.isfinite(v) for v in history[0].values())


def test_non_finite_loss_without_checkpoints_says_so(digits16):
    model = tiny("vae", width=4)
    patch_terms(model, lambda step, terms: terms.update(prior=terms["prior"] * math.nan) if step == 3 else None)
    with pytest.raises(FloatingPointError, match=r"'prior' became nan at epoch 1, step 3: .*no checkpoint was "
                                                 r"written \(pass checkpoint_dir= to keep one\)"):
        fit(model, digits16, **KW)


def test_a_huge_learning_rate_diverges_with_a_clear_error(digits16, tmp_path):
    with pytest.raises(FloatingPointError) as err:
        fit(tiny("vae", width=4), digits16, lr=1e8, checkpoint_dir=tmp_path, **{**KW, "epochs": 3})
    msg = str(err.value)
    assert re.search(r"(loss term '(reconstruction|prior)' became (nan|inf|-inf)|weight '[\w.]+' became non-finite)"
                     r" at (epoch \d, step \d+|the end of epoch \d)", msg), msg
    assert "smaller learning rate" in msg


def test_an_overflowing_gradient_never_overwrites_the_good_checkpoint(digits16, tmp_path):
    # A finite loss whose gradient is NaN: sqrt(|u|) at u = 0 has value 0 and an infinite slope.
    def overflow(step, terms):
        if step == 10:
            u = terms["prior"] - terms["prior"].detach()
            terms["prior"] = terms["prior"] + u.abs().sqrt()

    model = tiny("vae", width=4)
    patch_terms(model, overflow)
    with pytest.raises(FloatingPointError, match=r"weight '[\w.]+' became non-finite at epoch 1, step 10 although "
                                                 r"every loss term was finite.*last good checkpoint is"):
        fit(model, digits16, checkpoint_dir=tmp_path, checkpoint_every=5, **KW)
    assert_finite_state(tmp_path / STATE_FILE, 5)


@pytest.mark.parametrize("accuracy, shown", [(1.0, "100%"), (0.0, "0%")])
def test_a_collapsed_adversary_is_flagged(accuracy, shown, digits16):
    model = tiny("aae", width=4)
    patch_terms(model, lambda step, terms: terms.update(adversary_accuracy=torch.tensor(accuracy)))
    with pytest.warns(UserWarning, match=f"epoch 1: the adversary's accuracy was {shown} at every step: "
                                         "it has collapsed"):
        history = fit(model, digits16, **KW)
    assert history[0]["adversary_collapsed"] == 1.0
    assert history[0]["adversary_accuracy"] == accuracy


def test_a_working_adversary_is_not_flagged(digits16):
    model = tiny("aae", width=4)
    # stuck at 1 at every step but one: not a collapse
    patch_terms(model, lambda step, terms: terms.update(adversary_accuracy=torch.tensor(0.75 if step == 9 else 1.0)))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        history = fit(model, digits16, **KW)
    assert "adversary_collapsed" not in history[0]
    real = fit(tiny("aae", width=4), digits16, **KW)  # the real adversary on the digits learns something
    assert 0 < real[0]["adversary_accuracy"] < 1 and "adversary_collapsed" not in real[0]


def test_collapse_is_still_seen_across_a_resume(digits16, tmp_path):
    def stuck(step, terms):
        terms["adversary_accuracy"] = torch.tensor(1.0)
        if step == 13:
            raise KeyboardInterrupt

    model = tiny("aae", width=4)
    patch_terms(model, stuck)
    with pytest.raises(KeyboardInterrupt):
        fit(model, digits16, checkpoint_dir=tmp_path, checkpoint_every=5, **KW)
    resumed = tiny("aae", width=4)
    patch_terms(resumed, lambda step, terms: terms.update(adversary_accuracy=torch.tensor(1.0)))
    with pytest.warns(UserWarning, match="collapsed"):
        history = fit(resumed, digits16, checkpoint_dir=tmp_path, resume=True, checkpoint_every=5, **KW)
    assert history[0]["adversary_collapsed"] == 1.0
