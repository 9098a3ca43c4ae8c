"""Smart Assign > Attribute mapping: where each Smart Assign input is read from, shown and changed.

A change applies to learners written from then on; the page then offers the
Smart Assign re-run (the same job as the Smart Assign page's), which re-reads
every stored learner through the new mapping.
"""

from flask import flash, g, redirect, render_template, request, url_for

from service import db
from service.company import mapping, settings_log
from service.dashboard.blueprint import bp
from service.dashboard.forms import ConfirmForm
from service.dashboard.smart_assign import latest_job


def _page(errors=None, typed=None, changed=False, status=200):
    return render_template(
        "dashboard/attribute_mapping.html",
        rows=mapping.rows(g.company),
        errors=errors or {},
        typed=typed or {},
        changed=changed,
        job=latest_job(),
        confirm=ConfirmForm(),
    ), status


@bp.get("/smart-assign/mapping")
def attribute_mapping():
    """The company's attribute mapping, one row per Smart Assign input."""
    return _page(changed=request.args.get("changed") == "1")


@bp.post("/smart-assign/mapping")
def save_attribute_mapping():
    """Save the sources typed for every input (one per line), or reset them all to the defaults."""
    form = ConfirmForm()
    if not form.validate():
        return _page(status=400)
    company = g.company
    was = mapping.effective_of(company)
    if request.form.get("action") == "reset":
        changed = mapping.reset(company)
    else:
        typed = {name: request.form.get(f"sources-{name}", "") for name in mapping.INPUTS}
        errors, changed = {}, False
        before = company.attribute_mapping
        for name, text in typed.items():
            try:
                changed |= mapping.set_sources(company, name, mapping.parse_list(text))
            except mapping.MappingError as exc:
                errors[name] = str(exc)
        if errors:
            company.attribute_mapping = before
            db.session().rollback()
            return _page(errors=errors, typed=typed, status=400)
    if changed:
        summary = "Attribute mapping reset to the defaults" if request.form.get("action") == "reset" else None
        settings_log.record(
            db.session(),
            company.id,
            g.admin.email,
            "mapping",
            summary or "Attribute mapping changed",
            was,
            mapping.effective_of(company),
        )
    db.session().commit()
    if not changed:
        flash("Nothing changed.", "info")
        return redirect(url_for("dashboard.attribute_mapping"))
    flash(
        "Attribute mapping saved. Learners your identity provider changes from now on are read with it; "
        "re-run Smart Assign to apply it to every learner now.",
        "success",
    )
    return redirect(url_for("dashboard.attribute_mapping", changed=1) + "#rerun")
