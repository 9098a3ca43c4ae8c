"""Learner writes and reads for SCIM: every write also adds its provisioning event.

Learners are records and drafts, read and written in Core (``rows``). The store writes;
the request boundary commits, and the outbox relay publishes the event.
"""

from sqlalchemy import func, select, update

from models import Company, Learner, utcnow
from models.normalize import name_key
from models.previous_inputs import inputs_of
from service.auth import RowLookup
from service.scim.errors import NotFound
from service.scim.filter_match import matches
from service.scim.filter_sql import to_clause
from service.scim.filters import Compare, ValuePath, eq_defaults, parse_filter
from service.scim.groups.memberships import leave_all
from service.scim.patch import apply_patch
from service.scim.users import custom_names, rows
from service.scim.users.mapping import apply_document, custom_attribute_names, learner_extension
from service.scim.users.resolver import UserResolver
from service.scim.users.schema import PATCH_SCHEMA, clean_user
from service.scim.writes import Stale, changes, conflict, event_row, taken, unique


def _taken(session, company_id, user_name, except_id=None):
    # The unique key: NFC + case folding (NFC and NFD "josé" are one learner).
    key = name_key(user_name)
    live = (Learner.company_id == company_id, Learner.user_name_key == key, Learner.deleted_at.is_(None))
    return taken(session, Learner.id, live, except_id)


# What a SCIM answer shows of a learner (``mapping.to_scim``, the ETag) and what decides
# whether it is shown at all: a read-only request reads only these with its token.
SHOWN_COLUMNS = ("id", "company_id", "resource", "version", "created_at", "updated_at", "deleted_at")


def id_lookup(learner_id, columns=None):
    """The ``RowLookup`` of the learner with this id (``/Users/{id}``). ``columns``: see
    ``RowLookup`` (None: the whole row, as a write needs)."""
    return RowLookup(Learner, "id", learner_id, columns=columns)


def user_name_lookup(user_name, live_only=False, columns=None):
    """The ``RowLookup`` of the learners holding ``user_name``'s unique key: live or DELETEd,
    or (``live_only``) the one live learner, if any (the key is unique among live learners).
    ``columns``: see ``RowLookup`` (None: the whole rows)."""
    return RowLookup(Learner, "user_name_key", name_key(user_name), live_only, columns=columns)


def filter_lookup(expr):
    """The ``RowLookup`` that answers a parsed list filter through one indexed column, or
    None (the filter then runs in SQL, ``search``). The IdPs' lookups before a write:

    - ``userName eq "x"``: the unique name key, exact;
    - ``externalId eq "x"``: the lower-cased externalId column, exact;
    - ``emails[type eq "work"].value eq "x"`` (Entra): the work-email column narrows, and the
      filter itself, evaluated on each row's document, decides (as ``UserResolver.own_clause``
      does in SQL).

    A list is a read: the lookup reads the ``SHOWN_COLUMNS``.
    """
    if isinstance(expr, Compare) and expr.op == "eq" and isinstance(expr.value, str) and expr.path.urn is None:
        attr = expr.path.attr.lower()
        if attr == "username" and expr.path.sub is None:
            return user_name_lookup(expr.value, live_only=True, columns=SHOWN_COLUMNS)
        if attr == "externalid" and expr.path.sub is None:
            return RowLookup(Learner, "external_id_lower", expr.value.lower(), confirm=_live_row, columns=SHOWN_COLUMNS)
    if isinstance(expr, ValuePath) and expr.path.urn is None and expr.path.attr.lower() == "emails":
        wanted = {k.lower(): v for k, v in eq_defaults(expr.filter).items()}
        if str(wanted.get("type", "")).lower() == "work" and isinstance(wanted.get("value"), str):
            return RowLookup(
                Learner,
                "email_lower",
                wanted["value"].lower(),
                confirm=lambda learner: _live_row(learner) and matches(expr, learner.resource),
                columns=SHOWN_COLUMNS,
            )
    return None


