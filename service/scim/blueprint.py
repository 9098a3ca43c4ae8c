"""The SCIM blueprint; route modules register on it, ``routes()`` loads them."""

from flask import Blueprint

bp = Blueprint("scim", __name__, url_prefix="/scim/v2/<int:company_id>")


def routes():
    """The blueprint with every SCIM route registered."""
    from service.scim import discovery, groups, users  # noqa: F401  (import registers the routes)

    return bp
