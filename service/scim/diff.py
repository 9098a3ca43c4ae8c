"""What changed between two stored documents, for the provisioning event (and audit trail)."""


def flatten(doc, prefix=""):
    """``{"name": {"givenName": "Jo"}}`` -> ``{"name.givenName": "Jo"}``; lists stay whole."""
    out = {}
    for key, value in (doc or {}).items():
        path = f"{prefix}{key}"
        if isinstance(value, dict):
            out.update(flatten(value, f"{path}:" if key.lower().startswith("urn:") else f"{path}."))
        else:
            out[path] = value
    return out


def changes(before, after):
    """``{path: {"before": old, "after": new}}`` for every attribute that differs."""
    old, new = flatten(before), flatten(after)
    return {
        path: {"before": old.get(path), "after": new.get(path)}
        for path in sorted(set(old) | set(new))
        if old.get(path) != new.get(path)
    }
