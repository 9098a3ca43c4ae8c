"""Smart Assign › Catalog: the company's cadence and due period per training, and its own trainings."""

from flask import abort, flash, g, redirect, render_template, request, url_for
from flask_wtf import FlaskForm
from sqlalchemy import select
from wtforms import IntegerField, StringField
from wtforms.validators import Length, Optional

from models import CompanyTraining
from models.catalog import by_code, legal_cadence
from models.company_training import company_catalog
from service import db
from service.company import catalog_edit, settings_log
from service.dashboard.blueprint import bp

_DEFAULTS = by_code()


class TrainingForm(FlaskForm):
    """Cadence (months, empty = taken once) and due period (days, empty = company default)."""

    cadence_months = IntegerField("Recertify every (months)", validators=[Optional()])
    due_days = IntegerField("Due period (days)", validators=[Optional()])
    title = StringField("Title", validators=[Optional(), Length(max=200)])


class NewTrainingForm(TrainingForm):
    code = StringField("Code", validators=[Length(max=40)])


def _page(new_form=None, error_code=None, error=None, status=200, typed=None, confirm=False):
    session = db.session()
    changed = {
        r.code: r for r in session.scalars(select(CompanyTraining).where(CompanyTraining.company_id == g.company.id))
    }
    return render_template(
        "dashboard/catalog.html",
        catalog=company_catalog(session, g.company.id),
        defaults=_DEFAULTS,
        changed=changed,
        form=TrainingForm(),
        new_form=new_form or NewTrainingForm(),
        error_code=error_code,
        error=error,
        typed=typed or {},
        confirm=confirm,
        legal_cadence=legal_cadence,
        saved=request.args.get("saved", ""),
    ), status


@bp.get("/smart-assign/catalog")
def catalog():
    return _page()


@bp.post("/smart-assign/catalog/<code>")
def catalog_set(code):
    """Save one training's cadence and due period."""
    form = TrainingForm()
    code = code.upper()
    if catalog_edit.find(db.session(), g.company.id, code) is None:
        abort(404)
    if not form.validate():
        return _page(error_code=code, error="Enter whole numbers of months and days.", status=400)
    training = catalog_edit.find(db.session(), g.company.id, code)
    was, cadence, legal = catalog_edit.trail_values(training), form.cadence_months.data, legal_cadence(training)
    if legal and (cadence is None or cadence > legal) and request.form.get("below_legal") != "yes":
        # Longer than the law allows (or taken once): saved only once the admin confirms it.
        what = "taking it once" if cadence is None else f"every {cadence} months"
        return _page(
            error_code=code,
            error=f"Not saved: the law requires {code} at least every {legal} months, so {what} is below "
            "the legal minimum. Tick “Save below the legal minimum” and save again to keep it.",
            status=400,
            typed={"cadence_months": cadence, "due_days": form.due_days.data},
            confirm=True,
        )
    try:
        catalog_edit.set_training(
            db.session(), g.company.id, code, form.cadence_months.data, form.due_days.data, form.title.data
        )
    except catalog_edit.CatalogError as exc:
        db.session().rollback()
        return _page(error_code=code, error=f"Not saved: {exc}.", status=400)
    now = catalog_edit.trail_values(catalog_edit.find(db.session(), g.company.id, code))
    settings_log.record(db.session(), g.company.id, g.admin.email, "catalog", f"{code} edited", was, now)
    db.session().commit()
    flash(
        f"{code} saved. New assignments use it; learners who hold it are re-planned by the next daily run.",
        "success",
    )
    # The row says "Saved" too: the page opens at the row, below the message at the top.
    return redirect(url_for("dashboard.catalog", saved=code) + f"#t-{code}")


@bp.post("/smart-assign/catalog/<code>/reset")
def catalog_reset(code):
    """Go back to the default catalog's values."""
    code = code.upper()
    if code not in _DEFAULTS:
        abort(404)
    if not FlaskForm().validate():
        abort(400)
    was = catalog_edit.trail_values(catalog_edit.find(db.session(), g.company.id, code))
    catalog_edit.reset_training(db.session(), g.company.id, code)
    now = catalog_edit.trail_values(catalog_edit.find(db.session(), g.company.id, code))
    settings_log.record(db.session(), g.company.id, g.admin.email, "catalog", f"{code} reset to the default", was, now)
    db.session().commit()
    flash(f"{code} is back to the default.", "success")
    return redirect(url_for("dashboard.catalog") + f"#t-{code}")


@bp.post("/smart-assign/catalog")
def catalog_add():
    """Add a training of the company's own."""
    form = NewTrainingForm()
    if not form.validate():
        return _page(new_form=form, error_code="new", error="Enter whole numbers of months and days.", status=400)
    try:
        row = catalog_edit.add_training(
            db.session(), g.company.id, form.code.data, form.title.data, form.cadence_months.data, form.due_days.data
        )
    except catalog_edit.CatalogError as exc:
        db.session().rollback()
        return _page(new_form=form, error_code="new", error=f"Not added: {exc}.", status=400)
    added = catalog_edit.trail_values(catalog_edit.find(db.session(), g.company.id, row.code))
    settings_log.record(db.session(), g.company.id, g.admin.email, "catalog", f"{row.code} added", None, added)
    db.session().commit()
    flash(f"{row.code} added. Training tags and group rules can assign it now.", "success")
    return redirect(url_for("dashboard.catalog") + f"#t-{row.code}")
