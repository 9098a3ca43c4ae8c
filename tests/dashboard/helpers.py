"""Seeding helpers shared by the dashboard tests: learners through SCIM, events through the worker."""

import copy
import json
from pathlib import Path

from tests.helpers import run_events  # noqa: F401  (re-exported for the dashboard tests)

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "entra"
CUSTOM = "urn:ietf:params:scim:schemas:extension:CustomExtensionName:2.0:User"
_BODY = json.loads((FIXTURES / "create_user.json").read_text())


def user_body(user_name, given="Jo", family="Doe", **ext):
    body = copy.deepcopy(_BODY)
    body["userName"] = user_name
    body["externalId"] = user_name.split("@")[0]
    body["displayName"] = f"{given} {family}"
    body["name"] = {"givenName": given, "familyName": family, "formatted": f"{given} {family}"}
    body["emails"] = [{"primary": True, "type": "work", "value": user_name}]
    body[CUSTOM].update(ext)
    return body


def post_learner(tenant, user_name, **kw):
    resp = tenant.post("Users", json=user_body(user_name, **kw))
    assert resp.status_code == 201, resp.get_data(as_text=True)
    return resp.get_json()["id"]
