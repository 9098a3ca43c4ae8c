"""The dashboard in real headless Chromium (Debian's package, driven by Playwright), against a live server.

The scenario of issue 5: sign in, create a token and see it once, provision a learner
over HTTP with it, see the learner and its trainings, revoke the token, and watch the
next SCIM call fail with 401. Each page is saved as a screenshot: to docs/screenshots/
(docs/features.md's pictures) only under `make screenshots` (HERD_SCREENSHOTS=1), otherwise to
the test's temporary directory, so `make test` leaves the work tree clean.
"""

import dataclasses
import logging
import os
import threading
from pathlib import Path

import pytest
import requests
from werkzeug.serving import WSGIRequestHandler, make_server

from config.celery import PREVIEW_CHANGE, RERUN_COMPANY
from service.company.tenant import create_company
from tests.dashboard.helpers import run_events, user_body
from workers import preview_job, rerun

pytestmark = pytest.mark.browser

CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
DOCS_SHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
NEW_PASSWORD = "a long passphrase for Acme"


class _Quiet(WSGIRequestHandler):
    def log_request(self, *args, **kwargs):
        pass


class DelayedWorker:
    """Stands in for the broker and a Celery worker: runs a re-run a moment later, in a thread,
    with the task's own code; provisioning events are left pending for the test to process."""

    def __init__(self, sessions):
        self.sessions = sessions
        self.threads = []

    def send(self, name, args):
        tasks = {RERUN_COMPANY: rerun.run, PREVIEW_CHANGE: preview_job.run_preview}
        if name not in tasks:
            return False
        thread = threading.Timer(1.5, tasks[name], args=(self.sessions, *args))
        thread.start()
        self.threads.append(thread)
        return True


@pytest.fixture()
def live(settings, sessions):
    if not os.path.exists(CHROMIUM):
        pytest.skip(
            f"no browser here: Debian's chromium is not installed at {CHROMIUM} "
            "(.ci/run installs it with apt-get install -y chromium)"
        )
    from service import create_app
    from service.db import dispose_engines

    server = make_server("127.0.0.1", 0, lambda env, start: None, threaded=True, request_handler=_Quiet)
    url = f"http://127.0.0.1:{server.server_port}"
    app = create_app(dataclasses.replace(settings, public_base_url=url))
    worker = DelayedWorker(sessions)
    app.extensions["herd.enqueuer"] = worker
    server.app = app
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield url, app
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)
        for t in worker.threads:
            t.join(timeout=30)
        dispose_engines(app)
        logging.getLogger("werkzeug").handlers.clear()


@pytest.fixture()
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


def nav(page, name):
    """Follow a link of the main navigation."""
    page.get_by_role("navigation", name="Main").get_by_role("link", name=name).click()


@pytest.fixture()
def shots_dir(tmp_path):
    """docs/screenshots/ under `make screenshots`, else a temporary directory."""
    return DOCS_SHOTS if os.environ.get("HERD_SCREENSHOTS") == "1" else tmp_path / "screenshots"


def shot(page, name, directory):
    directory.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(directory / f"{name}.png"), full_page=True)


