"""A revoked token is refused on the very next request by every gunicorn worker, each of
which kept the token it accepted (service/auth_cache.py): two gevent workers, requests on
fresh connections so both serve them, Redis unreachable (nothing here needs it)."""

import pytest
import requests
from sqlalchemy import update

from models import AccessToken, utcnow
from tests.conftest import make_tenant

pytestmark = pytest.mark.e2e

DEAD_REDIS = "redis://127.0.0.1:1/0"


def test_every_worker_refuses_a_revoked_token_on_its_next_request(herd_stack, sessions, client):
    tenant = make_tenant(sessions, client, "Acme", 7)
    herd = herd_stack(DEAD_REDIS)
    herd.start_web(workers=2, relay=False)
    url = f"{herd.url}/scim/v2/{tenant.id}/Users"
    headers = {"Authorization": f"Bearer {tenant.token}", "Connection": "close"}
    # A new connection per call: the kernel spreads them over both workers, which keep the token.
    assert {requests.get(url, headers=headers, timeout=10).status_code for _ in range(40)} == {200}
    with sessions() as s:
        s.execute(update(AccessToken).where(AccessToken.company_id == tenant.id).values(revoked_at=utcnow()))
        s.commit()
    # (A few calls: refused ones count against the address's budget, 20 a second.)
    assert [requests.get(url, headers=headers, timeout=10).status_code for _ in range(10)] == [401] * 10
