"""Herd's own CPU per SCIM request, in-process: no HTTP server, no load generator, no sockets.

    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/test python -m bench.request_cpu --users 1000
    ... --redis-url redis://127.0.0.1:6379/9     (the rate limiter counts in a live Redis)

It makes a fresh database (as ``bench.entra_cycle`` does), then calls ``wsgi:app`` and the
floor (``bench.floor_app``, PostgreSQL only) directly as WSGI callables with prebuilt
environs, for every request kind of the Entra and Okta cycles, and reports the CPU time
of this process per request (``time.process_time``): the Python cost a request adds on
top of the database, which the server benches cannot separate from the load generator's
on a 2-core machine. Each kind runs in rounds alternating Herd and the floor; the table
gives the median round. The figure is steadier than req/s, but it leaves out gunicorn,
gevent and the socket: ``bench.compare`` measures those.

Results: bench/results/request_cpu-<db>-<N><tag>.md
"""

from __future__ import annotations

import argparse
import io
import json
import os
import statistics
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

from bench.common.client import CUSTOM, PATCH_OP, SCIM_TYPE, make_users
from bench.common.report import RESULTS, code_version
from bench.common.server import OwnServer

KINDS = [
    "filter.miss",
    "post",
    "filter.userName",
    "patch",
    "filter.externalId",
    "filter.email",
    "get",
    "put",
    "deactivate",
]


def environ(method, path, query="", body=None, token=""):
    """A WSGI environ for one request, as gunicorn builds it (the input stream is set per call)."""
    data = json.dumps(body).encode() if body is not None else b""
    env = {
        "REQUEST_METHOD": method,
        "SCRIPT_NAME": "",
        "PATH_INFO": path,
        "QUERY_STRING": query,
        "SERVER_NAME": "127.0.0.1",
        "SERVER_PORT": "5000",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "127.0.0.1",
        "wsgi.url_scheme": "http",
        "wsgi.version": (1, 0),
        "wsgi.errors": sys.stderr,
        "wsgi.multithread": False,
        "wsgi.multiprocess": True,
        "wsgi.run_once": False,
        "HTTP_HOST": "127.0.0.1:5000",
        "HTTP_AUTHORIZATION": f"Bearer {token}",
        "HTTP_USER_AGENT": "herd-bench/request_cpu",
        "HTTP_ACCEPT": "*/*",
    }
    if body is not None:
        env["CONTENT_TYPE"] = SCIM_TYPE
        env["CONTENT_LENGTH"] = str(len(data))
    return env, data


def call(app, prepared):
    """Run one request through ``app``; returns (status code, body bytes)."""
    env, data = prepared
    env = dict(env)
    env["wsgi.input"] = io.BytesIO(data)
    status = []
    chunks = app(env, lambda s, h, exc_info=None: status.append(s))
    try:
        body = b"".join(chunks)
    finally:
        if hasattr(chunks, "close"):
            chunks.close()
    return int(status[0].split()[0]), body


def requests_for(kind, users, base, token):
    """The prebuilt requests of ``kind``, one per user (the ids come from the POST round)."""
    from urllib.parse import urlencode

    out = []
    for u in users:
        if kind == "filter.miss":
            q = urlencode({"filter": f'userName eq "{u.user_name}"'})
            out.append(environ("GET", f"{base}/Users", q, token=token))
        elif kind == "post":
            out.append(environ("POST", f"{base}/Users", body=u.post_body(), token=token))
        elif kind == "filter.userName":
            q = urlencode({"filter": f'userName eq "{u.user_name.upper()}"'})
            out.append(environ("GET", f"{base}/Users", q, token=token))
        elif kind == "filter.externalId":
            q = urlencode({"filter": f'externalId eq "{u.external_id}"'})
            out.append(environ("GET", f"{base}/Users", q, token=token))
        elif kind == "filter.email":
            q = urlencode({"filter": f'emails[type eq "work"].value eq "{u.email}"'})
            out.append(environ("GET", f"{base}/Users", q, token=token))
        elif kind == "get":
            out.append(environ("GET", f"{base}/Users/{u.id}", token=token))
        elif kind == "patch":
            ops = [
                {"op": "Replace", "path": "displayName", "value": f"{u.given} Patched"},
                {"op": "Replace", "path": "name.familyName", "value": "Patched"},
                {"op": "Replace", "path": f"{CUSTOM}:state", "value": "Ontario"},
                {"op": "Replace", "path": f"{CUSTOM}:country", "value": "CA"},
                {"op": "Add", "path": 'phoneNumbers[type eq "work"].value', "value": f"556{u.index:07d}"},
            ]
            out.append(
                environ("PATCH", f"{base}/Users/{u.id}", body={"schemas": [PATCH_OP], "Operations": ops}, token=token)
            )
        elif kind == "put":
            body = u.post_body()
            body["id"] = u.id
            body["displayName"] = f"{u.given} {u.family} (Okta)"
            out.append(environ("PUT", f"{base}/Users/{u.id}", body=body, token=token))
        elif kind == "deactivate":
            ops = [{"op": "Replace", "path": "active", "value": "False"}]
            out.append(
                environ("PATCH", f"{base}/Users/{u.id}", body={"schemas": [PATCH_OP], "Operations": ops}, token=token)
            )
    return out