def test_connect_entra_watch_a_learner_arrive_and_revoke(live, browser, sessions, shots_dir):
    from playwright.sync_api import expect

    url, app = live
    with sessions() as s:
        create_company(s, "Acme Corp", 7)
        s.commit()
    result = app.test_cli_runner().invoke(args=["admins", "create", "7", "it-admin@acme.example"])
    one_time = result.output.strip().splitlines()[-1]

    context = browser.new_context(viewport={"width": 1366, "height": 860}, base_url=url)
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=url)
    context.set_default_timeout(15_000)
    page = context.new_page()
    errors = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    # Scripts, styles and the job poller must all load: no failed subresource, no script error.
    page.on(
        "response",
        lambda r: (
            errors.append(f"{r.status} {r.url}") if r.status >= 400 and r.request.resource_type != "document" else None
        ),
    )

    # Sign in with the one-time password, then choose a password.
    page.goto("/dashboard/")
    expect(page).to_have_url(f"{url}/dashboard/login?next=/dashboard/?")
    page.get_by_label("Email").fill("it-admin@acme.example")
    page.get_by_label("Password").fill("not the password")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert")).to_contain_text("The email or password is incorrect.")
    page.get_by_label("Password").fill(one_time)
    shot(page, "login", shots_dir)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Choose your password")).to_be_visible()
    page.get_by_label("One-time password").fill(one_time)
    page.get_by_label("New password", exact=True).fill(NEW_PASSWORD)
    page.get_by_label("Repeat the new password").fill(NEW_PASSWORD)
    shot(page, "password", shots_dir)
    page.get_by_role("button", name="Save password").click()
    expect(page.get_by_role("heading", name="Needs attention")).to_be_visible()
    nav(page, "Learners")
    expect(page.get_by_text("No learners yet")).to_be_visible()

    # Keyboard: the first Tab reaches the skip link, and it is visibly focused.
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent") == "Skip to content"
    assert page.evaluate("getComputedStyle(document.activeElement).outlineStyle") == "solid"

    # Settings > Integrations > API: create a token, see it once, copy it.
    nav(page, "Settings")
    expect(page.locator("#company-id")).to_have_text("7")
    tenant_url = page.get_by_label("SCIM tenant URL").input_value()
    assert tenant_url == f"{url}/scim/v2/7"
    page.get_by_label("Name", exact=True).fill("Entra ID production")
    page.get_by_label("Expires", exact=True).select_option(label="1 year")
    page.get_by_role("button", name="Create access token").click()
    expect(page.get_by_text("Copy it now: it will not be shown again.")).to_be_visible()
    secret = page.get_by_label("Secret token").input_value()
    assert secret.startswith("herd_") and len(secret) > 40
    page.get_by_role("button", name="Copy token").click()
    expect(page.locator('[data-copy-status="new-secret"]')).to_have_text("Copied to the clipboard.")
    assert page.evaluate("navigator.clipboard.readText()") == secret
    shot(page, "settings-api", shots_dir)
    page.goto("/dashboard/settings/integrations/api")
    assert secret not in page.content() and secret[:12] in page.content()

    # Entra provisions a learner with the token, over HTTP; a second POST of the same userName fails.
    headers = {"Authorization": f"Bearer {secret}", "Content-Type": "application/scim+json"}
    body = user_body(
        "jordan.lee@acme.example",
        given="Jordan",
        family="Lee",
        state="California",
        learnerRole="supervisor",
        training_tags="CYBER",
    )
    created = requests.post(f"{tenant_url}/Users", json=body, headers=headers, timeout=10)
    assert created.status_code == 201, created.text
    learner_id = created.json()["id"]
    assert requests.post(f"{tenant_url}/Users", json=body, headers=headers, timeout=10).status_code == 409
    run_events(sessions)  # the worker's Smart Assign and audit entry

    # The Learners tab shows the learner; its page shows its trainings.
    nav(page, "Learners")
    row = page.get_by_role("row").filter(has_text="jordan.lee@acme.example")
    expect(row).to_contain_text("US-CA")
    expect(row).to_contain_text("Active")
    shot(page, "learners", shots_dir)
    row.get_by_role("link", name="Jordan Lee").click()
    expect(page).to_have_url(f"{url}/dashboard/learners/{learner_id}")
    trainings = page.get_by_role("table", name="Trainings assigned to Jordan Lee")
    for code in ("HP-CA-SUP", "WVP-CA", "CYBER"):
        expect(trainings).to_contain_text(code)
    expect(trainings).to_contain_text("Assigned")
    expect(page.get_by_role("table", name="SCIM attributes of Jordan Lee")).to_contain_text("California")
    expect(page.get_by_text("User create")).to_be_visible()
    shot(page, "learner", shots_dir)

    # Smart Assign: re-run, and watch the progress change without reloading.
    nav(page, "Smart Assign")
    page.get_by_role("button", name="Re-run Smart Assign").click()
    status = page.locator("#job-status")
    expect(status).to_contain_text("Queued")
    expect(status).to_contain_text("Done: 1 learner re-evaluated, 0 trainings assigned.", timeout=20_000)
    expect(page.locator("#job-progress")).to_have_attribute("value", "100")
    shot(page, "smart-assign", shots_dir)

    # Attribute mapping: where each input is read; a change offers the re-run.
    page.get_by_role("link", name="Attribute mapping").click()
    role_sources = page.get_by_label("Role (supervisor or not)")
    expect(role_sources).to_have_value("extension:learnerRole\neasyllamaRole\nlearnerRole\nextension:easyllamaRole")
    role_sources.fill("extension:learnerRole\ntitle")
    page.get_by_role("button", name="Save mapping").click()
    expect(page.get_by_role("button", name="Re-run Smart Assign now")).to_be_visible()
    page.get_by_role("button", name="Reset to defaults").click()
    expect(page.get_by_label("Role (supervisor or not)")).to_have_value(
        "extension:learnerRole\neasyllamaRole\nlearnerRole\nextension:easyllamaRole"
    )

    # Provisioning activity: the change and the refused POST with its reason.
    nav(page, "Activity")
    expect(page.get_by_text("Failed 409 · uniqueness")).to_be_visible()
    expect(page.get_by_text("is already used by another learner").first).to_be_visible()
    shot(page, "activity", shots_dir)

    # Revoke the token, with confirmation; the next SCIM call fails with 401.
    nav(page, "Settings")
    page.get_by_role("row").filter(has_text="Entra ID production").get_by_role("link", name="Revoke").click()
    expect(page.get_by_role("heading", name="Revoke token “Entra ID production”?")).to_be_visible()
    shot(page, "token-revoke", shots_dir)
    page.get_by_role("button", name="Revoke token").click()
    expect(page.get_by_role("status").filter(has_text="is revoked")).to_be_visible()
    expect(page.get_by_role("row").filter(has_text="Entra ID production")).to_contain_text("Revoked")
    refused = requests.get(f"{tenant_url}/Users", headers=headers, timeout=10)
    assert refused.status_code == 401 and "not valid" in refused.json()["detail"]

    # The gallery app's way in: an OAuth client, its secret shown once, a token from the endpoint.
    page.get_by_label("Client name").fill("Entra ID gallery")
    page.get_by_label("Secret expires after", exact=True).select_option(label="1 year")
    page.get_by_role("button", name="Create OAuth client").click()
    expect(page.get_by_text("Copy it now: it will not be shown again.")).to_be_visible()
    client_id = page.locator("#new-client-id").input_value()
    client_secret = page.locator("#new-client-secret").input_value()
    token_endpoint = page.get_by_label("Token endpoint").input_value()
    assert token_endpoint == f"{url}/oauth/token"
    page.get_by_role("button", name="Copy secret").click()
    expect(page.locator('[data-copy-status="new-client-secret"]')).to_have_text("Copied to the clipboard.")
    shot(page, "settings-api-oauth", shots_dir)
    granted = requests.post(
        token_endpoint, data={"grant_type": "client_credentials"}, auth=(client_id, client_secret), timeout=10
    )
    assert granted.status_code == 200, granted.text
    oauth_headers = {"Authorization": f"Bearer {granted.json()['access_token']}"}
    assert requests.get(f"{tenant_url}/Users", headers=oauth_headers, timeout=10).status_code == 200
    # A reload sends the form again: nothing new is created, and the secret is not shown again.
    page.reload()
    expect(page.get_by_text("That form was already sent")).to_be_visible()
    assert client_secret not in page.content() and client_secret[:8] in page.content()

    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("heading", name="Sign in to Herd")).to_be_visible()
    assert errors == []
    context.close()


