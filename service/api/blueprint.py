"""The /api/v1 blueprint; ``routes()`` loads the route modules."""

from flask import Blueprint, request

from service.api.auth import authenticate

bp = Blueprint("api", __name__, url_prefix="/api/v1")


@bp.before_request
def _authenticate():
    # Every API route needs a company: authenticating here means no route can forget it.
    # The OpenAPI document alone is public: it describes the API, not a company.
    if request.endpoint != "api.openapi_json":
        authenticate()


def routes():
    """The blueprint with every API route registered."""
    from service.api import (  # noqa: F401  (import registers the routes)
        audit,
        learner_trainings,
        learners,
        openapi,
        reports,
        trainings,
        webhooks,
    )

    return bp
