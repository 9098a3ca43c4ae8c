"""Database drills (docs/testing.md, "Reliability drills"), with real processes under steady POSTs.

- PostgreSQL away for six seconds: gunicorn, the relay, the worker and beat reach it
  through a TCP proxy the drill cuts (harness/tcp_proxy.py; the shared server itself is
  never stopped). Every answer meanwhile is a 503 with ``Retry-After`` (never a 500, never
  a 429 for the valid token); once it is back, what the IdP retries is created and every
  event is processed once: nothing lost.
- Backup and restore: ``pg_dump`` taken while learners are POSTed, restored with
  ``pg_restore`` into a scratch database; Herd started on it shows every learner,
  assignment and audit entry committed before the dump began.
- Rolling upgrade: the previous release (the code before the newest migration, from git)
  serves POSTs with its worker while the current release's migrations run, then the
  current code takes over; no request fails and no event is lost
  (docs/production.md, "Upgrades with zero lost events").

PostgreSQL only where the drill needs it (the proxy, pg_dump); each drill is bounded.
"""

import shutil
import subprocess
import sys
import tarfile
import threading
import time
from pathlib import Path

import pytest
import requests
from sqlalchemy import select
from sqlalchemy.engine import make_url

from harness.stack import ROOT, SCIM, learner_body, wait_for
from harness.tcp_proxy import TcpProxy
from models import AuditEvent, Learner, LearnerTraining, make_engine, make_session_factory
from tests.conftest import make_tenant
from tests.e2e.test_drills import assert_processed_exactly_once, wait_all_processed
from tests.helpers import empty_database, scratch_database

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

OUTAGE_SECONDS = 6
# Between two POSTs of the steady load (about Entra's pace on a small machine).
PAUSE_SECONDS = 0.1
MIGRATIONS = ROOT / "models" / "migrations" / "versions"


def postgres_only(db_url):
    if not db_url.startswith("postgresql"):
        pytest.skip("needs PostgreSQL (DATABASE_URL=postgresql://...)")


class SteadyPosts:
    """Learners POSTed one after another from a thread until stopped, as an IdP provisions.

    ``url_of()`` is where the next POST goes (a rolling upgrade moves it). Every answer is
    kept as ``(number, status or exception name, Retry-After)``.
    """

    def __init__(self, url_of, tenant, first=0, pause=PAUSE_SECONDS):
        self.url_of = url_of
        self.pause = pause
        self.tenant = tenant
        self.next = first
        self.answers = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True, name="steady-posts")

    def start(self):
        self._thread.start()
        return self

    def _run(self):
        with requests.Session() as http:
            while not self._stop.is_set():
                n = self.next
                try:
                    resp = http.post(
                        f"{self.url_of()}/scim/v2/{self.tenant.id}/Users",
                        json=learner_body(n),
                        headers={"Authorization": f"Bearer {self.tenant.token}", "Content-Type": SCIM},
                        timeout=30,
                    )
                except requests.RequestException as exc:
                    self.answers.append((n, type(exc).__name__, None))
                else:
                    self.answers.append((n, resp.status_code, resp.headers.get("Retry-After")))
                self.next = n + 1
                time.sleep(self.pause)

    def created(self):
        return [n for n, status, _ in self.answers if status == 201]

    def wait_created(self, count, timeout=60, on_timeout=None):
        """Until ``count`` more learners than now were created."""
        target = len(self.created()) + count
        wait_for(
            lambda: len(self.created()) >= target,
            timeout,
            message=f"{count} learners created",
            on_timeout=lambda: f"answers so far: {self.answers[-10:]}\n{on_timeout() if on_timeout else ''}",
        )

    def stop(self):
        self._stop.set()
        self._thread.join(timeout=60)
        assert not self._thread.is_alive(), "the POST loop did not stop"
        return self.answers


def _as_an_idp(post):
    """``post()``, again after its Retry-After while it answers 429 (at most five times)."""
    for _ in range(5):
        resp = post()
        if resp.status_code != 429:
            return resp
        time.sleep(int(resp.headers["Retry-After"]))
    return resp


