"""The Learners tab: search, filters and keyset paging; one learner with everything Herd knows."""

import json
import time

from flask import abort, g, render_template, request
from sqlalchemy import and_, func, or_, select

from models import AuditEvent, Learner, LearnerTraining, ProvisioningEvent, ScimFailure, normalize, utcnow
from models.catalog import by_code
from models.company_training import company_catalog
from models.diagnosis import diagnose
from models.normalize import name_key, normalize_role
from service import db
from service.dashboard import paging
from service.dashboard.blueprint import bp
from service.dashboard.learner_sort import KEYS, SORTS, encode, sorted_few, sorted_page
from service.dashboard.learner_sort_joined import ARMS, joined_page
from service.dashboard.learner_sort_joined import SORTS as JOINED_SORTS

PAGE_SIZE = 50
# Counting stops here: an exact count of a broad filter over 100k learners is not worth its cost.
COUNT_CAP = 10_000
SEARCH_CAP = 1_000
REPORTS_SHOWN = 100
FACETS_TTL = 60.0
STATUSES = [("", "All"), ("active", "Active"), ("inactive", "Inactive"), ("deleted", "Deleted in the IdP")]
ROLES = [("", "All"), ("supervisor", "Supervisor"), ("non-supervisor", "Non-supervisor"), ("other", "Other or missing")]
TITLES = {code: t.title for code, t in by_code().items()}

_facets_cache = {}


def facets(session, company_id):
    """Locations and raw role values present in the company (cached briefly: a GROUP BY over 100k rows)."""
    hit = _facets_cache.get(company_id)
    if hit and time.monotonic() - hit[0] < FACETS_TTL:
        return hit[1]
    places = session.execute(
        select(Learner.region, Learner.country)
        .where(Learner.company_id == company_id)
        .group_by(Learner.region, Learner.country)
    ).all()
    roles = session.scalars(select(Learner.role).where(Learner.company_id == company_id).group_by(Learner.role)).all()
    regions = sorted({r for r, _ in places if r})
    countries = sorted({c for r, c in places if c and not r})
    result = {"regions": regions, "countries": countries, "roles": roles}
    _facets_cache[company_id] = (time.monotonic(), result)
    return result


def _role_clause(wanted, raw_roles):
    """Filter by normalized role through the raw values present (SQL keeps what was sent)."""
    matching = [r for r in raw_roles if r is not None and normalize_role(r) == wanted]
    if wanted == "other":
        known = [r for r in raw_roles if r is not None and normalize_role(r) != "other"]
        return or_(Learner.role.is_(None), Learner.role.not_in(known)) if known else True
    return Learner.role.in_(matching) if matching else False


def _starts_with(expr, prefix):
    """``expr`` starts with ``prefix``, written as a range an index can serve (plus the exact test)."""
    upper = prefix[:-1] + chr(ord(prefix[-1]) + 1) if ord(prefix[-1]) < 0x10FFFF else None
    return and_(expr >= prefix, *([expr < upper] if upper else []), expr.startswith(prefix, autoescape=True))


def _search_arms(text):
    prefix = text.lower()
    return [
        _starts_with(Learner.user_name_key, name_key(text)),
        _starts_with(Learner.email_lower, prefix),
        _starts_with(func.lower(Learner.given_name), prefix),
        _starts_with(func.lower(Learner.family_name), prefix),
        _starts_with(func.lower(Learner.display_name), prefix),
        Learner.id == text,
        # Anywhere in the name, email, department or title ("Sales", "smith"): after the prefix arms,
        # so a search for a person is answered by the indexes before any scan, and one arm, so
        # a search that finds nobody scans the company once, not once per column.
        or_(
            func.lower(Learner.display_name).contains(prefix, autoescape=True),
            Learner.email_lower.contains(prefix, autoescape=True),
            func.lower(Learner.department).contains(prefix, autoescape=True),
            func.lower(Learner.title).contains(prefix, autoescape=True),
        ),
    ]


def search_clause(text):
    """Learners whose userName, email, given, family or display name starts with ``text`` (any case),
    whose name, email, department or title contains it, or whose id is ``text``."""
    return or_(*_search_arms(text))


