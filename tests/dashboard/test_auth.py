"""Admin accounts: the CLI's one-time password, sign-in, lockout, sessions and cookies."""

import re

import pytest
from sqlalchemy import select

from models import Admin, Job
from tests.dashboard.conftest import CSRF, ONCE, PASSWORD, Dashboard, make_admin

# Failed sign-ins allowed per source address and account in 15 minutes (service.ratelimit.limiter).
FAILURES_PER_SOURCE = 5

# A refused sign-in shows the form again (a success redirects).
REFUSED = 200
PAGES = [
    "/dashboard/learners",
    "/dashboard/settings/integrations/api",
    "/dashboard/smart-assign",
    "/dashboard/activity",
]


def admin_row(sessions, email):
    with sessions() as s:
        return s.scalar(select(Admin).where(Admin.email == email))


@pytest.mark.parametrize("path", PAGES)
def test_pages_need_a_signed_in_admin(anon, path):
    resp = anon.get(path)
    assert resp.status_code == 302
    assert resp.location.startswith("/dashboard/login?next=" + path)


def test_cli_one_time_password_signs_in_and_must_be_changed(app, anon, tenant, sessions):
    result = app.test_cli_runner().invoke(args=["admins", "create", str(tenant.id), "New.Admin@Acme.example"])
    assert result.exit_code == 0, result.output
    one_time = result.output.strip().splitlines()[-1]
    assert len(one_time) >= 16 and " " not in one_time
    row = admin_row(sessions, "new.admin@acme.example")
    assert row.company_id == tenant.id and row.must_change_password
    assert one_time not in row.password_hash and row.password_hash.startswith("$argon2id$")

    resp = anon.login("NEW.ADMIN@acme.example", one_time)
    assert resp.status_code == 302 and resp.location == "/dashboard/password"
    # Every page leads back to choosing a password until one is chosen.
    assert anon.get("/dashboard/learners").location == "/dashboard/password"
    resp = anon.post(
        "/dashboard/password",
        {"current": one_time, "new": "short", "confirm": "short"},
        page="/dashboard/password",
    )
    assert resp.status_code == 400 and "at least 12 characters" in resp.get_data(as_text=True)
    resp = anon.post(
        "/dashboard/password", {"current": one_time, "new": PASSWORD, "confirm": PASSWORD}, page="/dashboard/password"
    )
    assert resp.status_code == 302
    assert anon.get("/dashboard/learners").status_code == 200
    assert not admin_row(sessions, "new.admin@acme.example").must_change_password
    # The one-time password is spent.
    fresh = Dashboard(app.test_client())
    assert fresh.login("new.admin@acme.example", one_time).status_code == REFUSED
    assert fresh.login("new.admin@acme.example", PASSWORD).status_code == 302


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["admins", "create", "999", "x@y.example"], "no company 999"),
        (["admins", "create", "7", "not-an-email"], "not an email address"),
        (["admins", "create", "7", "ALICE@acme.example"], "already an admin"),
    ],
)
def test_cli_refuses_bad_admins(app, admin_a, args, message):
    result = app.test_cli_runner().invoke(args=args)
    assert result.exit_code != 0 and message in result.output


def test_wrong_password_is_refused_with_the_same_words_as_an_unknown_email(anon, admin_a):
    wrong = anon.login(admin_a, "nope")
    unknown = anon.login("nobody@acme.example", "nope")
    assert wrong.status_code == unknown.status_code == REFUSED
    assert "The email or password is incorrect." in wrong.get_data(as_text=True)
    assert _message(wrong) == _message(unknown)
    assert anon.get("/dashboard/learners").status_code == 302


def _message(resp):
    text = resp.get_data(as_text=True)
    start = text.index('id="login-error"')
    return text[start : text.index("</p>", start)]


def from_address(app, address):
    """A dashboard client whose requests come from ``address``."""
    d = Dashboard(app.test_client())
    d.client.environ_base["REMOTE_ADDR"] = address
    return d


