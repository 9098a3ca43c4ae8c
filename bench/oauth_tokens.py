"""OAuth client credentials: what the token endpoint costs, and a SCIM call with an access
token against the same call with a static token.

In-process (Flask test client, one thread), on SQLite or DATABASE_URL's PostgreSQL, with the
broker's Redis at a closed port (rate-limit counters in memory, the same for both kinds of
token). Three kinds of request, in alternating rounds so machine noise hits all of them:

- ``token``: ``POST /oauth/token`` with HTTP Basic (the client's rate limits switched off,
  or the per-client limit would refuse after 20 tokens a minute);
- ``static`` and ``access``: ``GET /scim/v2/{id}/Users/{user}`` with the static token and
  with an access token of the same company. Both go through the same authentication
  statement (``service.auth``), so the ratio should sit at 1.0 within the noise.

    python -m bench.oauth_tokens [--requests 500] [--rounds 5] [--write]

``--write`` stores the table in bench/results/oauth_tokens.md and the figures in .json.
"""

import argparse
import base64
import os
import tempfile
import time

from bench.common.report import command_line, describe_machine, fmt, loadavg, write_report
from bench.common.server import in_process_app
from bench.common.stats import latency_summary
from models import AccessToken, make_engine, make_session_factory
from models.migrate import upgrade

BASE_URL = "https://herd.bench"


def _timed(call, n):
    samples = []
    for _ in range(n):
        start = time.perf_counter()
        resp = call()
        samples.append(time.perf_counter() - start)
        assert resp.status_code == 200, (resp.status_code, resp.get_data(as_text=True)[:200])
    return samples


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=500)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--write", action="store_true", help="store the results in bench/results/")
    args = parser.parse_args()

    from service.company.tenant import create_company
    from service.oauth import clients as oauth_clients

    with tempfile.TemporaryDirectory() as tmp:
        database_url = os.environ.get("DATABASE_URL") or f"sqlite:///{tmp}/bench.db"
        upgrade(database_url)
        engine = make_engine(database_url)
        sessions = make_session_factory(engine)
        with sessions() as s:
            company = create_company(s, "Bench OAuth")
            # Limits far above the load: every request is counted, none refused.
            company.rate_limit_per_second = company.rate_limit_per_minute = 10**9
            row, static = AccessToken.issue(company.id, "bench static")
            s.add(row)
            client, _secret, secret = oauth_clients.create_client(s, company.id, "bench")
            s.commit()
            company_id, client_id = company.id, client.client_id
        app = in_process_app(database_url)
        app.extensions["herd.limiter"].enabled = False  # the token endpoint's limits (sign-in's too)
        http = app.test_client()
        basic = {"Authorization": "Basic " + base64.b64encode(f"{client_id}:{secret}".encode()).decode()}
        form = {"grant_type": "client_credentials"}

        def token():
            return http.post("/oauth/token", data=form, headers=basic, base_url=BASE_URL)

        access = token().get_json()["access_token"]
        created = http.post(
            f"/scim/v2/{company_id}/Users",
            json={"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": "bench@example.com"},
            headers={"Authorization": f"Bearer {static}"},
            content_type="application/scim+json",
        )
        assert created.status_code == 201, created.get_data(as_text=True)
        url = f"/scim/v2/{company_id}/Users/{created.get_json()['id']}"
        with_static = {"Authorization": f"Bearer {static}"}
        with_access = {"Authorization": f"Bearer {access}"}

        def static_call():
            return http.get(url, headers=with_static)

        def access_call():
            return http.get(url, headers=with_access)

        for call in (static_call, access_call, token):  # warm up
            _timed(call, min(100, args.requests))
        figures = {"token": [], "static": [], "access": []}
        for i in range(args.rounds):
            # ABBA order: neither kind of SCIM call always runs first.
            order = (static_call, access_call) if i % 2 == 0 else (access_call, static_call)
            for call in order:
                figures["static" if call is static_call else "access"] += _timed(call, args.requests)
            figures["token"] += _timed(token, args.requests)
        engine.dispose()
        from service.db import dispose_engines

        dispose_engines(app)

    database = "PostgreSQL" if database_url.startswith("postgres") else "SQLite"
    names = {
        "token": "POST /oauth/token (Basic)",
        "static": "GET /Users/{id}, static token",
        "access": "GET /Users/{id}, access token",
    }
    summary = {key: latency_summary(values) for key, values in figures.items()}
    ratio = summary["access"]["p50_ms"] / summary["static"]["p50_ms"]
    lines = [
        "# OAuth: the token endpoint, and SCIM calls with an access token vs a static token (in-process)",
        "",
        f"Command: `{command_line('bench.oauth_tokens')}` ({database}), {args.requests * args.rounds} requests"
        f" of each kind. Machine: {describe_machine()}.",
        "",
        "| request | p50 ms | p95 ms | p99 ms | mean ms | req/s (1 thread) |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for key, s in summary.items():
        lines.append(
            f"| {names[key]} | {fmt(s['p50_ms'], 3)} | {fmt(s['p95_ms'], 3)} | {fmt(s['p99_ms'], 3)} | "
            f"{fmt(s['mean_ms'], 3)} | {1000 / s['mean_ms']:.0f} |"
        )
    lines += ["", f"Access token / static token (p50): {ratio:.2f}x. Load average at the end: {loadavg()}."]
    data = {**summary, "access_over_static_p50": ratio}
    if args.write:
        write_report("oauth_tokens", lines, data)
    else:
        print("\n".join(lines))


if __name__ == "__main__":
    main()
