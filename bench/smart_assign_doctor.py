"""The Smart Assign doctor, a catalog-change preview and the manager-chain compliance report
over one large company: time and peak Python memory of each.

    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/herd_doctor python -m bench.smart_assign_doctor --learners 100000

A fresh PostgreSQL database (``--db-name``, default ``herd_bench_doctor``), one company
seeded in bulk SQL (bench.compliance_seed: a completed harassment-prevention cycle and
CYBER and COC per learner), then each learner's stored document given Smart Assign's
inputs in the learner extension, with the usual mistakes: every 7th learner sends no
state, every 11th "Calif.", every 13th the role "Mgr", every 17th the tag "CYBR". Managers
form a tree of fan-out 10 under learner 1 (learner g reports to learner g / 10; 2-9 to 1). Then, in this process:

1. the doctor (``GET /api/v1/reports/smart_assign_coverage``'s document);
2. a preview of a catalog change (CYBER every month instead of every 12: the completions
   50 days old are due again) by the
   re-run's planner over the whole company, writing nothing;
3. ``GET /api/v1/reports/compliance?manager=<learner 1>&group_by=manager`` (the whole
   chain below the tree's root, grouped by manager), and its CSV streamed.

Each is timed, then run again under ``tracemalloc`` (peak Python memory); peak RSS is recorded.
Results: stdout and bench/results/smart_assign_doctor-postgresql-<N>.md|json.
"""

from __future__ import annotations

import argparse
import resource
import sys
import time
import tracemalloc
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from sqlalchemy import text  # noqa: E402

from bench.common.report import code_version, command_line, describe_machine, write_report  # noqa: E402
from bench.compliance_seed import add_company_options, bench_company, timed_seed  # noqa: E402
from config import Settings  # noqa: E402

CUSTOM = "urn:ietf:params:scim:schemas:extension:CustomExtensionName:2.0:User"
ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    return add_company_options(parser, "herd_bench_doctor").parse_args(argv)


def give_inputs(engine, company_id):
    """Each learner's document: inputs with the usual mistakes, and its manager (fan-out 10)."""
    with engine.begin() as conn:
        conn.execute(
            text(
                f"""
                UPDATE learners SET
                  resource = resource || jsonb_build_object(
                    'externalId', 'l' || g,
                    '{ENTERPRISE}', CASE WHEN m IS NOT NULL THEN jsonb_build_object(
                        'manager', jsonb_build_object('value', 'l' || m)) ELSE '{{}}'::jsonb END,
                    '{CUSTOM}', jsonb_strip_nulls(jsonb_build_object(
                      'state', CASE WHEN g % 7 = 0 THEN NULL WHEN g % 11 = 0 THEN 'Calif.'
                                    ELSE (ARRAY['New York','Illinois','Texas','WA'])[1 + g % 4] END,
                      'country', 'US',
                      'learnerRole', CASE WHEN g % 13 = 0 THEN 'Mgr' ELSE 'non-supervisor' END,
                      'training_tags', CASE WHEN g % 17 = 0 THEN 'CYBER,CYBR' ELSE 'CYBER,COC' END))),
                  manager_ref = 'l' || m,
                  manager_id = md5(:c || '-' || m)::uuid::text
                FROM (SELECT family_name::int AS g, id AS lid,
                             CASE WHEN family_name::int >= 10 THEN family_name::int / 10
                                  WHEN family_name::int >= 2 THEN 1 END AS m
                      FROM learners WHERE company_id = :c) AS s
                WHERE learners.id = s.lid
                """
            ),
            {"c": company_id},
        )
    with engine.connect() as conn:
        conn.execution_options(isolation_level="AUTOCOMMIT").execute(text("VACUUM ANALYZE learners"))


def measured(work):
    """``(result, seconds, peak traced bytes)`` of ``work()``: timed alone, then run again under
    ``tracemalloc`` for its peak (tracing slows Python several times over, so not both at once)."""
    started = time.perf_counter()
    result = work()
    seconds = time.perf_counter() - started
    tracemalloc.start()
    work()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return result, seconds, peak


