"""The Smart Assign doctor page, its value aliases, and the banner of a new connection."""

from flask import flash, g, redirect, render_template, request, url_for

from models import value_aliases
from service import db
from service.company import settings_log
from service.dashboard.blueprint import bp
from service.dashboard.forms import AliasForm
from service.reports.idp_fixes import IDPS
from service.reports.smart_assign_coverage import banner, coverage

LABELS = {"state": "State", "country": "Country", "role": "Role", "training_tags": "Training tags"}
IDP_NAMES = {
    "entra": "Microsoft Entra ID",
    "okta": "Okta",
    "onelogin": "OneLogin",
    "jumpcloud": "JumpCloud",
    "rippling": "Rippling",
}


def _page(form=None, status=200):
    idp = request.args.get("idp", "entra")
    context = {
        "report": coverage(db.session(), g.company.id),
        "aliases": value_aliases.of(g.company.attribute_mapping),
        "idp": idp if idp in IDPS else "entra",
        "form": form or AliasForm(),
    }
    return render_template("dashboard/doctor.html", labels=LABELS, idp_names=IDP_NAMES, **context), status


@bp.get("/smart-assign/doctor")
def doctor():
    """Which Smart Assign inputs the company's active learners lack, and how to fix each."""
    return _page()


def _saved(form):
    """Store the form's alias; False (with the reason on the form) when it is not a known value."""
    company, was = g.company, g.company.attribute_mapping
    try:
        company.attribute_mapping = value_aliases.add(was, form.input.data, form.value.data, form.to.data)
    except value_aliases.AliasError as exc:
        form.to.errors = [str(exc)]
        return False
    summary = f"Alias saved: {LABELS[form.input.data]} “{form.value.data}” reads as {form.to.data}"
    settings_log.record_aliases(db.session(), company, g.admin.email, form.input.data, was, summary)
    db.session().commit()
    return True


@bp.post("/smart-assign/doctor/aliases")
def add_alias():
    """Read an unrecognised value as a known one from now on."""
    form = AliasForm()
    if not (form.validate() and _saved(form)):
        return _page(form, 400)
    flash(
        f"Alias saved: {LABELS[form.input.data]} “{form.value.data}” now reads as {form.to.data}. "
        "New events apply it; re-run Smart Assign to apply it to the learners already here.",
        "success",
    )
    return redirect(url_for("dashboard.doctor") + "#aliases")


@bp.post("/smart-assign/doctor/aliases/remove")
def remove_alias():
    """Forget an alias (learners keep what they were assigned)."""
    form = AliasForm()
    name, value = form.input.data, form.value.data
    if name in value_aliases.INPUTS and isinstance(value, str):
        was = g.company.attribute_mapping
        g.company.attribute_mapping = value_aliases.remove(was, name, value) or None
        summary = f"Alias removed: {LABELS[name]} “{value}”"
        settings_log.record_aliases(db.session(), g.company, g.admin.email, name, was, summary)
        db.session().commit()
        flash(f"Alias removed: {LABELS[name]} “{value}”.", "success")
    return redirect(url_for("dashboard.doctor") + "#aliases")


@bp.app_context_processor
def _doctor_banner():
    def doctor_banner():
        if getattr(g, "company", None) is None:
            return None
        return banner(db.session(), g.company)

    return {"doctor_banner": doctor_banner}
