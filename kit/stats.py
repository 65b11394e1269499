"""Statistics of a run: percentiles and medians, and CPU seconds read from /proc (of one
process, of a process group with what its leader reaped, of the whole machine)."""

from __future__ import annotations

import contextlib
import glob
import os
import statistics
from collections.abc import Iterable

CLK_TCK = os.sysconf("SC_CLK_TCK")


def percentile(values: Iterable[float], pct: float) -> float:
    """Nearest-rank percentile (p50 of [1, 2, 3, 4] is 2); NaN when empty."""
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    rank = max(1, -(-len(ordered) * pct // 100))
    return ordered[int(rank) - 1]


def median(values: Iterable[float]) -> float:
    values = list(values)
    return statistics.median(values) if values else float("nan")


def proc_cpu(pid: int) -> float:
    """User + system CPU seconds of one process (all its threads, not its children)."""
    with open(f"/proc/{pid}/stat") as fh:
        fields = fh.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def group_cpu(pgid: int) -> float:
    """CPU seconds of every live process in a process group, plus what its leader has
    reaped: a prefork worker does its work in pool processes, not in its main one."""
    total = 0.0
    for stat in glob.glob("/proc/[0-9]*/stat"):
        with contextlib.suppress(OSError, ValueError, IndexError):
            with open(stat) as fh:
                fields = fh.read().rsplit(")", 1)[1].split()
            if int(fields[2]) != pgid:
                continue
            total += (int(fields[11]) + int(fields[12])) / CLK_TCK
            if int(stat.split("/")[2]) == pgid:  # the leader: its reaped children too
                total += (int(fields[13]) + int(fields[14])) / CLK_TCK
    return total


def machine_cpu() -> tuple[float, float]:
    """(busy, total) CPU seconds of the whole machine so far, from /proc/stat."""
    with open("/proc/stat") as fh:
        values = [int(v) for v in fh.readline().split()[1:]]
    idle = values[3] + (values[4] if len(values) > 4 else 0)  # idle + iowait
    total = sum(values[:8])  # user nice system idle iowait irq softirq steal
    return (total - idle) / CLK_TCK, total / CLK_TCK


def machine_busy(start: tuple[float, float]) -> float:
    """Fraction of all cores busy since ``start`` (a ``machine_cpu()`` reading)."""
    busy, total = machine_cpu()
    return (busy - start[0]) / max(total - start[1], 1e-9)
