"""Chapter 7's explorer as a kernel shows it (Jupyter, and Colab's branch), in a real browser.

In a notebook the chapter's cell returns :func:`genae.explorer.explorer_html` with the port of
a small server that the kernel runs (:func:`genae.explorer.serve`). Here that HTML is put in a
page of its own, served from another localhost port, as Jupyter serves a notebook, and opened in
Chromium twice:

- as Jupyter: the page has no ``google.colab``, so the explorer reads the files straight from the
  kernel's server;
- as Colab: the page gets a stand-in for ``google.colab.kernel.proxyPort`` (Colab's way to reach
  a port of the kernel), which must be asked for the server's port; the stand-in answers with the
  same local address (the real proxy, and jsDelivr for a kernel without the repository's files,
  cannot be reached offline).

Both times the explorer must start, run two steps of the chain and move its latents, with no
request outside localhost. Needs what tests/test_explorer_browser.py needs (Chromium, Playwright,
`make book` for the exported models).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).parent))
from book_server import CHROMIUM, REQUIRED, block_other_hosts, serve, wait_for_explorer  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
HTML = Path(os.environ.get("GENAE_BOOK_HTML") or ROOT / "book" / "_build" / "html")
MODELS = HTML / "_static" / "explorer" / "models"  # what `make book` exported

pytestmark = [pytest.mark.browser, pytest.mark.book]

COLAB = """window.google = {colab: {kernel: {proxyPort: async (port) => {
    window.proxiedPorts = (window.proxiedPorts || []).concat([port]);
    return 'http://127.0.0.1:' + port + '/';
}}}};"""


@pytest.fixture(scope="module")
def notebook_page(tmp_path_factory):
    """A page holding the cell's output, and the kernel server's port."""
    from genae.explorer import explorer_html
    from genae.explorer import serve as kernel_serve

    if not (MODELS / "manifest.json").is_file():
        message = f"no exported models in {MODELS}: run `make book`"
        pytest.fail(message) if REQUIRED else pytest.skip(message)
    folder = tmp_path_factory.mktemp("notebook")
    port, where = kernel_serve(MODELS)
    assert where == {"explorer": "local", "ort": "local"}, where  # a clone serves its own files
    cell = explorer_html(None, kind="dvae", port=port, where=where)
    (folder / "cell.html").write_text(f"<!doctype html><html><body>{cell}</body></html>")
    with serve(folder, "cell.html") as url:
        yield url, port


@pytest.mark.parametrize("where", ["jupyter", "colab"])
def test_the_cell_runs_the_chain_from_the_kernels_server(notebook_page, where):
    from playwright.sync_api import sync_playwright

    url, port = notebook_page
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        context = browser.new_context(service_workers="block")
        if where == "colab":
            context.add_init_script(COLAB)
        tab = context.new_page()
        kernel = f"http://127.0.0.1:{port}"
        outside = block_other_hosts(tab, url)
        tab.route(f"{kernel}/**", lambda route: route.continue_())  # the kernel's server is local too
        errors: list[str] = []
        tab.on("pageerror", lambda e: errors.append(str(e)))
        tab.goto(f"{url}/cell.html", wait_until="load")
        wait_for_explorer(tab)
        norms = tab.evaluate("""async () => {
            const api = window.genaeExplorer;
            await api.reset({kind: 'dvae', start: 'far', n: 64, seed: 1, decode: 'mean'});
            await api.step(2);
            return (await api.state()).norms;
        }""")
        proxied = tab.evaluate("() => window.proxiedPorts || []")
        context.close()
        browser.close()
    assert len(norms) == 3 and all(np.isfinite(norms)), norms
    assert norms[1] < norms[0] / 2, f"the far start did not come in after one step: {norms}"
    assert not outside, f"the cell asked other hosts for {sorted(set(outside))}"
    assert not errors, errors
    assert proxied == ([port] if where == "colab" else []), proxied
