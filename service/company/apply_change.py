"""Make a previewed Smart Assign change for real (the dashboard's "Apply"). Flushes only.

The change is the spec the preview looked at (``workers/preview_spec.py`` documents its
keys); each part is made through the same rules as the page or command that makes it
alone, and recorded in the admin trail. The caller commits, then starts the re-run.
"""

from models import value_aliases
from models.company_training import company_catalog
from service.company import catalog_edit, group_rules, mapping, settings_log


class ApplyError(ValueError):
    """A part of the change cannot be made (nothing is, the caller rolls back); the message says why."""


def _pairs(values):
    return [tuple(part.strip() for part in str(text).partition("=")[::2]) for text in values or ()]


def _settings(session, company, spec, actor):
    for name, setting, label in (
        ("industry", "industry", "Industry"),
        ("lead_days", "lead_days", "Recertification lead time (days)"),
        ("due_days", "due_period", "Due period (days)"),
    ):
        if spec.get(name) is None:
            continue
        value = spec[name] or None if name == "industry" else spec[name]
        was = getattr(company, name)
        settings_log.record(session, company.id, actor, setting, f"{label} changed", {name: was}, {name: value})
        setattr(company, name, value)


def _mapping(session, company, spec, actor):
    before = company.attribute_mapping
    try:
        for name, sources in _pairs(spec.get("source")):
            mapping.set_sources(company, name, mapping.parse_list(sources))
        for name, value, to in spec.get("alias") or ():
            company.attribute_mapping = value_aliases.add(company.attribute_mapping, name, value, to)
    except (mapping.MappingError, value_aliases.AliasError) as exc:
        raise ApplyError(str(exc)) from None
    if company.attribute_mapping != before:
        settings_log.record(
            session,
            company.id,
            actor,
            "mapping",
            "Attribute mapping changed",
            before,
            company.attribute_mapping,
        )


def _rules(session, company, spec, actor):
    try:
        for group, code in _pairs(spec.get("drop_rule")):
            if group_rules.remove_rule(session, company.id, group, code):
                rule = {"group": group, "training_code": code.upper()}
                settings_log.record(session, company.id, actor, "group_rules", "Group rule removed", rule, None)
        for group, code in _pairs(spec.get("rule")):
            rule, created = group_rules.add_rule(session, company.id, group, code)
            if created:
                text = {"group": rule.group_name, "training_code": rule.training_code}
                settings_log.record(session, company.id, actor, "group_rules", "Group rule added", None, text)
    except group_rules.RuleError as exc:
        raise ApplyError(str(exc)) from None


def _catalog(session, company, spec, actor):
    try:
        for code, title in _pairs(spec.get("add_training")):
            catalog_edit.add_training(session, company.id, code, title, 12, None)
            settings_log.record(session, company.id, actor, "catalog", "Training added", None, {"code": code.upper()})
        current = {t.code: t for t in company_catalog(session, company.id)}
        for code, months in _pairs(spec.get("cadence")):
            held = current.get(code.upper())
            if held is None or not months.isdigit():
                raise ApplyError(f"no training {code.upper()} with a cadence of {months} months")
            row = catalog_edit.set_training(session, company.id, code, int(months) or None, held.due_days)
            settings_log.record(
                session,
                company.id,
                actor,
                "catalog",
                f"{row.code} cadence changed",
                {"cadence_months": held.cadence_months},
                {"cadence_months": row.cadence_months},
            )
    except catalog_edit.CatalogError as exc:
        raise ApplyError(str(exc)) from None


def apply(session, company, spec, actor):
    """Make every part of ``spec`` for ``company`` on behalf of ``actor`` (ApplyError if one cannot be)."""
    _settings(session, company, spec, actor)
    _mapping(session, company, spec, actor)
    _rules(session, company, spec, actor)
    _catalog(session, company, spec, actor)
    session.flush()
