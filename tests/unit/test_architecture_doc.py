"""docs/architecture.md's Layout shows the whole tree: every package and module of config/,
models/, service/ and workers/ has its line (or its place on a shared line)."""

import pathlib
import re

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "architecture.md"
TOP = ("config", "models", "service", "workers")


def layout_lines(text):
    """The lines of the first code block under ``## Layout``."""
    section = text.split("## Layout", 1)[1]
    return section.split("```", 2)[1].strip("\n").splitlines()


def _indent(line):
    return len(line) - len(line.lstrip(" "))


def _names(line):
    """The names a line of the tree introduces: its words before the description starts."""
    names = []
    for word in line.split():
        if not re.fullmatch(r"[\w./]+(/|\.py)", word):
            break
        names.append(word)
    return names


def _under(lines, i):
    """The lines nested under line ``i`` (more indented, up to the next line at its level)."""
    out = []
    for line in lines[i + 1 :]:
        if line.strip() and _indent(line) <= _indent(lines[i]):
            break
        out.append(line)
    return out


def documented(parts, lines):
    """Whether ``parts`` (``["scim", "users", "store.py"]``) has its place in ``lines``."""
    whole = "/".join(parts)
    for i, line in enumerate(lines):
        names = _names(line)
        if whole in names or re.search(rf"(?<![\w/]){re.escape(whole)}(?![\w/])", line):
            return True
        if len(parts) > 1 and f"{parts[0]}/" in names and documented(parts[1:], _under(lines, i)):
            return True
    return False


def missing(lines):
    """Every package (``name/``) and module of the top folders the tree does not show."""
    out = []
    for top in TOP:
        for path in sorted((ROOT / top).rglob("*")):
            rel = path.relative_to(ROOT)
            if "migrations" in rel.parts[:-1] or "__pycache__" in rel.parts or path.name == "__init__.py":
                continue
            if path.is_dir() and any(path.glob("*.py")):
                parts = [*rel.parts[:-1], rel.parts[-1] + "/"]
            elif path.suffix == ".py":
                parts = list(rel.parts)
            else:
                continue
            if not documented(parts, lines):
                out.append("/".join(parts))
    return out


def test_the_layout_shows_every_package_and_module():
    assert missing(layout_lines(DOC.read_text())) == []


@pytest.mark.parametrize("dropped", ["    patch_remove.py      PATCH's remove", "  edge/    "])
def test_a_module_or_package_left_out_is_named(dropped):
    """The check itself: take a line out of the tree and the test names what it showed."""
    lines = [line for line in layout_lines(DOC.read_text()) if not line.startswith(dropped)]
    assert missing(lines)
