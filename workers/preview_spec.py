"""A Smart Assign change written as plain data (a "spec"), and the ``Change`` it makes.

The same spec comes from ``./herd smart-assign preview`` options, a ``--dry-run`` of the
commands that make a change, and the dashboard's preview page (stored as JSON on the
preview job). Keys, each optional: ``industry`` (``""`` for none), ``lead_days``,
``due_days``, ``source`` (``["INPUT=SOURCE[,SOURCE...]"]``), ``alias``
(``[[input, value, to]]``), ``rule`` and ``drop_rule`` (``["GROUP=CODE"]``), ``cadence``
(``["CODE=MONTHS"]``, 0 for once) and ``add_training`` (``["CODE=TITLE"]``).
"""

from dataclasses import replace

from sqlalchemy import select

from models import GroupRule, value_aliases
from models.attribute_mapping import MappingError, effective, validate
from models.catalog import ALL, Training
from models.company_training import company_catalog
from workers.preview import Change

KEYS = ("industry", "lead_days", "due_days", "source", "alias", "rule", "drop_rule", "cadence", "add_training")


class SpecError(ValueError):
    """A spec that does not describe a change Herd can make; the message says what to write."""


def pairs(values, what):
    """``["KEY=VALUE", ...]`` -> ``[(key, value)]``; SpecError naming the expected form otherwise."""
    out = []
    for text in values or ():
        key, sep, value = str(text).partition("=")
        if not sep or not key.strip() or not value.strip():
            raise SpecError(f"'{text}': write {what}")
        out.append((key.strip(), value.strip()))
    return out


def _mapping(company, spec):
    mapping = company.attribute_mapping
    try:
        for name, sources in pairs(spec.get("source"), "INPUT=SOURCE[,SOURCE...]"):
            wanted = validate({**effective(mapping), name: [s.strip() for s in sources.split(",") if s.strip()]})
            mapping = {**wanted, **({"aliases": value_aliases.of(mapping)} if value_aliases.of(mapping) else {})}
        for alias in spec.get("alias") or ():
            if len(alias) != 3:
                raise SpecError("an alias is INPUT VALUE TO")
            mapping = value_aliases.add(mapping, *alias)
    except (MappingError, value_aliases.AliasError) as exc:
        raise SpecError(str(exc)) from None
    return mapping


def _catalog(session, company, spec):
    catalog = list(company_catalog(session, company.id))
    for code, months in pairs(spec.get("cadence"), "CODE=MONTHS (0: once)"):
        if not months.isdigit():
            raise SpecError(f"'{months}': a number of months")
        catalog = [replace(t, cadence_months=int(months) or None) if t.code == code.upper() else t for t in catalog]
    for code, title in pairs(spec.get("add_training"), "CODE=TITLE"):
        code = code.upper()
        catalog.append(Training(code, title, code, None, ALL, 12, None))
    return tuple(catalog)


def change_of(session, company, spec) -> Change:
    """The spec as a ``Change`` against the company as it is (SpecError when it is not one)."""
    unknown = set(spec) - set(KEYS)
    if unknown:
        raise SpecError(f"unknown change {sorted(unknown)[0]!r}")
    change = Change()
    for name in ("industry", "lead_days", "due_days"):
        if spec.get(name) is not None:
            change = replace(change, **{name: spec[name] or None if name == "industry" else spec[name]})
    mapping = _mapping(company, spec)
    if mapping is not company.attribute_mapping:
        change = replace(change, mapping=mapping)
    if spec.get("rule") or spec.get("drop_rule"):
        rules = [
            (r.group_name, r.training_code)
            for r in session.scalars(select(GroupRule).where(GroupRule.company_id == company.id))
        ]
        dropped = {(g.casefold(), c.upper()) for g, c in pairs(spec.get("drop_rule"), "GROUP=CODE")}
        rules = [(g, c) for g, c in rules if (g.casefold(), c.upper()) not in dropped]
        rules += pairs(spec.get("rule"), "GROUP=CODE")
        change = replace(change, rules=rules)
    if spec.get("cadence") or spec.get("add_training"):
        change = replace(change, catalog=_catalog(session, company, spec))
    return change
