"""Learner writes and reads for SCIM: every write also adds its provisioning event.

The store flushes; the request boundary commits and then enqueues the event.
"""

from sqlalchemy import func, select

from models import Learner, utcnow
from models.learner import new_id
from models.normalize import name_key
from service.auth import RowLookup, record_type
from service.scim.errors import NotFound
from service.scim.filter_match import matches
from service.scim.filter_sql import to_clause
from service.scim.filters import Compare, ValuePath, eq_defaults, parse_filter
from service.scim.groups.memberships import leave_all
from service.scim.patch import apply_patch
from service.scim.users.mapping import apply_document, custom_attribute_names, learner_extension
from service.scim.users.resolver import UserResolver
from service.scim.users.schema import PATCH_SCHEMA, clean_user
from service.scim.writes import add_event, changes, conflict, flush_unique, taken


def _taken(session, company_id, user_name, except_id=None):
    # The unique key: NFC + case folding (NFC and NFD "josé" are one learner).
    key = name_key(user_name)
    live = (Learner.company_id == company_id, Learner.user_name_key == key, Learner.deleted_at.is_(None))
    return taken(session, Learner.id, live, except_id)


def id_lookup(learner_id):
    """The ``RowLookup`` of the learner with this id (``/Users/{id}``)."""
    return RowLookup(Learner, "id", learner_id)


def user_name_lookup(user_name, live_only=False):
    """The ``RowLookup`` of the learners holding ``user_name``'s unique key: live or DELETEd,
    or (``live_only``) the one live learner, if any (the key is unique among live learners)."""
    return RowLookup(Learner, "user_name_key", name_key(user_name), live_only)


def filter_lookup(expr):
    """The ``RowLookup`` that answers a parsed list filter through one indexed column, or
    None (the filter then runs in SQL, ``search``). The IdPs' lookups before a write:

    - ``userName eq "x"``: the unique name key, exact;
    - ``externalId eq "x"``: the lower-cased externalId column, exact;
    - ``emails[type eq "work"].value eq "x"`` (Entra): the work-email column narrows, and the
      filter itself, evaluated on each row's document, decides (as ``UserResolver.own_clause``
      does in SQL).
    """
    if isinstance(expr, Compare) and expr.op == "eq" and isinstance(expr.value, str) and expr.path.urn is None:
        attr = expr.path.attr.lower()
        if attr == "username" and expr.path.sub is None:
            return user_name_lookup(expr.value, live_only=True)
        if attr == "externalid" and expr.path.sub is None:
            return RowLookup(Learner, "external_id_lower", expr.value.lower(), confirm=_live_row)
    if isinstance(expr, ValuePath) and expr.path.urn is None and expr.path.attr.lower() == "emails":
        wanted = {k.lower(): v for k, v in eq_defaults(expr.filter).items()}
        if str(wanted.get("type", "")).lower() == "work" and isinstance(wanted.get("value"), str):
            return RowLookup(
                Learner,
                "email_lower",
                wanted["value"].lower(),
                confirm=lambda learner: _live_row(learner) and matches(expr, learner.resource),
            )
    return None


def _live_row(learner):
    # Not DELETEd, checked here rather than in SQL: with ``deleted_at IS NULL`` in the join,
    # a planner without statistics chose the live-userName index (a partial one) and scanned
    # the whole company through it, instead of probing the (company_id, column) index.
    return learner.deleted_at is None


def _holder(session, caller, user_name):
    """The live learner holding ``user_name``, else the most recently DELETEd one, else None.

    Read with the token when the request asked for it (``user_name_lookup``), else here.
    """
    lookup = user_name_lookup(user_name)
    found = caller.rows_for(lookup)
    if found is None:
        # One statement answers both questions; live rows sort first.
        return session.scalar(
            select(Learner)
            .where(Learner.company_id == caller.company.id, Learner.user_name_key == lookup.value)
            .order_by(Learner.deleted_at.is_not(None), Learner.deleted_at.desc())
            .limit(1)
        )
    live = [learner for learner in found if learner.deleted_at is None]
    if live or not found:
        return live[0] if live else None
    return max(found, key=lambda learner: learner.deleted_at)


def _conflict(user_name):
    return conflict("userName", user_name, "learner", "userName")


def _record_extension(company, urn, doc):
    """Remember the learner-extension URN this company's IdP uses (for /Schemas) and its custom attributes.

    The undeclared attributes a company's IdP sends stay filterable (an IdP may look
    learners up by them); any other unknown attribute in a filter is a 400.
    """
    if urn and company.extension_urn != urn:
        company.extension_urn = urn
    names = custom_attribute_names(doc)
    if names:
        known = {n.lower(): n for n in company.custom_attributes or ()}
        new = {n.lower(): n for n in names if n.lower() not in known}
        if new:
            # Rare (a name never seen before), so the company row is written only then.
            company.custom_attributes = sorted({**known, **new}.values())


def _event(session, caller, learner, action, before, after):
    return add_event(session, caller, "User", learner.id, action, changes(before, after))


def _flush_unique(session, user_name):
    """Flush; a concurrent insert of the same userName surfaces here as a 409."""
    flush_unique(session, _conflict(user_name))