def test_repeated_failures_pause_that_account_from_that_address_only(app, admin_a, sessions):
    attacker = from_address(app, "203.0.113.9")
    for _ in range(FAILURES_PER_SOURCE):
        assert attacker.login(admin_a, "wrong").status_code == REFUSED
    # From the attacker's address even the right password now waits, with a Retry-After.
    resp = attacker.login(admin_a, PASSWORD)
    assert resp.status_code == 429
    assert 1 <= int(resp.headers["Retry-After"]) <= 15 * 60
    assert "Too many sign-in attempts" in resp.get_data(as_text=True)
    assert resp.headers["Content-Type"].startswith("text/html")
    # The admin, from their own address, signs in at once: a stranger cannot lock them out.
    assert from_address(app, "198.51.100.7").login(admin_a, PASSWORD).status_code == 302
    row = admin_row(sessions, admin_a)
    assert row.locked_until is None and row.last_login_at is not None


def test_a_stranger_from_many_addresses_only_slows_an_account_for_a_minute(app, admin_a):
    for n in range(10):
        assert from_address(app, f"203.0.113.{n + 1}").login(admin_a, "wrong").status_code == REFUSED
    resp = from_address(app, "198.51.100.7").login(admin_a, PASSWORD)
    assert resp.status_code == 429 and 1 <= int(resp.headers["Retry-After"]) <= 60
    # Another account is not affected.
    assert from_address(app, "198.51.100.8").login("nobody@acme.example", "nope").status_code == REFUSED


def test_one_address_cannot_try_account_after_account(app, admin_a):
    spray = from_address(app, "203.0.113.50")
    statuses = [spray.login(f"user{n}@acme.example", "guess").status_code for n in range(21)]
    assert statuses[:20] == [REFUSED] * 20 and statuses[20] == 429


def test_operator_unlocks_an_account(app, admin_a):
    mine = from_address(app, "198.51.100.7")
    for _ in range(FAILURES_PER_SOURCE):
        mine.login(admin_a, "wrong")
    assert mine.login(admin_a, PASSWORD).status_code == 429
    result = app.test_cli_runner().invoke(args=["admins", "unlock", admin_a])
    assert result.exit_code == 0, result.output
    assert mine.login(admin_a, PASSWORD).status_code == 302


def test_a_sign_in_that_finds_redis_down_tells_the_enqueuer_and_still_answers(app, admin_a):
    """The test settings point at a dead Redis: the sign-in limits count in memory, and the
    enqueuer (same Redis) is told, so a publish in the next seconds does not wait for it."""
    told = []
    app.extensions["herd.enqueuer"].mark_down = lambda: told.append(1)
    assert from_address(app, "198.51.100.7").login(admin_a, PASSWORD).status_code == 302
    assert told == [1]


def test_session_cookie_is_httponly_samesite_and_secure_over_https(app, admin_a):
    d = Dashboard(app.test_client())
    resp = d.login(admin_a)
    cookie = resp.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
    # The test settings' PUBLIC_BASE_URL is https://herd.test.
    assert "Secure" in cookie


def test_the_session_cookie_lives_twelve_hours_not_flasks_31_days(app, admin_a):
    """Flask's own default (31 days) used to win over the dashboard's 12 hours."""
    from datetime import UTC, datetime, timedelta
    from email.utils import parsedate_to_datetime

    before = datetime.now(UTC)
    resp = Dashboard(app.test_client()).login(admin_a)
    expires = parsedate_to_datetime(re.search(r"Expires=([^;]+)", resp.headers["Set-Cookie"]).group(1))
    # Whole seconds in the header, and however long the sign-in itself took.
    assert before + timedelta(hours=12) - timedelta(seconds=1) <= expires <= datetime.now(UTC) + timedelta(hours=12)


