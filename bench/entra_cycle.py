"""Replay Entra ID's provisioning cycle against a live Herd server and report latencies.

    python -m bench.entra_cycle --users 1000 --concurrency 8
    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/test python -m bench.entra_cycle --users 10000
    python -m bench.entra_cycle --users 1000 --url http://127.0.0.1:5000 --company 1 --token SECRET

Without ``--url`` the script runs its own server: a fresh database (a SQLite file
in a temp dir, or on PostgreSQL a dedicated database it drops and creates, never
the one named in DATABASE_URL), the migrations, a company and a token made with
the operator CLI, and ``gunicorn wsgi:app`` on a free loopback port. The broker
URL points at a closed port: SCIM must not need Redis (docs/testing.md).

Phases, each run by C threads with their own HTTP session:

1. initial cycle: filter ``userName eq`` (0 hits) then POST the Entra payload;
2. incremental cycle: filter (1 hit) then PATCH in Entra's default dialect;
3. lookups: filter by userName, externalId, ``emails[type eq "work"].value``, GET by id;
4. deactivations: ``PATCH active "False"`` for a tenth of the users.

Every non-2xx answer (and every transport failure) is an error; a 2xx answer
with the wrong content (hit count, id, active flag) is counted as "wrong".
Results go to stdout and to bench/results/entra_cycle-<db>-<N>.md|json.
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import platform
import queue
import random
import re
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
RESULTS = Path(__file__).resolve().parent / "results"

SCIM_TYPE = "application/scim+json; charset=utf-8"
CORE = "urn:ietf:params:scim:schemas:core:2.0:User"
ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
CUSTOM = "urn:ietf:params:scim:schemas:extension:CustomExtensionName:2.0:User"
PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
# Nothing listens on port 1: every publish fails fast and the outbox keeps the event.
DEAD_REDIS = "redis://127.0.0.1:1/0"
BENCH_DATABASE = "herd_bench"

# (state, country) pairs as HR systems send them: names, codes, aliases.
PLACES = [
    ("California", "US"),
    ("New York", "USA"),
    ("TX", "United States"),
    ("Florida", "US"),
    ("Washington", "US"),
    ("Bavaria", "Germany"),
    ("Ontario", "CA"),
    ("England", "UK"),
    ("Île-de-France", "France"),
    ("Queensland", "AU"),
]
ROLES = ["supervisor", "employee", "nonsupervisor", "Supervisor"]
TAGS = ["CYBER", "HIPAA", "OSHA", "HARASSMENT", "PCI", "GDPR"]
DEPARTMENTS = ["Ops", "Sales", "Engineering", "Finance", "HR", "Legal"]
GIVEN = ["Jo", "Kim", "Ana", "Lee", "Sam", "Ravi", "Mia", "Noor", "Olu", "Eva"]
FAMILY = ["Doe", "Lee", "Silva", "Khan", "Okafor", "Novak", "Tanaka", "Berg", "Rossi", "Meyer"]

PHASES = ["warmup", "initial", "incremental", "lookup", "okta", "deactivate"]


# -- the simulated directory -------------------------------------------------------


@dataclass
class User:
    index: int
    user_name: str
    external_id: str
    email: str
    given: str
    family: str
    state: str
    country: str
    role: str
    tags: str
    department: str
    id: str | None = None

    @property
    def display_name(self):
        return f"{self.given} {self.family}"

    def post_body(self):
        """The POST body Entra builds from its default mappings plus a custom extension."""
        return {
            "schemas": [CORE, ENTERPRISE],
            "externalId": self.external_id,
            "userName": self.user_name,
            "active": True,
            "displayName": self.display_name,
            "userType": "learner",
            "mobilePhone": f"1{self.index:010d}",
            "name": {
                "givenName": self.given,
                "middleName": "Q",
                "familyName": self.family,
                "formatted": self.display_name,
            },
            "emails": [{"primary": True, "type": "work", "value": self.email}],
            "phoneNumbers": [{"type": "mobile", "value": f"555{self.index:07d}"}],
            ENTERPRISE: {"employeeNumber": str(700000 + self.index), "department": self.department},
            CUSTOM: {
                "state": self.state,
                "country": self.country,
                "learnerRole": self.role,
                "location": f"Site {self.index % 37}",
                "training_tags": self.tags,
            },
            "meta": {"resourceType": "User"},
            "roles": [],
        }


def make_users(n, run_id, seed):
    rng = random.Random(seed)
    users = []
    for i in range(n):
        state, country = PLACES[rng.randrange(len(PLACES))]
        users.append(
            User(
                index=i,
                user_name=f"bench.{run_id}.{i:07d}@acme.example",
                external_id=f"b{run_id}{i:07d}",
                # A work email different from userName, so the email lookup is its own query.
                email=f"u{i:07d}.{run_id}@mail.acme.example",
                given=GIVEN[rng.randrange(len(GIVEN))],
                family=FAMILY[rng.randrange(len(FAMILY))],
                state=state,
                country=country,
                role=ROLES[rng.randrange(len(ROLES))],
                tags=",".join(rng.sample(TAGS, rng.randint(1, 3))),
                department=DEPARTMENTS[rng.randrange(len(DEPARTMENTS))],
            )
        )
    return users


# -- the HTTP client and its measurements ----------------------------------------------


@dataclass
class Sample:
    kind: str
    start: float  # perf_counter at send
    ms: float
    status: int  # 0: transport failure
    wrong: bool = False
    detail: str = ""


class Client:
    """One Entra connection: a keep-alive session that records every call."""

    def __init__(self, tenant_url, token, timeout):
        self.tenant_url = tenant_url.rstrip("/")
        self.timeout = timeout
        self.session = requests.Session()
        self.session.headers.update({"Authorization": f"Bearer {token}", "User-Agent": "herd-bench/entra_cycle"})
        self.samples: list[Sample] = []

    def call(self, kind, method, path, params=None, body=None):
        """Send one request; returns ``(sample, parsed_json_or_None)``."""
        headers = {"Content-Type": SCIM_TYPE} if body is not None else None
        data = json.dumps(body) if body is not None else None
        t0 = time.perf_counter()
        try:
            resp = self.session.request(
                method, f"{self.tenant_url}/{path}", params=params, data=data, headers=headers, timeout=self.timeout
            )
            content = resp.content
            ms = (time.perf_counter() - t0) * 1000
            status = resp.status_code
        except requests.RequestException as exc:
            ms = (time.perf_counter() - t0) * 1000
            sample = Sample(kind, t0, ms, 0, detail=f"{type(exc).__name__}: {exc}"[:200])
            self.samples.append(sample)
            return sample, None
        try:
            parsed = json.loads(content) if content else None
        except ValueError:
            parsed = None
        sample = Sample(kind, t0, ms, status)
        if not 200 <= status < 300:
            detail = parsed.get("detail") if isinstance(parsed, dict) else content[:200].decode("utf-8", "replace")
            sample.detail = str(detail)[:200]
        self.samples.append(sample)
        return sample, parsed

    @staticmethod
    def ok(sample):
        return 200 <= sample.status < 300

    @staticmethod
    def mark_wrong(sample, why):
        sample.wrong = True
        sample.detail = why[:200]

    def filter_users(self, kind, filter_text, expect_total, expect_id=None):
        """GET /Users?filter=...; checks the hit count (and the id). Returns the first resource's id."""
        sample, body = self.call(kind, "GET", "Users", params={"filter": filter_text})
        if not self.ok(sample):
            return None
        if not isinstance(body, dict) or body.get("totalResults") != expect_total:
            got = body.get("totalResults") if isinstance(body, dict) else body
            self.mark_wrong(sample, f"expected totalResults {expect_total}, got {got!r} for {filter_text}")
            return None
        resources = body.get("Resources") or []
        if expect_total == 0:
            return None
        found = resources[0].get("id") if resources else None
        if expect_id is not None and found != expect_id:
            self.mark_wrong(sample, f"expected id {expect_id}, got {found} for {filter_text}")
        return found


