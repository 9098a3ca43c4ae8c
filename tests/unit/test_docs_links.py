"""The documentation carries itself: every relative link in README.md and docs/ resolves to a
file inside the repository (and a #fragment to a heading of the target): the repository's
own docs are the whole documentation."""

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
# [text](target) and ![alt](target); the target ends at the first space or ')'.
LINK = re.compile(r"!?\[[^\]]*\]\(([^)\s]+)(?:\s+\"[^\"]*\")?\)")
FENCE = re.compile(r"^(```|~~~)")


def documents():
    return [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md")), *sorted((ROOT / "bench").glob("*.md"))]


def links(path):
    """(line number, target) of every Markdown link outside code blocks and code spans."""
    found, in_fence = [], False
    for number, line in enumerate(path.read_text().splitlines(), start=1):
        if FENCE.match(line.strip()):
            in_fence = not in_fence
            continue
        if in_fence:
            continue
        line = re.sub(r"`[^`]*`", "", line)
        found.extend((number, m.group(1)) for m in LINK.finditer(line))
    return found


def slug(heading):
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens."""
    text = re.sub(r"[`*_]|\[([^\]]*)\]\([^)]*\)", r"\1", heading.strip()).lower()
    text = re.sub(r"[^\w\- ]", "", text)
    return text.replace(" ", "-")


def anchors(path):
    seen, result, in_fence = {}, set(), False
    for line in path.read_text().splitlines():
        if FENCE.match(line.strip()):
            in_fence = not in_fence
            continue
        m = None if in_fence else re.match(r"^#{1,6}\s+(.*?)\s*#*\s*$", line)
        if m:
            base = slug(m.group(1))
            n = seen.get(base, 0)
            seen[base] = n + 1
            result.add(base if n == 0 else f"{base}-{n}")
    return result


def relative_links():
    for doc in documents():
        for number, target in links(doc):
            if re.match(r"^[a-z][a-z0-9+.-]*:", target, re.IGNORECASE):  # http:, https:, mailto:
                continue
            yield pytest.param(doc, number, target, id=f"{doc.relative_to(ROOT)}:{number}:{target}")


def test_the_docs_have_links_to_check():
    docs = {d.relative_to(ROOT).as_posix() for d in documents()}
    assert {"README.md", "docs/entra.md", "docs/operations.md", "docs/production.md"} <= docs
    assert sum(1 for _ in relative_links()) >= 20


@pytest.mark.parametrize(("doc", "number", "target"), list(relative_links()))
def test_relative_link_resolves_inside_the_repository(doc, number, target):
    path_part, _, fragment = target.partition("#")
    resolved = (doc.parent / path_part).resolve() if path_part else doc
    assert resolved.is_relative_to(ROOT), f"{target} leaves the repository"
    assert resolved.exists(), f"{target} does not exist"
    if fragment and resolved.suffix == ".md":
        assert fragment in anchors(resolved), f"no heading #{fragment} in {resolved.relative_to(ROOT)}"
