"""Chapter 7's explorer in a real browser: the built page runs the chain with no kernel and no server.

Opens the built chapter (book/_build/html) over a local HTTP server in Chromium,
with every request to another host blocked and recorded, and for each of the
four models runs chains in the page and checks that:

- the decoded images change from one step to the next;
- after k steps the chains' states match genae.mcmc.run_chain's from the same
  starts (read from the page) within sampling error: the mean latent norm and the
  per-dimension mean and variance, each as a z-score against its standard error.
  The test also checks that the tolerance has power: a wrong step (no encoder
  noise, no corruption: run_chain's ``sample=False``) fails the same comparison
  for every model whose step is random; the AAE's step is deterministic, so its
  page chains must match run_chain's chain by chain;
- the page asked for nothing outside localhost, and the console shows no error (beyond
  the theme's own, which the landing page shows too).

Needs what tests/test_browser.py needs (Chromium, Playwright, `make book`), and the
model cache the book was built from ($GENAE_CACHE): skipped without them, unless
GENAE_REQUIRE_BROWSER=1 (CI) makes that a failure.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

sys.path.insert(0, str(Path(__file__).parent))
from book_server import CHROMIUM, REQUIRED, block_other_hosts, serve, wait_for_explorer  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
HTML = Path(os.environ.get("GENAE_BOOK_HTML") or ROOT / "book" / "_build" / "html")  # the built book
PAGE = "notebooks/07-watching-convergence.html"
MODELS = HTML / "_static" / "explorer" / "models"
KINDS = ("vae", "aae", "dvae", "daae")
N_CHAINS, STEPS = 512, 5
Z_LIMIT = 4.5  # |z| beyond this fails: about 1 in 150,000 per comparison when the page is right

pytestmark = [pytest.mark.browser, pytest.mark.book]




@pytest.fixture(scope="module")
def site():
    with serve(HTML, PAGE) as url:
        yield url


@pytest.fixture(scope="module")
def models():
    """The models the book's page runs: chapter 7's, from the model cache, which must hold the
    very weights that were exported into the built book."""
    from genae.export import chapter_models, fingerprint

    manifest = json.loads((MODELS / "manifest.json").read_text()) if (MODELS / "manifest.json").is_file() else None
    if manifest is None:
        pytest.fail(f"the built book has no exported models ({MODELS / 'manifest.json'}): run `make book`")
    loaded, _, _ = chapter_models()
    if fingerprint(loaded) != manifest["fingerprint"]:
        message = "the model cache holds other weights than the built book exported: run `make book` again"
        if REQUIRED:
            pytest.fail(message)
        pytest.skip(message)
    return loaded


@pytest.fixture(scope="module")
def page(site):
    from playwright.sync_api import sync_playwright

    errors = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        context = browser.new_context(viewport={"width": 1280, "height": 900}, service_workers="block")
        tab = context.new_page()
        outside = block_other_hosts(tab, site)
        tab.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        tab.on("pageerror", lambda e: errors.append(str(e)))
        tab.goto(f"{site}/{PAGE}", wait_until="load")
        wait_for_explorer(tab)
        # The theme's own console errors, on a page without the explorer: the landing page.
        baseline: list[str] = []
        fresh = browser.new_context(service_workers="block")  # a first visit, as the chapter's
        plain = fresh.new_page()
        plain.on("console", lambda m: baseline.append(m.text) if m.type == "error" else None)
        plain.on("pageerror", lambda e: baseline.append(str(e)))
        plain.goto(f"{site}/intro.html", wait_until="networkidle")
        plain.wait_for_timeout(1000)
        fresh.close()
        yield tab, outside, errors, baseline
        context.close()
        browser.close()


def run_in_page(tab, kind: str, steps: int, n: int, seed: int, decode: str = "mean") -> list[dict]:
    """States (z, images of the chains shown) after 0, 1 and `steps` steps of the page's chain."""
    return tab.evaluate("""async ([kind, steps, n, seed, decode]) => {
        const api = window.genaeExplorer;
        await api.reset({kind, start: 'prior', n, seed, decode});
        const states = [await api.state(true)];
        await api.step(1);
        states.push(await api.state(true));
        await api.step(steps - 1);
        states.push(await api.state(false));
        return states;
    }""", [kind, steps, n, seed, decode])


def z_scores(a: np.ndarray, b: np.ndarray) -> dict[str, np.ndarray]:
    """Two samples of chains' states (n, d): the differences of the mean norm and of the per-dimension
    means and variances, each over its standard error."""
    def var_se2(x):
        c = x - x.mean(0)
        return ((c ** 4).mean(0) - (c ** 2).mean(0) ** 2) / len(x)

    na, nb = np.linalg.norm(a, axis=1), np.linalg.norm(b, axis=1)
    return {
        "mean norm": np.atleast_1d((na.mean() - nb.mean()) / np.sqrt(na.var(ddof=1) / len(na) + nb.var(ddof=1) / len(nb))),
        "per-dimension mean": (a.mean(0) - b.mean(0)) / np.sqrt(a.var(0, ddof=1) / len(a) + b.var(0, ddof=1) / len(b)),
        "per-dimension variance": (a.var(0) - b.var(0)) / np.sqrt(var_se2(a) + var_se2(b)),
    }


