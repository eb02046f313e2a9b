"""Every number in the book's prose is either glued from an output or a reviewed constant.

A chapter's sentences must stay true of its own outputs, so a number the chapter computes is
written with myst-nb's ``{glue:text}`` role (or printed as generated Markdown), never typed.
This test scans the Markdown cells of every notebook and the pages in ``book/*.md`` for digits
outside maths, code, directive options and role or link targets, and fails on each number that
is neither glued nor one of the constants in :data:`ALLOWED` / :data:`REFERENCE_WORDS`.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

# Numbers that may be typed, each with the reason it is not an output of the chapter it is in.
ALLOWED = {
    "200": "the paper's latent size b (section 4.3)",
    "64": "the paper's image size, DCGAN width and batch size in this book's trainer (section 4.3)",
    "2e-4": "the paper's Adam learning rate (section 4.3)",
    "0.0002": "the paper's Adam learning rate, as written in section 4.3",
    "0.5": "the paper's Adam beta1, and the corruption's standard deviation sqrt(0.25)",
    "0.999": "the paper's Adam beta2 (section 4.3)",
    "20": "the paper's number of training epochs (section 4.3)",
    "10": "the paper's longest chain: its figures show at most 10 steps",
    "0.25": "the paper's corruption variance, N(x, 0.25 I) (section 4.3)",
    "40": "appendix A: M = 8192 features are 'more that 40 times the dimensionality of Z'",
    "8,192": "appendix A's feature count of the paper's encoder (512 channels x 4 x 4)",
    "162,770": "the size of CelebA's training split (Liu et al., 2015), which the paper trains on",
}

# A number right after one of these words is a reference (Eq. 1, section 3.4, figure 5,
# chapter 05, Lemma 1), not a measurement; a list ("chapters 03, 07 and 09") counts too.
REFERENCE_WORDS = (
    r"Eqs?\.|Equations?|equations?|[Ss]ections?|§|[Ff]igures?|[Ff]ig\.|[Tt]ables?|[Aa]ppendix"
    r"|[Aa]ppendices|[Cc]hapters?|Lemmas?|Theorems?|[Ss]teps?|[Ee]xercises?|[Pp]art|[Pp]age"
)
REFERENCE = re.compile(
    rf"(?:{REFERENCE_WORDS})\s+(?:[A-Z]\.)?\d+(?:\.\d+)*"
    r"(?:(?:\s*(?:,|-|–|and|or|to)\s*)+(?:[A-Z]\.)?\d+(?:\.\d+)*)*"
)
# The steps the paper's figures show (figures 3-8: the chain after 1, 5 and 10 steps).
PAPER_STEPS = re.compile(r"\b(?:0,\s+)?1,\s+5,?\s+and\s+10\b")
# Names and statistical conventions that hold a digit: an AR(1) process, the 2-Wasserstein
# distance, a 95% confidence interval or quantile, the 5% level, a power of 0.8.
CONVENTIONS = re.compile(
    r"\bAR\(1\)|\b2-Wasserstein\b|\b95%(?=\s+(?:confidence|quantile))"
    r"|\b5%(?=\s+(?:level|critical))|two-sided 5%|\bprobability 0\.8\b"
)
# A year in a citation: "(2016)", "(2016, ...)", "et al., 2015", "Hoffman and Johnson 2016".
YEAR = re.compile(r"(?<=\()(?:19|20)\d\d[a-z]?(?=[),;])|(?<=, )(?:19|20)\d\d[a-z]?(?=\))")
NUMBER = re.compile(r"(?<![\w.\-^_/])\d+(?:,\d{3})*(?:\.\d+)?(?:e-?\d+)?(?![\w])")

# Directives whose body is code, not prose.
CODE_DIRECTIVES = {"code", "code-block", "code-cell", "sourcecode", "math", "raw"}
FENCE = re.compile(r"^\s*(`{3,}|~{3,})\s*(.*)$")

# Things that are not prose, removed after the fences (order matters: display maths before inline).
NOT_PROSE = [
    re.compile(r"^:{3,}.*$", re.MULTILINE),                          # colon fences
    re.compile(r"^\s*:[\w-]+:.*$", re.MULTILINE),                    # directive options (:label:)
    re.compile(r"<!--.*?-->", re.DOTALL),
    re.compile(r"\$\$.*?\$\$", re.DOTALL),
    re.compile(r"(?<!\\)\$[^$\n]+?(?<!\\)\$"),
    re.compile(r"\{[\w:-]+\}`[^`]*`"),                               # roles: {glue:text}`x:.2f`
    re.compile(r"``.+?``|`[^`\n]+`"),                                # inline code
    re.compile(r"\]\([^)]*\)"),                                      # link targets
    re.compile(r"<[^>\n]+>"),                                        # HTML tags, autolinks
    re.compile(r"https?://\S+"),
    re.compile(r"\bex-\d+[\w-]*"),                                   # exercise labels
    re.compile(r"^#+ \d+(?:\.\d+)*\.?(?= )", re.MULTILINE),          # numbered headings ("## 3.")
    re.compile(r"^[ \t]*\d+\.[ \t]", re.MULTILINE),                        # ordered-list markers
]


# Parts of pages that are measured by hand on a named machine, not computed by a chapter: the
# instructor page's run-time table is the one place for run times (and the exercise counts beside them).
HAND_MEASURED = {
    "instructor.md": re.compile(r"^## Chapters at a glance\n.*?(?=^#)", re.MULTILINE | re.DOTALL),
}


def strip_fences(markdown: str) -> str:
    """Blank code fences and fence lines; keep the bodies of prose directives (exercise, proof)."""
    kept, open_fences = [], []  # open_fences: True for a fence whose body is code
    for line in markdown.splitlines():
        match = FENCE.match(line)
        if match and not match.group(2) and open_fences:
            open_fences.pop()  # a bare fence closes the innermost open one
            kept.append("")
            continue
        if match:
            name = re.match(r"\{([\w:-]+)\}", match.group(2))
            open_fences.append(name is None or name.group(1) in CODE_DIRECTIVES)
            kept.append("")
            continue
        kept.append("" if any(open_fences) else line)
    return "\n".join(kept)


def prose(markdown: str) -> str:
    """``markdown`` with maths, code, directive lines, roles and link targets blanked out."""
    markdown = strip_fences(markdown)
    for pattern in NOT_PROSE:
        markdown = pattern.sub(" ", markdown)
    return markdown


def typed_numbers(markdown: str) -> list[str]:
    """The numbers in ``markdown``'s prose that are neither references, years nor allowed."""
    text = CONVENTIONS.sub(" ", prose(markdown))
    text = PAPER_STEPS.sub(" ", YEAR.sub(" ", REFERENCE.sub(" ", text)))
    return [n for n in NUMBER.findall(text) if n.rstrip(",") not in ALLOWED]


