"""Entra's per-user requests at 1,000 and at 1,000,000 learners in a company (PostgreSQL).

    python -m bench.scale_lookups                          # --small 1000 --big 1000000 --probes 300
    BENCH_PG_URL=postgresql://postgres@127.0.0.1:5432/bench_scale python -m bench.scale_lookups

Two databases on the same server (``<name>_small`` and ``<name>_big``, dropped and
created by the script, never the DATABASE_URL one), each migrated and holding one
company whose learners are bulk-inserted with ``generate_series`` (Entra-shaped
documents: userName, externalId, a work email, name, the learner extension). Two
copies of the real Flask app, one per database, in this process (Werkzeug's test
client: routing, auth, JSON, SQLAlchemy, PostgreSQL on loopback; no web server). The
two sizes are probed alternately, request by request, so both see the same noise:
filter by userName, by externalId, by ``emails[type eq "work"].value``, GET by id and
a PATCH (Replace displayName) of a random existing learner.

Two passes: first with the planner's statistics as this machine leaves them (our
PostgreSQL runs with autovacuum off, so a bulk-loaded table has none), then after
``ANALYZE`` (what autovacuum's autoanalyze does after a load this size). Results:
bench/results/scale_lookups.md and .json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import time
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from bench.common.database import drop_database, recreate_database, server_version
from bench.common.stats import latency_summary

RESULTS = Path(__file__).resolve().parent / "results"
DEFAULT_URL = "postgresql://postgres@127.0.0.1:5432/herd_bench_scale"
PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
EXT = "urn:ietf:params:scim:schemas:extension:CustomExtensionName:2.0:User"
COMPANY_ID = 1
CHUNK = 100_000

LEARNERS_SQL = f"""
INSERT INTO learners (id, company_id, resource, user_name, user_name_lower, user_name_key, external_id_lower,
                      email_lower,
                      display_name, given_name, family_name, active, region, country, role, training_tags,
                      version, created_at, updated_at)
SELECT gen_random_uuid()::text, :company,
       jsonb_build_object(
           'userName', 'user' || i || '@bench.example',
           'externalId', 'ext-' || i,
           'active', true,
           'displayName', 'Bench User ' || i,
           'name', jsonb_build_object('givenName', 'Bench', 'familyName', 'User ' || i),
           'emails', jsonb_build_array(jsonb_build_object('type', 'work', 'primary', true,
                                                          'value', 'mail' || i || '@bench.example')),
           '{EXT}', jsonb_build_object('state', 'CA', 'country', 'US', 'learnerRole', 'staff')),
       'user' || i || '@bench.example', 'user' || i || '@bench.example', 'user' || i || '@bench.example',
       'ext-' || i,
       'mail' || i || '@bench.example', 'Bench User ' || i, 'Bench', 'User ' || i, true,
       'US-CA', 'US', 'staff', '[]'::jsonb, 1,
       now() - make_interval(secs => :start + i), now()