def test_a_page_renews_the_cookie_but_a_static_file_or_a_progress_poll_does_not(dash, tenant, sessions):
    """Each answer carries the cookie as its request found it: a file or a poll answered after
    a form's answer would put back the cookie from before the form (and lose its note)."""
    with sessions() as s:
        job = Job(company_id=tenant.id, kind="rerun", status="running")
        s.add(job)
        s.commit()
    assert "Set-Cookie" in dash.get("/dashboard/learners").headers  # the sliding 12 hours
    with dash.get("/dashboard/static/dashboard.css") as static:
        assert static.status_code == 200 and "Set-Cookie" not in static.headers
    poll = dash.get(f"/dashboard/jobs/{job.id}")
    assert poll.get_json()["status"] == "running" and "Set-Cookie" not in poll.headers


def test_a_reload_of_a_token_form_keeps_its_note_whatever_the_page_fetched_meanwhile(app, dash):
    """The race CI met in the browser, replayed in order: the token's page fetches its files
    with the cookie of that moment; the reload sends the form again, and its answer flashes
    a note; the files' answers arrive after it and must not put the old cookie back."""
    api = "/dashboard/settings/integrations/api"
    text = dash.get(api).get_data(as_text=True)
    form = {
        "csrf_token": CSRF.search(text).group(1),
        "once": ONCE.search(text).group(1),
        "name": "Entra ID production",
        "expires": "",
    }
    assert dash.client.post(f"{api}/tokens", data=form).status_code == 201
    files = replay(app, dash.client.get_cookie("session"))  # the page's own fetches, cookie as it was then
    late = [files.get(f"/dashboard/static/{name}") for name in ("dashboard.css", "dashboard.js", "favicon.svg")]
    for answer in late:
        answer.close()
    assert [answer.status_code for answer in late] == [200, 200, 200]
    assert dash.client.post(f"{api}/tokens", data=form).status_code == 303  # the reload
    for answer in late:  # received last, as a browser would apply them
        for header in answer.headers.getlist("Set-Cookie"):
            name, _, rest = header.partition("=")
            dash.client.set_cookie(name, rest.split(";", 1)[0], domain="localhost")
    assert "That form was already sent" in dash.get(api).get_data(as_text=True)


def test_sign_out_needs_a_post_with_csrf_and_ends_the_session(dash):
    assert dash.client.get("/dashboard/logout").status_code == 405
    assert dash.post("/dashboard/logout", csrf=False).status_code == 400
    assert dash.get("/dashboard/learners").status_code == 200
    assert dash.post("/dashboard/logout", page="/dashboard/learners").status_code == 302
    assert dash.get("/dashboard/learners").status_code == 302


def replay(app, cookie):
    """A new browser presenting a copied session cookie."""
    thief = app.test_client()
    thief.set_cookie("session", cookie.value, domain=cookie.domain or "localhost", path=cookie.path or "/")
    return thief


def test_a_copied_cookie_stops_working_after_sign_out(app, dash):
    cookie = dash.client.get_cookie("session")
    assert replay(app, cookie).get("/dashboard/learners").status_code == 200
    assert dash.post("/dashboard/logout", page="/dashboard/learners").status_code == 302
    resp = replay(app, cookie).get("/dashboard/learners")
    assert resp.status_code == 302 and resp.location.startswith("/dashboard/login")


@pytest.mark.parametrize("command", ["sign-out", "disable"])
def test_operator_ends_an_admins_sessions(app, dash, admin_a, command):
    cookie = dash.client.get_cookie("session")
    result = app.test_cli_runner().invoke(args=["admins", command, admin_a])
    assert result.exit_code == 0, result.output
    assert dash.get("/dashboard/learners").status_code == 302
    assert replay(app, cookie).get("/dashboard/learners").status_code == 302


