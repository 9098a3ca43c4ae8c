"""Where a Herd web worker's wall time goes during Entra's initial cycle (py-spy).

    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/test_perf \\
        python -m bench.profile_web --users 1000 --server gevent

Starts Herd (one worker, ``bench.entra_cycle``'s own server on a fresh database), warms
it up, then records that worker with ``py-spy record --idle --format raw`` while the
initial cycle (filter + POST per user) runs on ``--concurrency`` clients. The stacks are
sorted into buckets by the first rule in ``BUCKETS`` that matches a frame, from the
outermost frame inwards, so a query inside authentication counts as authentication.
Samples outside the app with a waiting leaf frame (the worker waiting for a connection;
under gevent, the hub waiting on every socket, database included) are left out of the
percentages.
Writes bench/results/profile_web-<server>[-tag].md (the table) and .txt (the raw stacks'
top frames by self time).
"""

from __future__ import annotations

import argparse
import collections
import os
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

from bench.common.client import Client, incremental_task, initial_task, lookup_task, make_users, okta_task, run_phase
from bench.common.report import RESULTS, code_version
from bench.common.server import SERVERS, OwnServer

# (bucket, substrings of a frame); the first bucket one of whose substrings a frame contains wins,
# checking each bucket against the whole stack in this order.
BUCKETS = [
    ("connection checkout (and pool_pre_ping where it is on)", ["_checkout (", "do_ping", "_do_ping_w_event"]),
    ("authentication (token + company + the row asked for)", ["authenticate (service/auth.py"]),
    ("broker publish inside the request", ["Enqueuer.send", "celery/", "kombu/"]),
    ("commit (flush + COMMIT)", ["do_commit", "Session.commit", "_connection_commit_impl"]),
    ("SQL statements (ORM + driver)", ["Session.execute", "Session.scalar", "Session.get", "Session.flush",
                                        "do_execute", "Connection._execute", "Query.", "Prebuilt."]),
    (
        "rate limiter (its counters, Flask-Limiter, its storage)",
        ["flask_limiter/", "limits/", "service/ratelimit/limiter.py", "service/ratelimit/window_counter.py"],
    ),
    ("marshmallow load/dump", ["marshmallow/"]),
    ("JSON encode/decode", ["json/", "provider.py"]),
    ("SCIM request handling (filters, mapping, patch)", ["service/scim/"]),
    ("Flask / Werkzeug request cycle", ["flask/", "werkzeug/"]),
    ("gunicorn (parse, respond)", ["gunicorn/"]),
]  # fmt: skip


IDLE = "waiting for a connection or the database (idle, excluded)"


def bucket_of(frames):
    if not any("flask/" in f for f in frames):
        leaf = frames[-1] if frames else ""
        # gevent's resolver thread waiting on its queue is idle too (py-spy samples every thread).
        if any(w in leaf for w in ("select", "wait", "Hub.run", "sleep", "accept", "acquire")):
            return IDLE
        return "gunicorn (parse, respond)"
    for name, needles in BUCKETS:
        for frame in frames:
            if any(n in frame for n in needles):
                return name
    return "other"


def summarize(raw_path):
    """(bucket counts, total non-idle samples, top self frames) from a py-spy raw file."""
    buckets = collections.Counter()
    selfs = collections.Counter()
    for line in Path(raw_path).read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():  # a frame name spanning lines: skip its pieces
            continue
        frames = stack.split(";")
        buckets[bucket_of(frames)] += int(count)
        selfs[frames[-1]] += int(count)
    busy = sum(buckets.values()) - buckets[IDLE]
    return buckets, busy, selfs


