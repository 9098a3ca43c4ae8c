"""Helpers for the admin API tests: calls with a company's token, learners, worker runs."""

import copy
import json
from datetime import datetime
from pathlib import Path

import pytest

from models import Learner
from service.scim.users.mapping import apply_document
from tests.helpers import run_events  # noqa: F401  (re-exported for the API tests)

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "entra"
CUSTOM = "urn:ietf:params:scim:schemas:extension:CustomExtensionName:2.0:User"


class Api:
    """The admin API as one company's token sees it."""

    def __init__(self, client, token):
        self.client = client
        self.token = token

    def headers(self):
        return {"Authorization": f"Bearer {self.token}"}

    def get(self, path, **query):
        return self.client.get(f"/api/v1/{path}", query_string=query, headers=self.headers())

    def patch(self, path, json=None, data=None):
        return self.client.patch(
            f"/api/v1/{path}",
            json=json,
            data=data,
            headers=self.headers(),
            content_type="application/json",
        )


@pytest.fixture()
def api(client, tenant):
    return Api(client, tenant.token)


@pytest.fixture()
def other_api(client, other_tenant):
    return Api(client, other_tenant.token)


def user_body(user_name="jdoe@acme.example", **ext):
    """Entra's create-user body, with another userName and extension values if given."""
    body = json.loads((FIXTURES / "create_user.json").read_text())
    body["userName"] = user_name
    body["externalId"] = user_name.split("@")[0]
    body["emails"][0]["value"] = user_name
    body[CUSTOM].update(ext)
    return body


def post_learner(tenant, user_name="jdoe@acme.example", **ext):
    """Provision a learner over SCIM, as Entra does; returns its id."""
    resp = tenant.post("Users", json=user_body(user_name, **ext))
    assert resp.status_code == 201, resp.get_data(as_text=True)
    return resp.get_json()["id"]


def insert_learners(sessions, company_id, names, created_at=datetime(2025, 1, 1, 9, 0, 0), **doc_changes):
    """Insert learners straight into the database, all created at the same instant; returns ids."""
    ids = []
    with sessions() as s:
        for name in names:
            doc = {
                "userName": f"{name.lower()}@example.com",
                "name": {"givenName": name, "familyName": "Tester"},
                "displayName": f"{name} Tester",
                "emails": [{"type": "work", "value": f"{name}@Example.com"}],
                "active": True,
            }
            doc.update(copy.deepcopy(doc_changes))
            learner = Learner(company_id=company_id, created_at=created_at)
            apply_document(learner, doc)
            s.add(learner)
            s.flush()
            ids.append(learner.id)
        s.commit()
    return ids
