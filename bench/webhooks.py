"""Webhooks: deliveries per second per worker, and the Entra cycle's Smart Assign with three
endpoints subscribed against none.

    python -m bench.webhooks --learners 2000 --deliveries 2000
    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/test python -m bench.webhooks

Each run gets a fresh migrated database (bench/common/database.py). Two measures:

1. **Deliveries per second, one worker**: ``--deliveries`` messages queued for one endpoint,
   sent by one ``deliver_endpoint`` run (``workers.webhooks.drain``: sign, post, record)
   to a receiver on 127.0.0.1 (``http.server``, answering 200 at once), so the figure is
   Herd's cost per delivery, not a network's. ``WEBHOOKS_ALLOW_PRIVATE`` as in development.
2. **The Entra cycle's worker side**: ``--learners`` learners with their "create" events
   (as an initial Entra cycle leaves them) processed by the provisioning worker's code
   (``process_many``, messages of 50), once for a company with no endpoint and once for a
   company with three endpoints subscribed to every event type; the ratio of the two times
   is what the webhooks cost Smart Assign (writing the messages and deliveries in its
   transaction). The SCIM requests themselves do nothing more with webhooks on: nothing
   is written or sent on the request path.
"""

from __future__ import annotations

import argparse
import os
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from threading import Thread

from sqlalchemy import func, select

from bench.common.database import BenchDatabase, add_database_options
from bench.common.report import command_line, describe_machine, fmt, write_report
from bench.common.seed import make_company, seed_learners
from config import Settings
from models import WebhookDelivery
from models.webhook import TEST_EVENT
from models.webhook_outbox import write
from service.webhooks.endpoints import create_endpoint
from workers.tasks import in_messages, process_many
from workers.webhooks import drain


class _Ok(BaseHTTPRequestHandler):
    def do_POST(self):
        self.rfile.read(int(self.headers.get("content-length") or 0))
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


def receiver():
    """A receiver answering 200 on 127.0.0.1; ``(url, server)``."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Ok)
    server.daemon_threads = True
    Thread(target=server.serve_forever, daemon=True).start()
    return f"http://127.0.0.1:{server.server_port}/hook", server


def deliveries_per_second(db, settings, url, count):
    """One endpoint, ``count`` queued messages, one drain: deliveries per second."""
    company_id, _ = make_company(db.sessions, "Delivery bench")
    with db.sessions() as s:
        endpoint, _ = create_endpoint(s, company_id, url, [], settings)
        for n in range(count):
            write(s, company_id, TEST_EVENT, {"type": TEST_EVENT, "data": {"n": n}}, [endpoint])
        s.commit()
        endpoint_id = endpoint.id
    started, sent = time.perf_counter(), 0
    while sent < count:
        done = drain(db.sessions, endpoint_id, settings.webhook_key, allow_private=True, https_only=False, limit=count)
        if done <= 0:
            raise SystemExit("a delivery failed: see the receiver")
        sent += done
    return count / (time.perf_counter() - started)


def smart_assign_seconds(db, settings, url, learners, endpoints):
    """Seconds the provisioning worker takes over ``learners`` create events, with ``endpoints``
    endpoints subscribed to every type; and the deliveries written."""
    company_id, _ = make_company(db.sessions, f"Entra cycle, {endpoints} endpoints")
    with db.sessions() as s:
        for _ in range(endpoints):
            create_endpoint(s, company_id, url, [], settings)
        s.commit()
    ids = seed_learners(db.sessions, company_id, learners, f"e{endpoints}-")
    with db.sessions() as s:
        before = s.scalar(select(func.count()).select_from(WebhookDelivery))
    started = time.perf_counter()
    for message in in_messages(ids):
        process_many(db.sessions, message)
    took = time.perf_counter() - started
    with db.sessions() as s:
        written = s.scalar(select(func.count()).select_from(WebhookDelivery)) - before
    return took, written


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--learners", type=int, default=2000)
    parser.add_argument("--deliveries", type=int, default=2000)
    add_database_options(parser, default="herd_bench_webhooks")
    args = parser.parse_args(argv)
    db = BenchDatabase(os.environ.get("DATABASE_URL"), name=args.db_name, keep=args.keep)
    settings = Settings.from_env(env={}, database_url=db.url, secret_key="bench", webhooks_allow_private=True)
    url, server = receiver()
    try:
        rate = deliveries_per_second(db, settings, url, args.deliveries)
        none, _ = smart_assign_seconds(db, settings, url, args.learners, 0)
        three, written = smart_assign_seconds(db, settings, url, args.learners, 3)
        version = db.version()
    finally:
        server.shutdown()
        db.drop()
    data = {
        "deliveries_per_second_one_worker": rate,
        "smart_assign_seconds_no_endpoint": none,
        "smart_assign_seconds_three_endpoints": three,
        "ratio": three / none,
        "deliveries_written": written,
        "learners": args.learners,
        "deliveries": args.deliveries,
        "database": version,
    }
    lines = [
        "# Webhooks: delivery rate and what three endpoints cost the Entra cycle's Smart Assign",
        "",
        f"`{command_line('bench.webhooks')}`, one run; {describe_machine()}; {version}.",
        "",
        "| measure | value |",
        "|---|---|",
        f"| deliveries per second, one worker (sign, post to 127.0.0.1, record) | {fmt(rate)} |",
        f"| Smart Assign over {args.learners} create events, no endpoint | {fmt(none, 2)} s |",
        f"| the same, three endpoints subscribed to every type | {fmt(three, 2)} s ({written} deliveries written) |",
        f"| ratio (three / none) | {fmt(three / none, 2)} |",
    ]
    write_report(f"webhooks-{db.dialect}", lines, data)


if __name__ == "__main__":
    main()