def markdown_sources() -> list[tuple[str, str]]:
    """(where, text) for every notebook Markdown cell and every page in book/."""
    sources = []
    for path in sorted((ROOT / "notebooks").glob("*.ipynb")):
        cells = json.loads(path.read_text())["cells"]
        for index, cell in enumerate(cells):
            if cell["cell_type"] == "markdown":
                sources.append((f"{path.name}, cell {index}", "".join(cell["source"])))
    for path in sorted((ROOT / "book").glob("*.md")):
        text = path.read_text()
        if path.name in HAND_MEASURED:
            text = HAND_MEASURED[path.name].sub("", text)
        sources.append((f"book/{path.name}", text))
    return sources


SOURCES = markdown_sources()


@pytest.mark.parametrize("where, text", SOURCES, ids=[where for where, _ in SOURCES])
def test_prose_has_no_typed_numbers(where: str, text: str) -> None:
    found = typed_numbers(text)
    assert not found, (f"{where}: number(s) {found} typed in prose; glue them from the outputs "
                       "({glue:text}`name:fmt`) or, for a constant, add it to ALLOWED with a reason")


def test_scanner_catches_an_unglued_number() -> None:
    text = "After ten steps the MMD fell from 0.47 to {glue:text}`mmd_end:.2f`, see Eq. 2."
    assert typed_numbers(text) == ["0.47"]


