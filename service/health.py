"""Health endpoint for load balancers and operators."""

from flask import Blueprint, jsonify
from sqlalchemy import text

from service import db

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz():
    """200 when the database answers; the broker is not required for SCIM to work."""
    db.session().execute(text("SELECT 1"))
    return jsonify({"status": "ok"})
