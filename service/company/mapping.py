"""A company's attribute mapping, read and changed (operator CLI and dashboard).

Flushes only; the caller commits. A change applies to every learner written from
then on; the learners already stored are re-read by a Smart Assign re-run
(``workers/rerun.py`` re-extracts each learner's inputs with the new mapping), which
the CLI and the dashboard offer after every change.
"""

from models import value_aliases
from models.attribute_mapping import DEFAULT_MAPPING, INPUTS, MappingError, effective, validate

__all__ = ["INPUTS", "MappingError", "effective_of", "reset", "rows", "set_sources"]

LABELS = {
    "state": "State",
    "country": "Country",
    "location": "Location (city)",
    "role": "Role (supervisor or not)",
    "training_tags": "Training tags",
    "department": "Department",
}


def rows(company):
    """``[(input, label, sources, is_default)]`` in the order Smart Assign lists its inputs."""
    mapping = effective(company.attribute_mapping)
    return [(name, LABELS[name], mapping[name], mapping[name] == DEFAULT_MAPPING[name]) for name in INPUTS]


def effective_of(company):
    """``{input: [sources]}`` the company's learners are read with now (the admin trail's values)."""
    return effective(company.attribute_mapping)


def parse_list(text):
    """Sources typed one per line (dashboard) or comma-separated (CLI) -> a list."""
    parts = text.replace("\r", "").replace("\n", ",").split(",") if isinstance(text, str) else []
    return [p.strip() for p in parts if p.strip()]


def set_sources(company, name, sources):
    """Set one input's ordered sources; MappingError (with what to fix) if they are not valid.

    Returns True when the mapping changed.
    """
    if name not in INPUTS:
        raise MappingError(f"Unknown input '{name}': the inputs are {', '.join(INPUTS)}.")
    current = effective(company.attribute_mapping)
    wanted = validate({**current, name: list(sources)})
    return _store(company, wanted)


def reset(company, name=None):
    """Back to the default sources for one input (or all); returns True when the mapping changed."""
    current = effective(company.attribute_mapping)
    wanted = dict(DEFAULT_MAPPING) if name is None else {**current, name: DEFAULT_MAPPING[name]}
    return _store(company, wanted)


def _store(company, wanted):
    if wanted == effective(company.attribute_mapping):
        return False
    # Only what differs from the defaults is stored, so improved defaults reach every company.
    changed = {k: v for k, v in wanted.items() if v != DEFAULT_MAPPING[k]}
    # The company's value aliases ride in the same document: a source change keeps them.
    aliases = value_aliases.of(company.attribute_mapping)
    if aliases:
        changed["aliases"] = aliases
    company.attribute_mapping = changed or None
    return True
