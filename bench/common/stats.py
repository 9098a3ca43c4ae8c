"""Statistics of a bench run: nearest-rank percentiles, latency summaries, CPU seconds from /proc."""

from __future__ import annotations

import os
from pathlib import Path


def percentile(sorted_values, p):
    """Nearest-rank percentile of an already sorted list."""
    if not sorted_values:
        return None
    rank = max(1, -(-len(sorted_values) * p // 100))
    return sorted_values[int(rank) - 1]


def cpu_jiffies():
    """``(busy, total)`` jiffies of all CPUs from /proc/stat, or None off Linux."""
    try:
        fields = Path("/proc/stat").read_text().splitlines()[0].split()[1:]
    except OSError:
        return None
    values = [int(v) for v in fields]
    idle = values[3] + (values[4] if len(values) > 4 else 0)
    return sum(values) - idle, sum(values)


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


def latency_summary(seconds):
    ms = sorted(s * 1000 for s in seconds)
    return {
        "n": len(ms),
        "p50_ms": percentile(ms, 50),
        "p95_ms": percentile(ms, 95),
        "p99_ms": percentile(ms, 99),
        "max_ms": ms[-1] if ms else float("nan"),
        "mean_ms": sum(ms) / len(ms) if ms else float("nan"),
    }


def group_cpu_seconds(pgids):
    """CPU seconds (user + system) used so far by every live process in the process groups ``pgids``."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) in pgids:
            total += int(fields[11]) + int(fields[12])
    return total / tick