FROM generate_series(:lo, :hi) AS i
"""


def populate(url, n):
    """Migrate, one company with a token and ``n`` learners; returns (token, seconds to load)."""
    from models import AccessToken, Company, make_engine, make_session_factory
    from models.migrate import upgrade

    upgrade(url)
    engine = make_engine(url)
    with make_session_factory(engine)() as s:
        # No rate limit (0: off): the probes measure lookups, and one process answers them
        # faster than the default 200 calls a second.
        s.add(Company(id=COMPANY_ID, name="Bench", extension_urn=EXT, rate_limit_per_second=0, rate_limit_per_minute=0))
        s.flush()
        row, secret = AccessToken.issue(COMPANY_ID, "bench")
        s.add(row)
        s.commit()
    started = time.perf_counter()
    for lo in range(1, n + 1, CHUNK):
        hi = min(n, lo + CHUNK - 1)
        with engine.begin() as conn:
            conn.execute(text(LEARNERS_SQL), {"company": COMPANY_ID, "lo": lo, "hi": hi, "start": n})
        if n > CHUNK:
            print(f"  {hi:,} / {n:,} learners ({time.perf_counter() - started:.0f} s)", flush=True)
    engine.dispose()
    return secret, time.perf_counter() - started


def statistics_state(url):
    engine = create_engine(make_url(url).set(drivername="postgresql+psycopg2"))
    with engine.connect() as conn:
        row = conn.execute(
            text(
                "SELECT coalesce(last_analyze::text, 'never'), coalesce(last_autoanalyze::text, 'never'), "
                "(SELECT reltuples FROM pg_class WHERE relname = 'learners') "
                "FROM pg_stat_user_tables WHERE relname = 'learners'"
            )
        ).one()
        autovacuum = conn.execute(text("SHOW autovacuum")).scalar()
    engine.dispose()
    return f"autovacuum={autovacuum}; learners last ANALYZE {row[0]}, last autoanalyze {row[1]}, reltuples {row[2]:.0f}"


def analyze(url):
    engine = create_engine(make_url(url).set(drivername="postgresql+psycopg2"), isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text("ANALYZE"))
    engine.dispose()


class Target:
    """One database with its own app and probes."""

    def __init__(self, url, n, secret):
        from config import Settings
        from service import create_app

        settings = Settings.from_env(
            env={}, database_url=url, redis_url="redis://127.0.0.1:1/0",
            public_base_url="https://herd.bench", secret_key="bench",
        )  # fmt: skip
        self.url, self.n = url, n
        self.client = create_app(settings).test_client()
        self.headers = {"Authorization": f"Bearer {secret}", "Content-Type": "application/scim+json"}
        self.base = f"/scim/v2/{COMPANY_ID}/Users"

    def pick(self, rng, count):
        """``count`` random learners: (i, id)."""
        picks = rng.sample(range(1, self.n + 1), count)
        engine = create_engine(make_url(self.url).set(drivername="postgresql+psycopg2"))
        with engine.connect() as conn:
            rows = conn.execute(
                text("SELECT user_name_lower, id FROM learners WHERE user_name_lower = ANY(:names)"),
                {"names": [f"user{i}@bench.example" for i in picks]},
            ).all()
        engine.dispose()
        ids = dict(rows)
        return [(i, ids[f"user{i}@bench.example"]) for i in picks]

    def timed(self, method, path, json=None, query=None, expect_hits=None):
        started = time.perf_counter()
        resp = self.client.open(path, method=method, json=json, headers=self.headers, query_string=query)
        elapsed = time.perf_counter() - started
        if resp.status_code != 200:
            raise SystemExit(f"{method} {path}: {resp.status_code} {resp.get_data(as_text=True)[:300]}")
        if expect_hits is not None and resp.get_json()["totalResults"] != expect_hits:
            raise SystemExit(f"{method} {path} {query}: expected {expect_hits} hit(s): {resp.get_json()}")
        return elapsed

    def probe(self, i, learner_id, n):
        """One round of the five requests for learner ``i``; returns {kind: seconds}."""

        def lookup(expr):
            return self.timed("GET", self.base, query={"filter": expr}, expect_hits=1)

        ops = [{"op": "Replace", "path": "displayName", "value": f"Renamed {i} {n}"}]
        return {
            "filter userName": lookup(f'userName eq "USER{i}@bench.example"'),
            "filter externalId": lookup(f'externalId eq "ext-{i}"'),
            "filter work email": lookup(f'emails[type eq "work"].value eq "mail{i}@bench.example"'),
            "GET by id": self.timed("GET", f"{self.base}/{learner_id}"),
            "PATCH displayName": self.timed(
                "PATCH", f"{self.base}/{learner_id}", {"schemas": [PATCH_OP], "Operations": ops}
            ),
        }


def measure(targets, probes, seed):
    rng = random.Random(seed)
    picks = {t.n: t.pick(rng, probes + 20) for t in targets}
    for t in targets:  # warm up: connections, plan cache, lazy imports
        for n, (i, learner_id) in enumerate(picks[t.n][:20]):
            t.probe(i, learner_id, n)
    timings = {t.n: {} for t in targets}
    for k in range(probes):
        for t in targets if k % 2 == 0 else list(reversed(targets)):
            i, learner_id = picks[t.n][20 + k]
            for kind, seconds in t.probe(i, learner_id, k).items():
                timings[t.n].setdefault(kind, []).append(seconds)
    return {n: {kind: latency_summary(v) for kind, v in kinds.items()} for n, kinds in timings.items()}


def report(out):
    small, big = out["small"], out["big"]
    lines = [
        f"# Lookups, GET and PATCH at {small:,} and {big:,} learners in a company",
        "",
        f"- command: `python -m bench.scale_lookups --small {small} --big {big} --probes {out['probes']}`",
        f"- run {out['when']} on {platform.platform()}, {os.cpu_count()} CPUs, Python {platform.python_version()}, "
        f"PostgreSQL {out['postgresql']}; code at {out['commit']}; load average before / after: "
        f"{out['load_before']} / {out['load_after']}",
        f"- bulk load (generate_series, in chunks of {CHUNK:,}): {small:,} in {out['load_s'][str(small)]:.1f} s, "
        f"{big:,} in {out['load_s'][str(big)]:.1f} s",
        "- in-process: Flask test client -> the real app -> PostgreSQL on loopback, one client, the two "
        "databases probed alternately, request by request; times in ms; each probe a different random learner",
        "",
    ]
    for name, passes in out["passes"].items():
        lines += [
            f"## {name}",
            "",
            f"- statistics: small: {passes['stats'][str(small)]}; big: {passes['stats'][str(big)]}",
            "",
            f"| request | p50 at {small:,} | p50 at {big:,} | p99 at {small:,} | p99 at {big:,} | p99 ratio |",
            "|---|---:|---:|---:|---:|---:|",
        ]
        res = passes["results"]
        for kind in res[str(small)]:
            s, b = res[str(small)][kind], res[str(big)][kind]
            lines.append(
                f"| {kind} | {s['p50_ms']:.2f} | {b['p50_ms']:.2f} | {s['p99_ms']:.2f} | {b['p99_ms']:.2f} | "
                f"{b['p99_ms'] / s['p99_ms']:.2f}x |"
            )
        lines.append("")
    return "\n".join(lines)


def main(argv=None):
    from bench.common.report import code_version, loadavg

    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--small", type=int, default=1_000)
    p.add_argument("--big", type=int, default=1_000_000)
    p.add_argument("--probes", type=int, default=300, help="rounds of the five requests per size and pass")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--keep", action="store_true", help="keep the two databases afterwards")
    p.add_argument("--out", type=Path, default=RESULTS)
    args = p.parse_args(argv)
    url = make_url(os.environ.get("BENCH_PG_URL", DEFAULT_URL))
    urls = {n: url.set(database=f"{url.database}_{tag}").render_as_string(hide_password=False)
            for n, tag in ((args.small, "small"), (args.big, "big"))}  # fmt: skip
    if os.environ.get("DATABASE_URL"):
        mine = make_url(os.environ["DATABASE_URL"]).database
        if any(make_url(u).database == mine for u in urls.values()):
            raise SystemExit("a bench database is the DATABASE_URL one; the bench drops its databases, pick another")
    out = {"small": args.small, "big": args.big, "probes": args.probes, "load_before": loadavg(), "load_s": {}}
    try:
        secrets = {}
        for n, u in urls.items():
            recreate_database(u)
            print(f"loading {n:,} learners", flush=True)
            secrets[n], out["load_s"][str(n)] = populate(u, n)
        out["postgresql"] = server_version(urls[args.small])
        targets = [Target(u, n, secrets[n]) for n, u in urls.items()]
        out["passes"] = {}
        for name, prepare in (
            ("statistics as this machine leaves them (never analyzed)", None),
            ("after ANALYZE (as autovacuum's autoanalyze leaves them)", analyze),
        ):
            if prepare:
                for u in urls.values():
                    prepare(u)
            stats = {str(n): statistics_state(u) for n, u in urls.items()}
            print(f"probing: {name}", flush=True)
            results = measure(targets, args.probes, args.seed + len(out["passes"]))
            out["passes"][name] = {"stats": stats, "results": {str(n): r for n, r in results.items()}}
        from service.db import dispose_engines

        for t in targets:
            dispose_engines(t.client.application)
    finally:
        if not args.keep:
            for u in urls.values():
                drop_database(u)
    out.update(when=datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"), commit=code_version(), load_after=loadavg())
    text_report = report(out)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "scale_lookups.md").write_text(text_report)
    (args.out / "scale_lookups.json").write_text(json.dumps(out, indent=2, default=str) + "\n")
    print(text_report)


if __name__ == "__main__":
    main()