def get(session, company_id, learner_id):
    """The company's learner with this id, or 404 (deleted learners are gone from SCIM)."""
    # A primary-key probe: the plan never depends on the planner's statistics (and no
    # statement at all when authentication read the learner into the session).
    return _live(session.get(Learner, learner_id), company_id, learner_id)


def read(caller, learner_id, get_session):
    """GET: the learner as authentication read it with the token (a record), or 404.

    ``get_session()`` is called only when the request made no such lookup.
    """
    found = caller.rows_for(id_lookup(learner_id))
    learner = get_session().get(Learner, learner_id) if found is None else (found[0] if found else None)
    return _live(learner, caller.company.id, learner_id)


def _live(learner, company_id, learner_id):
    if learner is None or learner.company_id != company_id or learner.deleted_at is not None:
        raise NotFound(f"User {learner_id} not found.")
    return learner


def _with_defaults(doc):
    """A whole User (POST, PUT) without ``active`` is an active one (RFC 7644 §3.3: defaults apply)."""
    doc.setdefault("active", True)
    return doc


def create(session, caller, body):
    """POST /Users: a new learner, or the DELETEd learner with this userName brought back."""
    doc, urn = clean_user(body)
    _with_defaults(doc)
    company = caller.company
    # A live learner with this userName is a 409; a DELETEd one is brought back.
    learner = _holder(session, caller, doc["userName"])
    if learner is not None and learner.deleted_at is None:
        raise _conflict(doc["userName"])
    if learner is not None:
        before = learner.resource
        learner.deleted_at = None
        learner.version += 1
        action = "restore"
    else:
        # The id is set here, not at the flush: the event names the learner before it.
        learner = Learner(id=new_id(), company_id=company.id, created_at=utcnow())
        session.add(learner)
        before = {}
        action = "create"
    apply_document(learner, doc, company.attribute_mapping)
    _record_extension(company, urn, doc)
    # One flush writes the learner and its event (the commit then has nothing left to flush).
    event = _event(session, caller, learner, action, before, learner.resource)
    _flush_unique(session, doc["userName"])
    return learner, event


def _update(session, caller, learner, doc, urn, action):
    before = learner.resource
    if doc == before:
        return None
    if name_key(doc["userName"]) != learner.user_name_key and _taken(
        session, learner.company_id, doc["userName"], except_id=learner.id
    ):
        raise _conflict(doc["userName"])
    was_active = learner.active
    apply_document(learner, doc, caller.company.attribute_mapping)
    learner.version += 1
    if was_active and not learner.active:
        action = "deactivate"
    elif not was_active and learner.active:
        action = "reactivate"
    _record_extension(caller.company, urn, doc)
    event = _event(session, caller, learner, action, before, learner.resource)
    _flush_unique(session, doc["userName"])
    return event


def replace(session, caller, learner, body):
    """PUT: the body replaces every attribute (the id stays)."""
    doc, urn = clean_user(body)
    return _update(session, caller, learner, _with_defaults(doc), urn, "replace")


def patch(session, caller, learner, operations):
    """PATCH: apply the operations in order, all or nothing, then validate the result."""
    patched = apply_patch(learner.resource, operations, PATCH_SCHEMA)
    doc, urn = clean_user(patched)
    return _update(session, caller, learner, doc, urn or learner_extension(doc)[0], "update")


def delete(session, caller, learner):
    """DELETE: gone from SCIM, kept in the records (training history is never erased)."""
    before = learner.resource
    learner.deleted_at = utcnow()
    learner.active = False
    learner.version += 1
    left = leave_all(session, learner.id)  # a DELETEd learner leaves its groups (deactivation does not)
    session.flush()
    event = _event(session, caller, learner, "delete", before, {})
    if left:
        event.changes = {**event.changes, "groups": {"before": left, "after": None}}
    return event


def search(get_session, company, filter_text, start_index, count, matching=None):
    """``(total, learners)`` for one page of the company's learners matching a filter (all in SQL).

    The learners are records (``service.auth.record_type``): a list is only read.
    ``get_session()`` is called only when there is a query to run.
    ``matching``: every learner the filter matches, when they were already read (the IdPs'
    lookups, read with the token: ``filter_lookup``): the page is cut from them, no query.
    """
    if matching is not None:
        ordered = sorted(matching, key=lambda learner: (learner.created_at, learner.id))
        return len(ordered), ordered[start_index - 1 : start_index - 1 + count]
    session = get_session()
    columns = Learner.__table__.columns
    query = select(*columns).where(columns.company_id == company.id, columns.deleted_at.is_(None))
    if filter_text:
        resolver = UserResolver(session.get_bind().dialect.name, company.extension_urn, company.custom_attributes)
        query = query.where(to_clause(parse_filter(filter_text), resolver))
    page = []
    if count:
        record = record_type(Learner)._make
        rows = session.execute(query.order_by(columns.created_at, columns.id).offset(start_index - 1).limit(count))
        page = [record(row) for row in rows]
    if count and len(page) < count and (page or start_index == 1):
        # A page that is not full ends the list: the total follows, no COUNT needed.
        # Entra's lookups (0 or 1 hit) thus cost one query instead of two.
        return start_index - 1 + len(page), page
    total = session.scalar(select(func.count()).select_from(query.order_by(None).subquery()))
    return total, page
