"""GET /api/v1/trainings: the training catalog."""

from flask import jsonify

from models.company_training import company_catalog
from service import db
from service.api import serialize
from service.api.auth import caller
from service.api.blueprint import bp


@bp.get("/trainings")
def list_trainings():
    """Every training Smart Assign can assign, in catalog order."""
    # The default catalog with the company's changes and its own trainings.
    catalog = company_catalog(db.session(), caller().company.id)
    return jsonify({"data": [serialize.training(t) for t in catalog]})
