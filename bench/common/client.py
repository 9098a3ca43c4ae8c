"""The bench's SCIM client: Entra's simulated directory, its requests and checks, and phases of them on threads."""

from __future__ import annotations

import http.client
import queue
import random
import sys
import threading
import time
from dataclasses import dataclass, field
from urllib.parse import urlencode, urlsplit

import orjson
import requests

from bench.common.stats import cpu_jiffies
from harness.stack import learner_body

SCIM_TYPE = "application/scim+json; charset=utf-8"


CORE = "urn:ietf:params:scim:schemas:core:2.0:User"


ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"


CUSTOM = "urn:ietf:params:scim:schemas:extension:CustomExtensionName:2.0:User"


PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp"


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


@dataclass
class Sample:
    kind: str
    start: float  # perf_counter at send
    ms: float
    status: int  # 0: transport failure
    wrong: bool = False
    detail: str = ""


class Client:
    """One Entra connection: a keep-alive HTTP/1.1 connection that records every call.

    ``http.client`` and orjson, not ``requests``: requests spends about half a millisecond
    of CPU per call, so this one process (the GIL: one core at most) capped the bench near
    2,000 req/s, below what a tuned server answers on the same machine. ``http.client``
    costs a fraction of that; ``run_phase`` reports how much of a core the client used, so
    every report says whether the client, not the server, set the rate.
    """

    def __init__(self, tenant_url, token, timeout):
        parts = urlsplit(tenant_url.rstrip("/"))
        self.host, self.port, self.prefix = parts.hostname, parts.port, parts.path
        self.timeout = timeout
        self.headers = {"Authorization": f"Bearer {token}", "User-Agent": "herd-bench/entra_cycle"}
        self.body_headers = self.headers | {"Content-Type": SCIM_TYPE}
        self.connection = None
        self.samples: list[Sample] = []

    def close(self):
        if self.connection is not None:
            self.connection.close()
            self.connection = None

    def _exchange(self, method, url, data):
        """One request and its whole answer, on the kept connection; ``(status, body bytes)``."""
        reused = self.connection is not None
        if not reused:
            self.connection = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)
        try:
            self.connection.request(method, url, body=data, headers=self.headers if data is None else self.body_headers)
            resp = self.connection.getresponse()
            content = resp.read()
        except (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError):
            self.close()
            if not reused:
                raise
            # The server closed the idle kept connection (gunicorn's keep-alive timeout)
            # before reading the request: send it once more on a new one.
            return self._exchange(method, url, data)
        except BaseException:
            self.close()
            raise
        if resp.will_close:
            self.close()
        return resp.status, content

    def call(self, kind, method, path, params=None, body=None):
        """Send one request; returns ``(sample, parsed_json_or_None)``."""
        data = orjson.dumps(body) if body is not None else None
        url = f"{self.prefix}/{path}" + (f"?{urlencode(params)}" if params else "")
        t0 = time.perf_counter()
        try:
            status, content = self._exchange(method, url, data)
            ms = (time.perf_counter() - t0) * 1000
        except (OSError, http.client.HTTPException) as exc:
            ms = (time.perf_counter() - t0) * 1000
            sample = Sample(kind, t0, ms, 0, detail=f"{type(exc).__name__}: {exc}"[:200])
            self.samples.append(sample)
            return sample, None
        try:
            parsed = orjson.loads(content) if content else None
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


# The client is one Python process: its threads share one core (the GIL). Above this
# share of a core during a phase, the client, not the server, set the phase's rate.
CLIENT_SATURATED = 0.8


def client_check(requests_done, wall_s, client_cpu_s):
    """Whether the load generator limited a phase: ``(share of one core, verdict line)``.

    The ceiling is the rate this client could send with a whole core to itself (its own
    CPU per request, inverted); a phase whose client used less than ``CLIENT_SATURATED``
    of a core was waiting on the server."""
    share = client_cpu_s / wall_s if wall_s else 0.0
    per_request = 1000 * client_cpu_s / requests_done if requests_done else 0.0
    ceiling = f"{1000 / per_request:.0f}" if per_request else "-"
    verdict = "SATURATED: the client set this rate" if share >= CLIENT_SATURATED else "not saturated"
    return share, (
        f"client {share * 100:.0f} % of one core, {per_request:.3f} ms CPU per request "
        f"(ceiling ~{ceiling} req/s): {verdict}"
    )


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
    # process_time: nanoseconds (os.times counts 10 ms ticks, too coarse for a short phase).
    cpu0, client0 = cpu_jiffies(), time.process_time()
    proc0 = watch() if watch else None
    t0 = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - t0
    cpu1, client1 = cpu_jiffies(), time.process_time()
    proc1 = watch() if watch else None
    for c in clients:
        c.close()
    if failures:
        print(f"  {name}: {len(failures)} task(s) raised in the bench script, first: {failures[0]}", file=sys.stderr)
    busy = None
    if cpu0 and cpu1 and cpu1[1] > cpu0[1]:
        busy = (cpu1[0] - cpu0[0]) / (cpu1[1] - cpu0[1])
    client_cpu = client1 - client0
    samples = [s for c in clients for s in c.samples]
    spent = {k: proc1[k] - proc0[k] for k in proc1} if proc0 and proc1 else {}
    return PhaseResult(name, wall, samples, busy, client_cpu, failures, spent.get("server"), spent.get("database"))


def post_phase(base_url, company_id, token, numbers, concurrency):
    """POST learners ``numbers`` on ``concurrency`` threads; returns (latencies, errors, wall seconds)."""
    todo = list(numbers)
    lock = threading.Lock()
    latencies, errors = [], []
    url = f"{base_url}/scim/v2/{company_id}/Users"
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/scim+json"}

    def worker():
        with requests.Session() as http:
            while True:
                with lock:
                    if not todo:
                        return
                    n = todo.pop()
                body = learner_body(n)
                start = time.perf_counter()
                try:
                    resp = http.post(url, json=body, headers=headers, timeout=30)
                    ok = resp.status_code == 201
                    detail = f"{resp.status_code} {resp.text[:200]}"
                except requests.RequestException as exc:
                    ok, detail = False, repr(exc)
                took = time.perf_counter() - start
                with lock:
                    latencies.append(took)
                    if not ok:
                        errors.append(detail)

    threads = [threading.Thread(target=worker, name=f"post-{i}") for i in range(concurrency)]
    start = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=600)
    return latencies, errors, time.perf_counter() - start
