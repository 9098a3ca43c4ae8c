"""The cost of a PATCH with many operations: main's code next to this tree's, in one run.

    python -m bench.patch_cost
    python -m bench.patch_cost --sizes 500,1000,2000 --after-sizes 1000,10000 --ref main

Each operation adds one email (``{"op": "add", "path": "emails", "value":
[{"value": ...}]}``), the shape that re-copied and re-compared the whole
list once per operation. ``service.scim.patch.apply_patch`` (pure: no
database, no HTTP) is timed in a fresh process for each code base:

- before: ``git archive <ref>`` of the code (default ``main``) in a temporary
  directory, at ``--sizes``;
- after: this work tree, at ``--after-sizes``, with the per-attribute value
  limit lifted so that the operations really append (the limit would stop
  them at 100 values; lifting it measures the algorithm, not the refusal).

Then the real request, through the Flask app on SQLite: a 10,000-operation
PATCH against this tree (refused with a 400 before any work) and a PATCH at
the 1,000-operation limit (applied). Rounds alternate before/after; the
median of ``--repeat`` rounds is reported. Results go to stdout and
bench/results/patch_cost.md (and .json) with the command and the commit.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from io import BytesIO
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"

# Times apply_patch in a fresh interpreter whose sys.path[0] is the code base under test.
PROBE = r"""
import dataclasses, json, sys, time
from service.scim.patch import apply_patch
from service.scim.users.schema import PATCH_SCHEMA
schema = PATCH_SCHEMA
if any(f.name == "max_values" for f in dataclasses.fields(schema)):
    schema = dataclasses.replace(schema, max_values=None)
out = {}
for n in json.loads(sys.argv[1]):
    ops = [{"op": "add", "path": "emails", "value": [{"value": f"e{i}@bench.example", "type": "work"}]} for i in range(n)]
    started = time.perf_counter()
    doc = apply_patch({"userName": "kim@bench.example"}, ops, schema)
    out[n] = time.perf_counter() - started
    assert len(doc["emails"]) == n
