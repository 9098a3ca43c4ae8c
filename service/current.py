"""The one accessor for what ``create_app`` keeps on the running app: its Settings.

Every module that needs a setting during a request or a command asks here, instead of
reading ``current_app.extensions`` by key (the database's engines and session factory
are ``service.db``'s).
"""

from flask import current_app


def settings():
    """The running app's ``config.Settings``."""
    return current_app.extensions["herd.settings"]
