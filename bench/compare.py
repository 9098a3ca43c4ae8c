"""Herd next to the bench floor (and server models next to each other), in one run.

    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/test_perf \\
        python -m bench.compare --users 2000 --concurrency 8 --rounds 2 \\
        --targets floor:gevent:2 herd:sync:4 herd:gevent:2

Each target is ``app:server:workers[xthreads]``: app ``herd`` (wsgi:app) or ``floor``
(bench/floor_app.py: one statement per request), server ``sync``, ``gevent``,
``gthread`` or ``granian``. Every round runs every target in the order given, each
on a freshly created database (``--db-name``), with the same simulated directory
and the full Entra cycle plus the Okta PUT cycle (``bench.entra_cycle``). Figures
are per target, summed over the rounds, and each rate is also given as a ratio to the
first target (the floor): on a shared 2-core machine only ratios measured side by
side mean something. Results: bench/results/compare-<db>-<N>[-tag].md|json.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

from bench.common import client as workload
from bench.common.report import RESULTS, ROOT, code_version, loadavg, machine_info
from bench.common.server import APPS, SERVERS, OwnServer
from bench.common.stats import percentile

PHASES = [p for p in workload.PHASES if p != "warmup"]


def parse_target(spec):
    """``floor:gevent:2`` / ``herd:gthread:2x4`` -> dict(app, server, workers, threads)."""
    try:
        app, server, size = spec.split(":")
        workers, _, threads = size.partition("x")
        target = {"app": app, "server": server, "workers": int(workers), "threads": int(threads or 1)}
    except ValueError:
        raise SystemExit(f"bad target {spec!r}: expected app:server:workers[xthreads]") from None
    if app not in APPS or server not in SERVERS:
        raise SystemExit(f"bad target {spec!r}: app one of {list(APPS)}, server one of {list(SERVERS)}")
    return target


def run_target(target, args, seed_run):
    """One full cycle against one freshly started server; returns (phases, server description, log)."""
    server = OwnServer(
        os.environ.get("DATABASE_URL"),
        target["workers"],
        False,
        args.db_name,
        app=target["app"],
        server=target["server"],
        threads=target["threads"],
        redis_url=args.redis_url,
    )
    try:
        base, company, token = server.start()
        tenant_url = f"{base}/scim/v2/{company}"
        users = workload.make_users(args.users, seed_run, args.seed)
        warm = workload.make_users(args.warmup, f"{seed_run}w", args.seed + 1)
        every = max(1, round(1 / args.deactivate))
        plan = {
            "warmup": [lambda c, u=u: workload.initial_task(c, u, "warmup") for u in warm],
            "initial": [lambda c, u=u: workload.initial_task(c, u) for u in users],
            "incremental": [
                lambda c, u=u: workload.incremental_task(c, u, args.seed * 1_000_003 + u.index) for u in users
            ],
            "lookup": [lambda c, u=u: workload.lookup_task(c, u) for u in users],
            "okta": [lambda c, u=u: workload.okta_task(c, u) for u in users],
            "deactivate": [lambda c, u=u: workload.deactivate_task(c, u) for u in users if u.index % every == 0],
        }
        phases = []
        for name in workload.PHASES:
            result = workload.run_phase(
                name, plan[name], args.concurrency, lambda: workload.Client(tenant_url, token, 60), server.cpu_watch()
            )
            phases.append(result)
            if name == "initial":
                # The server's autovacuum is off here; once the initial cycle has created the
                # learners, autoanalyze would have run on a live database. Without statistics,
                # a prepared statement's generic plan may pick any (company_id, ...) index and
                # filter every learner of the company (the floor's lookups did).
                server.analyze()
            bad = sum(1 for s in result.samples if s.wrong or not 200 <= s.status < 300)
            _, check = workload.client_check(len(result.samples), result.wall_s, result.client_cpu_s)
            print(
                f"    {name}: {len(result.samples) / result.wall_s:.1f} req/s"
                + (f", {bad} errors/wrong" if bad else "")
                + f"; {check}",
                flush=True,
            )
        return phases, server.server_desc, server.log_summary(), server.database_version()
    finally:
        server.stop()


def merge(results):
    """Phase wall times and samples of several rounds of one target, summed."""
    merged = {}
    for phases in results:
        for p in phases:
            if p.name == "warmup":
                continue
            m = merged.setdefault(
                p.name, {"wall": 0.0, "samples": [], "server_cpu": 0.0, "database_cpu": 0.0, "client_cpu": 0.0}
            )
            m["wall"] += p.wall_s
            m["client_cpu"] += p.client_cpu_s
            m["samples"] += p.samples
            m["server_cpu"] += p.server_cpu_s or 0.0
            m["database_cpu"] += p.database_cpu_s or 0.0
    return merged


def summary(merged):
    """Per phase: req/s; per kind: req/s (count over its phase's wall), p50, p99; and the cycle total."""
    phases, kinds = {}, {}
    total_n = total_wall = total_server = total_db = total_client = 0
    for name in PHASES:  # the warmup is not merged (see merge)
        m = merged[name]
        n = len(m["samples"])
        share, check = workload.client_check(n, m["wall"], m["client_cpu"])
        phases[name] = {
            "client_share": share,
            "client_check": check,
            "requests": n,
            "rps": n / m["wall"],
            "bad": sum(1 for s in m["samples"] if s.wrong or not 200 <= s.status < 300),
            "server_cpu_ms": 1000 * m["server_cpu"] / n if n else None,
            "database_cpu_ms": 1000 * m["database_cpu"] / n if n else None,
        }
        if name != "okta":
            total_n, total_wall = total_n + n, total_wall + m["wall"]
            total_server, total_db = total_server + m["server_cpu"], total_db + m["database_cpu"]
            total_client += m["client_cpu"]
        for kind in sorted({s.kind for s in m["samples"]}):
            ms = sorted(s.ms for s in m["samples"] if s.kind == kind)
            kinds[kind] = {
                "count": len(ms),
                "rps": len(ms) / m["wall"],
                "p50_ms": percentile(ms, 50),
                "p99_ms": percentile(ms, 99),
            }
    share, check = workload.client_check(total_n, total_wall, total_client)
    phases["entra cycle (all but okta)"] = {
        "client_share": share,
        "client_check": check,
        "requests": total_n,
        "rps": total_n / total_wall,
        "bad": 0,
        "server_cpu_ms": 1000 * total_server / total_n if total_n else None,
        "database_cpu_ms": 1000 * total_db / total_n if total_n else None,
    }
    return phases, kinds


def markdown(report):
    r, m = report["run"], report["machine"]
    names = [t["label"] for t in report["targets"]]
    lines = [
        f"# Herd next to the floor: {r['users']} users, {r['concurrency']} clients, {r['rounds']} rounds",
        "",
        f"- command: `{r['command']}`",
        f"- started: {r['started_at']} UTC, total {r['total_s']:.0f} s; code: {r['code']}",
        f"- machine: {m['cores']} cores ({m['cpu_model']}), {m['memory_gib']} GiB, Python {m['python']}",
        f"- load average before / after: {m['loadavg_before']} / {m['loadavg_after']}",
        f"- database: {r['database_version']}",
        "- every target on a fresh database, rounds interleaved ("
        + ("ABBA: every other round in reverse order" if r.get("abba") else "target order repeated")
        + "); "
        "the load generator, the servers and PostgreSQL share the machine; Herd's Redis: "
        + (r.get("redis") or "a closed port (the rate limiter counts in memory)"),
        "",
    ]
    for t in report["targets"]:
        lines.append(f"- **{t['label']}** ({t['rounds']} of {r['rounds']} rounds): {t['server']}; {t['log']}")
    lines += [
        "",
        f"## Requests per second by phase (ratio to {names[0]})",
        "",
        "| phase | " + " | ".join(names) + " |",
        "|---|" + "---:|" * len(names),
    ]
    base = report["targets"][0]
    for phase in base["phases"]:
        cells = []
        for t in report["targets"]:
            p = t["phases"][phase]
            ratio = p["rps"] / base["phases"][phase]["rps"]
            bad = f" ({p['bad']} bad)" if p["bad"] else ""
            cells.append(f"{p['rps']:.0f} ({ratio:.2f}x){bad}")
        lines.append(f"| {phase} | " + " | ".join(cells) + " |")
    lines += [
        "",
        f"## CPU per request: server ms + database ms (server ratio to {names[0]})",
        "",
        "What each request cost the web server's processes (gunicorn master and workers) and the",
        "PostgreSQL backends serving its database, in CPU milliseconds: unlike req/s, this does not",
        "depend on what else the machine runs, so it is the steadier measure of the server's own cost.",
        "",
        "| phase | " + " | ".join(names) + " |",
        "|---|" + "---:|" * len(names),
    ]
    for phase in base["phases"]:
        cells = []
        for t in report["targets"]:
            p = t["phases"][phase]
            server, database = p.get("server_cpu_ms"), p.get("database_cpu_ms")
            if not server:
                cells.append("-")
                continue
            floor = base["phases"][phase].get("server_cpu_ms")
            ratio = f" ({server / floor:.2f}x)" if floor else ""
            cells.append(f"{server:.2f} + {database:.2f}{ratio}")
        lines.append(f"| {phase} | " + " | ".join(cells) + " |")
    lines += [
        "",
        "## Is the load generator saturated?",
        "",
        "The client is one Python process (its threads share one core). Per phase: the share of a core",
        f"it used, its CPU per request and the rate it could send with a core to itself. At {workload.CLIENT_SATURATED:.0%}",
        "of a core or more, the client, not the server, set the rate, and the ratio to the first target",
        "understates the gap.",
        "",
        "| phase | " + " | ".join(names) + " |",
        "|---|" + "---:|" * len(names),
    ]
    for phase in base["phases"]:
        cells = [t["phases"][phase].get("client_check", "-") for t in report["targets"]]
        lines.append(f"| {phase} | " + " | ".join(cells) + " |")
    lines += [
        "",
        f"## Per request kind: req/s (ratio to {names[0]}), p50 / p99 ms",
        "",
        "| kind | " + " | ".join(names) + " |",
        "|---|" + "---:|" * len(names),
    ]
    for kind in base["kinds"]:
        cells = []
        for t in report["targets"]:
            k = t["kinds"].get(kind)
            if k is None:
                cells.append("-")
                continue
            ratio = k["rps"] / base["kinds"][kind]["rps"]
            cells.append(f"{k['rps']:.0f} ({ratio:.2f}x), {k['p50_ms']:.1f} / {k['p99_ms']:.1f}")
        lines.append(f"| {kind} | " + " | ".join(cells) + " |")
    lines += [
        "",
        "A phase's req/s is its requests over its wall time, summed over the rounds; a kind's req/s is "
        "its count over its phase's wall time (a phase interleaves its kinds). 'bad': non-2xx answers "
        "or 2xx answers with the wrong content. The 'entra cycle' row is initial + incremental + lookup + "
        "deactivate (the Okta GET+PUT phase is reported apart).",
    ]
    return "\n".join(lines) + "\n"


def build_report(args, argv, targets, runs, info, started, t0, load_before, rounds_started):
    """The report over the runs done so far (targets not yet run in the last round count fewer rounds)."""
    out_targets = []
    for t in targets:
        if not runs[t["label"]]:
            continue
        phases, kinds = summary(merge(runs[t["label"]]))
        desc, log, _ = info[t["label"]]
        out_targets.append(
            {
                "label": t["label"],
                "rounds": len(runs[t["label"]]),
                "server": desc,
                "log": log,
                "phases": phases,
                "kinds": kinds,
            }
        )
    return {
        "run": {
            "users": args.users,
            "concurrency": args.concurrency,
            "rounds": args.rounds,
            "abba": args.abba,
            "redis": f"live, {args.redis_url} (the rate limiter counts there)" if args.redis_url else None,
            "rounds_started": rounds_started,
            "command": f"DATABASE_URL={os.environ['DATABASE_URL']} python -m bench.compare "
            + " ".join(shlex.quote(a) for a in (argv if argv is not None else sys.argv[1:]))
            + (f" --base {os.environ['BENCH_BASE_REV']}" if os.environ.get("BENCH_BASE_REV") else ""),
            "started_at": started.strftime("%Y-%m-%d %H:%M:%S"),
            "total_s": time.perf_counter() - t0,
            "code": code_version(),
            "database_version": next(iter(info.values()))[2],
        },
        "machine": machine_info() | {"loadavg_before": load_before, "loadavg_after": loadavg()},
        "targets": out_targets,
    }


def write(out, stem, report):
    out.mkdir(parents=True, exist_ok=True)
    (out / f"{stem}.json").write_text(json.dumps(report, indent=2) + "\n")
    (out / f"{stem}.md").write_text(markdown(report))


def _without_base(argv):
    """``argv`` less ``--base REV`` (the snapshot is made; the run itself uses BENCH_BASE_TREE)."""
    argv = list(argv if argv is not None else sys.argv[1:])
    out, skip = [], False
    for a in argv:
        if skip:
            skip = False
        elif a == "--base":
            skip = True
        elif not a.startswith("--base="):
            out.append(a)
    return out


def _with_base_snapshot(rev, run):
    """Run ``run()`` with BENCH_BASE_TREE at a ``git archive`` of ``rev``, removed afterwards."""
    tree = Path(tempfile.mkdtemp(prefix="herd-base-"))
    try:
        archive = subprocess.run(["git", "-C", str(ROOT), "archive", rev], check=True, capture_output=True).stdout
        subprocess.run(["tar", "-x", "-C", str(tree)], input=archive, check=True)
        commit = subprocess.run(
            ["git", "-C", str(ROOT), "rev-parse", "--short", rev], check=True, capture_output=True, text=True
        ).stdout.strip()
        print(f"base: {rev} ({commit}), git archive snapshot in {tree}", flush=True)
        os.environ["BENCH_BASE_TREE"] = str(tree)
        os.environ["BENCH_BASE_REV"] = rev
        return run()
    finally:
        shutil.rmtree(tree, ignore_errors=True)


def main(argv=None):
    p = argparse.ArgumentParser(prog="python -m bench.compare", description=__doc__.split("\n\n")[0])
    p.add_argument("--users", type=int, default=2000)
    p.add_argument("--concurrency", type=int, default=8)
    p.add_argument("--rounds", type=int, default=2)
    p.add_argument("--targets", nargs="+", default=["floor:gevent:2", "herd:gevent:2"])
    p.add_argument("--warmup", type=int, default=32)
    p.add_argument("--deactivate", type=float, default=0.10)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--db-name", default="herd_bench_compare")
    p.add_argument("--out", type=Path, default=RESULTS)
    p.add_argument("--tag", default="")
    p.add_argument("--abba", action="store_true", help="reverse the target order in every other round")
    p.add_argument(
        "--redis-url",
        help="a live Redis for Herd (its rate limiter counts there, as in production; the web "
        "publishes nothing there, the outbox relay is not started); default: a closed port, so the "
        "limiter falls back to in-memory counters",
    )
    p.add_argument(
        "--base",
        metavar="REV",
        help="the app 'base' is Herd at this git revision (e.g. 5e9bc9a, the previous main): a git "
        "archive snapshot in a temporary directory, removed at the end (else BENCH_BASE_TREE names a tree)",
    )
    args = p.parse_args(argv)
    if args.base:
        return _with_base_snapshot(args.base, lambda: main(_without_base(argv)))
    if not (os.environ.get("DATABASE_URL") or "").startswith("postgres"):
        raise SystemExit("bench.compare needs DATABASE_URL=postgresql://... (the floor is PostgreSQL only)")
    targets = [parse_target(t) | {"label": t} for t in args.targets]
    # SIGTERM (timeout, kill) unwinds like Ctrl-C: the running server and its database are removed.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    started, t0, load_before = datetime.now(UTC), time.perf_counter(), loadavg()
    runs = {t["label"]: [] for t in targets}
    info = {}
    stem = f"compare-postgresql-{args.users}" + (f"-{args.tag}" if args.tag else "")
    report = None
    for rnd in range(args.rounds):
        # ABBA: every other round runs the targets in reverse, so a machine whose load
        # drifts during the run favours no target.
        for t in targets if rnd % 2 == 0 or not args.abba else list(reversed(targets)):
            print(f"round {rnd + 1}: {t['label']}", flush=True)
            phases, desc, log, dbv = run_target(t, args, uuid.uuid4().hex[:8])
            runs[t["label"]].append(phases)
            info[t["label"]] = (desc, log, dbv)
            # Written after every target run, so an interrupted bench still leaves what it measured.
            report = build_report(args, argv, targets, runs, info, started, t0, load_before, rnd + 1)
            write(args.out, stem, report)
    print(markdown(report))
    print(f"wrote {args.out / (stem + '.md')} and .json")
    out_targets = report["targets"]
    bad = sum(p["bad"] for t in out_targets for p in t["phases"].values())
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
