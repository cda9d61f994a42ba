"""Closed-loop load from separate worker processes, over raw keep-alive HTTP/1.1.

A *lane* is one connection that issues requests one after another; it works through its
*steps* in order (a step is one kind of request repeated `count` times, or until the
deadline). Lanes are spread over `procs` worker processes (spawned, so they import only
this module and `bench.rawhttp`). Workers connect, wait for the common start
time, and report their latencies, statuses and their own CPU time.
"""

from __future__ import annotations

import asyncio
import contextlib
import multiprocessing as mp
import queue
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from bench.rawhttp import Conn, HttpError, build_request

PLACEHOLDER = "@N@"


@dataclass(frozen=True)
class Step:
    """One request shape; `@N@` in the path or body becomes the request's index in the step."""

    method: str
    path: str
    headers: str = ""
    body: str | None = None
    ok: tuple[int, ...] = (201,)
    count: int | None = None  # None: until the deadline


@dataclass(frozen=True)
class Lane:
    """One connection's work."""

    port: int
    steps: tuple[Step, ...]


@dataclass
class LoadResult:
    """What the workers measured inside the window."""

    ok: int = 0
    latencies_ms: list[float] = field(default_factory=list)
    statuses: Counter[int] = field(default_factory=Counter)
    errors: int = 0
    wall_s: float = 0.0
    client_cpu_s: float = 0.0
    completed: bool = True  # every counted step finished before the cap

    @property
    def per_s(self) -> float:
        """Successful requests per second of the window."""
        return self.ok / self.wall_s if self.wall_s else 0.0

    @property
    def client_cpu_pct(self) -> float:
        """The workers' CPU in % of one core over the window."""
        return 100.0 * self.client_cpu_s / self.wall_s if self.wall_s else 0.0


def percentile(values: list[float], pct: float) -> float | None:
    """Nearest-rank percentile (None for no values)."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(0, min(len(ordered) - 1, round(pct / 100.0 * len(ordered) + 0.5) - 1))
    return ordered[rank]


async def _lane(lane: Lane, deadline: float, out: dict[str, Any], progress: Any, slot: int) -> None:
    conn = Conn(lane.port)
    with contextlib.suppress(OSError):
        await conn.connect()
    await out["go"].wait()
    lat: list[float] = out["lat"]
    statuses: Counter[int] = out["statuses"]
    for step in lane.steps:
        templ_path = step.path
        templ_body = step.body
        n = 0
        while (step.count is None or n < step.count) and time.time() < deadline:
            path = (
                templ_path.replace(PLACEHOLDER, str(n)) if PLACEHOLDER in templ_path else templ_path
            )
            body = None
            if templ_body is not None:
                body = (
                    templ_body.replace(PLACEHOLDER, str(n))
                    if PLACEHOLDER in templ_body
                    else templ_body
                ).encode()
            raw = build_request(step.method, path, lane.port, headers=step.headers, body=body)
            began = time.perf_counter()
            try:
                status, _ = await conn.send_raw(raw, step.method)
            except HttpError:
                out["errors"] += 1
                await asyncio.sleep(0.05)
                n += 1
                continue
            ended = time.perf_counter()
            n += 1
            if time.time() > deadline and step.count is None:
                break  # finished after the window closed: not counted
            statuses[status] += 1
            if status in step.ok:
                lat.append((ended - began) * 1000.0)
                if progress is not None:
                    progress[slot] += 1
        if step.count is not None and n < step.count:
            out["incomplete"] = True
    conn.close()


async def _worker_main(
    lanes: list[Lane], start_at: float, duration: float, progress: Any, slot: int
) -> dict[str, Any]:
    out: dict[str, Any] = {
        "lat": [],
        "statuses": Counter(),
        "errors": 0,
        "incomplete": False,
        "go": asyncio.Event(),
    }
    deadline = start_at + duration
    tasks = [asyncio.create_task(_lane(lane, deadline, out, progress, slot)) for lane in lanes]
    await asyncio.sleep(max(0.0, start_at - time.time()))
    cpu0 = time.process_time()
    wall0 = time.time()
    out["go"].set()
    await asyncio.gather(*tasks)
    wall = min(time.time(), deadline) - wall0
    return {
        "lat": out["lat"],
        "statuses": dict(out["statuses"]),
        "errors": out["errors"],
        "incomplete": out["incomplete"],
        "cpu": time.process_time() - cpu0,
        "wall": wall,
        "ended": time.time(),
        "started": wall0,
    }


def _worker(
    lanes: list[Lane], start_at: Any, duration: float, results: Any, progress: Any, slot: int
) -> None:
    try:
        import uvloop  # the client's own loop: as cheap as the machine allows

        uvloop.install()
    except ImportError:
        pass
    while start_at.value == 0.0:
        time.sleep(0.01)
    try:
        results.put(asyncio.run(_worker_main(lanes, start_at.value, duration, progress, slot)))
    except BaseException as error:  # report, never hang the parent
        results.put({"error": repr(error)})


def run(
    lanes: list[Lane],
    *,
    duration: float | None = None,
    max_seconds: float = 3600.0,
    procs: int = 1,
    progress_label: str | None = None,
    progress_every: float = 10.0,
    expected: int | None = None,
) -> LoadResult:
    """Run lanes in worker processes for `duration` s (or until their counts are done)."""
    procs = max(1, min(procs, len(lanes)))
    window = duration if duration is not None else max_seconds
    ctx = mp.get_context("spawn")
    start_at = ctx.Value("d", 0.0, lock=False)
    progress = ctx.Array("q", procs, lock=False)
    results: Any = ctx.Queue()
    workers = []
    for i in range(procs):
        share = lanes[i::procs]
        p = ctx.Process(
            target=_worker, args=(share, start_at, window, results, progress, i), daemon=True
        )
        p.start()
        workers.append(p)
    # Spawned workers need a moment to import; they wait for the common start time.
    time.sleep(0.8 + 0.2 * procs)
    start_at.value = time.time() + 0.3
    gathered: list[dict[str, Any]] = []
    last_print = time.time()
    hard_stop = time.time() + window + 120.0
    while len(gathered) < procs and time.time() < hard_stop:
        with contextlib.suppress(queue.Empty):
            gathered.append(results.get(timeout=1.0))
            continue
        if not any(p.is_alive() for p in workers):
            with contextlib.suppress(queue.Empty):
                while len(gathered) < procs:
                    gathered.append(results.get(timeout=1.0))
            break
        if progress_label and time.time() - last_print >= progress_every:
            last_print = time.time()
            done = sum(progress[:])
            elapsed = time.time() - start_at.value
            rate = done / elapsed if elapsed > 0 else 0.0
            of = f"/{expected}" if expected else ""
            print(f"  [{progress_label}] {done}{of} in {elapsed:.0f} s ({rate:.1f}/s)", flush=True)
    for p in workers:
        p.join(timeout=5)
        if p.is_alive():
            p.kill()
    result = LoadResult()
    walls = []
    for g in gathered:
        if "error" in g:
            raise RuntimeError(f"load worker failed: {g['error']}")
        result.latencies_ms.extend(g["lat"])
        result.statuses.update(g["statuses"])
        result.errors += g["errors"]
        result.client_cpu_s += g["cpu"]
        result.completed = result.completed and not g["incomplete"]
        walls.append(g["wall"])
    if len(gathered) < procs:
        result.completed = False
    result.wall_s = max(walls) if walls else 0.0
    result.ok = len(result.latencies_ms)
    return result
