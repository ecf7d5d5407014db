"""Every relative link in README.md, CHANGELOG.md and docs/ resolves, and the manual's nav is whole.

A link's file must exist (relative to the page that holds it, as GitHub and MkDocs read it)
and a ``#anchor`` must name a heading of its target page. External links (any scheme) are
not followed: no network here. ``make docs`` checks the same pages again through MkDocs
(``--strict``); this test keeps the check in the suite, without MkDocs.
"""

from __future__ import annotations

import os
import re
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"

_FENCE = re.compile(r"^\s*(```|~~~)")
_CODE_SPAN = re.compile(r"(`+)(?:(?!\1).)+?\1")
_INLINE_LINK = re.compile(r"\]\(\s*<?([^)\s>]*)>?(?:\s+\"[^\"]*\")?\s*\)")
_REFERENCE = re.compile(r"^\s{0,3}\[[^\]]+\]:\s*<?(\S+?)>?(?:\s+\"[^\"]*\")?\s*$")
_HEADING = re.compile(r"^\s{0,3}(#{1,6})\s+(.*?)\s*#*\s*$")
_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:")


@dataclass(frozen=True)
class Link:
    """One link as written: the page and line that hold it, and its target."""

    page: Path
    line: int
    target: str

    def __str__(self) -> str:
        return f"{self.page.relative_to(ROOT)}:{self.line}: {self.target}"


def _prose(page: Path) -> Iterator[tuple[int, str]]:
    """The page's lines outside fenced code blocks, with their numbers."""
    fence: str | None = None
    for number, line in enumerate(page.read_text(encoding="utf-8").splitlines(), start=1):
        opened = _FENCE.match(line)
        if opened and (fence is None or opened.group(1) == fence):
            fence = opened.group(1) if fence is None else None
            continue
        if fence is None:
            yield number, line


def links(page: Path) -> list[Link]:
    """The inline and reference-style link targets of a page, code spans left out."""
    found: list[Link] = []
    for number, line in _prose(page):
        text = _CODE_SPAN.sub("", line)
        targets = [match.group(1) for match in _INLINE_LINK.finditer(text)]
        reference = _REFERENCE.match(text)
        if reference:
            targets.append(reference.group(1))
        found.extend(Link(page, number, target) for target in targets)
    return found


def _heading_text(raw: str) -> str:
    """A heading as its anchor is made from: code spans keep their text (``<vm>`` too), a
    link keeps its text, inline HTML outside code is dropped."""
    pieces = re.split(r"(`+[^`]*`+)", raw)
    for index, piece in enumerate(pieces):
        if piece.startswith("`"):
            pieces[index] = piece.strip("`")
        else:
            piece = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", piece)
            pieces[index] = re.sub(r"<[^>]*>", "", piece)
    return "".join(pieces)


def _slug_markdown(text: str) -> str:
    """Python-Markdown's toc slug (MkDocs): ASCII, word characters, one hyphen per gap."""
    text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    text = re.sub(r"[^\w\s-]", "", text).strip().lower()
    return re.sub(r"[-\s]+", "-", text)


def _slug_github(text: str) -> str:
    """GitHub's heading anchor: lower case, punctuation dropped, each space a hyphen."""
    text = re.sub(r"[^\w\- ]", "", text.strip().lower())
    return text.replace(" ", "-")


def anchors(page: Path) -> set[str]:
    """Every anchor a page's headings get, as MkDocs or GitHub would name them."""
    found: set[str] = set()
    seen: dict[str, int] = {}
    for _number, line in _prose(page):
        heading = _HEADING.match(line)
        if not heading:
            continue
        text = _heading_text(heading.group(2))
        for slug, separator in ((_slug_markdown(text), "_"), (_slug_github(text), "-")):
            count = seen.get(slug + separator, 0)
            seen[slug + separator] = count + 1
            found.add(slug if count == 0 else f"{slug}{separator}{count}")
    return found


def pages() -> list[Path]:
    """README.md, CHANGELOG.md, every page of docs/ (symlinks followed, as MkDocs does) and
    the real files behind symlinked pages (GitHub reads their links from where they live)."""
    found = [ROOT / "README.md", ROOT / "CHANGELOG.md"]
    for folder, _dirs, files in os.walk(DOCS, followlinks=True):
        found.extend(Path(folder) / name for name in sorted(files) if name.endswith(".md"))
    real = [page.resolve() for page in found if page.resolve() != page.absolute()]
    return [page for page in found if page.exists()] + sorted(set(real) - set(found))


def broken(link: Link) -> str | None:
    """Why a link does not resolve, or None when it does."""
    if _SCHEME.match(link.target):
        return None
    path, _, anchor = link.target.partition("#")
    target = link.page if not path else (link.page.parent / path)
    if not target.exists():
        return "no such file"
    if anchor and target.suffix == ".md" and anchor not in anchors(target):
        return f"no heading #{anchor} in {target.name}"
    return None


@pytest.mark.parametrize("page", pages(), ids=lambda page: str(page.relative_to(ROOT)))
def test_every_relative_link_resolves(page: Path) -> None:
    problems = [f"{link}: {why}" for link in links(page) if (why := broken(link))]
    assert not problems, "broken links:\n" + "\n".join(problems)


def _nav_pages(entries: object) -> Iterator[str]:
    if isinstance(entries, str):
        if not _SCHEME.match(entries):
            yield entries
    elif isinstance(entries, list):
        for entry in entries:
            yield from _nav_pages(entry)
    elif isinstance(entries, dict):
        for value in entries.values():
            yield from _nav_pages(value)


def test_the_nav_lists_every_page_once_and_only_pages_that_exist() -> None:
    config = yaml.safe_load((ROOT / "mkdocs.yml").read_text(encoding="utf-8"))
    listed = list(_nav_pages(config["nav"]))
    on_disk = {
        str(page.relative_to(DOCS)) for page in pages() if page.is_relative_to(DOCS.absolute())
    }
    assert sorted(set(listed)) == sorted(listed), "a page is listed twice"
    assert set(listed) == on_disk, (
        f"missing from nav: {sorted(on_disk - set(listed))}; "
        f"in nav, not in docs/: {sorted(set(listed) - on_disk)}"
    )


def test_the_checker_sees_a_broken_link_and_a_broken_anchor(tmp_path: Path) -> None:
    page = tmp_path / "page.md"
    (tmp_path / "other.md").write_text("# Other page\n\n## The `salt/auth` event\n")
    page.write_text(
        "# Page\n\n"
        "[ok](other.md#the-saltauth-event) [self](#page) [web](https://example.org/x)\n"
        "[gone](missing.md) [bad anchor](other.md#nope) `[code](missing.md)`\n"
        "```\n[fenced](missing.md)\n```\n"
        "[ref]: missing-too.md\n"
    )
    problems = {link.target: broken(link) for link in links(page)}
    assert problems == {
        "other.md#the-saltauth-event": None,
        "#page": None,
        "https://example.org/x": None,
        "missing.md": "no such file",
        "other.md#nope": "no heading #nope in other.md",
        "missing-too.md": "no such file",
    }
