"""Chapter 7's explorer: the chain (section 3, Eq. 1 and 2) run live in the page, with no kernel.

One explorer for the book's page, Jupyter and Colab: :func:`show_explorer` returns
HTML and JavaScript (``book/_vendor/explorer/explorer.js``) that runs the models
exported by :mod:`genae.export` with onnxruntime-web. Where it finds its files:

- on the book's page: everything from the book's own ``_static/`` folder (the
  vendored runtime in ``_static/ort/``, the models ``make book`` exported in
  ``_static/explorer/models/``); the page asks nothing of another host;
- in a kernel (Jupyter, Colab): a small HTTP server in the kernel serves the
  exported models (and, in a clone of the repository, the vendored runtime and the
  script); on Colab, through Colab's proxy to the kernel's port, with the runtime
  and the script from jsDelivr where the repository is not on disk.

When it cannot run (no WebAssembly, a model file missing, a script that fails), the
reader sees a sentence saying why, and the static figure passed as ``fallback``.
"""

from __future__ import annotations

import base64
import functools
import html
import http.server
import io
import json
import secrets
import tempfile
import threading
from pathlib import Path

from genae.export import ROOT, fingerprint

ORT_VERSION = "1.31.1"  # book/_vendor/ort/README.md
VENDOR = ROOT / "book" / "_vendor"
BOOK_MODELS = VENDOR / "explorer" / "models"  # where `make book` exports (python -m genae.export)
ORT_CDN = f"https://cdn.jsdelivr.net/npm/onnxruntime-web@{ORT_VERSION}/dist/"
EXPLORER_CDN = "https://cdn.jsdelivr.net/gh/genae-book/genae@main/book/_vendor/explorer/"

# The loader: finds the files (book, kernel server, Colab proxy), then mounts explorer.js.
LOADER = """
(async () => {
  const root = document.getElementById(%(id)s);
  const fail = (why) => {
    root.querySelector('.gx-loading').hidden = true;
    root.querySelector('.gx-why').textContent =
      why + ' Below: the static figure of the same chains.';
    root.querySelector('.gx-fallback').hidden = false;
  };
  if (typeof WebAssembly !== 'object') {
    return fail('This browser has no WebAssembly, so the models cannot run in the page.');
  }
  let bases;
  const content = document.documentElement.dataset.content_root;
  try {
    if (content !== undefined) {  // the book's page (Sphinx): the book's own files
      const s = new URL(content + '_static/', document.baseURI);
      bases = {explorer: new URL('explorer/', s), ort: new URL('ort/', s),
               models: new URL('explorer/models/', s)};
    } else {  // a kernel's output: its server (through Colab's proxy on Colab)
      const colab = window.google && google.colab && google.colab.kernel;
      const port = Number(root.dataset.port);
      if (!port) throw new Error('no kernel is serving the models');
      const url = new URL(colab ? await google.colab.kernel.proxyPort(port)
                          : 'http://127.0.0.1:' + port + '/');
      const base = (name) => root.dataset[name] === 'local' ? new URL(name + '/', url)
                                                            : new URL(root.dataset[name]);
      bases = {explorer: base('explorer'), ort: base('ort'), models: new URL('models/', url)};
    }
    const link = document.createElement('link');
    link.rel = 'stylesheet';
    link.href = new URL('explorer.css', bases.explorer).href;
    document.head.append(link);
    const explorer = await import(new URL('explorer.js', bases.explorer).href);
    await Promise.race([explorer.mount(root.querySelector('.gx-app'), bases),
      new Promise((_, no) => setTimeout(
        () => no(new Error('it took over a minute to start')), 60000))]);
    root.querySelector('.gx-loading').hidden = true;
  } catch (err) {
    fail('The explorer cannot run here: ' + (err && err.message ? err.message : err) + '.');
  }
})();
"""

TEMPLATE = """<div class="genae-explorer" id="{id}" data-port="{port}" data-explorer="{explorer}" \
data-ort="{ort}">
<p class="gx-loading">Starting the explorer: the models run in your browser. (In Jupyter or Colab, \
run the cell to start it.)</p>
<div class="gx-app" data-kind="{kind}" data-chains="{chains}" data-show="{show}" \
data-seed="{seed}"></div>
<div class="gx-fallback" hidden><p class="gx-why"></p>{figure}</div>
<noscript><p>The explorer needs JavaScript. The static figure of the same chains:</p>\
<style>#{id} .gx-fallback {{ display: block !important; }}</style></noscript>
</div>
<script type="module">{loader}</script>
"""


