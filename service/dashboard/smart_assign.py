"""Smart Assign: the catalog, the company's due period and industry, group rules, and re-runs."""

from datetime import timedelta

from flask import abort, flash, g, jsonify, redirect, render_template, url_for
from sqlalchemy import select

from models import GroupRule, Job, utcnow
from models.company_training import company_catalog
from models.job import ACTIVE, FAILED, QUEUED, RERUN_SMART_ASSIGN
from service import broker, db
from service.company import group_rules, settings_log
from service.dashboard.blueprint import bp
from service.dashboard.forms import INDUSTRIES, ConfirmForm, GroupRuleForm, SmartAssignForm, choices

# A queued or running job that has not moved for this long no longer blocks a new re-run
# (its worker died and the broker lost the message, or no worker runs at all).
STALE_AFTER = timedelta(minutes=10)
BROKER_DOWN = (
    "The job queue cannot be reached right now, so the re-run did not start. "
    "Nothing was changed; try again in a minute."
)


def latest_job():
    """The signed-in company's most recent Smart Assign re-run job (None before the first)."""
    return db.session().scalar(
        select(Job)
        .where(Job.company_id == g.company.id, Job.kind == RERUN_SMART_ASSIGN)
        .order_by(Job.id.desc())
        .limit(1)
    )


def _industries():
    """The usual industries, plus the company's own value if an operator set another one."""
    industries = list(INDUSTRIES)
    if g.company.industry and g.company.industry not in {v for v, _ in industries}:
        industries.append((g.company.industry, g.company.industry))
    return choices(industries)


def _page(settings_form=None, rule_form=None, status=200):
    company = g.company
    form = settings_form or SmartAssignForm(due_days=company.due_days, industry=company.industry or "")
    form.industry.choices = _industries()
    return render_template(
        "dashboard/smart_assign.html",
        catalog=company_catalog(db.session(), company.id),
        settings_form=form,
        rule_form=rule_form or GroupRuleForm(),
        rules=group_rules.list_rules(db.session(), company.id) if company.groups_enabled else [],
        job=latest_job(),
        confirm=ConfirmForm(),
    ), status


@bp.get("/smart-assign")
def smart_assign():
    """The Smart Assign page: due period, industry, group rules and the latest re-run."""
    return _page()


@bp.post("/smart-assign/settings")
def smart_assign_settings():
    """Save the due period and industry; they apply to assignments made from now on."""
    form = SmartAssignForm()
    form.industry.choices = _industries()
    if not form.validate():
        return _page(settings_form=form, status=400)
    company, session = g.company, db.session()
    for setting, label, attr, value in (
        ("due_period", "Due period (days)", "due_days", form.due_days.data),
        ("industry", "Industry", "industry", form.industry.data or None),
    ):
        was = getattr(company, attr)
        settings_log.record(session, company.id, g.admin.email, setting, f"{label} changed", {attr: was}, {attr: value})
        setattr(company, attr, value)
    session.commit()
    flash(
        "Smart Assign settings saved. They apply to new assignments; re-run Smart Assign to apply them to "
        "every learner now.",
        "success",
    )
    return redirect(url_for("dashboard.smart_assign"))


@bp.post("/smart-assign/group-rules")
def add_group_rule():
    """Everyone in a group gets a training (only while group provisioning is on)."""
    if not g.company.groups_enabled:
        abort(404)
    form = GroupRuleForm()
    if not form.validate():
        return _page(rule_form=form, status=400)
    session = db.session()
    try:
        rule, created = group_rules.add_rule(session, g.company.id, form.group_name.data, form.training_code.data)
    except group_rules.RuleError as exc:
        form.group_name.errors = [str(exc)]
        return _page(rule_form=form, status=400)
    if created:
        rule_text = {"group": rule.group_name, "training_code": rule.training_code}
        settings_log.record(session, g.company.id, g.admin.email, "group_rules", "Group rule added", None, rule_text)
    session.commit()
    if created:
        flash(
            f"Rule added: members of “{rule.group_name}” get {rule.training_code}. "
            "Re-run Smart Assign to apply it to the group's current members.",
            "success",
        )
    else:
        flash(f"That rule exists already: members of “{rule.group_name}” get {rule.training_code}.", "info")
    return redirect(url_for("dashboard.smart_assign") + "#group-rules")


@bp.post("/smart-assign/group-rules/<int:rule_id>/delete")
def delete_group_rule(rule_id):
    """Remove a rule; trainings it assigned stay (Smart Assign never takes work away)."""
    session = db.session()
    rule = session.scalar(select(GroupRule).where(GroupRule.id == rule_id, GroupRule.company_id == g.company.id))
    if rule is None:
        abort(404)
    group_rules.remove_rule(session, g.company.id, rule.group_name, rule.training_code)
    rule_text = {"group": rule.group_name, "training_code": rule.training_code}
    settings_log.record(session, g.company.id, g.admin.email, "group_rules", "Group rule removed", rule_text, None)
    session.commit()
    flash(f"Rule removed: “{rule.group_name}” → {rule.training_code}. Trainings already assigned stay.", "success")
    return redirect(url_for("dashboard.smart_assign") + "#group-rules")


def start_rerun():
    """Queue a re-run of the signed-in company unless one is going; False (flashed) when it did not start."""
    session = db.session()
    now = utcnow()
    running = latest_job()
    if running is not None and running.status in ACTIVE and now - running.updated_at < STALE_AFTER:
        flash("A re-run is already in progress; its progress is shown below.", "info")
        return False
    job = Job(company_id=g.company.id, kind=RERUN_SMART_ASSIGN, status=QUEUED, created_at=now, updated_at=now)
    session.add(job)
    session.commit()
    if not broker.rerun_company(g.company.id, job.id):
        job.status, job.error, job.finished_at = FAILED, BROKER_DOWN, utcnow()
        session.commit()
        flash(BROKER_DOWN, "error")
        return False
    return True


@bp.post("/smart-assign/rerun")
def rerun():
    """Queue a re-evaluation of every learner; the page then polls the job's progress."""
    start_rerun()
    return redirect(url_for("dashboard.smart_assign") + "#rerun")


@bp.get("/jobs/<int:job_id>")
def job_status(job_id):
    """The progress of one of the company's jobs, as JSON for the page's poller."""
    job = db.session().scalar(select(Job).where(Job.id == job_id, Job.company_id == g.company.id))
    if job is None:
        abort(404)
    return jsonify(job.as_dict())