def learners_in(sessions):
    with sessions() as s:
        return dict(s.execute(select(Learner.user_name, Learner.id)).all())


def user_name(n):
    return learner_body(n)["userName"]


# --- PostgreSQL away -------------------------------------------------------------------


def test_postgresql_away_every_answer_is_503_with_retry_after_and_nothing_is_lost(
    db_url, own_redis, herd_stack, sessions
):
    postgres_only(db_url)
    tenant = make_tenant(sessions, None, "Acme", 7)
    real = make_url(db_url)
    proxy = TcpProxy(real.host or "127.0.0.1", real.port or 5432).start()
    try:
        behind_proxy = real.set(host="127.0.0.1", port=proxy.port).render_as_string(hide_password=False)
        herd = herd_stack(own_redis.url, relay_after_seconds=2, database_url=behind_proxy)
        gunicorn = herd.start_web(workers=2)
        herd.start_worker()
        herd.start_beat()
        # Faster than a stranger's 20 calls a second: a 503 counted as a stranger's call
        # would soon turn into a 429.
        posts = SteadyPosts(lambda: herd.url, tenant, pause=0.005).start()
        try:
            posts.wait_created(5, on_timeout=herd.tails)
            proxy.cut()
            cut_at = len(posts.answers)
            time.sleep(OUTAGE_SECONDS)  # the outage's length, not an assertion
            during = posts.answers[cut_at:]
            proxy.restore()
            posts.wait_created(5, on_timeout=herd.tails)
        finally:
            answers = posts.stop()

        statuses = {status for _, status, _ in answers}
        assert statuses <= {201, 503}, f"only 201 and 503, never a 500 or a 429: {sorted(map(str, statuses))}"
        assert any(status == 503 for _, status, _ in during), f"the outage must be felt: {during[:5]}"
        assert all(retry == "5" for _, status, retry in answers if status == 503), "every 503 has Retry-After"

        # The IdP retries what got a 503: created now, or already there (409) if the
        # database had committed it before the connection was cut. Back to back, the
        # retries can outrun the tenant's 200 calls a second: a 429 is waited out as its
        # Retry-After says, as Entra does.
        for n, status, _ in answers:
            if status == 503:
                retried = _as_an_idp(lambda n=n: herd.post_user(tenant, learner_body(n)))
                assert retried.status_code in (201, 409), f"retry of learner {n}: {retried.status_code}"
        posted = {user_name(n) for n, _, _ in answers}
        learners = learners_in(sessions)
        assert set(learners) == posted, "every learner posted exists once, none lost"
        wait_all_processed(sessions, herd, len(posted))
        assert_processed_exactly_once(sessions, list(learners.values()))

        assert "database unreachable" in gunicorn.log_text(), herd.tails()
        # An expected outage: one line here and there, never a traceback (web, relay, worker, beat).
        tracebacks = [p.name for p in herd.procs if "Traceback" in p.log_text()]
        assert not tracebacks, herd.tails()
        assert proxy.connections > 0
    finally:
        proxy.stop()


# --- Backup and restore ----------------------------------------------------------------


def libpq_args(url):
    """pg_dump/pg_restore connection options for a SQLAlchemy URL (the password via PGPASSWORD)."""
    u = make_url(url)
    args = ["-h", u.host or "127.0.0.1", "-p", str(u.port or 5432), "-d", u.database]
    if u.username:
        args += ["-U", u.username]
    return args, ({"PGPASSWORD": u.password} if u.password else {})


def run_pg(tool, url, *extra, timeout=120):
    import os

    if shutil.which(tool) is None:
        pytest.skip(f"{tool} is not installed")
    args, env = libpq_args(url)
    result = subprocess.run(
        [tool, *args, *extra], env={**os.environ, **env}, capture_output=True, text=True, timeout=timeout
    )
    assert result.returncode == 0, f"{tool}: {result.stderr}"
    return result