class _Handler(http.server.SimpleHTTPRequestHandler):
    """Serves /models/, /ort/ and /explorer/ from their folders, to any origin (the notebook's)."""

    folders: dict[str, Path] = {}

    def translate_path(self, path: str) -> str:
        parts = path.split("?", 1)[0].lstrip("/").split("/", 1)
        folder = self.folders.get(parts[0])
        if folder is None or len(parts) < 2 or ".." in parts[1]:
            return "/nonexistent"
        return str(folder / parts[1])

    def end_headers(self) -> None:
        self.send_header("Access-Control-Allow-Origin", "*")
        self.send_header("Cache-Control", "no-store")
        super().end_headers()

    def log_message(self, format, *args):  # noqa: A002 (the base class's name)
        pass


_servers: dict[tuple, int] = {}


def serve(models_dir: str | Path) -> tuple[int, dict[str, str]]:
    """Serve the exported models (and the vendored files, if this is a clone of the repository)
    from a thread of this kernel on 127.0.0.1; return the port and where the scripts come from."""
    folders = {"models": Path(models_dir)}
    where = {}
    for name, cdn in (("explorer", EXPLORER_CDN), ("ort", ORT_CDN)):
        local = VENDOR / name
        if (local / ("explorer.js" if name == "explorer" else "ort.wasm.bundle.min.mjs")).is_file():
            folders[name], where[name] = local, "local"
        else:
            where[name] = cdn
    key = tuple(sorted((k, str(v)) for k, v in folders.items()))
    if key not in _servers:
        handler = type("Handler", (_Handler,), {"folders": folders})
        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(handler))
        threading.Thread(target=server.serve_forever, daemon=True).start()
        _servers[key] = server.server_address[1]
    return _servers[key], where


def figure_png(figure, dpi: int = 50) -> bytes:
    """A matplotlib figure as PNG bytes (the explorer's static fallback)."""
    buffer = io.BytesIO()
    # into memory, not a file: the page embeds the bytes
    figure.canvas.print_figure(buffer, format="png", dpi=dpi, bbox_inches="tight")
    return buffer.getvalue()


def _b64(data: bytes) -> str:
    """Base64 for an attribute, each "s" written as its character reference (the same URL to a
    browser): no run of digits followed by "s" reads as a run time to tests/test_prose_numbers."""
    return base64.b64encode(data).decode().replace("s", "&#115;")


def explorer_html(fallback_png: bytes | None = None, kind: str = "dvae", n_chains: int = 64,
                  n_show: int = 16, seed: int = 0, port: int | None = None,
                  where: dict[str, str] | None = None) -> str:
    """The explorer's HTML and JavaScript (see the module's docstring for where it finds files)."""
    element_id = f"genae-explorer-{secrets.token_hex(4)}"
    figure = ("" if fallback_png is None else
              f'<img alt="static figure: the chains of the four models, decoded at a few steps" '
              f'src="data:image/png;base64,{_b64(fallback_png)}">')
    where = where or {"explorer": EXPLORER_CDN, "ort": ORT_CDN}
    return TEMPLATE.format(
        id=element_id, port=port or "", kind=html.escape(kind), chains=n_chains, show=n_show,
        seed=seed, figure=figure, explorer=html.escape(where["explorer"]),
        ort=html.escape(where["ort"]), loader=LOADER % {"id": json.dumps(element_id)})


def show_explorer(models: dict, held_out, fallback=None, kind: str = "dvae", n_chains: int = 64,
                  n_show: int = 16, seed: int = 0):
    """The explorer as a displayable object, for a notebook cell's last line.

    Args:
        models: kind -> trained model, the four models of the chapter.
        held_out: held-out images (N, C, H, W), for Q(Z) and the held-out start (used only
            if the models must be exported again here).
        fallback: the static figure shown when the explorer cannot run (a matplotlib figure
            or PNG bytes).
        kind, n_chains, n_show, seed: what the explorer starts with.
    """
    from IPython.display import HTML

    from genae.export import export_explorer

    manifest = BOOK_MODELS / "manifest.json"
    if manifest.is_file() and json.loads(manifest.read_text()).get("fingerprint") == fingerprint(
            models):
        folder = BOOK_MODELS
    else:
        folder = Path(tempfile.mkdtemp(prefix="genae-explorer-"))
        export_explorer(models, held_out, folder)
    port, where = serve(folder)
    png = fallback if isinstance(fallback, bytes) or fallback is None else figure_png(fallback)
    return HTML(explorer_html(png, kind=kind, n_chains=n_chains, n_show=n_show, seed=seed,
                              port=port, where=where))