def test_a_disabled_admin_cannot_sign_in_until_enabled(app, admin_a):
    assert app.test_cli_runner().invoke(args=["admins", "disable", admin_a]).exit_code == 0
    d = Dashboard(app.test_client())
    resp = d.login(admin_a)
    assert resp.status_code == REFUSED and "disabled" in resp.get_data(as_text=True)
    assert d.get("/dashboard/learners").status_code == 302
    assert app.test_cli_runner().invoke(args=["admins", "enable", admin_a]).exit_code == 0
    assert d.login(admin_a).status_code == 302


def test_a_password_change_signs_out_other_sessions(app, dash, admin_a):
    other = Dashboard(app.test_client())
    assert other.login(admin_a).status_code == 302
    new = "another long passphrase"
    resp = dash.post(
        "/dashboard/password", {"current": PASSWORD, "new": new, "confirm": new}, page="/dashboard/password"
    )
    assert resp.status_code == 302
    assert dash.get("/dashboard/learners").status_code == 200
    assert other.get("/dashboard/learners").status_code == 302


HOSTILE_NEXT = [
    "https://evil.example/",
    "//evil.example/x",
    "/scim/v2/7/Users",
    "/dashboard/\r\nSet-Cookie: stolen=1",
    "\r\n/dashboard/learners",
    "/dashboard/learners\rX-Injected: 1",
    "/dashboard/caf\u00e9",
    "/dashboard/ learners",
    "/dashboard/../scim/v2/7/Users",
    "/dashboard/%2e%2e/scim/v2/7/Users",
    "/dashboard/\\evil.example",
    "/dashboard/" + "a" * 2001,
]
# Refused at the input boundary before the sign-in page runs: a 400 naming ``next``, no redirect at all.
REFUSED_NEXT = ["/dashboard/\x00", "/dashboard/" + "a" * 5000]


@pytest.mark.parametrize("target", HOSTILE_NEXT)
def test_sign_in_never_redirects_outside_the_dashboard(app, admin_a, target):
    d = Dashboard(app.test_client())
    token = d.csrf()
    resp = d.client.post(
        "/dashboard/login",
        query_string={"next": target},
        data={"csrf_token": token, "email": admin_a, "password": PASSWORD},
    )
    assert resp.status_code == 302 and resp.location == "/dashboard/"


@pytest.mark.parametrize("target", HOSTILE_NEXT)
def test_a_signed_in_admin_opening_sign_in_with_hostile_next_goes_home(dash, target):
    resp = dash.client.get("/dashboard/login", query_string={"next": target})
    assert resp.status_code == 302 and resp.location == "/dashboard/"


@pytest.mark.parametrize("target", REFUSED_NEXT)
def test_sign_in_with_a_next_the_boundary_refuses_is_a_400_and_signs_nobody_in(app, admin_a, target):
    d = Dashboard(app.test_client())
    token = d.csrf()
    resp = d.client.post(
        "/dashboard/login",
        query_string={"next": target},
        data={"csrf_token": token, "email": admin_a, "password": PASSWORD},
    )
    assert resp.status_code == 400 and "next" in resp.get_data(as_text=True)
    assert resp.location is None
    assert d.get("/dashboard/learners").status_code == 302  # still signed out


def test_sign_in_returns_to_the_page_asked_for(app, admin_a):
    d = Dashboard(app.test_client())
    login_url = d.get("/dashboard/activity?kind=failed").location
    token = d.csrf()
    resp = d.client.post(login_url, data={"csrf_token": token, "email": admin_a, "password": PASSWORD})
    assert resp.location == "/dashboard/activity?kind=failed"


def test_reset_password_gives_a_new_one_time_password(app, anon, sessions, tenant):
    make_admin(sessions, tenant.id, "carol@acme.example")
    result = app.test_cli_runner().invoke(args=["admins", "reset-password", "carol@acme.example"])
    assert result.exit_code == 0
    assert anon.login("carol@acme.example", PASSWORD).status_code == REFUSED
    resp = anon.login("carol@acme.example", result.output.strip().splitlines()[-1])
    assert resp.location == "/dashboard/password"
