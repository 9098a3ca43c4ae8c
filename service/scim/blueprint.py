"""The SCIM blueprint ``/scim/v2/<company_id>``: authentication once, for every route under it.

Discovery routes register on it directly; each resource type has a blueprint
of its own (``users/routes.py``, ``groups/routes.py``) nested under it, so its
checks (the groups-off answer) are written once too. ``routes()`` loads them.
"""

from flask import Blueprint, g

from service.auth import authenticate

bp = Blueprint("scim", __name__, url_prefix="/scim/v2/<int:company_id>")


@bp.url_value_preprocessor
def _company_id(_endpoint, values):
    # Views never see the tenant id: they work on g.caller.company, which the token proved.
    g.company_id = values.pop("company_id")


@bp.before_request
def _authenticate():
    # Every SCIM route needs the caller: authenticating here means no route can forget it.
    authenticate(g.company_id)


def routes():
    """The blueprint with every SCIM route registered."""
    from service.scim import resources  # noqa: F401  (import registers the routes)

    return bp