def search_candidates(session, company_id, text, limit):
    """Up to ``limit`` ids matching ``text``: one small query per arm, each an index range that
    stops at ``limit``, so the cost follows the number of matches, not the company's size
    (and does not hinge on the planner seeing through an OR)."""
    found = {}
    for arm in _search_arms(text):
        ids = session.scalars(select(Learner.id).where(Learner.company_id == company_id, arm).limit(limit)).all()
        found.update(dict.fromkeys(ids))
        if len(found) >= limit:
            break
    return list(found)[:limit]


def _conditions(args, company_id, facet):
    conds = [Learner.company_id == company_id]
    status = args.get("status", "")
    if status == "active":
        conds += [Learner.active.is_(True), Learner.deleted_at.is_(None)]
    elif status == "inactive":
        conds += [Learner.active.is_(False), Learner.deleted_at.is_(None)]
    elif status == "deleted":
        conds.append(Learner.deleted_at.is_not(None))
    location = args.get("location", "")
    kind, _, value = location.partition(":")
    if kind == "region" and value:
        conds.append(Learner.region == value)
    elif kind == "country" and value:
        conds += [Learner.country == value, Learner.region.is_(None)]
    elif location == "none":
        conds += [Learner.region.is_(None), Learner.country.is_(None)]
    role = args.get("role", "")
    if role in {"supervisor", "non-supervisor", "other"}:
        conds.append(_role_clause(role, facet["roles"]))
    return conds


def manager_names(session, company_id, rows):
    """``{manager id: name}`` for the managers of one page of learners (one query)."""
    ids = {row.manager_id for row in rows if row.manager_id}
    if not ids:
        return {}
    return dict(
        session.execute(
            select(Learner.id, func.coalesce(Learner.display_name, Learner.user_name)).where(
                Learner.company_id == company_id, Learner.id.in_(ids)
            )
        ).all()
    )


def overdue_counts(session, learner_ids):
    """``{learner_id: overdue trainings}`` for one page of learners (one query)."""
    if not learner_ids:
        return {}
    rows = session.execute(
        select(LearnerTraining.learner_id, func.count())
        .where(LearnerTraining.learner_id.in_(learner_ids), LearnerTraining.status == "overdue")
        .group_by(LearnerTraining.learner_id)
    ).all()
    return dict(rows)


@bp.app_template_filter("place")
def place_name(code):
    """'US-CA' -> 'California', 'CA' -> 'Canada' (ISO 3166 names; '' when unknown)."""
    return normalize.place_name(code) or ""


def learner_count(session, company_id, args):
    """``(count, capped)`` of the learners the list shows for these filters (the home page's figures)."""
    conds = _conditions(args, company_id, facets(session, company_id))
    return paging.capped_count(session, select(Learner.id).where(*conds), COUNT_CAP)


