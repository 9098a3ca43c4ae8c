"""What every bench report says about its run (machine, code, command) and how it is written to bench/results/."""

from __future__ import annotations

import json
import os
import platform
import shlex
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


RESULTS = ROOT / "bench" / "results"


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


def fmt(value, digits=1):
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return str(value)


def command_line(module="bench.backlog"):
    env = " ".join(f"{k}={shlex.quote(os.environ[k])}" for k in ("DATABASE_URL",) if os.environ.get(k))
    return (env + " " if env else "") + "python -m " + module + " " + shlex.join(sys.argv[1:])


def write_report(name, lines, data):
    RESULTS.mkdir(exist_ok=True)
    md = RESULTS / f"{name}.md"
    md.write_text("\n".join(lines) + "\n")
    (RESULTS / f"{name}.json").write_text(json.dumps(data, indent=2, default=str) + "\n")
    print("\n".join(lines))
    print(f"\nwritten: {md.relative_to(ROOT)} and .json")


def describe_machine():
    """``machine_info()`` in one line, for a report's header."""
    m = machine_info()
    return f"{m['cores']} cores, {m['cpu_model']}, {m['memory_gib']} GiB RAM, {m['platform']}, Python {m['python']}"