EXPECTED = {"filter.miss": 200, "post": 201}


def measure(app, prepared, kind):
    """CPU ms per request over ``prepared``; every answer must be the expected 2xx."""
    expected = EXPECTED.get(kind, 200)
    answers = []
    t0 = time.process_time()
    for p in prepared:
        answers.append(call(app, p))
    cpu = time.process_time() - t0
    bad = [(s, b[:200]) for s, b in answers if s != expected]
    if bad:
        raise SystemExit(f"{kind}: {len(bad)} unexpected answers, e.g. {bad[0]}")
    return cpu * 1000 / len(prepared), answers


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--users", type=int, default=1000, help="users per round (default 1000)")
    p.add_argument("--rounds", type=int, default=3, help="rounds per kind, alternating Herd and the floor")
    p.add_argument("--redis-url", default=None, help="a live Redis for the rate limiter (default: a closed port)")
    p.add_argument("--db-name", default="herd_bench_request_cpu")
    p.add_argument("--out", type=Path, default=RESULTS)
    p.add_argument("--tag", default="")
    p.add_argument("--no-floor", action="store_true", help="Herd alone (SQLite, or no floor to compare)")
    args = p.parse_args(argv)

    server = OwnServer(os.environ.get("DATABASE_URL"), 1, False, args.db_name, redis_url=args.redis_url)
    env, company, token = server.provision(5000)
    os.environ.update(env)
    floor = None
    if server.dialect == "postgresql" and not args.no_floor:
        from bench import floor_app

        floor = floor_app.app
    from wsgi import app as herd

    base = f"/scim/v2/{company}"
    apps = {"herd": herd, **({"floor": floor} if floor else {})}
    results = {name: {k: [] for k in KINDS} for name in apps}
    started = datetime.now(UTC)
    for r in range(args.rounds):
        order = list(apps) if r % 2 == 0 else list(apps)[::-1]
        for name in order:
            users = make_users(args.users, f"{name}{r}x", seed=r + 1)
            for kind in KINDS:
                prepared = requests_for(kind, users, base, token)
                ms, answers = measure(apps[name], prepared, kind)
                results[name][kind].append(ms)
                if kind == "post":
                    for u, (_, b) in zip(users, answers, strict=True):
                        u.id = json.loads(b)["id"]
            print(f"round {r + 1} {name}: " + ", ".join(f"{k} {results[name][k][-1]:.2f}" for k in KINDS), flush=True)
    lines = [
        f"# Herd's CPU per request, in-process: {args.users} users x {args.rounds} rounds",
        "",
        f"- command: `python -m bench.request_cpu {' '.join(argv if argv is not None else sys.argv[1:])}`",
        f"- started: {started:%Y-%m-%d %H:%M:%S} UTC; code: {code_version()}",
        f"- database: {server.database_version()}; Redis for the limiter: {args.redis_url or 'none (closed port)'}",
        "- CPU ms of this one Python process per request (median round), calling each app as a WSGI callable:",
        "  no server, no sockets, no load generator. The database's own CPU is not counted.",
        "",
        "| kind | " + " | ".join(apps) + (" | herd / floor |" if floor else " |"),
        "|---|" + "---:|" * len(apps) + ("---:|" if floor else ""),
    ]
    total = {name: 0.0 for name in apps}
    for kind in KINDS:
        med = {name: statistics.median(results[name][kind]) for name in apps}
        for name in apps:
            total[name] += med[name]
        cells = [f"{med[n]:.3f}" for n in apps]
        if floor:
            cells.append(f"{med['herd'] / med['floor']:.2f}x")
        lines.append(f"| {kind} | " + " | ".join(cells) + " |")
    cells = [f"{total[n] / len(KINDS):.3f}" for n in apps]
    if floor:
        cells.append(f"{total['herd'] / total['floor']:.2f}x")
    lines.append("| mean of the kinds | " + " | ".join(cells) + " |")
    text = "\n".join(lines) + "\n"
    print(text)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / f"request_cpu-{server.dialect}-{args.users}{'-' + args.tag if args.tag else ''}.md").write_text(text)
    server.stop()


if __name__ == "__main__":
    main()
