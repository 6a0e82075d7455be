"""Peak resident memory and CPU time of process trees, read from /proc (no psutil needed).

Used by ``bench.bench_load``: a Rasa replica started with several Sanic workers forks them, so
each replica is a tree (its main process, the workers, helpers); each process's peak is kept, the
last sample adding the kernel's own high-water mark (``VmHWM``) of every process still running.
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass
from operator import attrgetter
from pathlib import Path

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def _parent_map() -> dict[int, int]:
    """Parent pid of every process (from /proc/<pid>/stat)."""
    parents = {}
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            try:
                stat = Path(entry.path, "stat").read_text()
            except OSError:
                continue
            parents[int(entry.name)] = int(stat.rsplit(")", 1)[1].split()[1])
    return parents


def _tree(root: int, parents: dict[int, int]) -> list[int]:
    """``root`` and all its descendants."""
    children: dict[int, list[int]] = {}
    for pid, parent in parents.items():
        children.setdefault(parent, []).append(pid)
    found, stack = [], [root]
    while stack:
        pid = stack.pop()
        found.append(pid)
        stack.extend(children.get(pid, []))
    return found


def _status_kb(pid: int) -> tuple[int, int]:
    """(VmRSS, VmHWM) of a process in kB; zeros once it is gone."""
    rss = hwm = 0
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                rss = int(line.split()[1])
            elif line.startswith("VmHWM:"):
                hwm = int(line.split()[1])
    except OSError:
        pass
    return rss, hwm


def _shared_split_kb(pid: int) -> tuple[int, int]:
    """(PSS, USS) of a process in kB.

    PSS splits each shared page among the processes sharing it; USS counts private pages only
    (a forked Sanic worker shares the pages of its parent's imports).
    """
    pss = private = 0
    try:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                pss = int(line.split()[1])
            elif line.startswith(("Private_Clean:", "Private_Dirty:")):
                private += int(line.split()[1])
    except OSError:
        pass
    return pss, private


def _cpu_s(pid: int) -> float:
    """User + system CPU seconds of one process."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def _cmdline(pid: int) -> bytes:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return b""


@dataclass
class ProcessPeak:
    """Peak resident memory of one process of the stack."""

    name: str
    pid: int
    role: str
    peak_mb: float = 0.0
    pss_end_mb: float = 0.0
    uss_end_mb: float = 0.0


class MemorySampler(threading.Thread):
    """Sample the resident memory of every process tree of a stack; keep the peaks.

    A child with the same command line as its tree's root is a forked Sanic worker; other
    children (e.g. multiprocessing helpers) are reported as ``other``. A Rasa replica with one
    worker serves from its root process, which is then its worker.
    """

    def __init__(self, roots: dict[str, int], interval_s: float = 1.0) -> None:
        super().__init__(daemon=True)
        self.roots = roots
        self.interval_s = interval_s
        self.peaks: dict[int, ProcessPeak] = {}
        self.tree_peak_mb: dict[str, float] = dict.fromkeys(roots, 0.0)
        self._stop_event = threading.Event()
        self._lock = threading.Lock()

    def run(self) -> None:
        """Sample until :meth:`stop`."""
        while not self._stop_event.wait(self.interval_s):
            self.sample()

    def stop(self) -> None:
        """Take a last sample (high-water marks, PSS and USS of each process) and stop."""
        self._stop_event.set()
        self.join(timeout=5)
        self.sample(final=True)

    def pids(self) -> list[int]:
        """Every pid of every tree, now."""
        parents = _parent_map()
        return [pid for root in self.roots.values() for pid in _tree(root, parents)]

    def cpu_s(self) -> float:
        """CPU seconds used so far by every process of the stack still running."""
        return sum(_cpu_s(pid) for pid in self.pids())

    def sample(self, final: bool = False) -> None:
        """Record the resident memory of every process; keep each peak."""
        parents = _parent_map()
        with self._lock:
            for name, root in self.roots.items():
                root_cmd = _cmdline(root)
                total = 0.0
                for pid in _tree(root, parents):
                    rss, hwm = _status_kb(pid)
                    if rss == 0:
                        continue
                    total += rss / 1024
                    peak = self.peaks.get(pid)
                    if peak is None:
                        if pid == root:
                            role = "main"
                        elif _cmdline(pid) == root_cmd:
                            role = "worker"
                        else:
                            role = "other"
                        peak = self.peaks[pid] = ProcessPeak(name, pid, role)
                    peak.peak_mb = max(peak.peak_mb, rss / 1024, hwm / 1024 if final else 0)
                    if final:
                        pss, uss = _shared_split_kb(pid)
                        peak.pss_end_mb, peak.uss_end_mb = pss / 1024, uss / 1024
                self.tree_peak_mb[name] = max(self.tree_peak_mb[name], total)

    def report(self) -> dict[str, dict]:
        """Per process name: peaks of the whole tree and of each process (workers numbered).

        ``peak_mb`` is the highest resident set (RSS, counting pages shared with the parent);
        ``pss_end_mb`` / ``uss_end_mb`` are taken at the end of the run. ``tree_peak_mb`` is the
        highest sum of the tree's RSS sampled at one time.
        """
        with self._lock:
            out: dict[str, dict] = {}
            for name in self.roots:
                members = sorted(
                    (p for p in self.peaks.values() if p.name == name), key=attrgetter("pid")
                )
                forked = any(p.role == "worker" for p in members)
                processes, number = [], 0
                for peak in members:
                    role = peak.role
                    if role == "worker":
                        number += 1
                        role = f"worker {number}"
                    elif role == "main" and name.startswith("rasa") and not forked:
                        role = "main (worker)"
                    processes.append(
                        {
                            "pid": peak.pid,
                            "role": role,
                            "peak_mb": round(peak.peak_mb, 1),
                            "pss_end_mb": round(peak.pss_end_mb, 1),
                            "uss_end_mb": round(peak.uss_end_mb, 1),
                        }
                    )
                out[name] = {
                    "tree_peak_mb": round(self.tree_peak_mb[name], 1),
                    "processes": processes,
                }
            return out


def rasa_worker_peaks(memory: dict[str, dict]) -> list[float]:
    """Peak of each process serving Rasa requests (every worker of every replica)."""
    return [
        p["peak_mb"]
        for name, tree in memory.items()
        if name.startswith("rasa")
        for p in tree["processes"]
        if p["role"].startswith("worker") or p["role"] == "main (worker)"
    ]