def _live_row(learner):
    # Not DELETEd, checked here rather than in SQL: with ``deleted_at IS NULL`` in the join,
    # a planner without statistics chose the live-userName index (a partial one) and scanned
    # the whole company through it, instead of probing the (company_id, column) index.
    return learner.deleted_at is None


def _holder(session, caller, user_name):
    """The live learner holding ``user_name``, else the most recently DELETEd one, else None (a record).

    Read with the token when the request asked for it (``user_name_lookup``), else here.
    """
    lookup = user_name_lookup(user_name)
    found = caller.rows_for(lookup)
    if found is None:
        # One statement answers both questions; live rows sort first.
        columns = Learner.__table__.columns
        row = session.execute(
            select(*columns)
            .where(columns.company_id == caller.company.id, columns.user_name_key == lookup.value)
            .order_by(columns.deleted_at.is_not(None), columns.deleted_at.desc())
            .limit(1)
        ).first()
        return None if row is None else rows.record(row)
    live = [learner for learner in found if learner.deleted_at is None]
    if live or not found:
        return live[0] if live else None
    return max(found, key=lambda learner: learner.deleted_at)


def _conflict(user_name):
    return conflict("userName", user_name, "learner", "userName")


def _record_extension(session, company, urn, doc):
    """Remember the learner-extension URN this company's IdP uses (for /Schemas) and its custom attributes.

    The undeclared attributes a company's IdP sends stay filterable (an IdP may look
    learners up by them); any other unknown attribute in a filter is a 400.
    """
    values = {}
    if urn and company.extension_urn != urn:
        values["extension_urn"] = urn
    names = custom_attribute_names(doc)
    if names:
        merged = custom_names.record(session, company, names)
        if merged is not None:
            values["custom_attributes"] = merged
    if values:
        # Rare (a URN or a name never seen before), so the company row is written only then.
        session.execute(update(Company).where(Company.id == company.id).values(values))


def _event(caller, learner, action, before, after, previous):
    return event_row(caller, "User", learner.id, action, changes(before, after), previous)


def _update_row(session, learner, draft, event):
    """Write ``draft`` over ``learner`` (the record read), with its ``event``; Stale when
    another request wrote it first."""
    with unique(session, _conflict(draft.user_name)):
        written = rows.write(session, learner, draft, event)
    if not written:
        session.rollback()
        # Read again under a row lock (held to the commit), so the write made again on it
        # cannot lose a second race; a learner DELETEd meanwhile is a 404.
        raise Stale(_live(rows.read(session, learner.id, lock=True), learner.company_id, learner.id))


def get(lazy_session, caller, learner_id):
    """The learner (a record) as authentication read it with the token, or 404 (deleted
    learners are gone from SCIM). ``lazy_session()`` is called only when the request made
    no such lookup."""
    found = caller.rows_for(id_lookup(learner_id))
    learner = rows.read(lazy_session(), learner_id) if found is None else (found[0] if found else None)
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
    """POST /Users: a new learner, or the DELETEd learner with this userName brought back.

    Returns the learner as written (a ``rows.Draft``).
    """
    doc, urn = clean_user(body)
    _with_defaults(doc)
    company = caller.company
    # A live learner with this userName is a 409; a DELETEd one is brought back.
    holder = _holder(session, caller, doc["userName"])
    if holder is not None and holder.deleted_at is None:
        raise _conflict(doc["userName"])
    learner = rows.Draft.new(company.id) if holder is None else rows.Draft.of(holder)
    apply_document(learner, doc, company.attribute_mapping)
    if holder is not None:
        learner.deleted_at = None
        learner.version += 1
    # Before the learner: a company row written here (rare) makes the request a transaction.
    _record_extension(session, company, urn, doc)
    if holder is None:
        event = _event(caller, learner, "create", {}, learner.resource, None)
    else:
        event = _event(caller, learner, "restore", holder.resource, learner.resource, inputs_of(holder))
    with unique(session, _conflict(doc["userName"])):
        if not rows.write(session, holder, learner, event):
            # Only a restore writes a DELETEd learner: another POST of this userName restored it first.
            session.rollback()
            raise _conflict(doc["userName"])
    return learner