def learner_page(session, company_id, args, page_size=PAGE_SIZE):
    """One page of learners (newest first, or by ``args["sort"]``) with the cursors around it
    and a capped count."""
    facet = facets(session, company_id)
    conds = _conditions(args, company_id, facet)
    sort = args.get("sort", "")
    sort = sort if sort in KEYS or sort in ARMS else ""
    q = args.get("q", "").strip()
    if sort in ARMS:
        return _joined(session, company_id, sort, q, conds, args, page_size, facet)
    if q:
        # The matches come from the search indexes first. A few (the usual search for a
        # person): page through exactly those. Many: they are dense, so the newest-first
        # walk below finds a page of them at once.
        ids = search_candidates(session, company_id, q, SEARCH_CAP + 1)
        if len(ids) <= SEARCH_CAP and sort:
            rows, later, earlier, count = sorted_few(
                session, sort, ids, conds, args.get("after"), args.get("before"), page_size
            )
            return _sorted_result(rows, count, False, later, earlier, facet)
        if len(ids) <= SEARCH_CAP:
            after, before = paging.decode(args.get("after")), paging.decode(args.get("before"))
            return _page_of_few(session, ids, conds, after, before, page_size, facet)
        conds.append(search_clause(q))
    if sort:
        rows, later, earlier = sorted_page(session, sort, conds, args.get("after"), args.get("before"), page_size)
        count, capped = paging.capped_count(session, select(Learner.id).where(*conds), SEARCH_CAP if q else COUNT_CAP)
        return _sorted_result(rows, count, capped, later, earlier, facet)
    after, before = paging.decode(args.get("after")), paging.decode(args.get("before"))
    query = select(Learner).where(*conds)
    if before:
        rows = session.scalars(
            query.where(paging.newer_than(Learner.created_at, Learner.id, *before))
            .order_by(Learner.created_at, Learner.id)
            .limit(page_size + 1)
        ).all()
        has_newer, rows = len(rows) > page_size, list(reversed(rows[:page_size]))
        has_older = True
    else:
        if after:
            query = query.where(paging.older_than(Learner.created_at, Learner.id, *after))
        rows = session.scalars(query.order_by(Learner.created_at.desc(), Learner.id.desc()).limit(page_size + 1)).all()
        has_older, rows = len(rows) > page_size, rows[:page_size]
        has_newer = after is not None
    count, capped = paging.capped_count(session, select(Learner.id).where(*conds), SEARCH_CAP if q else COUNT_CAP)
    return _result(rows, count, capped, has_older, has_newer, facet)


def _joined(session, company_id, sort, q, conds, args, page_size, facet):
    """A page sorted by the manager's name or the overdue count (``learner_sort_joined``); a
    search's few matches are a list of ids to walk, its many a condition as above."""
    cap = SEARCH_CAP if q else COUNT_CAP
    if q:
        ids = search_candidates(session, company_id, q, SEARCH_CAP + 1)
        conds.append(Learner.id.in_(ids) if len(ids) <= SEARCH_CAP else search_clause(q))
    rows, older, newer = joined_page(session, company_id, sort, conds, args.get("after"), args.get("before"), page_size)
    count, capped = paging.capped_count(session, select(Learner.id).where(*conds), cap)
    return {
        "rows": rows,
        "count": count,
        "capped": capped,
        "older": older,
        "newer": newer,
        "facets": facet,
        "sorted": True,
    }


def _page_of_few(session, ids, conds, after, before, page_size, facet):
    """Page through at most SEARCH_CAP known ids: their sort keys by primary key, ordered here."""
    keys = []
    if ids:
        keys = session.execute(select(Learner.created_at, Learner.id).where(Learner.id.in_(ids), *conds)).all()
    keys = sorted(((when, key) for when, key in keys), reverse=True)
    if before:
        newer = [k for k in keys if k > before]
        window = newer[-page_size:]
        has_newer, has_older = len(newer) > page_size, True
    else:
        older = [k for k in keys if k < after] if after else keys
        window = older[:page_size]
        has_older, has_newer = len(older) > page_size, after is not None
    by_id = {}
    if window:
        by_id = {r.id: r for r in session.scalars(select(Learner).where(Learner.id.in_([k for _, k in window])))}
    rows = [by_id[key] for _, key in window]
    return _result(rows, len(keys), False, has_older, has_newer, facet)


def _sorted_result(keyed, count, capped, has_later, has_earlier, facet):
    """A sorted page: ``older`` is the next page and ``newer`` the previous one, as in time order."""
    rows = [row for row, _ in keyed]
    return {
        "rows": rows,
        "count": count,
        "capped": capped,
        "older": encode(keyed[-1][1], rows[-1].id) if keyed and has_later else None,
        "newer": encode(keyed[0][1], rows[0].id) if keyed and has_earlier else None,
        "facets": facet,
        "sorted": True,
    }


def _result(rows, count, capped, has_older, has_newer, facet):
    return {
        "rows": rows,
        "count": count,
        "capped": capped,
        "older": paging.encode(rows[-1].created_at, rows[-1].id) if rows and has_older else None,
        "newer": paging.encode(rows[0].created_at, rows[0].id) if rows and has_newer else None,
        "facets": facet,
    }