def main(argv=None):
    p = argparse.ArgumentParser(prog="python -m bench.profile_web", description=__doc__.split("\n\n")[0])
    p.add_argument("--users", type=int, default=1000)
    p.add_argument("--concurrency", type=int, default=8)
    p.add_argument("--server", default="gevent", choices=SERVERS)
    p.add_argument("--threads", type=int, default=4)
    p.add_argument("--out", type=Path, default=RESULTS)
    p.add_argument("--tag", default="")
    p.add_argument(
        "--cpu",
        action="store_true",
        help="on-CPU samples only (py-spy without --idle): where the worker's CPU goes, not its wall time",
    )
    p.add_argument(
        "--cycle",
        action="store_true",
        help="record the whole cycle (initial, incremental, lookup, okta), not the initial phase alone",
    )
    p.add_argument(
        "--only",
        choices=["incremental", "lookup", "okta"],
        help="record this phase alone (the users are created first, unrecorded)",
    )
    p.add_argument(
        "--redis-url",
        help="a live Redis for the web's broker (default: a closed port, as bench.entra_cycle); "
        "its database gets the messages, flush it afterwards",
    )
    args = p.parse_args(argv)
    server = OwnServer(
        os.environ.get("DATABASE_URL"),
        1,
        False,
        "herd_bench_profile",
        server=args.server,
        threads=args.threads,
        redis_url=args.redis_url,
    )
    raw = Path(tempfile.mkdtemp(prefix="herd-profile-")) / "stacks.txt"
    try:
        base, company, token = server.start()
        url = f"{base}/scim/v2/{company}"

        def client():
            return Client(url, token, 60)

        warm = make_users(32, uuid.uuid4().hex[:8], 2)
        run_phase("warmup", [lambda c, u=u: initial_task(c, u, "warmup") for u in warm], 8, client)
        children = subprocess.run(["pgrep", "-P", str(server.proc.pid)], capture_output=True, text=True, check=False)
        worker_pid = children.stdout.split()[0]
        spy = Path(sys.executable).with_name("py-spy")
        cmd = [str(spy), "record", "-p", worker_pid, "-r", "200", "-f", "raw", "-o", str(raw)]
        if not args.cpu:
            cmd.insert(4, "--idle")
        users = make_users(args.users, uuid.uuid4().hex[:8], 1)
        phases = {
            "incremental": lambda c, u: incremental_task(c, u, u.index),
            "lookup": lookup_task,
            "okta": okta_task,
        }
        if args.only:
            run_phase("initial", [lambda c, u=u: initial_task(c, u) for u in users], args.concurrency, client)
            plan = [(args.only, phases[args.only])]
        else:
            plan = [("initial", initial_task)] + (list(phases.items()) if args.cycle else [])
        recorder = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
        time.sleep(1.0)
        started, requests = time.perf_counter(), 0
        for name, task in plan:
            result = run_phase(name, [lambda c, u=u, t=task: t(c, u) for u in users], args.concurrency, client)
            requests += len(result.samples)
        rate = requests / (time.perf_counter() - started)
        recorder.send_signal(signal.SIGINT)
        recorder.wait(timeout=60)
        desc = server.server_desc
    finally:
        server.stop()
    buckets, busy, selfs = summarize(raw)
    lines = [
        f"# Profile of one Herd web worker, Entra "
        f"{args.only + ' phase' if args.only else 'cycle' if args.cycle else 'initial cycle'} ({args.server})",
        "",
        f"- command: `DATABASE_URL={os.environ.get('DATABASE_URL')} python -m bench.profile_web "
        + " ".join(argv if argv is not None else sys.argv[1:])
        + "`",
        f"- code: {code_version()}; server: {desc}; {args.users} users, {args.concurrency} clients, "
        f"{rate:.0f} req/s during the recording; broker: {'live Redis' if args.redis_url else 'a closed port'}",
        f"- py-spy record{'' if args.cpu else ' --idle (wall time)'} at 200 Hz on the single worker"
        f"{' (on-CPU samples only)' if args.cpu else ''}; buckets: bench/profile_web.py BUCKETS",
        "",
        f"| where the worker's {'CPU' if args.cpu else 'wall'} time goes | share of busy samples |",
        "|---|---:|",
    ]
    for name, count in buckets.most_common():
        if name == IDLE:
            continue
        lines.append(f"| {name} | {100 * count / busy:.1f} % |")
    idle = buckets[IDLE]
    lines += [
        "",
        f"{busy} busy samples; {idle} samples waiting for a connection (left out).",
        "",
        "## Top frames by self time (busy and idle)",
        "",
        "| frame | samples |",
        "|---|---:|",
    ]
    for frame, count in selfs.most_common(25):
        lines.append(f"| `{frame}` | {count} |")
    args.out.mkdir(parents=True, exist_ok=True)
    stem = f"profile_web-{args.server}" + (f"-{args.tag}" if args.tag else "")
    (args.out / f"{stem}.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
