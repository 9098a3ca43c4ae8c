"""Reports › Compliance: figures by training and region, the trainings owed by standing per region
or department (an SVG drawn on the server, no script), and the per-learner CSV download."""

from flask import Response, abort, g, render_template, request
from markupsafe import Markup

from models import Learner, utcnow
from service import db
from service.dashboard.blueprint import bp
from service.reports import manager_chain
from service.reports.chart_svg import STANDINGS, by_standing, stacked_bars
from service.reports.compliance import STATUSES, summary
from service.reports.csv_export import filename, stream
from service.reports.manager_chain import below
from service.reports.people import LATE, filter_choices, people_page

PEOPLE_PER_PAGE = 50
CHART_BY = {"region": "Region", "department": "Department"}
# Managers shown on the report: those with the most overdue and expired trainings (a company of
# 100,000 has thousands of managers; each row links to the people behind it).
MANAGERS_SHOWN = 50

STATUS_LABELS = {
    "assigned": "Assigned",
    "in_progress": "In progress",
    "overdue": "Overdue",
    "completed": "Completed (valid)",
    "expired": "Expired",
}


@bp.get("/reports/compliance")
def compliance():
    """The compliance report page."""
    session, now = db.session(), utcnow()
    manager, within = _manager(session)
    # The managers ranked and the learners counted (those of the chain, and the whole company's
    # for the compliant share) in one pass on the learners, on a connection of its own while
    # this one groups the rows owed: the page takes the longer of the two, not their sum.
    ranked = db.run_aside(manager_chain.most_late_and_counts, g.company.id, now, within, MANAGERS_SHOWN)
    report = summary(session, g.company.id, now, within, detail=True, counts=lambda: ranked.result()[2])
    most_late, managers, _, company = ranked.result()
    active, _, behind = company
    compliant = active - behind
    chart_by = request.args.get("chart", "region")
    chart_by = chart_by if chart_by in CHART_BY else "region"
    rows = report["by_region"] if chart_by == "region" else report["by_department"]
    bars = [(group or "No department", counts) for group, counts in by_standing(rows, chart_by)]
    chart = stacked_bars(
        bars,
        f"Trainings owed by {chart_by}, by standing",
        f"One bar per {chart_by}: its trainings compliant, due, overdue and expired; "
        "the table below the chart lists the same figures.",
    )
    return render_template(
        "dashboard/compliance.html",
        report=report,
        statuses=STATUSES,
        status_labels=STATUS_LABELS,
        chart=Markup(chart),  # built from escaped labels and numbers only (service.reports.chart_svg)
        bars=bars,
        standings=STANDINGS,
        chart_by=chart_by,
        chart_choices=CHART_BY,
        now=now,
        compliant=compliant,
        active=active,
        manager=manager,
        by_manager=manager_chain.named(session, g.company.id, most_late),
        more_managers=managers - len(most_late),
    )


def _choice(name, allowed):
    """A filter's value from the query string, or None when it is not one of ``allowed``."""
    value = request.args.get(name, "")
    return value if value in allowed else None


@bp.get("/reports/compliance/people")
def compliance_people():
    """People with overdue or expired work (or another standing), filterable, each linking to the learner."""
    session, now, company_id = db.session(), utcnow(), g.company.id
    choices = filter_choices(session, company_id)
    status = _choice("status", STATUSES)
    filters = {
        "region": _choice("region", choices["regions"]),
        "department": _choice("department", choices["departments"]),
        "training": _choice("training", choices["trainings"]),
    }
    manager, within = _manager(session)
    direct = manager is not None and request.args.get("direct") == "1"
    page = request.args.get("page", "1")
    page = int(page) if page.isdigit() and 0 < int(page) < 100_000 else 1
    people, total = people_page(
        session,
        company_id,
        now,
        page,
        PEOPLE_PER_PAGE,
        statuses=(status,) if status else LATE,
        within=None if direct else within,
        direct=manager.id if direct else None,
        **filters,
    )
    return render_template(
        "dashboard/compliance_people.html",
        people=people,
        total=total,
        page=page,
        pages=max(1, -(-total // PEOPLE_PER_PAGE)),
        status=status or "",
        filters=filters,
        choices=choices,
        statuses=STATUSES,
        status_labels=STATUS_LABELS,
        now=now,
        manager=manager,
        direct=direct,
    )


def _manager(session):
    """``?manager=<learner id>``: the learner and the chain below them (404 if not this company's)."""
    manager_id = request.args.get("manager")
    if not manager_id:
        return None, None
    manager = session.get(Learner, manager_id[:36])
    if manager is None or manager.company_id != g.company.id:
        abort(404)
    return manager, below(g.company.id, manager.id)


@bp.get("/reports/compliance.csv")
def compliance_csv():
    """Every learner's row per training owed, streamed as CSV."""
    company_id, now = g.company.id, utcnow()
    _, within = _manager(db.session())
    return Response(
        stream(db.session_factory(), company_id, now, within),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{filename(company_id, now)}"'},
    )