def _update(session, caller, learner, doc, urn, action):
    if doc == learner.resource:
        return learner
    if name_key(doc["userName"]) != learner.user_name_key and _taken(
        session, learner.company_id, doc["userName"], except_id=learner.id
    ):
        raise _conflict(doc["userName"])
    draft = rows.Draft.of(learner)
    apply_document(draft, doc, caller.company.attribute_mapping)
    draft.version += 1
    if learner.active and not draft.active:
        action = "deactivate"
    elif not learner.active and draft.active:
        action = "reactivate"
    # Before the learner: a company row written here (rare) makes the request a transaction.
    _record_extension(session, caller.company, urn, doc)
    _update_row(
        session, learner, draft, _event(caller, draft, action, learner.resource, draft.resource, inputs_of(learner))
    )
    return draft


def replace(session, caller, learner, body):
    """PUT: the body replaces every attribute (the id stays). Returns the learner as written."""
    doc, urn = clean_user(body)
    return _update(session, caller, learner, _with_defaults(doc), urn, "replace")


def patch(session, caller, learner, operations):
    """PATCH: apply the operations in order, all or nothing, then validate the result.
    Returns the learner as written."""
    patched = apply_patch(learner.resource, operations, PATCH_SCHEMA)
    doc, urn = clean_user(patched)
    return _update(session, caller, learner, doc, urn or learner_extension(doc)[0], "update")


def delete(session, caller, learner):
    """DELETE: gone from SCIM, kept in the records (training history is never erased)."""
    draft = rows.Draft.of(learner)
    draft.deleted_at = utcnow()
    draft.active = False
    draft.version += 1
    left = leave_all(session, learner.id)  # a DELETEd learner leaves its groups (deactivation does not)
    change_set = changes(learner.resource, {})
    if left:
        change_set["groups"] = {"before": left, "after": None}
    _update_row(
        session, learner, draft, event_row(caller, "User", learner.id, "delete", change_set, inputs_of(learner))
    )
    return draft


def search(lazy_session, company, filter_text, start_index, count, matching=None):
    """``(total, learners)`` for one page of the company's learners matching a filter (all in SQL).

    The learners are records (``rows.record``): a list is only read.
    ``lazy_session()`` is called only when there is a query to run.
    ``matching``: every learner the filter matches, when they were already read (the IdPs'
    lookups, read with the token: ``filter_lookup``): the page is cut from them, no query.
    """
    if matching is not None:
        ordered = sorted(matching, key=lambda learner: (learner.created_at, learner.id))
        return len(ordered), ordered[start_index - 1 : start_index - 1 + count]
    session = lazy_session()
    columns = Learner.__table__.columns
    query = select(*columns).where(columns.company_id == company.id, columns.deleted_at.is_(None))
    if filter_text:
        resolver = UserResolver(
            session.get_bind().dialect.name,
            company.extension_urn,
            lambda lower: custom_names.spelling(session, company, lower),
        )
        query = query.where(to_clause(parse_filter(filter_text), resolver))
    page = []
    if count:
        found = session.execute(query.order_by(columns.created_at, columns.id).offset(start_index - 1).limit(count))
        page = [rows.record(row) for row in found]
    if count and len(page) < count and (page or start_index == 1):
        # A page that is not full ends the list: the total follows, no COUNT needed.
        # Entra's lookups (0 or 1 hit) thus cost one query instead of two.
        return start_index - 1 + len(page), page
    total = session.scalar(select(func.count()).select_from(query.order_by(None).subquery()))
    return total, page
