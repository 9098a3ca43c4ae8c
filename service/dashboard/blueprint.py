"""The dashboard blueprint; ``routes()`` loads the page modules."""

from flask import Blueprint

bp = Blueprint("dashboard", __name__, template_folder="templates", static_folder="static", static_url_path="/static")


def routes():
    """The blueprint with every page registered."""
    return bp
