"""Linux ``/proc`` readings for benchmarks: resident memory, threads, child processes."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

__all__ = ["MemSample", "children", "cmdline", "cpu_seconds", "mem", "open_fds"]


@dataclass(frozen=True)
class MemSample:
    """One reading of ``/proc/<pid>/status``; sizes in KiB (all threads of the process)."""

    rss_kb: int  # VmRSS: resident now
    hwm_kb: int  # VmHWM: peak resident so far
    threads: int
    state: str  # "R", "S", ... "Z" for a zombie (exited, not yet reaped)


def mem(pid: int) -> MemSample | None:
    """The process's memory, or None when it is gone (or a zombie)."""
    fields: dict[str, str] = {}
    try:
        text = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return None
    for line in text.splitlines():
        key, _, value = line.partition(":")
        fields[key] = value.strip()

    def kb(name: str) -> int:
        return int(fields.get(name, "0 kB").split()[0])

    state = fields.get("State", "?")[:1]
    if state in ("Z", "X"):
        return None
    return MemSample(kb("VmRSS"), kb("VmHWM"), int(fields.get("Threads", "0")), state)


def cmdline(pid: int) -> list[str]:
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return []
    return [part.decode(errors="replace") for part in raw.split(b"\0") if part]


def children(parent: int | None = None) -> list[int]:
    """Direct children of ``parent`` (default: this process), from ``/proc/*/stat``."""
    parent = os.getpid() if parent is None else parent
    found = []
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            stat = Path(entry.path, "stat").read_text()
        except OSError:
            continue
        # "pid (comm) state ppid ...": comm may hold spaces and parentheses.
        rest = stat[stat.rfind(")") + 2 :].split()
        if len(rest) > 1 and int(rest[1]) == parent:
            found.append(int(entry.name))
    return sorted(found)


def open_fds(pid: int) -> int:
    try:
        return len(os.listdir(f"/proc/{pid}/fd"))
    except OSError:
        return 0


def cpu_seconds(pid: int) -> float:
    """User plus system CPU time the process used so far (0.0 when it is gone)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return 0.0
    rest = stat[stat.rfind(")") + 2 :].split()
    return (int(rest[11]) + int(rest[12])) / os.sysconf("SC_CLK_TCK")
