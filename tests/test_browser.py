"""The built book in a real browser: every page of book/_build/html, opened in Chromium.

For every page: no request leaves localhost (each one to another host is
blocked and recorded), every local file it asks for exists, the maths was
typeset by MathJax with no raw TeX left in the text, every image loaded, and
a notebook's Colab button opens that notebook from the repository named in
book/_config.yml. Full-page screenshots of the landing page and chapters 1, 2
and 4-8 go to book/_build/screenshots/ for people to look at.

Needs Debian's ``chromium`` (``apt-get install chromium``) and Playwright for
Python (``pip install playwright``; no ``playwright install``: the system
browser is used). Without them, or without a built book (``make book``), the
tests are skipped, unless ``GENAE_REQUIRE_BROWSER=1`` (set by CI) makes that a
failure.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import yaml

sys.path.insert(0, str(Path(__file__).parent))
from book_server import CHROMIUM, block_other_hosts, serve  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
BOOK = ROOT / "book"
HTML = BOOK / "_build" / "html"
SCREENSHOTS = BOOK / "_build" / "screenshots"
# Pages photographed for people to look at: a word of their file name -> what they show.
SCREENSHOT_PAGES = ("intro", "generative", "transition", "training", "sampling", "interpolation",
                    "convergence", "denoising")

# Raw TeX that MathJax should have replaced: display and inline delimiters, environments, `$\cmd`.
RAW_TEX = re.compile(r"\$\$|\\\(|\\\)|\\\[|\\\]|\\begin\{|\$\\[A-Za-z]")

pytestmark = [pytest.mark.browser, pytest.mark.book]




def html_pages() -> list[str]:
    if not HTML.exists():
        return []
    return sorted(str(p.relative_to(HTML)) for p in HTML.rglob("*.html") if p.relative_to(HTML).parts[0] != "_static")


def source_of(page: str) -> Path | None:
    """The file a page was built from (book/<page>.ipynb or .md), symlinks resolved."""
    for suffix in (".ipynb", ".md"):
        candidate = BOOK / Path(page).with_suffix(suffix)
        if candidate.exists():
            return candidate.resolve()
    return None


def expected_colab_url(source: Path) -> str:
    """Colab opens the student copy of a notebook (the branch `make student` is published to), by its
    real path (GitHub does not follow symlinked folders)."""
    config = yaml.safe_load((BOOK / "_config.yml").read_text())
    owner_repo = urlsplit(config["repository"]["url"]).path.strip("/")
    branch = config["sphinx"]["config"]["genae_student_branch"]
    path = source.relative_to(ROOT).as_posix()
    return f"https://colab.research.google.com/github/{owner_repo}/blob/{branch}/{path}"


@pytest.fixture(scope="module")
def site():
    with serve(HTML, "index.html") as url:
        yield url


@pytest.fixture(scope="module")
def browser(site):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield chromium
        chromium.close()


def open_page(browser, site: str, page: str):
    """Open ``page`` with every request to another host blocked; return (tab, outside requests, local failures)."""
    context = browser.new_context(viewport={"width": 1280, "height": 900}, service_workers="block")
    tab = context.new_page()
    here = urlsplit(site).netloc
    outside = block_other_hosts(tab, site)
    failures: list[str] = []
    tab.on("response", lambda r: failures.append(f"{r.status} {r.url}")
           if r.status >= 400 and urlsplit(r.url).netloc == here else None)
    tab.goto(f"{site}/{page}", wait_until="networkidle")
    return context, tab, outside, failures


TYPESET = """async () => {
  const maths = [...document.querySelectorAll('.math')];
  if (maths.length === 0) return {maths: 0, typeset: 0, errors: 0, mathjax: !!window.MathJax};
  if (!(window.MathJax && MathJax.startup && MathJax.startup.promise)) return {maths: maths.length, typeset: 0,
      errors: 0, mathjax: false};
  await MathJax.startup.promise;
  return {maths: maths.length, typeset: maths.filter(m => m.querySelector('mjx-container')).length,
          errors: document.querySelectorAll('mjx-merror').length, mathjax: true};
}"""

# Text a reader sees as prose: code, scripts and typeset maths left out (code may quote TeX on purpose).
PROSE = """() => {
  const skip = 'script, style, pre, code, textarea, noscript, mjx-container, .highlight';
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  const parts = [];
  while (walker.nextNode()) {
    const node = walker.currentNode;
    if (!node.parentElement.closest(skip)) parts.push(node.textContent);
  }
  return parts.join(' ');
}"""

IMAGES = """async () => {
  const images = [...document.images];
  images.forEach(img => { img.loading = 'eager'; });
  await Promise.all(images.map(img => img.complete ? null : new Promise(done => {
    img.addEventListener('load', done); img.addEventListener('error', done); })));
  return {count: images.length,
          broken: images.filter(img => !(img.naturalWidth > 0)).map(img => img.getAttribute('src'))};
}"""


@pytest.mark.parametrize("page", html_pages() or ["index.html"])
def test_page_renders_offline(browser, site, page):
    context, tab, outside, failures = open_page(browser, site, page)
    try:
        problems = []
        maths = tab.evaluate(TYPESET)
        if maths["maths"] and not maths["mathjax"]:
            problems.append(f"{maths['maths']} maths elements but MathJax did not load")
        elif maths["typeset"] < maths["maths"]:
            problems.append(f"only {maths['typeset']} of {maths['maths']} maths elements were typeset by MathJax")
        if maths["errors"]:
            problems.append(f"{maths['errors']} TeX errors (mjx-merror) on the page")
        raw = sorted(set(m.group() for m in RAW_TEX.finditer(tab.evaluate(PROSE))))
        if raw:
            problems.append(f"raw TeX left in the text: {raw}")
        images = tab.evaluate(IMAGES)
        if images["broken"]:
            problems.append(f"{len(images['broken'])} of {images['count']} images did not load: {images['broken']}")
        source = source_of(page)
        if source is not None and source.suffix == ".ipynb":
            want = expected_colab_url(source)
            links = tab.eval_on_selector_all("a[href*='colab.research.google.com']", "as => as.map(a => a.href)")
            if want not in links:
                problems.append(f"the Colab button should open {want}, but the page links to {links or 'no Colab URL'}")
        if outside:
            problems.append(f"asked for {len(outside)} resources from other hosts: {sorted(set(outside))}")
        if failures:
            problems.append(f"local files missing: {failures}")
        assert not problems, f"{page}:\n- " + "\n- ".join(problems)
    finally:
        context.close()


def test_screenshots_of_the_chain_pages(browser, site):
    pages = html_pages()
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    missing = []
    for word in SCREENSHOT_PAGES:
        matches = [p for p in pages if word in Path(p).stem]
        if not matches:
            missing.append(word)
            continue
        for page in matches:
            context, tab, outside, _ = open_page(browser, site, page)
            try:
                tab.evaluate(TYPESET)
                tab.evaluate(IMAGES)
                target = SCREENSHOTS / f"{Path(page).stem}.png"
                tab.screenshot(path=str(target), full_page=True)
                height = tab.evaluate("document.documentElement.scrollHeight")
                assert target.stat().st_size > 10_000, f"{target} is nearly empty"
                assert height > 900, f"{page} is only {height} px tall: did it render?"
            finally:
                context.close()
    assert not missing, f"no page of the book has {missing} in its name; pages: {pages}"
