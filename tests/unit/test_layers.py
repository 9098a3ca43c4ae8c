"""Imports flow one way: config -> models -> (service | workers), and inside service/ from the
shared packages up to the surfaces, the command line and the app. A newcomer can trust the tree."""

import ast
import pathlib

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
TOP = ("config", "models", "service", "workers")

# Inside service/: a module may import its own rank or a lower one, never a higher one.
SERVICE_RANKS = {
    "errors": 0,
    "current": 0,
    "db": 1,
    "auth": 2,
    "auth_cache": 2,
    "broker": 2,
    "edge": 2,
    "ratelimit": 2,
    "company": 2,
    "reports": 2,
    "oauth": 2,
    "webhooks": 2,
    "scim": 3,
    "api": 3,
    "dashboard": 3,
    "cli": 4,
    "": 5,  # service/__init__.py: create_app assembles everything
}
FORBIDDEN = {
    "config": ("models", "service", "workers", "flask", "marshmallow"),
    "models": ("service", "workers", "flask", "marshmallow"),
    "workers": ("service", "flask", "marshmallow"),
    "service": ("workers",),
}


def _modules():
    for top in TOP:
        for path in sorted((ROOT / top).rglob("*.py")):
            if "migrations" in path.parts:
                continue
            yield path


def _name(path):
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path):
    """Every module name ``path`` imports (absolute imports; this project uses no relative ones)."""
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            if node.module == "service":  # ``from service import db``: the names are modules
                yield from (f"service.{alias.name}" for alias in node.names)
            else:
                yield node.module


def _service_rank(name):
    parts = name.split(".")
    key = parts[1] if len(parts) > 1 else ""
    assert key in SERVICE_RANKS, f"{name}: give service/{key} a rank in tests/unit/test_layers.py"
    return SERVICE_RANKS[key]


def _inside_service(top, other):
    return top == "service" and other.split(".")[0] == "service" and other != "service"


def _is_upward(top, name, other):
    if other.split(".")[0] in FORBIDDEN.get(top, ()):
        return True
    return _inside_service(top, other) and _service_rank(other) > _service_rank(name)


def upward_imports(name, imported):
    """The imports of module ``name`` that run against the layers (empty when it keeps them)."""
    top = name.split(".")[0]
    return [other for other in sorted(imported) if _is_upward(top, name, other)]


@pytest.mark.parametrize("path", list(_modules()), ids=lambda p: str(p.relative_to(ROOT)))
def test_no_module_imports_a_higher_layer(path):
    name = _name(path)
    assert upward_imports(name, set(_imports(path))) == []


def test_the_rule_catches_an_upward_import():
    """The check itself: what the tree once had (the dashboard reaching into the CLI, the input
    limits into SCIM, models into Flask) is refused."""
    assert upward_imports("service.dashboard.settings_api", {"service.cli.commands"}) == ["service.cli.commands"]
    assert upward_imports("service.edge.input_limits", {"service.scim.errors"}) == ["service.scim.errors"]
    assert upward_imports("models.db", {"flask"}) == ["flask"]
    assert upward_imports("workers.tasks", {"service.db"}) == ["service.db"]
    assert upward_imports("service.scim.views", {"service.db", "service.errors", "service.edge.input_limits"}) == []