def everything_committed(sessions):
    """Ids of the learners, assignments and audit entries committed now."""
    with sessions() as s:
        return (
            set(s.scalars(select(Learner.id))),
            set(s.scalars(select(LearnerTraining.id))),
            set(s.scalars(select(AuditEvent.id))),
        )


def api_get(herd, tenant, path, **params):
    resp = requests.get(
        f"{herd.url}/api/v1/{path}",
        params=params,
        headers={"Authorization": f"Bearer {tenant.token}"},
        timeout=30,
    )
    assert resp.status_code == 200, resp.text
    return resp.json()


def api_ids(herd, tenant, path):
    """Every id the admin API lists at ``path`` (all pages)."""
    ids, page = set(), 1
    while True:
        body = api_get(herd, tenant, path, page=page, per_page=200)
        ids.update(item["id"] for item in body["data"])
        if page * 200 >= body["meta"]["total"]:
            return ids
        page += 1


def api_assignment_ids(herd, tenant, learner_ids):
    """Every assignment the admin API shows for these learners."""
    ids = set()
    for learner_id in learner_ids:
        ids.update(item["id"] for item in api_get(herd, tenant, "learner_trainings", learner_id=learner_id)["data"])
    return ids


def test_a_backup_taken_under_steady_provisioning_restores_everything_committed_before_it(
    db_url, e2e_redis_url, herd_stack, sessions, tmp_path
):
    postgres_only(db_url)
    tenant = make_tenant(sessions, None, "Acme", 7)
    herd = herd_stack(e2e_redis_url, relay_after_seconds=2)
    herd.start_web(workers=2)
    herd.start_worker()
    posts = SteadyPosts(lambda: herd.url, tenant).start()
    dump = tmp_path / "herd.dump"
    try:
        posts.wait_created(10, on_timeout=herd.tails)
        # Wait for some assignments and audit entries, so all three kinds are in the dump.
        wait_for(lambda: all(everything_committed(sessions)), 60, message="assignments and audit entries")
        before = everything_committed(sessions)
        run_pg("pg_dump", db_url, "-Fc", "-f", str(dump))
        posts.wait_created(3, on_timeout=herd.tails)  # provisioning went on meanwhile
    finally:
        answers = posts.stop()
    assert {status for _, status, _ in answers} == {201}, answers[-5:]

    with scratch_database(db_url) as restored_url:
        run_pg("pg_restore", restored_url, "--no-owner", str(dump))
        restored = herd_stack(e2e_redis_url, relay_after_seconds=2, database_url=restored_url)
        restored.start_web(workers=1, relay=False)
        learners, assignments, audit = before
        assert api_ids(restored, tenant, "learners") >= learners
        assert api_assignment_ids(restored, tenant, learners) >= assignments
        assert api_ids(restored, tenant, "audit_events") >= audit
        restored.stop()


# --- Rolling upgrade ---------------------------------------------------------------------


def previous_release(tmp_path):
    """The tree of the newest commit whose migrations are a strict subset of the current ones
    (the release before the newest migration), from git; skips without the history."""
    if shutil.which("git") is None or not (ROOT / ".git").exists():
        pytest.skip("needs the project's git history")

    def git(*args):
        return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, timeout=60, check=True).stdout.decode()

    versions = MIGRATIONS.relative_to(ROOT).as_posix()
    current = {p.name for p in MIGRATIONS.glob("*.py")}
    previous = None
    # Newest first: the parent of a commit that touched the migrations. By file names, not by
    # the commit that added the newest one: a migration renumbered at a merge counts as new.
    for commit in git("log", "--format=%H", "--", versions).split():
        try:
            listing = git("ls-tree", "--name-only", f"{commit}^", f"{versions}/")
        except subprocess.CalledProcessError:
            break  # the root commit, or a shallow clone's end
        names = {Path(line).name for line in listing.split() if line.endswith(".py")}
        if names < current:
            previous = f"{commit}^"
            break
    if previous is None:
        pytest.skip("no earlier release with fewer migrations in this clone (shallow?)")
    archive = tmp_path / "previous.tar"
    archive.write_bytes(
        subprocess.run(
            ["git", "archive", "--format=tar", previous], cwd=ROOT, capture_output=True, timeout=60, check=True
        ).stdout
    )
    tree = tmp_path / "previous"
    with tarfile.open(archive) as tar:
        tar.extractall(tree, filter="data")
    archive.unlink()
    return tree