def test_the_doctor_an_alias_and_a_managers_chain(live, browser, sessions, shots_dir):
    """Issue 24: the doctor page after a first sync with mistakes, an alias saved from it, the
    learner page's data-quality box and manager links, and the compliance report of a chain."""
    from playwright.sync_api import expect

    from models import AccessToken
    from tests.conftest import Tenant
    from tests.dashboard.conftest import PASSWORD, make_admin

    url, app = live
    with sessions() as s:
        create_company(s, "Acme Corp", 7)
        row, secret = AccessToken.issue(7, "Entra ID production")
        s.add(row)
        s.commit()
    make_admin(sessions, 7, "it-admin@acme.example")
    tenant = Tenant(app.test_client(), 7, secret)
    ids = {}
    for name, given, ext, manager in [
        ("bea.boss", "Bea", {"state": "Illinois"}, None),
        ("carl.calif", "Carl", {"state": "Calif.", "learnerRole": "Mgr"}, "bea.boss"),
        ("nina.nostate", "Nina", {"state": "", "country": ""}, "bea.boss"),
        ("tom.tags", "Tom", {"training_tags": "CYBR"}, "carl.calif"),
    ]:
        body = user_body(f"{name}@acme.example", given=given, family=name.split(".")[1].title(), **ext)
        if manager:
            body["urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"]["manager"] = {"value": manager}
        resp = tenant.post("Users", json=body)
        assert resp.status_code == 201, resp.get_data(as_text=True)
        ids[name] = resp.get_json()["id"]
    run_events(sessions)

    context = browser.new_context(viewport={"width": 1366, "height": 860}, base_url=url)
    context.set_default_timeout(15_000)
    page = context.new_page()
    errors = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto("/dashboard/login")
    page.get_by_label("Email").fill("it-admin@acme.example")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    # The first learners arrived without what Smart Assign needs: the banner says so.
    banner = page.locator("#doctor-banner")
    expect(banner).to_contain_text("arrived without a usable state")
    banner.get_by_role("link", name="Open the Smart Assign doctor").click()
    expect(page.get_by_role("heading", name="Smart Assign doctor")).to_be_visible()
    coverage = page.locator("#coverage")
    expect(coverage.locator('[data-input="state"]')).to_contain_text("50.0 %")
    values = page.locator("#unrecognised")
    expect(values).to_contain_text("“Calif.”")
    expect(values).to_contain_text("urn:ietf:params:scim:schemas:extension:CustomExtensionName:2.0:User:state")
    expect(page.locator("#fixes")).to_contain_text("target attribute")
    shot(page, "doctor", shots_dir)

    # An alias from the page: "Calif." reads as US-CA from now on.
    page.get_by_label("Input").select_option("state")
    page.get_by_label("Value as sent").fill("Calif.")
    page.get_by_label("Reads as").fill("US-CA")
    page.get_by_role("button", name="Save alias").click()
    expect(page.get_by_role("status").filter(has_text="Alias saved")).to_be_visible()
    expect(page.locator("#alias-list")).to_contain_text("US-CA")
    expect(page.locator("#unrecognised")).not_to_contain_text("“Calif.”")

    # The learner page: what is missing or unrecognised, the manager, the direct reports.
    page.goto(f"/dashboard/learners/{ids['nina.nostate']}")
    quality = page.locator("#data-quality")
    expect(quality).to_contain_text("State: sent nothing.")
    expect(quality).not_to_contain_text("not recognised")
    page.goto(f"/dashboard/learners/{ids['carl.calif']}")
    expect(page.locator("#data-quality")).to_contain_text("Role: not recognised.")
    expect(page.locator("#manager")).to_contain_text("Bea Boss")
    expect(page.locator("#reports")).to_contain_text("Tom Tags")
    shot(page, "learner-quality-manager", shots_dir)
    page.locator("#manager").get_by_role("link", name="Bea Boss").click()
    expect(page.locator("#reports")).to_contain_text("Carl Calif")
    page.locator("#reports").get_by_role("link", name="their compliance").click()

    # The compliance report of Bea's whole chain: Carl, Nina and Tom (Carl's report).
    expect(page.locator("#manager-filter")).to_contain_text("Bea Boss")
    expect(page.locator("#by-manager")).to_contain_text("Carl Calif")
    expect(page.locator("#by-manager")).to_contain_text("Bea Boss")
    shot(page, "compliance-manager", shots_dir)
    assert errors == []
    context.close()