# -- the four phases as per-user tasks ---------------------------------------------------------


def initial_task(client, user, phase="initial"):
    """Initial cycle: the match filter finds nothing, so Entra creates the user."""
    client.filter_users(f"{phase}.filter", f'userName eq "{user.user_name}"', 0)
    sample, body = client.call(f"{phase}.post", "POST", "Users", body=user.post_body())
    if sample.status == 201 and isinstance(body, dict) and body.get("id"):
        user.id = body["id"]
    elif client.ok(sample):
        client.mark_wrong(sample, f"POST answered {sample.status} without an id (expected 201)")


def incremental_task(client, user, rng_seed):
    """Incremental cycle: the filter finds the user, Entra PATCHes what changed (default dialect)."""
    if user.id is None:
        return
    found = client.filter_users("incremental.filter", f'userName eq "{user.user_name}"', 1, user.id)
    if found is None:
        return
    rng = random.Random(rng_seed)
    state, country = PLACES[rng.randrange(len(PLACES))]
    family = FAMILY[rng.randrange(len(FAMILY))]
    ops = [
        {"op": "Replace", "path": "displayName", "value": f"{user.given} {family}"},
        {"op": "Replace", "path": "name.familyName", "value": family},
        {"op": "Replace", "path": f"{CUSTOM}:state", "value": state},
        {"op": "Replace", "path": f"{CUSTOM}:country", "value": country},
    ]
    if user.index % 3 == 0:
        ops.append({"op": "Add", "path": 'phoneNumbers[type eq "work"].value', "value": f"556{user.index:07d}"})
    sample, body = client.call(
        "incremental.patch", "PATCH", f"Users/{found}", body={"schemas": [PATCH_OP], "Operations": ops}
    )
    if client.ok(sample):
        if sample.status != 200 or not isinstance(body, dict) or body.get("displayName") != ops[0]["value"]:
            client.mark_wrong(sample, f"PATCH answered {sample.status} without the patched resource")
        else:
            user.family = family
            user.state, user.country = state, country


