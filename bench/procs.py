"""The stack's processes as /proc sees them: CPU over a window, peak RSS, and the machine."""

from __future__ import annotations

import datetime as dt
import os
import platform
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LOCAL = ROOT / ".local"
TICKS = os.sysconf("SC_CLK_TCK")


def _read_pid(path: Path) -> int | None:
    try:
        pid = int(path.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None
    return pid if Path(f"/proc/{pid}").exists() else None


def stack_processes() -> dict[str, int]:
    """name -> PID of every process `make up` started (infrastructure and services)."""
    found: dict[str, int] = {}
    for path in sorted(LOCAL.glob("*.pid")):
        pid = _read_pid(path)
        if pid:
            found[path.stem] = pid
    for path in sorted((LOCAL / "services").glob("*.pid")):
        pid = _read_pid(path)
        if pid:
            found[path.stem] = pid
    # PostgreSQL keeps its postmaster PID in the data directory.
    for path in sorted(LOCAL.glob("**/postmaster.pid")):
        pid = _read_pid(path)
        if pid and pid not in found.values():
            found.setdefault("postgres", pid)
    return found


def _children() -> dict[int, list[int]]:
    tree: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        tree.setdefault(ppid, []).append(int(entry))
    return tree


def tree_of(pid: int, children: dict[int, list[int]] | None = None) -> list[int]:
    """A process and all its live descendants."""
    children = children if children is not None else _children()
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        todo.extend(children.get(p, []))
    return out


def cpu_ticks(pid: int) -> int:
    """utime + stime + cutime + cstime (reaped children included) of one process."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0
    # After the command: state(0) ppid(1) ... utime(11) stime(12) cutime(13) cstime(14)
    return sum(int(fields[i]) for i in (11, 12, 13, 14))


def tree_cpu_seconds(pid: int, children: dict[int, list[int]] | None = None) -> float:
    """CPU seconds of a process and its descendants."""
    return sum(cpu_ticks(p) for p in tree_of(pid, children)) / TICKS


def sample_cpu(processes: dict[str, int]) -> dict[str, float]:
    """name -> CPU seconds so far (each process with its descendants)."""
    children = _children()
    return {name: tree_cpu_seconds(pid, children) for name, pid in processes.items()}


def measure_cpu(processes: dict[str, int], seconds: float) -> dict[str, float]:
    """name -> % of one core used over the next `seconds`."""
    before = sample_cpu(processes)
    t0 = time.monotonic()
    time.sleep(seconds)
    after = sample_cpu(processes)
    wall = time.monotonic() - t0
    return {n: round(100.0 * (after[n] - before[n]) / wall, 2) for n in processes}


def _status_kb(pid: int, key: str) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(key + ":"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def peak_rss_mb(processes: dict[str, int]) -> dict[str, float]:
    """name -> peak resident memory (VmHWM) in MB; a multi-process server sums its tree."""
    children = _children()
    out: dict[str, float] = {}
    for name, pid in processes.items():
        pids = tree_of(pid, children) if name == "postgres" else [pid]
        out[name] = round(sum(_status_kb(p, "VmHWM") for p in pids) / 1024.0, 1)
    return out


def machine() -> dict[str, object]:
    """What the figures were measured on."""
    model = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem_kb = _meminfo("MemTotal")
    return {
        "cpu_model": model or platform.processor(),
        "cores": os.cpu_count(),
        "memory_gb": round(mem_kb / 1024 / 1024, 1),
        "kernel": platform.release(),
        "python": platform.python_version(),
        "timestamp": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
    }


def _meminfo(key: str) -> int:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith(key + ":"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def loadavg() -> float:
    """The one-minute load average (other work on the machine shows here)."""
    try:
        return float(Path("/proc/loadavg").read_text().split()[0])
    except (OSError, ValueError):
        return 0.0