@bp.get("/learners")
def learners():
    """The learners table, filtered by the query string."""
    args = {k: request.args.get(k, "") for k in ("q", "status", "location", "role", "sort", "after", "before")}
    page = learner_page(db.session(), g.company.id, args)
    page["overdue"] = overdue_counts(db.session(), [row.id for row in page["rows"]])
    page["managers"] = manager_names(db.session(), g.company.id, page["rows"])
    filters = {k: v for k, v in args.items() if k not in ("after", "before") and v}
    return render_template(
        "dashboard/learners.html",
        page=page,
        args=args,
        filters=filters,
        statuses=STATUSES,
        roles=ROLES,
        sorts=SORTS + JOINED_SORTS,
        normalize_role=normalize_role,
    )


def _leaves(value, path):
    if isinstance(value, dict):
        return [leaf for key, item in value.items() for leaf in _leaves(item, f"{path}.{key}")]
    if isinstance(value, list) and value:
        return [leaf for i, item in enumerate(value) for leaf in _leaves(item, f"{path}[{i}]")]
    return [(path, value if isinstance(value, str) else json.dumps(value))]


def attributes(resource):
    """Every leaf of a SCIM resource as ``(path, value)``, in the order received:
    ``name.givenName``, ``emails[0].value``, ``urn:...:2.0:User:state``. Non-strings as JSON."""
    out = []
    for key, item in resource.items():
        if key.startswith("urn:") and isinstance(item, dict):
            for sub, value in item.items():
                out += _leaves(value, f"{key}:{sub}")
        else:
            out += _leaves(item, key)
    return out


@bp.get("/learners/<learner_id>")
def learner(learner_id):
    """One learner: the SCIM attributes as received, normalized values, trainings, audit trail."""
    session = db.session()
    company_id = g.company.id
    row = session.scalar(select(Learner).where(Learner.id == learner_id, Learner.company_id == company_id))
    if row is None:
        abort(404)
    trainings = session.scalars(
        select(LearnerTraining)
        .where(LearnerTraining.company_id == company_id, LearnerTraining.learner_id == row.id)
        .order_by(LearnerTraining.status == "archived", LearnerTraining.due_at, LearnerTraining.id)
    ).all()
    # The newest hundred by id through the (company, learner, id) index, then in time order.
    audit = session.scalars(
        select(AuditEvent)
        .where(AuditEvent.company_id == company_id, AuditEvent.learner_id == row.id)
        .order_by(AuditEvent.id.desc())
        .limit(100)
    ).all()
    audit = sorted(audit, key=lambda e: (e.occurred_at, e.id), reverse=True)
    failures = session.scalars(
        select(ScimFailure)
        # Without a token name: a call without a valid token (see service.edge.failures), never shown.
        .where(
            ScimFailure.company_id == company_id,
            ScimFailure.resource_id == row.id,
            ScimFailure.token_name.is_not(None),
        )
        .order_by(ScimFailure.occurred_at.desc())
        .limit(20)
    ).all()
    pending = session.scalar(
        select(func.count()).where(
            and_(
                ProvisioningEvent.company_id == company_id,
                ProvisioningEvent.resource_id == row.id,
                ProvisioningEvent.processed_at.is_(None),
            )
        )
    )
    manager = session.get(Learner, row.manager_id) if row.manager_id else None
    reports = session.scalars(
        select(Learner)
        .where(Learner.company_id == company_id, Learner.manager_id == row.id, Learner.id != row.id)
        .order_by(Learner.display_name, Learner.user_name, Learner.id)
        .limit(REPORTS_SHOWN + 1)
    ).all()
    return render_template(
        "dashboard/learner.html",
        learner=row,
        manager=manager if manager is not None and manager.company_id == company_id else None,
        reports=reports[:REPORTS_SHOWN],
        more_reports=len(reports) > REPORTS_SHOWN,
        attributes=attributes(row.resource or {}),
        trainings=trainings,
        audit=audit,
        failures=failures,
        pending=pending,
        titles=TITLES,
        role=normalize_role(row.role),
        diagnosis=diagnose(
            row.resource or {}, g.company.attribute_mapping, {t.code for t in company_catalog(session, company_id)}
        ),
        now=utcnow(),
    )