def lookup_task(client, user):
    """Matching lookups at size: by userName (in another case), externalId, work email, and GET by id."""
    if user.id is None:
        return
    name = user.user_name.upper() if user.index % 2 else user.user_name
    client.filter_users("lookup.userName", f'userName eq "{name}"', 1, user.id)
    client.filter_users("lookup.externalId", f'externalId eq "{user.external_id}"', 1, user.id)
    client.filter_users("lookup.email", f'emails[type eq "work"].value eq "{user.email}"', 1, user.id)
    sample, body = client.call("lookup.get", "GET", f"Users/{user.id}")
    if client.ok(sample) and (not isinstance(body, dict) or body.get("userName") != user.user_name):
        client.mark_wrong(sample, "GET by id answered another user")


def okta_task(client, user):
    """Okta's update: GET the user by id, then PUT the whole resource back with what changed."""
    if user.id is None:
        return
    sample, current = client.call("okta.get", "GET", f"Users/{user.id}")
    if not client.ok(sample):
        return
    if not isinstance(current, dict) or current.get("id") != user.id:
        client.mark_wrong(sample, "GET by id answered another user")
        return
    body = user.post_body()
    body["id"] = user.id
    body["displayName"] = f"{user.given} {user.family} (Okta)"
    body["name"]["formatted"] = body["displayName"]
    sample, answer = client.call("okta.put", "PUT", f"Users/{user.id}", body=body)
    if client.ok(sample) and (not isinstance(answer, dict) or answer.get("displayName") != body["displayName"]):
        client.mark_wrong(sample, "PUT answered without the replaced resource")


def deactivate_task(client, user):
    """Unassigned / disabled in Entra: PATCH active False (default dialect: a string boolean)."""
    if user.id is None:
        return
    ops = [{"op": "Replace", "path": "active", "value": "False"}]
    sample, body = client.call(
        "deactivate.patch", "PATCH", f"Users/{user.id}", body={"schemas": [PATCH_OP], "Operations": ops}
    )
    if client.ok(sample) and (not isinstance(body, dict) or body.get("active") is not False):
        client.mark_wrong(sample, "PATCH active False answered a resource that is still active")


# -- running a phase ---------------------------------------------------------------------------


def cpu_jiffies():
    """``(busy, total)`` jiffies of all CPUs from /proc/stat, or None off Linux."""
    try:
        fields = Path("/proc/stat").read_text().splitlines()[0].split()[1:]
    except OSError:
        return None
    values = [int(v) for v in fields]
    idle = values[3] + (values[4] if len(values) > 4 else 0)
    return sum(values) - idle, sum(values)


# The last line of a traceback: "package.module.SomeError: message".
_RAISED = re.compile(r"^([A-Za-z_][\w.]*(?:Error|Exception|Exit|Interrupt)\b.*)$", re.MULTILINE)
_TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def _processes():
    """``{pid: (ppid, cpu seconds incl. reaped children, command line)}`` of every process (Linux)."""
    out = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text().rpartition(")")[2].split()
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:  # gone meanwhile
            continue
        # Fields after the command: state ppid ... utime(11) stime(12) cutime(13) cstime(14).
        out[int(entry.name)] = (int(stat[1]), sum(int(v) for v in stat[11:15]) / _TICKS, cmdline)
    return out


def process_cpu(server_pid=None, database=None):
    """CPU seconds so far of the server (``server_pid`` and its descendants) and of the
    PostgreSQL backends serving ``database``: ``{"server": s, "database": s}`` (None off Linux)."""
    try:
        procs = _processes()
    except OSError:
        return None
    result = {}
    if server_pid is not None:
        tree, grew = {server_pid}, True
        while grew:
            grew = False
            for pid, (ppid, _, _) in procs.items():
                if ppid in tree and pid not in tree:
                    tree.add(pid)
                    grew = True
        result["server"] = sum(procs[p][1] for p in tree if p in procs)
    if database:
        # A backend's title: "postgres: <user> <database> <address> <state>".
        marker = f" {database} "
        result["database"] = sum(cpu for _, cpu, cmd in procs.values() if cmd.startswith("postgres:") and marker in cmd)
    return result


@dataclass
class PhaseResult:
    name: str
    wall_s: float
    samples: list[Sample]
    cpu_busy: float | None  # fraction of all cores busy during the phase (server, database, this script, anything else)
    client_cpu_s: float  # CPU seconds this script spent
    script_failures: list[str] = field(default_factory=list)  # bugs in this script, not server errors
    # CPU seconds the server's processes and the database's backends spent in the phase
    # (independent of what else loads the machine, unlike req/s).
    server_cpu_s: float | None = None
    database_cpu_s: float | None = None


