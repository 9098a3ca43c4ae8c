"""Mutation testing of the pure cores: each module against its own unit tests.

``make mutation`` (or ``python -m tools.mutation``) runs mutmut over every
module in ``MODULES``, each in its own scratch copy of the project under
``.mutation/`` (git-ignored), with only that module mutated and only its
unit test files selected, then prints mutants, killed and score per module.
``--write`` also stores the table in ``bench/results/mutation.md``.

mutmut 3 mutates function and method bodies (not module-level constants or
annotations), runs each mutant in a forked process, and only runs the
selected tests that call the mutated function. A mutant no selected test
reaches ("no tests") counts as a survivor. A killed mutant is one that made
a test fail, timed out, or (through ``tools/mutmut_plugin.py``) broke test
collection: a mutant that stops a module from importing is caught, not
survived.

The work is slow and CPU-bound: it runs under ``nice -n 19``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import importlib.metadata
import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SCRATCH = ROOT / ".mutation"
RESULTS = ROOT / "bench" / "results" / "mutation.md"

# The one table to update when a module moves: module (a file, or a glob of
# files under one package) -> the unit test files that own its behaviour
# (pytest arguments: the 50,000-member cases are left out, as mutmut's tracing
# makes them slow and the small cases pin the same rules).
PATCH_TESTS = ["tests/unit/test_patch.py", "-k", "not big"]
SMART_ASSIGN_TESTS = ["tests/unit/test_smart_assign.py", "tests/unit/test_recertification_rules.py"]
MODULES: dict[str, list[str]] = {
    "workers/smart_assign.py": SMART_ASSIGN_TESTS,
    "workers/workplace.py": SMART_ASSIGN_TESTS,
    "workers/withdrawal.py": ["tests/unit/test_reversible_assign.py", *SMART_ASSIGN_TESTS],
    "workers/versions.py": ["tests/unit/test_reversible_assign.py", *SMART_ASSIGN_TESTS],
    "service/scim/patch.py": PATCH_TESTS,
    "service/scim/patch_remove.py": PATCH_TESTS,
    "service/scim/patch_ops.py": PATCH_TESTS,
    "service/scim/groups/member_patch.py": PATCH_TESTS,
    "service/scim/filters.py": ["tests/unit/test_filters.py", "tests/unit/test_filter_lookups.py"],
    "service/scim/filter_match.py": ["tests/unit/test_filters.py"],
    "service/scim/filter_sql.py": ["tests/unit/test_filter_sql.py"],
}

# Top-level entries never copied into a scratch copy (data, docs, reports).
NOT_COPIED = {"bench", "docs", "README.md", ".ci", ".gitignore", "instance"}

# mutmut's exit codes, grouped (see mutmut.stats.status_by_exit_code).
TIMEOUT = {36, 24, -24, 152, 255}
KILLED = {1, 3} | TIMEOUT  # a test failed, pytest errored (collection: see the plugin), or timed out
SKIPPED = {34}
NOT_CHECKED = {None}


@dataclass
class Score:
    module: str
    mutants: int
    killed: int
    not_checked: int
    survivors: list[str]
    unchecked: list[str]
    timed_out: list[str] = ()

    @property
    def timeouts(self) -> int:
        return len(self.timed_out)

    @property
    def score(self) -> float:
        return 100.0 * self.killed / self.mutants if self.mutants else 0.0


def slug(module: str) -> str:
    return module.replace("/", "_").replace("*", "all").removesuffix(".py")


def package_of(module: str) -> str:
    """The top-level directory mutmut copies and mutates (only ``module`` in it is mutated)."""
    return module.split("/", 1)[0]


def project_entries() -> list[str]:
    """The project's top-level files and directories (tracked or new, not ignored) a test run may need."""
    listed = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    return sorted({path.split("/", 1)[0] for path in listed} - NOT_COPIED)


