"""GET /api/v1/trainings: the training catalog."""

from flask import jsonify

from models.catalog import DEFAULT_CATALOG
from service.api import serialize
from service.api.blueprint import bp


@bp.get("/trainings")
def list_trainings():
    """Every training Smart Assign can assign, in catalog order."""
    # Every company uses the default catalog today; per-company rules would be read here.
    return jsonify({"data": [serialize.training(t) for t in DEFAULT_CATALOG]})