def test_a_change_previewed_then_applied(live, browser, sessions, shots_dir):
    """Issue 24: an alias previewed on a worker (the page polls it, then shows who would gain and
    lose which training), then applied: the change is saved and the re-run starts."""
    from playwright.sync_api import expect

    from models import AccessToken, Company
    from tests.conftest import Tenant
    from tests.dashboard.conftest import PASSWORD, make_admin

    url, app = live
    with sessions() as s:
        create_company(s, "Acme Corp", 7)
        row, secret = AccessToken.issue(7, "Entra ID production")
        s.add(row)
        s.commit()
    make_admin(sessions, 7, "it-admin@acme.example")
    tenant = Tenant(app.test_client(), 7, secret)
    for name, given, state in [("carl.calif", "Carl", "Calif."), ("olga.ohio", "Olga", "Ohio")]:
        body = user_body(f"{name}@acme.example", given=given, family=name.split(".")[1].title(), state=state)
        assert tenant.post("Users", json=body).status_code == 201
    run_events(sessions)

    context = browser.new_context(viewport={"width": 1366, "height": 860}, base_url=url)
    context.set_default_timeout(15_000)
    page = context.new_page()
    errors = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto("/dashboard/login")
    page.get_by_label("Email").fill("it-admin@acme.example")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.goto("/dashboard/smart-assign")
    page.get_by_role("link", name="preview who would gain and lose which training").click()
    page.get_by_label("Alias: input").select_option("state")
    page.get_by_label("Value as sent").fill("Calif.")
    page.get_by_label("Reads as").fill("US-CA")
    page.get_by_role("button", name="Preview", exact=True).click()
    # Queued, then the worker runs it and the page shows the result without a reload by hand.
    trainings = page.locator("#preview-trainings")
    expect(trainings).to_contain_text("HP-CA-SUP")
    expect(trainings.locator('[data-code="HP-US-SUP"]')).to_contain_text("replaced by HP-CA-SUP")
    expect(page.locator("#preview-result")).to_contain_text("1 of 2 learners would change")
    shot(page, "preview", shots_dir)
    with sessions() as s:
        assert s.get(Company, 7).attribute_mapping is None  # nothing saved before Apply

    page.get_by_role("button", name="Apply: save the change and re-run Smart Assign").click()
    expect(page.get_by_role("status").filter(has_text="Change saved")).to_be_visible()
    expect(page.locator("#job-status")).to_contain_text("Done", timeout=30_000)
    with sessions() as s:
        assert s.get(Company, 7).attribute_mapping == {"aliases": {"state": {"calif": "US-CA"}}}
    assert errors == []
    context.close()