def prepare(module: str, tests: list[str], fresh: bool) -> Path:
    """Lay out a scratch copy of the project whose setup.cfg mutates ``module`` only."""
    work = SCRATCH / slug(module)
    if fresh and work.exists():
        shutil.rmtree(work)
    work.mkdir(parents=True, exist_ok=True)
    # Refresh the project files (sources and tests may have changed since the last run).
    entries = project_entries()
    for name in entries:
        source, target = ROOT / name, work / name
        if target.is_dir():
            shutil.rmtree(target)
        if source.is_dir():
            shutil.copytree(source, target, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        elif source.exists():
            shutil.copy2(source, target)
    package = package_of(module)
    also_copy = [name for name in entries if name != package]
    lines = [
        "[mutmut]",
        f"source_paths = {package}",
        f"only_mutate = {module}",
        "also_copy =",
        *[f"    {name}" for name in also_copy],
        "pytest_add_cli_args_test_selection =",
        *[f"    {test}" for test in tests],
        "pytest_add_cli_args =",
        "    -p",
        "    tools.mutmut_plugin",
        "    -p",
        "    no:cacheprovider",
        "use_git_change_detection = false",
        # A mutant is stopped after 10 x (its tests' CPU time + 5 s) of CPU, or half that
        # wall-clock: generous enough that a loaded machine does not pass for a loop.
        "timeout_multiplier = 5.0",
        "timeout_constant = 5.0",
    ]
    (work / "setup.cfg").write_text("\n".join(lines) + "\n")
    return work


def run(work: Path, max_children: int, names: list[str]) -> int:
    """Run mutmut in ``work`` (only the mutants ``names``, if given); its progress goes to ``work/mutmut.log``."""
    mutmut = Path(sys.executable).parent / "mutmut"
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
    with open(work / "mutmut.log", "w") as log:
        return subprocess.call(
            ["nice", "-n", "19", str(mutmut), "run", "--max-children", str(max_children), *names],
            cwd=work,
            stdout=log,
            stderr=subprocess.STDOUT,
            env=env,
        )


def _codes(meta: Path) -> dict[str, int | None]:
    codes = json.loads(meta.read_text())["exit_code_by_key"]
    return {name: code for name, code in codes.items() if code not in SKIPPED}


def _score(name: str, codes: dict[str, int | None]) -> Score:
    killed = sum(1 for code in codes.values() if code in KILLED)
    not_checked = sum(1 for code in codes.values() if code in NOT_CHECKED)
    survivors = sorted(n for n, code in codes.items() if code not in KILLED and code not in NOT_CHECKED)
    unchecked = sorted(n for n, code in codes.items() if code in NOT_CHECKED)
    timed_out = sorted(n for n, code in codes.items() if code in TIMEOUT)
    return Score(name, len(codes), killed, not_checked, survivors, unchecked, timed_out)


def scores(module: str, work: Path) -> list[Score]:
    """One Score per mutated file of ``module`` (read from ``mutants/<file>.meta``), then their total."""
    metas = sorted((work / "mutants").glob(module + ".meta")) if (work / "mutants").is_dir() else []
    files = [_score(str(meta.relative_to(work / "mutants")).removesuffix(".meta"), _codes(meta)) for meta in metas]
    if len(files) == 1 and files[0].module == module:
        return files
    total = _score(f"{module} (total)", {n: c for meta in metas for n, c in _codes(meta).items()})
    return [*files, total]


def table(rows_of: list[Score]) -> str:
    rows = ["| module | mutants | killed | of which timeouts | score |", "|---|---|---|---|---|"]
    rows += [f"| `{s.module}` | {s.mutants} | {s.killed} | {s.timeouts} | {s.score:.1f} % |" for s in rows_of]
    return "\n".join(rows)


def write_results(results: list[Score], command: str) -> None:
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True).stdout
    version = f"mutmut {importlib.metadata.version('mutmut')}"
    lines = [
        "# Mutation scores of the pure cores",
        "",
        f"Measured {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC on commit {commit.strip()} "
        f"(plus the working tree), {version}, each module against its own unit tests.",
        "",
        "```",
        command,
        "```",
        "",
        table(results),
        "",
        "Killed = a selected test failed, timed out, or test collection broke; "
        "survivors include mutants no selected test reaches.",
        "",
        "## Survivors",
        "",
        "Read one with `cd .mutation/<scratch dir> && ../../.venv/bin/mutmut show <name>`.",
        "",
    ]
    for s in results:
        if s.module.endswith("(total)"):
            continue
        lines.append(f"- `{s.module}` ({len(s.survivors)}): " + (", ".join(f"`{n}`" for n in s.survivors) or "none"))
    RESULTS.write_text("\n".join(lines) + "\n")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--module", action="append", help="only these MODULES keys (default: all)")
    parser.add_argument("--fresh", action="store_true", help="forget earlier results (default: re-test only new code)")
    parser.add_argument(
        "--survivors",
        action="store_true",
        help="re-test only the last run's survivors, timeouts and unchecked mutants (after adding tests)",
    )
    parser.add_argument("--max-children", type=int, default=2)
    parser.add_argument("--report-only", action="store_true", help="print the last results without running")
    parser.add_argument("--write", action="store_true", help=f"store the table in {RESULTS.relative_to(ROOT)}")
    args = parser.parse_args(argv)

    modules = args.module or list(MODULES)
    unknown = [m for m in modules if m not in MODULES]
    if unknown:
        parser.error(f"not in MODULES: {', '.join(unknown)}")
    results, failed = [], []
    for module in modules:
        if args.report_only:
            work = SCRATCH / slug(module)
        else:
            last = scores(module, SCRATCH / slug(module))[-1]
            # Timeouts too: on a loaded machine a slow run can pass for a loop.
            names = last.survivors + last.unchecked + list(last.timed_out) if args.survivors else []
            work = prepare(module, MODULES[module], args.fresh and not args.survivors)
            print(f"mutating {module} against {' '.join(MODULES[module])} ...", flush=True)
            code = run(work, args.max_children, names) if names or not args.survivors else 0
            if code != 0:
                print(f"mutmut failed ({code}); see {work / 'mutmut.log'}", file=sys.stderr)
                failed.append(module)
                continue
        results += scores(module, work)
    print(table(results))
    incomplete = [s.module for s in results if s.not_checked]
    if incomplete:
        print(f"not every mutant was checked in: {', '.join(incomplete)}", file=sys.stderr)
    if args.write:
        write_results(results, "make mutation MUTATION_ARGS='" + " ".join(argv or sys.argv[1:]) + "'")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
