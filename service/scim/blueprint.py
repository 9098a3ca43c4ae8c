"""The SCIM blueprint ``/scim/v2/<company_id>``: authentication once, for every route under it.

Discovery routes register on it directly; each resource type has a blueprint
of its own (``users/routes.py``, ``groups/routes.py``) nested under it, so its
checks (the groups-off answer) are written once too. ``routes()`` loads them.
"""

from flask import Blueprint, g, request

from service import db
from service.auth import authenticate

bp = Blueprint("scim", __name__, url_prefix="/scim/v2/<int:company_id>")
# endpoint -> function returning the RowLookup (or None) of the rows a request is about:
# they are read with the token, in authentication's one statement. See ``row_lookup``.
ROW_LOOKUPS = {}


def row_lookup(endpoint):
    """Register ``function() -> RowLookup | None`` for ``endpoint`` (a resource type's routes do)."""

    def register(function):
        ROW_LOOKUPS[endpoint] = function
        return function

    return register


@bp.url_value_preprocessor
def _company_id(_endpoint, values):
    # Views never see the tenant id: they work on g.caller.company, which the token proved.
    g.company_id = values.pop("company_id")


@bp.before_request
def _authenticate():
    if request.method in ("GET", "HEAD"):
        # SCIM reads write nothing (a failed one's record is a single INSERT): no transaction.
        db.read_only()
    # Every SCIM route needs the caller: authenticating here means no route can forget it.
    # The caller's company and rows are records, not ORM objects (service.auth): the
    # learner store reads and writes them in Core (service.scim.users.rows).
    lookup = ROW_LOOKUPS.get(request.endpoint)
    authenticate(g.company_id, lookup() if lookup is not None else None)


def routes():
    """The blueprint with every SCIM route registered."""
    from service.scim import resources  # noqa: F401  (import registers the routes)

    return bp