def in_tree(tree, database_url, code):
    """Run Python ``code`` with ``tree``'s Herd on ``database_url``; its last output line."""
    import os

    env = {**os.environ, "DATABASE_URL": database_url, "PYTHONPATH": str(tree)}
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=tree, env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.strip().splitlines()[-1] if result.stdout.strip() else ""


def test_a_rolling_upgrade_under_load_fails_no_request_and_loses_no_event(
    db_url, e2e_redis_url, herd_stack, sessions, tmp_path
):
    old_tree = previous_release(tmp_path)
    try:
        with empty_database(db_url, tmp_path) as url:
            # The previous release's schema and tenant, made by its own code.
            in_tree(old_tree, url, "from models.migrate import upgrade; import os; upgrade(os.environ['DATABASE_URL'])")
            secret = in_tree(
                old_tree,
                url,
                "import os\n"
                "from models import AccessToken, make_engine, make_session_factory\n"
                "try:\n"
                "    from service.company.tenant import create_company\n"
                "except ImportError:  # releases before service/ was grouped by job\n"
                "    from service.cli import create_company\n"
                "s = make_session_factory(make_engine(os.environ['DATABASE_URL']))()\n"
                "create_company(s, 'Acme', 7)\n"
                "row, secret = AccessToken.issue(7, 'upgrade drill'); s.add(row); s.commit(); print(secret)",
            )
            tenant = type("Tenant", (), {"id": 7, "token": secret})()

            old = herd_stack(e2e_redis_url, relay_after_seconds=2, database_url=url, root=old_tree)
            new = herd_stack(e2e_redis_url, relay_after_seconds=2, database_url=url)
            try:
                rolling_upgrade(old, new, tenant, url)
            finally:  # before the scratch database is dropped
                new.stop()
                old.stop()
    finally:
        shutil.rmtree(old_tree, ignore_errors=True)


def rolling_upgrade(old, new, tenant, url):
    """Old web and worker under POSTs; the new migrations; new web and worker; old ones stopped."""
    old_web = old.start_web(workers=2)
    old_worker = old.start_worker("old-worker")
    old_beat = old.start_beat()
    serving = {"url": old.url}
    posts = SteadyPosts(lambda: serving["url"], tenant).start()
    try:
        posts.wait_created(5, on_timeout=old.tails)
        # The current release's migrations, while the previous release serves.
        from models.migrate import upgrade

        upgrade(url)
        posts.wait_created(5, on_timeout=old.tails)
        # The current code takes over: new web and worker first, then the old ones go
        # (gunicorn's graceful SIGTERM finishes what is in flight; the worker's warm one too).
        new.start_web(workers=2)
        new.start_worker("new-worker")
        serving["url"] = new.url
        old_web.stop()
        old_worker.stop()
        # The single beat last (docs/production.md): it re-sends what a stopped worker left.
        old_beat.stop()
        new.start_beat()
        posts.wait_created(5, on_timeout=new.tails)
    finally:
        answers = posts.stop()
    assert {status for _, status, _ in answers} == {201}, [a for a in answers if a[1] != 201][:5]

    engine = make_engine(url)
    try:
        upgraded = make_session_factory(engine)
        wait_all_processed(upgraded, new, len(answers))
        with upgraded() as s:
            ids = list(s.scalars(select(Learner.id)))
        assert len(ids) == len(answers), "every learner POSTed exists"
        assert_processed_exactly_once(upgraded, ids)
    finally:
        engine.dispose()