def main(argv=None):
    args = parse_args(argv)
    started = datetime.now(UTC)
    db, company_id, secret = bench_company(args.db_name, args.keep)
    try:
        seed_s = timed_seed(db, company_id, args.learners, extra_codes=("CYBER", "COC"))
        t = time.perf_counter()
        give_inputs(db.engine, company_id)
        inputs_s = time.perf_counter() - t

        from models.company_training import company_catalog
        from service import create_app
        from service.db import dispose_engines
        from workers.preview import Change, preview

        app = create_app(Settings.from_env(env={}, database_url=db.url, secret_key="bench"))
        client = app.test_client()
        headers = {"Authorization": f"Bearer {secret}"}
        sessions = app.extensions["herd.sessions"]

        def doctor():
            resp = client.get("/api/v1/reports/smart_assign_coverage", headers=headers)
            assert resp.status_code == 200, resp.status
            return resp.get_json()

        with sessions() as s:
            catalog = tuple(
                replace(t, cadence_months=1) if t.code == "CYBER" else t for t in company_catalog(s, company_id)
            )
        with db.engine.connect() as conn:
            root = conn.execute(text("SELECT md5(:c || '-1')::uuid::text"), {"c": company_id}).scalar_one()

        def catalog_preview():
            with sessions() as s:
                return preview(s, company_id, Change(catalog=catalog))

        def chain():
            resp = client.get(f"/api/v1/reports/compliance?manager={root}&group_by=manager", headers=headers)
            assert resp.status_code == 200, resp.status
            return resp.get_json()

        def chain_csv():
            resp = client.get(f"/api/v1/reports/compliance.csv?manager={root}", headers=headers, buffered=False)
            lines = sum(chunk.count(b"\n") for chunk in resp.response)
            resp.close()
            return lines - 1

        scenarios = (
            ("doctor", "doctor (`GET /api/v1/reports/smart_assign_coverage`)", doctor),
            ("preview", "catalog-change preview (CYBER every month), whole company", catalog_preview),
            ("chain", "compliance report of the root's chain, grouped by manager (JSON)", chain),
            ("chain_csv", "its CSV, streamed", chain_csv),
        )
        results, figures = {}, {}
        for key, _label, work in scenarios:
            results[key], seconds, peak = measured(work)
            figures[key] = {
                "seconds": seconds,
                "peak_bytes": peak,
                "rss_mib_after": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
            }
        dispose_engines(app)
        report, shown, chained = results["doctor"], results["preview"], results["chain"]
        below = args.learners - 1
        ok = (
            report["active_learners"] == args.learners
            and chained["learner_count"] == below
            and results["chain_csv"] == 3 * below
            and not shown["cancelled"]
        )
        state = report["inputs"]["state"]
        table = [
            f"| {label} | **{figures[key]['seconds']:.2f} s** | {figures[key]['peak_bytes'] / 2**20:.1f} MiB "
            f"| {figures[key]['rss_mib_after']:.0f} MiB |"
            for key, label, _work in scenarios
        ]
        lines_md = [
            f"# Smart Assign doctor, catalog preview and manager chain: {args.learners:,} learners",
            "",
            f"- command: `{command_line('bench.smart_assign_doctor')}`",
            f"- when: {started:%Y-%m-%d %H:%M} UTC; code: {code_version()}; {db.version()}",
            f"- machine: {describe_machine()}",
            f"- bulk SQL seed {seed_s:.0f} s; inputs and managers {inputs_s:.0f} s",
            "",
            "| measure | time | peak Python memory (tracemalloc) | peak RSS after it |",
            "|---|---|---|---|",
            *table,
            "",
            f"Doctor: state resolved {state['resolved']:,}, missing {state['missing']:,}, "
            f"unrecognised {state['unrecognised']:,}; {len(report['unrecognised_values'])} distinct unrecognised values.",
            f"Preview: {shown['learners_changed']:,} learners would change; "
            + ", ".join(f"{t['code']} +{t['gain']:,} -{t['lose']:,}" for t in shown["trainings"])
            + ".",
            f"Chain: {chained['learner_count']:,} learners below the root, {len(chained['by_manager']):,} managers; "
            f"CSV {results['chain_csv']:,} rows. Figures check: {'ok' if ok else 'MISMATCH'}.",
        ]
        provenance = {"command": command_line("bench.smart_assign_doctor"), "machine": describe_machine()}
        provenance |= {"database": db.version(), "code": code_version()}
        write_report(
            f"smart_assign_doctor-postgresql-{args.learners}",
            lines_md,
            {"learners": args.learners, "seed_s": seed_s, "figures": figures, **provenance},
        )
        return None if ok else "figures mismatch"
    finally:
        db.drop()


if __name__ == "__main__":
    sys.exit(main())