def run_phase(name, tasks, concurrency, make_client, watch=None):
    """Run ``tasks`` (callables taking a Client) on ``concurrency`` threads; bounded by the task list.

    ``watch`` (``process_cpu`` with the server's pid and database bound) gives the CPU
    the server and the database spent during the phase."""
    work = queue.SimpleQueue()
    for task in tasks:
        work.put(task)
    clients = [make_client() for _ in range(concurrency)]
    failures = []

    def worker(client):
        while True:
            try:
                task = work.get_nowait()
            except queue.Empty:
                return
            try:
                task(client)
            except Exception as exc:
                failures.append(repr(exc))

    threads = [threading.Thread(target=worker, args=(c,), name=f"{name}-{i}") for i, c in enumerate(clients)]
    cpu0, times0 = cpu_jiffies(), os.times()
    proc0 = watch() if watch else None
    t0 = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - t0
    cpu1, times1 = cpu_jiffies(), os.times()
    proc1 = watch() if watch else None
    for c in clients:
        c.session.close()
    if failures:
        print(f"  {name}: {len(failures)} task(s) raised in the bench script, first: {failures[0]}", file=sys.stderr)
    busy = None
    if cpu0 and cpu1 and cpu1[1] > cpu0[1]:
        busy = (cpu1[0] - cpu0[0]) / (cpu1[1] - cpu0[1])
    client_cpu = (times1.user - times0.user) + (times1.system - times0.system)
    samples = [s for c in clients for s in c.samples]
    spent = {k: proc1[k] - proc0[k] for k in proc1} if proc0 and proc1 else {}
    return PhaseResult(name, wall, samples, busy, client_cpu, failures, spent.get("server"), spent.get("database"))


# -- statistics and reports ------------------------------------------------------------------------