def test_scanner_skips_maths_code_roles_references_and_constants() -> None:
    text = (
        "With $b = 16$ and `chain_steps = 25`, section 3.4 and figure 5 of the paper "
        "(Bengio et al., 2013), chapters 03, 07 and 09, {doc}`05-sampling`, Lemmas 1-2 and "
        "{glue:text}`gap:.1%`, the paper's 200-dimensional latent space and 20 epochs.\n"
        "$$\nT = 0.3\n$$\n```{exercise-start}\n:label: ex-07-bad-start\n```\n"
        "```python\nx = 42\n```\n[a link](https://example.org/page-12)"
    )
    assert typed_numbers(text) == []


def test_scanner_sees_numbers_in_lists_after_no_reference_word() -> None:
    assert typed_numbers("the DAAE's rose from 0.0347 to 0.0952 by step 10") == ["0.0347", "0.0952"]


# A run time in a stored output ("took 96.0 s", "in 257 s"): machine-dependent, so no rendered page
# shows one; the instructor page's table is the one place for them.
RUN_TIME = re.compile(r"\b\d+(?:\.\d+)?\s*(?:s|secs?|seconds?|min|minutes?)\b(?![\w'(])")


def stored_run_times(nb: dict) -> list[tuple[int, str]]:
    """(cell, excerpt) for every run time printed in a notebook's stored outputs."""
    found = []
    for index, cell in enumerate(nb["cells"]):
        for output in cell.get("outputs", []):
            texts = ["".join(output.get("text", ""))] + [
                "".join(value) if isinstance(value, list) else str(value)
                for kind, value in output.get("data", {}).items()
                if kind in ("text/plain", "text/markdown", "text/html")]
            for text in texts:
                found += [(index, text[max(0, m.start() - 30):m.end()]) for m in RUN_TIME.finditer(text)]
    return found


@pytest.mark.parametrize("path", sorted((ROOT / "notebooks").glob("*.ipynb")), ids=lambda p: p.stem)
def test_no_stored_run_times(path: Path) -> None:
    found = stored_run_times(json.loads(path.read_text()))
    assert not found, (f"{path.name}: stored outputs print run times {found}; keep them off the "
                       "rendered page (they belong in book/instructor.md's table)")


def test_run_time_scanner_catches_a_run_time() -> None:
    nb = {"cells": [{"cell_type": "code", "outputs": [
        {"output_type": "stream", "text": ["4 models x 100 chains; 96.0 s\n"]},
        {"output_type": "stream", "text": ["0.25 I, 3 seeds, step 5\n"]}]}]}
    assert [cell for cell, _ in stored_run_times(nb)] == [0]


def test_landing_page_includes_its_generated_figure() -> None:
    intro = (ROOT / "book" / "intro.md").read_text()
    assert "```{include} images/landing.md" in intro, "the landing page must include its figure"
    block = (ROOT / "book" / "images" / "landing.md").read_text()
    image = re.search(r"```\{figure\}\s*(\S+)", block).group(1)
    assert (ROOT / "book" / image).is_file(), f"{image} is missing: run python book/landing_figure.py"


def test_scanner_reads_the_bodies_of_prose_directives() -> None:
    text = ("```{exercise-start}\n:label: ex-07-burn-in\n```\nReturn 0 if it starts there.\n"
            "```{exercise-end}\n```\n```{prf:proof}\nIt takes 3 steps.\n```\n"
            "```{code-cell} python\nx = 42\n```")
    assert typed_numbers(text) == ["0", "3"]
