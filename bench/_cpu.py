"""CPU seconds of processes and of the whole machine, from ``/proc`` (Linux), for benches
that must show where the CPU went on a shared machine."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path


class CpuMeter:
    """CPU seconds (user + system, from ``/proc/<pid>/stat``) of the processes of a run.

    ``kinds()`` names the pids of each kind (server, workers, simulator, the
    database's backends); it is asked again at the end so that a backend that
    connected during the drain counts from zero.
    """

    def __init__(self, kinds: Callable[[], dict[str, list[int]]]) -> None:
        self.kinds = kinds
        self._at: dict[int, float] = {}
        self._machine = 0.0

    def start(self) -> None:
        self._at = {p: _cpu_of(p) for pids in self.kinds().values() for p in pids}
        self._machine = _machine_cpu()

    def stop(self) -> tuple[dict[str, float], float]:
        """CPU seconds per kind, and the machine's, since :meth:`start`."""
        machine = _machine_cpu() - self._machine
        return {
            kind: sum(max(0.0, _cpu_of(p) - self._at.get(p, 0.0)) for p in pids)
            for kind, pids in self.kinds().items()
        }, machine


def _machine_cpu() -> float:
    """Busy CPU seconds of the whole machine since boot (``/proc/stat``, all but idle, iowait)."""
    fields = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    return (sum(fields[:8]) - fields[3] - fields[4]) / os.sysconf("SC_CLK_TCK")


def _cpu_of(pid: int) -> float:
    """utime + stime of ``pid`` in seconds (0 when it is gone or unreadable)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return 0.0
    fields = stat.rsplit(")", 1)[1].split()  # after "(comm)", which may hold spaces
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