def percentile(sorted_values, p):
    """Nearest-rank percentile of an already sorted list."""
    if not sorted_values:
        return None
    rank = max(1, -(-len(sorted_values) * p // 100))
    return sorted_values[int(rank) - 1]


def summarize(phases):
    rows = []
    phase_rows = []
    for phase in phases:
        kinds = sorted(
            {s.kind for s in phase.samples}, key=lambda k: min(s.start for s in phase.samples if s.kind == k)
        )
        for kind in kinds:
            samples = sorted((s for s in phase.samples if s.kind == kind), key=lambda s: s.start)
            ms = sorted(s.ms for s in samples)
            tenth = max(1, len(samples) // 10)
            first = sorted(s.ms for s in samples[:tenth])
            last = sorted(s.ms for s in samples[-tenth:])
            errors = [s for s in samples if not 200 <= s.status < 300]
            statuses = {}
            for s in errors:
                statuses[str(s.status)] = statuses.get(str(s.status), 0) + 1
            rows.append(
                {
                    "phase": phase.name,
                    "kind": kind,
                    "count": len(samples),
                    "errors": len(errors),
                    "error_statuses": statuses,
                    "wrong": sum(1 for s in samples if s.wrong),
                    "rps": len(samples) / phase.wall_s if phase.wall_s else None,
                    "p50_ms": percentile(ms, 50),
                    "p95_ms": percentile(ms, 95),
                    "p99_ms": percentile(ms, 99),
                    "max_ms": ms[-1] if ms else None,
                    # Does latency grow as the data grows? p50 of the first and the last tenth.
                    "p50_first_tenth_ms": percentile(first, 50),
                    "p50_last_tenth_ms": percentile(last, 50),
                }
            )
        phase_rows.append(
            {
                "phase": phase.name,
                "requests": len(phase.samples),
                "errors": sum(1 for s in phase.samples if not 200 <= s.status < 300),
                "wrong": sum(1 for s in phase.samples if s.wrong),
                "wall_s": phase.wall_s,
                "rps": len(phase.samples) / phase.wall_s if phase.wall_s else None,
                "cpu_busy": phase.cpu_busy,
                "client_cpu_s": phase.client_cpu_s,
                "server_cpu_s": phase.server_cpu_s,
                "database_cpu_s": phase.database_cpu_s,
                "script_failures": len(phase.script_failures),
            }
        )
    return rows, phase_rows


def error_examples(phases, limit=10):
    seen = {}
    for phase in phases:
        for s in phase.samples:
            if s.wrong or not 200 <= s.status < 300:
                key = (s.kind, s.status, s.detail)
                seen[key] = seen.get(key, 0) + 1
    top = sorted(seen.items(), key=lambda kv: -kv[1])[:limit]
    return [{"kind": k, "status": st, "detail": d, "count": n} for (k, st, d), n in top]


def fmt(value, digits=1):
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return str(value)


def markdown(report):
    m = report["machine"]
    r = report["run"]
    analyzed = (
        "ANALYZE run by the bench after the initial phase" if r["analyze_after_initial"] else "no ANALYZE by the bench"
    )
    lines = [
        f"# Entra cycle: {r['users']} users, {r['concurrency']} clients, {r['database']}",
        "",
        f"- command: `{r['command']}`",
        f"- started: {r['started_at']} UTC, total {r['total_s']:.1f} s; code: {r['code']}",
        (
            f"- machine: {m['cores']} cores ({m['cpu_model']}), {m['memory_gib']} GiB, {m['platform']}, "
            f"Python {m['python']}"
        ),
        f"- load average before / after: {m['loadavg_before']} / {m['loadavg_after']}",
        f"- database: {r['database']} ({r['database_version']}); server: {r['server']}",
        f"- planner statistics: {r['planner_statistics_at_end']} ({analyzed})",
        (
            f"- the load generator, gunicorn and the database share the same {m['cores']} cores; "
            "figures are noisy: compare ratios within one run"
        ),
        "",
        "## Phases",
        "",
        "| phase | requests | errors | wrong | wall s | req/s | CPU busy (all cores) | bench client CPU s | script failures |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for p in report["phases"]:
        busy = f"{p['cpu_busy'] * 100:.0f} %" if p["cpu_busy"] is not None else "-"
        lines.append(
            f"| {p['phase']} | {p['requests']} | {p['errors']} | {p['wrong']} | {fmt(p['wall_s'])} | "
            f"{fmt(p['rps'])} | {busy} | {fmt(p['client_cpu_s'])} | {p['script_failures']} |"
        )
    lines += [
        "",
        "## Requests",
        "",
        "| kind | count | errors | wrong | req/s | p50 ms | p95 ms | p99 ms | max ms | p50 first 10 % | p50 last 10 % |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for row in report["requests"]:
        lines.append(
            f"| {row['kind']} | {row['count']} | {row['errors']} | {row['wrong']} | {fmt(row['rps'])} | "
            f"{fmt(row['p50_ms'])} | {fmt(row['p95_ms'])} | {fmt(row['p99_ms'])} | {fmt(row['max_ms'])} | "
            f"{fmt(row['p50_first_tenth_ms'])} | {fmt(row['p50_last_tenth_ms'])} |"
        )
    lines += [
        "",
        (
            "req/s of a kind is its count over its phase's wall time (a phase interleaves its kinds). "
            "errors: non-2xx answers and transport failures; wrong: 2xx answers with the wrong content. "
            "p50 first/last 10 %: median latency of the first and last tenth of that kind's requests; "
            "in the initial phase the data grows from 0 to N, so a slower last tenth means cost growing "
            "with the data (in the other phases the data size is constant: a difference there is noise)."
        ),
    ]
    if report["error_examples"]:
        lines += ["", "## Errors (most frequent)", "", "| kind | status | count | detail |", "|---|---:|---:|---|"]
        for e in report["error_examples"]:
            lines.append(f"| {e['kind']} | {e['status']} | {e['count']} | {e['detail'].replace('|', '/')} |")
    if report.get("server_log"):
        lines += ["", f"Server log: {report['server_log']}"]
    return "\n".join(lines) + "\n"


def print_table(report):
    print()
    print(markdown(report))


# -- machine facts ---------------------------------------------------------------------------------


def machine_info():
    model = platform.processor() or "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory = None
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                memory = round(int(line.split()[1]) / 1024 / 1024, 1)
    except OSError:
        pass
    return {
        "cores": os.cpu_count(),
        "cpu_model": model,
        "memory_gib": memory,
        "platform": platform.platform(),
        "python": platform.python_version(),
    }


def code_version():
    """The commit of the tree under test, and whether it has local changes (read-only git calls).

    A snapshot made with ``git archive`` has no .git: a ``.bench-code`` file beside bench/ names it.
    """
    marker = ROOT / ".bench-code"
    if marker.exists():
        return marker.read_text().strip()
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], check=False, cwd=ROOT, capture_output=True, text=True, timeout=10
        )
        if commit.returncode != 0:
            return "unknown (not a git checkout)"
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            check=False, cwd=ROOT, capture_output=True, text=True, timeout=30,
        )  # fmt: skip
        return commit.stdout.strip() + (" with local changes" if dirty.stdout.strip() else "")
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def loadavg():
    try:
        return " ".join(f"{v:.2f}" for v in os.getloadavg())
    except OSError:
        return "unknown"


# -- the server under test -----------------------------------------------------------------------------


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


APPS = {"herd": "wsgi:app", "floor": "bench.floor_app:app", "base": "wsgi:app"}


def app_root(app):
    """The code tree an app runs from: ``base`` is Herd from ``BENCH_BASE_TREE`` (e.g. a
    git archive snapshot of main), to measure a branch against it in the same run."""
    if app == "base":
        tree = os.environ.get("BENCH_BASE_TREE")
        if not tree:
            raise SystemExit("the base app needs BENCH_BASE_TREE=/path/to/another/herd/tree")
        return Path(tree)
    return ROOT


SERVERS = ("sync", "gevent", "gthread", "granian")


def server_command(app, server, port, workers, threads=1):
    """The command line of one server model (gunicorn reads gunicorn.conf.py; flags override it)."""
    target = APPS[app]
    if server == "granian":
        return [
            sys.executable, "-m", "granian", "--interface", "wsgi", target,
            "--host", "127.0.0.1", "--port", str(port), "--workers", str(workers),
            "--blocking-threads", str(threads), "--log-level", "warning", "--no-ws",
        ]  # fmt: skip
    if server not in SERVERS:
        raise SystemExit(f"unknown server model {server!r} (one of {', '.join(SERVERS)})")
    cmd = [
        sys.executable, "-m", "gunicorn", "-c", str(app_root(app) / "gunicorn.conf.py"), target,
        "--bind", f"127.0.0.1:{port}", "--workers", str(workers), "--worker-class", server,
        "--timeout", "60", "--log-level", "warning",
    ]  # fmt: skip
    if server == "gthread":
        cmd += ["--threads", str(threads)]
    return cmd


def describe_server(app, server, workers, threads=1):
    """E.g. ``floor on gunicorn gevent, 2 workers``."""
    name = f"gunicorn {server}" if server != "granian" else "granian (WSGI)"
    per = f" x {threads} threads" if server in ("gthread", "granian") else ""
    tree = " from BENCH_BASE_TREE" if app == "base" else ""
    return f"{APPS[app]}{tree} on {name}, {workers} workers{per}"


class OwnServer:
    """A fresh database, a company, a token and gunicorn on loopback; ``stop()`` undoes it all."""

    def __init__(
        self, database_url, workers, keep_database, database_name, app="herd", server="sync", threads=1, redis_url=None
    ):
        self.requested_url = database_url
        self.workers = workers
        self.app = app  # "herd" (wsgi:app) or "floor" (bench.floor_app:app, PostgreSQL only)
        self.server = server  # see server_command()
        self.threads = threads
        self.redis_url = redis_url or DEAD_REDIS  # a live Redis only to profile the publish (bench.profile_web)
        self.keep_database = keep_database
        self.database_name = database_name
        self.tmp = Path(tempfile.mkdtemp(prefix="herd-bench-"))
        self.proc = None
        self.pg_admin_url = None
        self.dialect = None
        self.database_url = None
        self.log_path = self.tmp / "gunicorn.log"

    def _prepare_database(self):
        from sqlalchemy import create_engine, text
        from sqlalchemy.engine import make_url

        from models.db import driver_url

        if not self.requested_url or self.requested_url.startswith("sqlite"):
            # Even when DATABASE_URL names a SQLite file, never write into it: use a fresh one.
            self.dialect = "sqlite"
            self.database_url = f"sqlite:///{self.tmp / 'herd.db'}"
            return
        url = make_url(driver_url(self.requested_url))
        if url.get_backend_name() != "postgresql":
            raise SystemExit(f"unsupported DATABASE_URL dialect {url.get_backend_name()!r}")
        self.dialect = "postgresql"
        if url.database == self.database_name:
            raise SystemExit(f"DATABASE_URL already names {self.database_name!r}; point it at another database")
        name = self.database_name
        if not name.replace("_", "").isalnum():
            raise SystemExit(f"bad database name {name!r}")
        self.pg_admin_url = url.set(database="postgres").render_as_string(hide_password=False)
        engine = create_engine(self.pg_admin_url, isolation_level="AUTOCOMMIT")
        with engine.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        engine.dispose()
        self.database_url = url.set(database=name).render_as_string(hide_password=False)

    def _sql(self, *statements, autocommit=False):
        """Run statements on the server's database; returns the first column of each first row."""
        from sqlalchemy import create_engine, text

        from models.db import driver_url

        kw = {"isolation_level": "AUTOCOMMIT"} if autocommit else {}
        engine = create_engine(driver_url(self.database_url), **kw)
        try:
            with engine.connect() as conn:
                out = []
                for statement in statements:
                    result = conn.execute(text(statement))
                    out.append(result.scalar() if result.returns_rows else None)
                return out
        finally:
            engine.dispose()

    def database_version(self):
        if self.dialect == "postgresql":
            version, autovacuum, fsync, sync_commit, buffers = self._sql(
                "SHOW server_version", "SHOW autovacuum", "SHOW fsync", "SHOW synchronous_commit", "SHOW shared_buffers"
            )
            return (
                f"PostgreSQL {version}, autovacuum={autovacuum}, fsync={fsync}, "
                f"synchronous_commit={sync_commit}, shared_buffers={buffers}"
            )
        return "SQLite " + self._sql("SELECT sqlite_version()")[0] + ", WAL"

    def statistics(self):
        """Whether the planner has statistics for learners (autovacuum may be off on dev machines)."""
        if self.dialect == "postgresql":
            analyzed, auto = self._sql(
                "SELECT coalesce(max(last_analyze)::text, 'never') FROM pg_stat_user_tables WHERE relname = 'learners'",
                "SELECT coalesce(max(last_autoanalyze)::text, 'never') FROM pg_stat_user_tables WHERE relname = 'learners'",
            )
            return f"learners last ANALYZE: {analyzed}; last autoanalyze: {auto}"
        has = self._sql("SELECT count(*) FROM sqlite_master WHERE name = 'sqlite_stat1'")[0]
        return "sqlite_stat1 present (ANALYZE ran)" if has else "no sqlite_stat1 (never analyzed)"

    def analyze(self):
        self._sql("ANALYZE", autocommit=True)

    def _env(self, port):
        env = dict(os.environ)
        env.update(
            DATABASE_URL=self.database_url,
            REDIS_URL=self.redis_url,
            PUBLIC_BASE_URL=f"http://127.0.0.1:{port}",
            SECRET_KEY="herd-bench",
            PYTHONUNBUFFERED="1",
        )
        return env

    def _flask(self, env, *args):
        cmd = [sys.executable, "-m", "flask", "--app", "wsgi", *args]
        done = subprocess.run(
            cmd, check=False, cwd=app_root(self.app), env=env, capture_output=True, text=True, timeout=300
        )
        if done.returncode != 0:
            raise SystemExit(f"{' '.join(cmd)} failed:\n{done.stdout}\n{done.stderr}")
        lines = [line for line in done.stdout.splitlines() if line.strip()]
        return lines[-1].strip()

    def cpu_watch(self):
        """For ``run_phase(watch=...)``: CPU so far of this server's processes and its database's backends."""
        database = self.database_name if self.dialect == "postgresql" else None
        return lambda: process_cpu(self.proc.pid, database)

    def provision(self, port):
        """A fresh, migrated database with a company and a token, made with the operator CLI;
        returns ``(environment for the app, company id, token)``."""
        self._prepare_database()
        env = self._env(port)
        self._flask(env, "db", "upgrade")
        company = int(self._flask(env, "companies", "create", "Bench Company"))
        token = self._flask(env, "tokens", "create", str(company), "--name", "Entra bench")
        # Measure Herd, not its refusals: the limiter still runs, with a limit far above the load.
        self._flask(env, "companies", "rate-limit", str(company), "--per-second", "100000", "--per-minute", "6000000")
        return env, company, token

    def start(self):
        port = free_port()
        env, company, token = self.provision(port)
        cmd = server_command(self.app, self.server, port, self.workers, self.threads)
        self.log = open(self.log_path, "w")  # noqa: SIM115  (open while gunicorn runs; closed in stop())
        self.proc = subprocess.Popen(cmd, cwd=app_root(self.app), env=env, stdout=self.log, stderr=subprocess.STDOUT)
        base = f"http://127.0.0.1:{port}"
        for _ in range(300):  # up to ~30 s
            if self.proc.poll() is not None:
                raise SystemExit(f"the server exited ({self.proc.returncode}):\n{self.log_path.read_text()[-4000:]}")
            try:
                if requests.get(f"{base}/healthz", timeout=2).status_code == 200:
                    break
            except requests.RequestException:
                pass
            time.sleep(0.1)
        else:
            tail = self.log_path.read_text(errors="replace")[-4000:]
            self.stop()
            raise SystemExit(f"the server did not answer /healthz within 30 s:\n{tail}")
        self.server_desc = f"{describe_server(self.app, self.server, self.workers, self.threads)}, 127.0.0.1:{port}"
        return base, company, token

    def log_summary(self):
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return ""
        tracebacks = text.count("Traceback (most recent call last)")
        timeouts = text.count("WORKER TIMEOUT")
        summary = f"{tracebacks} traceback(s), {timeouts} worker timeout(s) in the gunicorn log"
        # What was raised (the line that ends each traceback), so a report says which error it was.
        raised = collections.Counter(m[:120] for m in _RAISED.findall(text))
        if raised:
            summary += " (" + "; ".join(f"{n}x {line}" for line, n in raised.most_common(3)) + ")"
        return summary

    def stop(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
        if getattr(self, "log", None):
            self.log.close()
        if self.pg_admin_url and not self.keep_database:
            from sqlalchemy import create_engine, text

            engine = create_engine(self.pg_admin_url, isolation_level="AUTOCOMMIT")
            with engine.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{self.database_name}" WITH (FORCE)'))
            engine.dispose()
        if self.keep_database and self.dialect == "sqlite":
            print(f"kept the SQLite database: {self.database_url}")
        else:
            shutil.rmtree(self.tmp, ignore_errors=True)


# -- main ----------------------------------------------------------------------------------------------------


def parse_args(argv=None):
    p = argparse.ArgumentParser(prog="python -m bench.entra_cycle", description=__doc__.split("\n\n")[0])
    p.add_argument("--users", type=int, default=1000, help="N: users in the simulated directory (default 1000)")
    p.add_argument("--concurrency", type=int, default=8, help="C: concurrent clients per phase (default 8)")
    p.add_argument("--url", help="base URL of a running Herd (e.g. http://127.0.0.1:5000) or its tenant URL")
    p.add_argument("--company", type=int, help="company id (with --url)")
    p.add_argument("--token", help="bearer token of that company (with --url)")
    p.add_argument("--workers", type=int, default=4, help="gunicorn workers of the server it starts (default 4)")
    p.add_argument("--server", default="gevent", choices=SERVERS, help="server model (default gevent, as production)")
    p.add_argument("--threads", type=int, default=4, help="threads per worker for gthread / granian (default 4)")
    p.add_argument("--deactivate", type=float, default=0.10, help="fraction of users deactivated (default 0.10)")
    p.add_argument("--warmup", type=int, default=32, help="extra users created first, reported apart (default 32)")
    p.add_argument("--timeout", type=float, default=60.0, help="per-request timeout in seconds (Entra's: 60)")
    p.add_argument("--seed", type=int, default=1, help="seed of the simulated directory")
    p.add_argument(
        "--analyze",
        action="store_true",
        help="run ANALYZE after the initial phase (what autovacuum does in production; off on dev machines)",
    )
    p.add_argument(
        "--keep-db", action="store_true", help="keep the bench database afterwards (for python -m bench.explain)"
    )
    p.add_argument(
        "--db-name", default=BENCH_DATABASE, help=f"PostgreSQL database it creates (default {BENCH_DATABASE})"
    )
    p.add_argument("--out", type=Path, default=RESULTS, help="directory for the .md/.json results")
    p.add_argument("--tag", default="", help="suffix for the result file names")
    args = p.parse_args(argv)
    if args.users < 1 or args.concurrency < 1:
        p.error("--users and --concurrency must be at least 1")
    if args.url and (args.token is None or (args.company is None and "/scim/v2/" not in args.url)):
        p.error("--url needs --token and --company (or a tenant URL ending in /scim/v2/<company>)")
    return args


def main(argv=None):
    args = parse_args(argv)
    started = datetime.now(UTC)
    t_start = time.perf_counter()
    load_before = loadavg()
    server = None
    if args.url:
        url = args.url.rstrip("/")
        tenant_url = url if "/scim/v2/" in url else f"{url}/scim/v2/{args.company}"
        token = args.token
        database, db_version, server_desc = "external", "unknown", f"external server at {url}"
    else:
        server = OwnServer(
            os.environ.get("DATABASE_URL"),
            args.workers,
            args.keep_db,
            args.db_name,
            server=args.server,
            threads=args.threads,
        )
    try:
        if server is not None:
            base, company, token = server.start()
            tenant_url = f"{base}/scim/v2/{company}"
            database, db_version, server_desc = server.dialect, server.database_version(), server.server_desc
            print(f"server: {server_desc}, database {database} {db_version}, tenant {tenant_url}")
        run_id = uuid.uuid4().hex[:8]
        users = make_users(args.users, run_id, args.seed)
        # Not measured as part of the cycle: every gunicorn worker loads its lazy imports
        # (pycountry on the first POST) and opens its pool; reported as its own phase.
        warm_users = make_users(args.warmup, f"{run_id}w", args.seed + 1)

        def make_client():
            return Client(tenant_url, token, args.timeout)

        every = max(1, round(1 / args.deactivate)) if args.deactivate > 0 else None
        plan = {
            "warmup": [lambda c, u=u: initial_task(c, u, "warmup") for u in warm_users],
            "initial": [lambda c, u=u: initial_task(c, u) for u in users],
            "incremental": [lambda c, u=u: incremental_task(c, u, args.seed * 1_000_003 + u.index) for u in users],
            "lookup": [lambda c, u=u: lookup_task(c, u) for u in users],
            "okta": [lambda c, u=u: okta_task(c, u) for u in users],
            "deactivate": [lambda c, u=u: deactivate_task(c, u) for u in users if every and u.index % every == 0],
        }
        phases = []
        for name in PHASES:
            print(f"phase {name}: {len(plan[name])} users, {args.concurrency} clients ...", flush=True)
            result = run_phase(name, plan[name], args.concurrency, make_client)
            phases.append(result)
            if name == "initial" and args.analyze and server is not None:
                t = time.perf_counter()
                server.analyze()
                print(f"  ANALYZE after the initial phase: {time.perf_counter() - t:.1f} s", flush=True)
            errors = sum(1 for s in result.samples if not 200 <= s.status < 300)
            print(
                f"  {len(result.samples)} requests in {result.wall_s:.1f} s "
                f"({len(result.samples) / result.wall_s:.1f} req/s), {errors} errors",
                flush=True,
            )
        server_log = server.log_summary() if server else ""
        statistics = server.statistics() if server else "unknown"
    finally:
        if server is not None:
            server.stop()

    rows, phase_rows = summarize(phases)
    report = {
        "run": {
            "users": args.users,
            "concurrency": args.concurrency,
            "database": database,
            "database_version": db_version,
            "server": server_desc,
            "command": " ".join(
                ([f"DATABASE_URL={os.environ['DATABASE_URL']}"] if os.environ.get("DATABASE_URL") else [])
                + ["python -m bench.entra_cycle"]
                + [
                    shlex.quote(a) if a != args.token else "<token>"
                    for a in (argv if argv is not None else sys.argv[1:])
                ]
            ),
            "started_at": started.strftime("%Y-%m-%d %H:%M:%S"),
            "total_s": time.perf_counter() - t_start,
            "deactivate_fraction": args.deactivate,
            "seed": args.seed,
            "code": code_version(),
            "analyze_after_initial": bool(args.analyze and server is not None),
            "planner_statistics_at_end": statistics,
            "warmup_users": args.warmup,
        },
        "machine": machine_info() | {"loadavg_before": load_before, "loadavg_after": loadavg()},
        "phases": phase_rows,
        "requests": rows,
        "error_examples": error_examples(phases),
        "server_log": server_log,
    }
    args.out.mkdir(parents=True, exist_ok=True)
    suffix = ("-analyzed" if args.analyze else "") + (f"-{args.tag}" if args.tag else "")
    stem = f"entra_cycle-{database}-{args.users}{suffix}"
    (args.out / f"{stem}.json").write_text(json.dumps(report, indent=2) + "\n")
    (args.out / f"{stem}.md").write_text(markdown(report))
    print_table(report)
    print(f"wrote {args.out / (stem + '.md')} and .json")
    total_errors = sum(p["errors"] + p["wrong"] + p["script_failures"] for p in phase_rows)
    return 1 if total_errors else 0


if __name__ == "__main__":
    sys.exit(main())
