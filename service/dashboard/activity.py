"""Provisioning activity: the audit trail and the SCIM calls that failed, newest first, in one list.

Both tables are read newest first by ``(time, id)`` through their
``(company_id, time, id)`` indexes and merged; the cursor carries the
source's rank so rows with the same timestamp are neither skipped nor repeated.
"""

from dataclasses import dataclass
from datetime import datetime

from flask import g, render_template, request
from sqlalchemy import and_, or_, select

from models import AuditEvent, Learner, ScimFailure
from models.normalize import name_key
from service import db
from service.dashboard.admin_trail import RUN_KINDS, recent_runs
from service.dashboard.blueprint import bp
from service.dashboard.learners import SEARCH_CAP, search_candidates

PAGE_SIZE = 50
# The latest runs shown above the list; every run is on the admin changes page.
RECENT_RUNS = 3
# A learner's own trail is read whole up to this many rows (per source) and sorted in Python.
LEARNER_ROWS = 5_000
FAILED = "failed"
# Sources in newest-first order at equal timestamps: a change before a failure.
AUDIT_RANK, FAILURE_RANK = 1, 0
KINDS = [
    ("", "Everything"),
    (FAILED, "Failed SCIM requests"),
    ("User:create", "Learner created"),
    ("User:update", "Learner updated (PATCH)"),
    ("User:replace", "Learner replaced (PUT)"),
    ("User:deactivate", "Learner deactivated"),
    ("User:reactivate", "Learner reactivated"),
    ("User:delete", "Learner deleted"),
    ("User:restore", "Learner restored"),
    ("User:rerun", "Smart Assign re-run changed trainings"),
    ("User:recertify", "Nightly run changed trainings"),
    ("Group:create", "Group created"),
    ("Group:update", "Group updated"),
    ("Group:replace", "Group replaced"),
    ("Group:delete", "Group deleted"),
]


@dataclass(frozen=True)
class Entry:
    """One line of the activity list: an audit event or a failed SCIM call."""

    when: datetime
    rank: int
    id: int
    audit: AuditEvent | None = None
    failure: ScimFailure | None = None

    @property
    def cursor(self):
        return f"{self.when.isoformat()}~{self.rank}~{self.id}"


def _decode(cursor):
    try:
        when, rank, key = cursor.split("~")
        return datetime.fromisoformat(when), int(rank), int(key)
    except (AttributeError, ValueError):
        return None


def _older(when_col, id_col, rank, cursor):
    """Rows of a source with ``rank`` that come after ``cursor`` in newest-first order."""
    when, c_rank, c_id = cursor
    if rank == c_rank:
        return or_(when_col < when, and_(when_col == when, id_col < c_id))
    return when_col <= when if rank < c_rank else when_col < when


def find_learners(session, company_id, text):
    """Ids of the company's learners matching ``text`` (deleted ones too): its id, userName or
    email exactly (three index probes, the usual case: a value copied from Entra's log), else a
    name, email, department or title that starts with or contains it, as the Learners tab searches
    (``service.dashboard.learners.search_candidates``, at most SEARCH_CAP ids)."""
    text = text.strip()
    if not text:
        return []
    found = {}
    for cond in (Learner.id == text, Learner.user_name_key == name_key(text), Learner.email_lower == text.lower()):
        found.update(dict.fromkeys(session.scalars(select(Learner.id).where(Learner.company_id == company_id, cond))))
    return list(found) or search_candidates(session, company_id, text, SEARCH_CAP)


def _newest(session, query, when_col, id_col, by_learner, page_size):
    """The newest ``page_size + 1`` rows of ``query``. For one learner's rows the
    (company, learner) index finds them all and they are few: sort here rather than let a
    planner walk the company's whole trail in time order looking for them."""
    if by_learner:
        rows = session.scalars(query.limit(LEARNER_ROWS)).all()
        return sorted(rows, key=lambda r: (getattr(r, when_col.key), getattr(r, id_col.key)), reverse=True)[
            : page_size + 1
        ]
    return session.scalars(query.order_by(when_col.desc(), id_col.desc()).limit(page_size + 1)).all()


def activity_page(session, company_id, kind="", learner_ids=None, after=None, page_size=PAGE_SIZE):
    """Up to ``page_size`` entries older than ``after``, newest first, and the next cursor."""
    cursor = _decode(after) if after else None
    by_learner = learner_ids is not None
    entries = []
    if kind != FAILED:
        query = select(AuditEvent).where(AuditEvent.company_id == company_id)
        if kind:
            resource_type, _, action = kind.partition(":")
            query = query.where(AuditEvent.resource_type == resource_type, AuditEvent.action == action)
        if by_learner:
            query = query.where(AuditEvent.learner_id.in_(learner_ids))
        if cursor:
            query = query.where(_older(AuditEvent.occurred_at, AuditEvent.id, AUDIT_RANK, cursor))
        rows = _newest(session, query, AuditEvent.occurred_at, AuditEvent.id, by_learner, page_size)
        entries += [Entry(r.occurred_at, AUDIT_RANK, r.id, audit=r) for r in rows]
    if kind in ("", FAILED):
        # Rows without a token name came from calls without a valid token (recorded before
        # service.edge.failures stopped keeping them): a stranger's text, never shown.
        query = select(ScimFailure).where(ScimFailure.company_id == company_id, ScimFailure.token_name.is_not(None))
        if by_learner:
            query = query.where(ScimFailure.resource_id.in_(learner_ids))
        if cursor:
            query = query.where(_older(ScimFailure.occurred_at, ScimFailure.id, FAILURE_RANK, cursor))
        rows = _newest(session, query, ScimFailure.occurred_at, ScimFailure.id, by_learner, page_size)
        entries += [Entry(r.occurred_at, FAILURE_RANK, r.id, failure=r) for r in rows]
    entries.sort(key=lambda e: (e.when, e.rank, e.id), reverse=True)
    page = entries[:page_size]
    return page, (page[-1].cursor if len(entries) > page_size else None)


def learner_names(session, company_id, entries):
    """userName by learner id for the learners named on a page (one query)."""
    ids = {e.audit.learner_id for e in entries if e.audit and e.audit.resource_type == "User" and e.audit.learner_id}
    ids |= {e.failure.resource_id for e in entries if e.failure and e.failure.resource_id}
    if not ids:
        return {}
    rows = session.execute(
        select(Learner.id, Learner.user_name).where(Learner.company_id == company_id, Learner.id.in_(ids))
    ).all()
    return dict(rows)


@bp.get("/activity")
def activity():
    """The provisioning activity, filterable by kind and learner."""
    session = db.session()
    kind = request.args.get("kind", "")
    if kind not in {k for k, _ in KINDS}:
        kind = ""
    learner_text = request.args.get("learner", "").strip()
    learner_ids = find_learners(session, g.company.id, learner_text) if learner_text else None
    entries, older = activity_page(session, g.company.id, kind, learner_ids, request.args.get("after"))
    return render_template(
        "dashboard/activity.html",
        entries=entries,
        older=older,
        kinds=KINDS,
        kind=kind,
        learner_text=learner_text,
        learner_found=learner_ids is None or bool(learner_ids),
        names=learner_names(session, g.company.id, entries),
        first_page=not request.args.get("after"),
        runs=recent_runs(session, g.company.id, RECENT_RUNS),
        run_kinds=RUN_KINDS,
    )
