"""The /api/v1 blueprint; ``routes()`` loads the route modules."""

from flask import Blueprint

bp = Blueprint("api", __name__, url_prefix="/api/v1")


def routes():
    """The blueprint with every API route registered."""
    return bp