print(json.dumps(out))
"""


def export(ref: str, into: Path) -> None:
    """The tracked files of ``ref`` (a commit or branch) into ``into``."""
    archive = subprocess.run(["git", "-C", str(ROOT), "archive", ref], check=True, capture_output=True).stdout
    with tarfile.open(fileobj=BytesIO(archive)) as tar:
        tar.extractall(into, filter="data")


def probe(code_root: Path, sizes: list[int]) -> dict[int, float]:
    env = {**os.environ, "PYTHONPATH": str(code_root)}
    done = subprocess.run(
        [sys.executable, "-c", PROBE, json.dumps(sizes)],
        cwd=code_root,
        env=env,
        check=True,
        capture_output=True,
        text=True,
    )
    return {int(k): v for k, v in json.loads(done.stdout).items()}


def http_probe() -> dict:
    """This tree through the Flask app on a throwaway SQLite database."""
    sys.path.insert(0, str(ROOT))
    from bench.common.server import in_process_app
    from models import AccessToken, make_engine
    from models.migrate import upgrade
    from service.company.tenant import create_company
    from service.edge import input_limits

    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{tmp}/bench.db"
        upgrade(url)
        app = in_process_app(url)
        from sqlalchemy.orm import Session

        engine = make_engine(url)
        with Session(engine) as s:
            company = create_company(s, "Bench", 1)
            row, secret = AccessToken.issue(company.id, "bench")
            s.add(row)
            s.commit()
        engine.dispose()
        client = app.test_client()
        headers = {"Authorization": f"Bearer {secret}"}
        user = client.post("/scim/v2/1/Users", json={"userName": "kim@bench.example"}, headers=headers).get_json()

        def timed(ops):
            started = time.perf_counter()
            resp = client.patch(f"/scim/v2/1/Users/{user['id']}", json={"Operations": ops}, headers=headers)
            return resp.status_code, time.perf_counter() - started

        many = [{"op": "add", "path": "emails", "value": [{"value": f"e{i}@bench.example"}]} for i in range(10_000)]
        at_limit = [
            {"op": "replace", "path": "displayName", "value": f"Kim {i}"}
            for i in range(input_limits.MAX_PATCH_OPERATIONS)
        ]
        status_many, seconds_many = timed(many)
        status_limit, seconds_limit = timed(at_limit)
    return {
        "10000_ops": {"status": status_many, "seconds": seconds_many},
        f"{input_limits.MAX_PATCH_OPERATIONS}_ops_at_limit": {"status": status_limit, "seconds": seconds_limit},
    }


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ref", default="main", help="the 'before' code (a branch or commit)")
    parser.add_argument("--sizes", default="500,1000,2000", help="operation counts for the before code")
    parser.add_argument("--after-sizes", default="500,1000,2000,10000", help="operation counts for this tree")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args(argv)
    before_sizes = [int(n) for n in args.sizes.split(",")]
    after_sizes = [int(n) for n in args.after_sizes.split(",")]

    before_runs, after_runs = [], []
    with tempfile.TemporaryDirectory() as tmp:
        export(args.ref, Path(tmp))
        for _ in range(args.repeat):
            before_runs.append(probe(Path(tmp), before_sizes))
            after_runs.append(probe(ROOT, after_sizes))
    before = {n: statistics.median(r[n] for r in before_runs) for n in before_sizes}
    after = {n: statistics.median(r[n] for r in after_runs) for n in after_sizes}
    # Quadratic fit through the largest before size: what 10,000 operations would cost.
    largest = max(before_sizes)
    before_10k = before[largest] * (10_000 / largest) ** 2
    http = http_probe()

    commit = subprocess.run(
        ["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"], capture_output=True, text=True
    ).stdout.strip()
    ref_commit = subprocess.run(
        ["git", "-C", str(ROOT), "rev-parse", "--short", args.ref], capture_output=True, text=True
    ).stdout.strip()
    command = "python -m bench.patch_cost " + " ".join(argv if argv is not None else sys.argv[1:])
    result = {
        "command": command.strip(),
        "commit": commit,
        "before_ref": f"{args.ref} ({ref_commit})",
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}",
        "repeat": args.repeat,
        "before_seconds": before,
        "after_seconds": after,
        "before_10000_extrapolated_seconds": before_10k,
        "http": http,
    }
    lines = [
        "# PATCH cost: one request of N `add emails` operations",
        "",
        f"Command: `{result['command']}` at commit {commit}; before = `{result['before_ref']}`; "
        f"{result['machine']}; median of {args.repeat} alternating rounds. Pure `apply_patch`, no database.",
        "",
        "| operations | before (s) | after (s) |",
        "|---:|---:|---:|",
    ]
    for n in sorted(set(before_sizes) | set(after_sizes)):
        b = f"{before[n]:.3f}" if n in before else "-"
        a = f"{after[n]:.3f}" if n in after else "-"
        lines.append(f"| {n:,} | {b} | {a} |")
    lines += [
        "",
        f"Before, 10,000 operations (quadratic fit through {largest:,}): about {before_10k:,.0f} s.",
        "",
        "Through the Flask app (this tree, SQLite):",
        "",
        f"- 10,000 operations: HTTP {http['10000_ops']['status']} in {http['10000_ops']['seconds']:.3f} s "
        "(refused before any work: the limit is 1,000 per request);",
    ]
    key = next(k for k in http if k.endswith("_at_limit"))
    lines.append(
        f"- {key.split('_')[0]} operations (at the limit): HTTP {http[key]['status']} in {http[key]['seconds']:.3f} s."
    )
    text = "\n".join(lines) + "\n"
    print(text)
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "patch_cost.md").write_text(text)
    (RESULTS / "patch_cost.json").write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
