"""No link in the repository's documentation leaves the repository: a person who clones it has
every page a link points to. Web addresses may only name this machine (examples such as
http://127.0.0.1:8050); relative links must resolve to a file inside the repository, and an
anchor to a heading of the page it names."""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import urlsplit

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCUMENTS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
LOCAL_HOSTS = {"localhost", "127.0.0.1", "0.0.0.0", "::1"}
WEB_SCHEMES = {"http", "https", "ftp", "ftps", "git", "ssh", "file", "ws", "wss", "mailto"}

INLINE = re.compile(r"!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
REFERENCE = re.compile(r"^\s{0,3}\[[^\]]+\]:\s*<?(\S+?)>?(?:\s|$)", re.MULTILINE)
ADDRESS = re.compile(r"\b[a-z][a-z0-9+.-]*://[^\s)<>\]`'\"]+", re.IGNORECASE)
HTML_LINK = re.compile(r"\b(?:href|src)\s*=\s*[\"']([^\"']+)[\"']", re.IGNORECASE)


def slug(heading: str) -> str:
    """The anchor a Markdown renderer gives a heading: lower case, punctuation dropped, spaces
    as hyphens."""
    text = re.sub(r"[`*_]", "", heading.strip().lower())
    return re.sub(r"\s", "-", re.sub(r"[^\w\s-]", "", text))


def anchors(document: Path) -> set[str]:
    headings = re.findall(r"^#{1,6}\s+(.+?)\s*#*\s*$", document.read_text(), re.MULTILINE)
    return {slug(heading) for heading in headings}


def targets(text: str) -> list[str]:
    found = INLINE.findall(text) + REFERENCE.findall(text) + HTML_LINK.findall(text)
    return found + [address for address in ADDRESS.findall(text) if address not in found]


def problems(document: Path, text: str | None = None) -> list[str]:
    """Every link of `document` that leaves the repository or leads nowhere, with the reason."""
    text = document.read_text() if text is None else text
    wrong = []
    for target in targets(text):
        parts = urlsplit(target)
        if parts.scheme:
            # Database and broker URLs in examples (postgresql+psycopg://..., redis://...,
            # sqlite:///...) are settings, not links; a web address must name this machine.
            if parts.scheme in WEB_SCHEMES and parts.hostname not in LOCAL_HOSTS:
                wrong.append(f"{target}: leaves the repository")
            continue
        page = document if not parts.path else (document.parent / parts.path).resolve()
        if not page.is_relative_to(ROOT):
            wrong.append(f"{target}: outside the repository")
        elif not page.exists():
            wrong.append(f"{target}: no such file")
        elif parts.fragment and page.suffix == ".md" and parts.fragment not in anchors(page):
            wrong.append(f"{target}: no heading #{parts.fragment} in {page.name}")
    return wrong


@pytest.mark.parametrize("document", DOCUMENTS, ids=lambda path: path.name)
def test_every_link_stays_inside_the_repository(document):
    assert problems(document) == []


def test_the_readme_points_to_the_architecture_page():
    assert "docs/architecture.md" in targets((ROOT / "README.md").read_text())


@pytest.mark.parametrize(
    "markdown",
    [
        "See [the design](../shared/DESIGN.md).",
        "Docs at https://example.com/page or <https://github.com/x/y>.",
        "![shot](docs/no-such.png)",
        "[jump](#no-such-heading)",
        "[ref]: https://pypi.org/project/dash/",
        "[file](file:///etc/passwd)",
        '<a href="https://example.org">x</a>',
    ],
)
def test_the_check_catches_links_that_leave_or_lead_nowhere(markdown):
    assert problems(ROOT / "README.md", markdown) != []


def test_the_check_lets_local_examples_and_inside_links_through():
    markdown = (
        "Open http://127.0.0.1:8050 or <http://localhost:8050/compare>; set "
        "DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:5432/test; "
        "[design](docs/architecture.md), [formats](#import-formats)."
    )
    assert problems(ROOT / "README.md", markdown) == []