def worst(scores: dict[str, np.ndarray]) -> tuple[str, float]:
    name = max(scores, key=lambda k: np.abs(scores[k]).max())
    return name, float(np.abs(scores[name]).max())


@pytest.mark.parametrize("kind", KINDS)
def test_page_runs_the_chain_of_run_chain(page, models, kind):
    from genae.mcmc import run_chain

    tab = page[0]
    start, first, last = run_in_page(tab, kind, STEPS, N_CHAINS, seed=11)
    d = start["d"]
    assert (start["t"], first["t"], last["t"]) == (0, 1, STEPS)
    change = np.abs(np.array(first["images"]) - np.array(start["images"])).mean()
    assert change > 1e-3, f"{kind}: the decoded images did not change in one step (mean |change| {change:.2g})"

    z0 = torch.tensor(start["z"], dtype=torch.float32).reshape(N_CHAINS, d)
    page_z = np.array(last["z"]).reshape(N_CHAINS, d)
    model = models[kind]
    generator = torch.Generator().manual_seed(5)
    right = run_chain(model, z0, STEPS, generator=generator)[-1].numpy()
    wrong = run_chain(model, z0, STEPS, sample=False)[-1].numpy()  # no encoder noise, no corruption

    name, z = worst(z_scores(page_z, right))
    assert z < Z_LIMIT, (f"{kind}: after {STEPS} steps the page's chains differ from run_chain's in their "
                         f"{name} by {z:.1f} standard errors")
    if model.denoise_std == 0 and kind == "aae":  # a deterministic step: chain by chain
        np.testing.assert_allclose(page_z, right, rtol=1e-3, atol=2e-3)
    else:  # the tolerance catches a step without its noise
        name, z = worst(z_scores(wrong, right))
        assert z >= Z_LIMIT, (f"{kind}: the test has no power: a chain without noise differs from "
                              f"run_chain's by only {z:.1f} standard errors ({name})")


def test_sampled_decoding_matches_run_chain(page, models):
    """The reader's 'sample each pixel' choice is run_chain's decode='sample'."""
    from genae.mcmc import run_chain

    tab = page[0]
    start, _, last = run_in_page(tab, "dvae", 3, N_CHAINS, seed=12, decode="sample")
    d = start["d"]
    z0 = torch.tensor(start["z"], dtype=torch.float32).reshape(N_CHAINS, d)
    right = run_chain(models["dvae"], z0, 3, decode="sample", generator=torch.Generator().manual_seed(6))[-1]
    name, z = worst(z_scores(np.array(last["z"]).reshape(N_CHAINS, d), right.numpy()))
    assert z < Z_LIMIT, f"sampled decoding: the page's chains differ in their {name} by {z:.1f} standard errors"


def test_every_start_and_the_seed(page):
    """Each start runs; the same seed gives the same run twice, another seed another run."""
    tab = page[0]
    result = tab.evaluate("""async () => {
        const api = window.genaeExplorer, out = {};
        for (const start of ['prior', 'heldout', 'far', 'point']) {
            await api.reset({kind: 'vae', start, seed: 3, n: 64, decode: 'mean', point: [0.5, -0.5]});
            await api.step(2);
            out[start] = (await api.state()).norms;
        }
        await api.reset({start: 'prior', seed: 3}); await api.step(2);
        out.again = (await api.state()).norms;
        await api.reset({seed: 4}); await api.step(2);
        out.other = (await api.state()).norms;
        return out;
    }""")
    for start in ("prior", "heldout", "far", "point"):
        assert len(result[start]) == 3 and all(np.isfinite(result[start])), start
    assert result["again"] == result["prior"], "the same seed did not repeat the run"
    assert result["other"] != result["prior"], "another seed gave the same run"
    assert result["far"][0] > 3 * result["prior"][0], "the far start is not far"
    assert result["far"][1] < result["far"][0] / 2, "the far start did not come in after one step"


def test_page_stays_local_and_quiet(page):
    """No request outside localhost; no console error beyond those every page of the book shows
    (the theme's, seen on the landing page, which has no explorer)."""
    _, outside, errors, baseline = page
    assert not outside, f"the page asked other hosts for {sorted(set(outside))}"
    added = [e for e in errors if e not in baseline]
    assert not added, f"the console shows errors (besides the theme's {baseline}): {added}"
