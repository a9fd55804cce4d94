"""Every reference to a section of docs/shopify.md (the file name, "#", the anchor) in the
code, tests and docs names a real section."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
REFERENCE = re.compile(r"docs/shopify\.md#([a-z0-9-]+)")
SEARCHED = ("src", "tests", "docs", "bench")


def _anchors(markdown: str) -> set[str]:
    """Anchors of the headings, as Markdown renderers make them (lower case, punctuation
    dropped, spaces as hyphens)."""
    anchors = set()
    for line in markdown.splitlines():
        heading = re.match(r"#{1,6} (.+)", line)
        if heading:
            text = re.sub(r"[^\w\- ]", "", heading.group(1).strip().lower())
            anchors.add(text.replace(" ", "-"))
    return anchors


def test_every_reference_names_a_section_of_docs_shopify() -> None:
    anchors = _anchors((ROOT / "docs" / "shopify.md").read_text())
    found: dict[str, list[str]] = {}
    for folder in SEARCHED:
        for path in (ROOT / folder).rglob("*"):
            if not path.is_file() or path.suffix not in {".py", ".md", ".graphql", ".toml"}:
                continue
            for anchor in REFERENCE.findall(path.read_text(encoding="utf-8")):
                found.setdefault(anchor, []).append(str(path.relative_to(ROOT)))
    assert len(found) > 10  # the code does cite it
    unknown = {anchor: paths for anchor, paths in found.items() if anchor not in anchors}
    assert not unknown, f"no such section in docs/shopify.md: {unknown}"
