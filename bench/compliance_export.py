"""The compliance report's CSV export of a 100,000-learner company: time and peak memory.

    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/test_compliance python -m bench.compliance_export --learners 100000

A fresh PostgreSQL database (``--db-name``, default ``herd_bench_export``), one company
seeded in bulk SQL (bench.compliance_seed): per learner two cycles of its
harassment-prevention course (the report shows the latest) and CYBER and COC
assignments, so three rows per learner in the export. Then, in this process, through
the Flask app and the real endpoint ``GET /api/v1/reports/compliance.csv``:

1. the streamed download, timed, every chunk counted and dropped as a client would;
2. the same download under ``tracemalloc``: peak Python memory while streaming;
3. a baseline in the same run: the same rows loaded into a list and written to one
   string (what a non-streaming export does), under ``tracemalloc``;
4. ``GET /api/v1/reports/compliance`` (the JSON summary), timed.

Peak resident memory (ru_maxrss) is recorded after step 1 and after step 3.
Results: stdout and bench/results/compliance_export-postgresql-<N>.md|json.
"""

from __future__ import annotations

import argparse
import csv
import io
import resource
import sys
import time
import tracemalloc
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.common.report import code_version, command_line, describe_machine, write_report  # noqa: E402
from bench.compliance_seed import bench_company, timed_seed  # noqa: E402
from config import Settings  # noqa: E402
from models import utcnow  # noqa: E402
from service.reports.compliance import CSV_COLUMNS, iter_rows  # noqa: E402
from service.reports.csv_export import cell  # noqa: E402


def rss_mib():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--learners", type=int, default=100_000)
    p.add_argument("--db-name", default="herd_bench_export")
    p.add_argument("--keep", action="store_true")
    return p.parse_args(argv)


def download(client, secret):
    """Stream the CSV as a client would; returns (seconds, bytes, lines)."""
    t = time.perf_counter()
    resp = client.get("/api/v1/reports/compliance.csv", headers={"Authorization": f"Bearer {secret}"}, buffered=False)
    assert resp.status_code == 200, resp.status
    size = lines = 0
    for chunk in resp.response:
        size += len(chunk)
        lines += chunk.count(b"\n") if isinstance(chunk, bytes) else chunk.count("\n")
    resp.close()
    return time.perf_counter() - t, size, lines


def load_all(sessions, company_id):
    """The baseline: every row in a list, then the whole CSV in one string."""
    with sessions() as s:
        rows = list(iter_rows(s, company_id, utcnow()))
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    for row in rows:
        writer.writerow([cell(row[c]) for c in CSV_COLUMNS])
    return len(buffer.getvalue())


def main(argv=None):
    args = parse_args(argv)
    started = datetime.now(UTC)
    db, company_id, secret = bench_company(args.db_name, args.keep)
    try:
        seed_s = timed_seed(db, company_id, args.learners, older_cycles=True, extra_codes=("CYBER", "COC"))

        from service import create_app
        from service.db import dispose_engines

        app = create_app(Settings.from_env(env={}, database_url=db.url, secret_key="bench"))
        client = app.test_client()
        rss_start = rss_mib()
        stream_s, size, lines = download(client, secret)
        rss_stream = rss_mib()

        tracemalloc.start()
        download(client, secret)
        _, stream_peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()

        tracemalloc.start()
        t = time.perf_counter()
        baseline_size = load_all(app.extensions["herd.sessions"], company_id)
        baseline_s = time.perf_counter() - t
        _, baseline_peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        rss_baseline = rss_mib()

        t = time.perf_counter()
        resp = client.get("/api/v1/reports/compliance", headers={"Authorization": f"Bearer {secret}"})
        json_s = time.perf_counter() - t
        assert resp.status_code == 200
        summary = resp.get_json()
        expected_rows = args.learners * 3
        ok = lines == expected_rows + 1 and summary["learner_count"] == args.learners and abs(baseline_size - size) < 16
        mib = 1024 * 1024
        lines_md = [
            f"# Compliance CSV export: {args.learners:,} learners, {lines - 1:,} rows",
            "",
            f"- command: `{command_line('bench.compliance_export')}`",
            f"- when: {started:%Y-%m-%d %H:%M} UTC; code: {code_version()}; {db.version()}",
            f"- machine: {describe_machine()}",
            f"- bulk SQL seed: {seed_s:.0f} s ({args.learners * 4:,} assignment rows, of which the latest cycles are exported)",
            "",
            "| measure | streamed export (the endpoint) | baseline: all rows in memory |",
            "|---|---|---|",
            f"| time | **{stream_s:.1f} s** ({(lines - 1) / stream_s:,.0f} rows/s) | {baseline_s:.1f} s (under tracemalloc) |",
            f"| peak Python memory (tracemalloc) | **{stream_peak / mib:.1f} MiB** | {baseline_peak / mib:.1f} MiB |",
            f"| ratio baseline / streamed peak | {baseline_peak / max(1, stream_peak):.0f}x | |",
            f"| process peak RSS after it | {rss_stream:.0f} MiB (from {rss_start:.0f} MiB before) | {rss_baseline:.0f} MiB |",
            f"| CSV size | {size / mib:.1f} MiB | {baseline_size / mib:.1f} MiB |",
            "",
            f"JSON summary `GET /api/v1/reports/compliance` (counts by training and region + first page): {json_s:.2f} s; "
            f"learners {summary['learner_count']:,}, totals {summary['totals']}.",
            "",
            f"Rows and sizes check: {'ok' if ok else 'MISMATCH'} ({lines - 1:,} rows, expected {expected_rows:,}).",
        ]
        write_report(
            f"compliance_export-postgresql-{args.learners}",
            lines_md,
            {
                "learners": args.learners,
                "rows": lines - 1,
                "stream_s": stream_s,
                "stream_peak_bytes": stream_peak,
                "baseline_s": baseline_s,
                "baseline_peak_bytes": baseline_peak,
                "rss_mib": {"start": rss_start, "after_stream": rss_stream, "after_baseline": rss_baseline},
                "csv_bytes": size,
                "json_summary_s": json_s,
                "seed_s": seed_s,
                "command": command_line("bench.compliance_export"),
                "machine": describe_machine(),
                "database": db.version(),
                "code": code_version(),
            },
        )
        dispose_engines(app)
        if not ok:
            raise SystemExit("row count mismatch")
    finally:
        db.drop()


if __name__ == "__main__":
    main()
