"""Scenarios a-h against the running deployment (ports 8001-8004), over real HTTP.

Each scenario writes its figures into `ctx.results` under the keys of issue 7.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import time
from collections import defaultdict, deque
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from bench import backlog, load, procs
from bench.load import Lane, LoadResult, Step, percentile
from bench.rawhttp import Pool, SseStream
from bench.receiver import PushReceiver
from bench.stack import (
    ANNOUNCEMENTS,
    BLOCKING,
    NOTIFY,
    THREADS,
    Practice,
    auth_json_headers,
    expect,
    new_practice,
    open_threads,
    publish_clients,
    register_devices,
    send_body,
    token,
    wait_for_directory,
)

T = TypeVar("T")

E2E_RATE = float(os.environ.get("BENCH_E2E_RATE", "50"))  # sends per second (c is at 50)
E2E_SECONDS = 10.0
E2E_CLIENTS = 50
BLOCK_TRIALS = 50
HISTORY_MESSAGES = 100_000
HISTORY_THREADS = 1_000
FANOUT_CLIENTS = 10_000
ANNOUNCEMENTS_FOR_HISTORY = 10  # x FANOUT_CLIENTS recipients = 100,000 deliveries
SEED_CONCURRENCY = 64


@dataclass
class Knobs:
    """The run's settings (environment: BENCH_DURATION, BENCH_SCALE, BENCH_SKIP, ...)."""

    duration: float = 30.0
    scale: float = 1.0
    skip: set[str] = field(default_factory=set)
    client_procs: int = 1
    idle_seconds: float = 30.0
    settle_seconds: float = 300.0


@dataclass
class Ctx:
    """What the scenarios share."""

    knobs: Knobs
    run: str
    pool: Pool
    receiver: PushReceiver
    results: dict[str, Any]
    client_cpu: list[float] = field(default_factory=list)
    fanout_practice: Practice | None = None
    fanout_prefix: str = ""
    announcements_sent: int = 0
    announcement_ids: list[str] = field(default_factory=list)  # d's, watched again in f


def ms(value: float | None) -> float | None:
    """Round a millisecond figure."""
    return None if value is None else round(value, 1)


async def run_load(ctx: Ctx, lanes: list[Lane], **kwargs: Any) -> LoadResult:
    """load.run off the event loop (the receiver keeps serving meanwhile)."""
    kwargs.setdefault("procs", ctx.knobs.client_procs)
    result = await asyncio.to_thread(load.run, lanes, **kwargs)
    if result.wall_s > 0 and kwargs.get("duration"):
        ctx.client_cpu.append(result.client_cpu_pct)
    return result


def summarize(result: LoadResult) -> str:
    """One line about a load run."""
    other = {s: n for s, n in result.statuses.items() if s not in (200, 201)}
    extra = f", other statuses {other}" if other else ""
    errors = f", connection errors {result.errors}" if result.errors else ""
    return (
        f"{result.ok} ok in {result.wall_s:.1f} s = {result.per_s:.1f}/s, "
        f"p50 {percentile(result.latencies_ms, 50) or 0:.1f} ms, "
        f"p99 {percentile(result.latencies_ms, 99) or 0:.1f} ms, "
        f"client CPU {result.client_cpu_pct:.0f} %{extra}{errors}"
    )


async def with_progress(
    label: str, limit: int, items: list[T], work: Callable[[T], Awaitable[Any]], every: float = 10.0
) -> list[Any]:
    """Bounded concurrency with a progress line every `every` seconds."""
    sem = asyncio.Semaphore(limit)
    done = 0
    began = time.monotonic()

    async def one(item: T) -> Any:
        nonlocal done
        async with sem:
            out = await work(item)
        done += 1
        return out

    async def report() -> None:
        while True:
            await asyncio.sleep(every)
            rate = done / (time.monotonic() - began)
            print(f"  [{label}] {done}/{len(items)} ({rate:.0f}/s)", flush=True)

    reporter = asyncio.create_task(report())
    try:
        return await asyncio.gather(*(one(i) for i in items))
    finally:
        reporter.cancel()


def send_lanes(practice: Practice, pairs: Iterable[tuple[str, str]], tag: str) -> list[Lane]:
    """One lane per (provider, client) thread: the provider sends until the deadline."""
    lanes = []
    for i, (provider, client) in enumerate(pairs):
        thread = practice.threads[(provider, client)]
        headers = auth_json_headers(token(provider, "provider", practice.practice_id))
        lanes.append(
            Lane(
                THREADS,
                (Step("POST", f"/v1/threads/{thread}/messages", headers, send_body(f"{tag}-{i}")),),
            )
        )
    return lanes


async def setup_pairs(ctx: Ctx, name: str, count: int) -> tuple[Practice, list[tuple[str, str]]]:
    """A practice with `count` provider-client pairs, one thread each."""
    prefix = f"{ctx.run}-{name}"
    practice = await new_practice(ctx.pool, prefix)
    clients = [f"{prefix}-c{i}" for i in range(count)]
    await publish_clients(practice.practice_id, clients)
    pairs = [(f"{prefix}-p{i}", c) for i, c in enumerate(clients)]
    await open_threads(ctx.pool, practice, pairs)
    return practice, pairs


# --- readiness of the whole pipeline -------------------------------------------------------


async def pipeline_warmup(ctx: Ctx, timeout: float = 90.0) -> float:
    """After a restart: one message must reach its recipient's device (consumer groups settled)."""
    began = time.monotonic()
    practice, pairs = await setup_pairs(ctx, "warm", 1)
    provider, client = pairs[0]
    prefix = f"warm-{ctx.run}-"
    await register_devices(ctx.pool, practice, [client], prefix)
    thread = practice.threads[(provider, client)]
    n = 0
    while time.monotonic() - began < timeout:
        await expect(
            (201,),
            ctx.pool.call(
                "POST",
                THREADS,
                f"/v1/threads/{thread}/messages",
                token=token(provider, "provider", practice.practice_id),
                json_body={"body": "warm-up", "client_message_id": f"{ctx.run}-warm-{n}"},
            ),
            "warm-up send",
        )
        n += 1
        for _ in range(50):
            if ctx.receiver.count_with_prefix(prefix):
                took = time.monotonic() - began
                print(f"  a message reached its device {took:.1f} s after the start", flush=True)
                return took
            await asyncio.sleep(0.1)
    print(f"  warning: no push arrived within {timeout:.0f} s of the restart", flush=True)
    return timeout


# --- a, b: throughput and sequential latency --------------------------------------------


async def throughput_and_sequential(
    ctx: Ctx, *, prefix: str = "", practice_pairs: Any = None
) -> None:
    """a: 16 and 64 concurrent senders on distinct threads; b: one sender; plus fresh reads."""
    d = ctx.knobs.duration
    history = prefix == "history_"
    if practice_pairs is None:
        practice, pairs = await setup_pairs(ctx, "ab", 65)
    else:
        practice, pairs = practice_pairs
    print("  warm-up", flush=True)
    await run_load(
        ctx, send_lanes(practice, pairs[:16], f"{ctx.run}-{prefix}warm"), duration=min(3.0, d)
    )
    for n in (16,) if history else (16, 64):
        if "a" in ctx.knobs.skip and not history:
            break
        stack = procs.stack_processes()
        cpu0, t0 = procs.sample_cpu(stack), time.monotonic()
        r = await run_load(
            ctx, send_lanes(practice, pairs[:n], f"{ctx.run}-{prefix}a{n}"), duration=d
        )
        cpu1, wall = procs.sample_cpu(stack), time.monotonic() - t0
        by_process = {k: round(100 * (cpu1[k] - cpu0[k]) / wall, 1) for k in stack}
        print(f"  {prefix}a {n} senders: {summarize(r)}", flush=True)
        print(
            f"    server CPU % during the run (includes spawn and warm-up): {by_process}",
            flush=True,
        )
        ctx.results[f"{prefix}dm_cpu_pct_by_process_{n}"] = by_process
        ctx.results[f"{prefix}dm_sends_per_s_{n}"] = round(r.per_s, 1)
        for pct in (50, 95, 99):
            if not history or pct == 50 or pct == 99:
                ctx.results[f"{prefix}dm_p{pct}_ms_{n}"] = ms(percentile(r.latencies_ms, pct))
        ctx.results[f"{prefix}dm_client_cpu_pct_{n}"] = round(r.client_cpu_pct, 1)
        if other := {s: c for s, c in r.statuses.items() if s != 201}:
            ctx.results[f"{prefix}dm_other_statuses_{n}"] = {str(k): v for k, v in other.items()}
    if "b" in ctx.knobs.skip and not history:
        return
    provider, client = pairs[64 if not history else 16]
    thread = practice.threads[(provider, client)]
    r = await run_load(
        ctx, send_lanes(practice, [(provider, client)], f"{ctx.run}-{prefix}seq"), duration=d
    )
    print(f"  {prefix}b sequential: {summarize(r)}", flush=True)
    ctx.results[f"{prefix}seq_p50_ms"] = ms(percentile(r.latencies_ms, 50))
    ctx.results[f"{prefix}seq_p99_ms"] = ms(percentile(r.latencies_ms, 99))
    ctx.results[f"{prefix}seq_sends_per_s"] = round(r.per_s, 1)
    if not history:
        # "Latest 20" on a small thread (the one b just wrote) and a one-thread list.
        tok = token(provider, "provider", practice.practice_id)
        p50 = await read_p50(ctx, [f"/v1/threads/{thread}/messages?limit=20"], tok)
        ctx.results["fresh_latest20_p50_ms"] = p50
        ctx.results["fresh_latest20_thread_messages"] = r.ok
        ctx.results["fresh_thread_list_p50_ms"] = await read_p50(ctx, ["/v1/threads?limit=20"], tok)


async def read_p50(
    ctx: Ctx, paths: list[str], tok: str, seconds: float | None = None
) -> float | None:
    """p50 of GETs cycling over `paths`, one at a time, for a few seconds."""
    seconds = seconds or min(ctx.knobs.duration, 10.0)
    headers = f"Authorization: Bearer {tok}\r\n"
    per_path = max(1, int(2000 / len(paths)))
    steps = tuple(Step("GET", p, headers, None, (200,), per_path) for p in paths)
    r = await run_load(ctx, [Lane(THREADS, steps)], duration=seconds)
    bad = {s: c for s, c in r.statuses.items() if s != 200}
    if bad:
        print(f"    reads answered {bad}")
    return ms(percentile(r.latencies_ms, 50))


# --- c: end to end at a fixed rate ----------------------------------------------------------


async def end_to_end(ctx: Ctx) -> None:
    """c: send at 50/s; time to the push at the gateway and to the SSE `message` event."""
    practice, pairs = await setup_pairs(ctx, "e2e", E2E_CLIENTS)
    pushkey_prefix = f"e2e-{ctx.run}-"
    clients = [c for _, c in pairs]
    await register_devices(ctx.pool, practice, clients, pushkey_prefix)
    pending_push: dict[str, deque[float]] = defaultdict(deque)
    push_lat: list[float] = []
    sse_at: dict[str, float] = {}
    sent_at: dict[str, float] = {}
    failures = 0

    def on_push(key: str, _event_id: str, now: float) -> None:
        if key.startswith(pushkey_prefix):
            queue = pending_push[key[len(pushkey_prefix) :]]
            if queue:
                push_lat.append((now - queue.popleft()) * 1000.0)

    def on_event(kind: str, data: str, now: float) -> None:
        if kind == "message":
            with contextlib.suppress(ValueError, KeyError):
                sse_at.setdefault(str(json.loads(data)["message_id"]), now)

    streams = [
        SseStream(
            NOTIFY,
            "/v1/me/stream",
            token(c, "client", practice.practice_id),
            on_event,
            time.perf_counter,
        )
        for c in clients
    ]
    ctx.receiver.listeners.append(on_push)
    try:
        for s in streams:
            s.start()
        await asyncio.wait_for(asyncio.gather(*(s.connected.wait() for s in streams)), 30)
        if any(s.status != 200 for s in streams):
            raise RuntimeError(
                f"stream answered {[s.status for s in streams if s.status != 200][:3]}"
            )
        await asyncio.sleep(0.5)

        async def send(i: int, tag: str) -> None:
            nonlocal failures
            provider, client = pairs[i % len(pairs)]
            thread = practice.threads[(provider, client)]
            began = time.perf_counter()
            pending_push[client].append(began)
            try:
                status, body = await asyncio.wait_for(
                    ctx.pool.call(
                        "POST",
                        THREADS,
                        f"/v1/threads/{thread}/messages",
                        token=token(provider, "provider", practice.practice_id),
                        json_body={"body": f"e2e {i}", "client_message_id": f"{tag}-{i}"},
                    ),
                    60,
                )
            except (TimeoutError, Exception):
                status, body = 0, None
            if status == 201:
                sent_at[str(body["message_id"])] = began
            else:
                failures += 1

        async def settle(expected: int, timeout: float) -> None:
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline:
                got_sse = sum(1 for m in sent_at if m in sse_at)
                if len(push_lat) >= expected and got_sse >= len(sent_at):
                    return
                await asyncio.sleep(0.1)

        # Warm-up: one message per client, until every push and event arrived.
        await asyncio.gather(*(send(i, f"{ctx.run}-e2ewarm") for i in range(len(pairs))))
        await settle(len(pairs), 60)
        push_lat.clear()
        sent_at.clear()
        for q in pending_push.values():
            q.clear()
        failures = 0

        total = int(E2E_RATE * E2E_SECONDS)
        began = time.perf_counter()
        tasks = []
        for i in range(total):
            delay = began + i / E2E_RATE - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(send(i, f"{ctx.run}-e2e")))
        offered = total / (time.perf_counter() - began)
        await asyncio.gather(*tasks)
        await settle(total, 60)
    finally:
        ctx.receiver.listeners.remove(on_push)
        for s in streams:
            await s.stop()
    sse_lat = [(sse_at[m] - t) * 1000.0 for m, t in sent_at.items() if m in sse_at]
    print(
        f"  c: offered {offered:.1f}/s, {len(sent_at)} answered 201, {failures} failed; "
        f"push p50 {ms(percentile(push_lat, 50))} ms p99 {ms(percentile(push_lat, 99))} ms "
        f"({len(push_lat)} arrived); SSE p50 {ms(percentile(sse_lat, 50))} ms "
        f"p99 {ms(percentile(sse_lat, 99))} ms ({len(sse_lat)} arrived)",
        flush=True,
    )
    ctx.results.update(
        {
            "e2e_push_p50_ms_at_50": ms(percentile(push_lat, 50)),
            "e2e_push_p99_ms_at_50": ms(percentile(push_lat, 99)),
            "e2e_sse_p50_ms_at_50": ms(percentile(sse_lat, 50)),
            "e2e_sse_p99_ms_at_50": ms(percentile(sse_lat, 99)),
            "e2e_offered_per_s": round(offered, 1),
            "e2e_sends": total,
            "e2e_send_failures": failures,
            "e2e_push_missing": len(sent_at) - len(push_lat),
            "e2e_sse_missing": len(sent_at) - len(sse_lat),
        }
    )


# --- d: fan-out -----------------------------------------------------------------------------


def fanout_size(scale: float) -> int:
    """Clients (with devices) of the fan-out and history practice."""
    return max(40, round(FANOUT_CLIENTS * scale))


async def fanout_practice(ctx: Ctx) -> Practice:
    """The practice of d and f: N clients published on the topic, each with one device."""
    if ctx.fanout_practice is not None:
        return ctx.fanout_practice
    n = fanout_size(ctx.knobs.scale)
    prefix = f"{ctx.run}-fan"
    practice = await new_practice(ctx.pool, prefix)
    practice.clients = [f"{prefix}-c{i}" for i in range(n)]
    began = time.monotonic()
    await publish_clients(practice.practice_id, practice.clients)
    print(f"  published {n} clients in {time.monotonic() - began:.1f} s", flush=True)
    ctx.fanout_prefix = f"fan-{ctx.run}-"
    began = time.monotonic()

    async def device(client: str) -> None:
        await register_devices(ctx.pool, practice, [client], ctx.fanout_prefix, concurrency=1)

    await with_progress("devices", 32, practice.clients, device)
    took = time.monotonic() - began
    print(f"  registered {n} devices in {took:.1f} s ({n / took:.0f}/s)", flush=True)
    ctx.results["setup_device_registrations_per_s"] = round(n / took, 1)
    waited = await wait_for_directory(
        ctx.pool, practice, n, timeout=max(120.0, 900.0 * ctx.knobs.scale)
    )
    print(f"  announcements' directory complete after {waited:.1f} s more", flush=True)
    # Every service projects the new clients (threads, blocking, notify too): the fan-out
    # is timed once they have, as a practice's clients exist before its announcements.
    ctx.results["fanout_directory_settle"] = await backlog.settle(
        "fan-out directory", timeout=max(120.0, 900.0 * ctx.knobs.scale)
    )
    ctx.fanout_practice = practice
    return practice


async def announce(ctx: Ctx, practice: Practice, n: int) -> str:
    """One announcement to all clients; its id."""
    ctx.announcements_sent += 1
    body = await expect(
        (202,),
        ctx.pool.call(
            "POST",
            ANNOUNCEMENTS,
            "/v1/announcements",
            token=practice.admin_token,
            json_body={
                "body": "The office is closed on Friday.",
                "subject": "Schedule",
                "recipients": {"all_clients": True},
                "idempotency_key": f"{ctx.run}-ann-{ctx.announcements_sent}",
            },
        ),
        "announce",
    )
    if int(body["recipient_count"]) != n:
        print(f"  warning: announcement reaches {body['recipient_count']} clients, expected {n}")
    return str(body["announcement_id"])


async def delivered(ctx: Ctx, practice: Practice, announcement_id: str) -> int:
    """stats.delivered of an announcement."""
    status, body = await ctx.pool.call(
        "GET", ANNOUNCEMENTS, f"/v1/announcements/{announcement_id}", token=practice.admin_token
    )
    return int(body["stats"]["delivered"]) if status == 200 else -1


async def fanout(ctx: Ctx) -> None:
    """d: one announcement to every client; seconds until stats.delivered == N and every push."""
    practice = await fanout_practice(ctx)
    n = len(practice.clients)
    before = ctx.receiver.pushes_with_prefix(ctx.fanout_prefix)
    # Timed from the send: resolving N recipients is part of reaching them.
    began = time.perf_counter()
    announcement_id = await announce(ctx, practice, n)
    ctx.results["fanout_send_ms"] = round((time.perf_counter() - began) * 1000, 1)
    print(f"  POST /v1/announcements answered in {ctx.results['fanout_send_ms']} ms", flush=True)
    ctx.announcement_ids.append(announcement_id)
    stats_at = pushes_at = None
    timeout = max(120.0, 900.0 * ctx.knobs.scale)
    last_print = time.monotonic()
    got = 0
    while time.perf_counter() - began < timeout:
        if stats_at is None:
            got = await delivered(ctx, practice, announcement_id)
            if got >= n:
                stats_at = time.perf_counter() - began
        if pushes_at is None and ctx.receiver.pushes_with_prefix(ctx.fanout_prefix) - before >= n:
            pushes_at = time.perf_counter() - began
        if stats_at is not None and pushes_at is not None:
            break
        if time.monotonic() - last_print > 10:
            last_print = time.monotonic()
            pushed = ctx.receiver.pushes_with_prefix(ctx.fanout_prefix) - before
            print(f"  [fan-out] delivered {got}/{n}, pushes {pushed}/{n}", flush=True)
        await asyncio.sleep(0.1)
    if stats_at is None or pushes_at is None:
        pushed = ctx.receiver.pushes_with_prefix(ctx.fanout_prefix) - before
        print(
            f"  d: not complete after {timeout:.0f} s: stats.delivered {got}/{n}, pushes "
            + (f"all {n} after {pushes_at:.2f} s" if pushes_at is not None else f"{pushed}/{n}")
        )
        ctx.results["fanout_10k_s"] = None
        ctx.results["fanout_delivered_at_timeout"] = got
        if pushes_at is not None:
            ctx.results["fanout_pushes_s"] = round(pushes_at, 2)
            ctx.results["fanout_pushes_per_s"] = round(n / pushes_at, 1)
    else:
        total = max(stats_at, pushes_at)
        print(
            f"  d: {n} recipients: stats complete {stats_at:.2f} s, every push {pushes_at:.2f} s "
            f"({n / pushes_at:.0f} pushes/s)",
            flush=True,
        )
        ctx.results["fanout_10k_s"] = round(total, 2)
        ctx.results["fanout_stats_s"] = round(stats_at, 2)
        ctx.results["fanout_pushes_s"] = round(pushes_at, 2)
        ctx.results["fanout_pushes_per_s"] = round(n / pushes_at, 1)
    ctx.results["fanout_recipients"] = n


# --- e: block lag ---------------------------------------------------------------------------


async def block_lag(ctx: Ctx, trials: int = BLOCK_TRIALS) -> None:
    """e: PUT /v1/blocks/{client} answered 204 -> the client's next send answers 403 blocked."""
    practice, pairs = await setup_pairs(ctx, "blk", 1)
    provider, client = pairs[0]
    thread = practice.threads[(provider, client)]
    ptok = token(provider, "provider", practice.practice_id)
    ctok = token(client, "client", practice.practice_id)
    probes = 0

    async def probe() -> tuple[int, Any]:
        nonlocal probes
        probes += 1
        return await ctx.pool.call(
            "POST",
            THREADS,
            f"/v1/threads/{thread}/messages",
            token=ctok,
            json_body={"body": "probe", "client_message_id": f"{ctx.run}-probe-{probes}"},
        )

    async def until(
        want: Callable[[int, Any], bool], timeout: float = 15.0, began: float | None = None
    ) -> float | None:
        began = time.perf_counter() if began is None else began
        while time.perf_counter() - began < timeout:
            status, body = await probe()
            if want(status, body):
                return (time.perf_counter() - began) * 1000.0
            await asyncio.sleep(0.002)
        return None

    def blocked(status: int, body: Any) -> bool:
        return status == 403 and isinstance(body, dict) and body.get("code") == "blocked"

    async def call_block(method: str) -> None:
        deadline = time.monotonic() + 60
        while True:  # the blocking service must know the client first (its directory)
            status, body = await ctx.pool.call(method, BLOCKING, f"/v1/blocks/{client}", token=ptok)
            if status == 204:
                return
            if status != 404 or time.monotonic() > deadline:
                raise RuntimeError(f"{method} block: HTTP {status} {body}")
            await asyncio.sleep(0.2)

    lags: list[float] = []
    unblock: list[float] = []
    timeouts = 0
    for _ in range(trials):
        if await until(lambda s, _b: s == 201) is None:
            raise RuntimeError("the client cannot send before a trial")
        # From the block's request, not its answer: the answer waits for the provider's
        # list (a consumer of the same topic as threads'), and the lag is the whole way.
        sent = time.perf_counter()
        await call_block("PUT")
        lag = await until(blocked, began=sent)
        if lag is None:
            timeouts += 1
        else:
            lags.append(lag)
        await call_block("DELETE")
        back = await until(lambda s, _b: s == 201)
        if back is not None:
            unblock.append(back)
    print(
        f"  e: {len(lags)} trials, block lag p50 {ms(percentile(lags, 50))} ms, "
        f"p99 {ms(percentile(lags, 99))} ms; "
        f"unblock p50 {ms(percentile(unblock, 50))} ms; {timeouts} timed out",
        flush=True,
    )
    ctx.results.update(
        {
            "block_lag_p50_ms": ms(percentile(lags, 50)),
            "block_lag_p99_ms": ms(percentile(lags, 99)),
            "unblock_lag_p50_ms": ms(percentile(unblock, 50)),
            "block_trials": trials,
            "block_timeouts": timeouts,
        }
    )


# --- f: history -------------------------------------------------------------------------------


async def history(ctx: Ctx) -> None:
    """f: seed messages, threads, clients, deliveries; repeat a (16) and b; time reads."""
    scale = ctx.knobs.scale
    practice = await fanout_practice(ctx)
    n = len(practice.clients)
    threads_n = min(n, max(20, round(HISTORY_THREADS * scale)))
    per_thread = max(1, round(HISTORY_MESSAGES * scale / threads_n))
    owner = f"{ctx.run}-fan-owner"
    pairs = [(owner, c) for c in practice.clients[:threads_n]]
    began = time.monotonic()
    await open_threads(ctx.pool, practice, pairs)
    print(f"  f: {threads_n} threads opened in {time.monotonic() - began:.1f} s", flush=True)

    # Seed the messages: SEED_CONCURRENCY lanes, each writing whole threads one after another.
    owner_headers = auth_json_headers(token(owner, "provider", practice.practice_id))
    lanes_n = min(SEED_CONCURRENCY, threads_n)
    lanes = []
    for lane in range(lanes_n):
        steps = tuple(
            Step(
                "POST",
                f"/v1/threads/{practice.threads[pairs[t]]}/messages",
                owner_headers,
                send_body(f"{ctx.run}-seed-{t}"),
                (201,),
                per_thread,
            )
            for t in range(lane, threads_n, lanes_n)
        )
        lanes.append(Lane(THREADS, steps))
    expected = threads_n * per_thread
    cap = max(600.0, 4 * 3600.0 * scale)
    print(
        f"  f: seeding {expected} messages over {threads_n} threads ({lanes_n} at once)", flush=True
    )
    seed = await run_load(
        ctx, lanes, duration=None, max_seconds=cap, progress_label="seed", expected=expected
    )
    print(f"  f: seeded {seed.ok} messages in {seed.wall_s:.0f} s ({seed.per_s:.1f}/s)", flush=True)
    ctx.results["history_seed_messages"] = seed.ok
    ctx.results["history_seed_sends_per_s"] = round(seed.per_s, 1)
    ctx.results["history_threads"] = threads_n
    ctx.results["history_clients"] = n

    # Deliveries: announcements to every client until ANNOUNCEMENTS_FOR_HISTORY were sent.
    more = max(0, ANNOUNCEMENTS_FOR_HISTORY - ctx.announcements_sent)
    ids = [await announce(ctx, practice, n) for _ in range(more)]
    ids, ctx.announcement_ids = ctx.announcement_ids + ids, []
    began = time.monotonic()
    timeout = max(180.0, 2 * 1800.0 * scale)
    last_print = 0.0
    total = 0
    while ids and time.monotonic() - began < timeout:
        counts = [await delivered(ctx, practice, a) for a in ids]
        total = sum(max(0, c) for c in counts)
        if all(c >= n for c in counts):
            break
        if time.monotonic() - last_print > 10:
            last_print = time.monotonic()
            print(f"  [deliveries] {total}/{ctx.announcements_sent * n}", flush=True)
        await asyncio.sleep(1)
    missing = ctx.announcements_sent * n - total
    print(
        f"  f: {ctx.announcements_sent} announcements x {n} clients"
        + (f", {missing} not yet delivered after {timeout:.0f} s" if missing > 0 else " delivered"),
        flush=True,
    )
    ctx.results["history_deliveries"] = ctx.announcements_sent * n
    ctx.results["history_deliveries_pending"] = max(0, missing)

    # Let the consumers (notification jobs, their pushes, stats) catch up before measuring.
    target = ctx.announcements_sent * n + seed.ok
    ctx.results["history_settle"] = await backlog.settle(
        "history settle", timeout=max(ctx.knobs.settle_seconds, 1800.0 * scale)
    )
    ctx.results["history_pushes_pending"] = max(
        0, target - ctx.receiver.pushes_with_prefix(ctx.fanout_prefix)
    )

    # a (16) and b again, same shape as on the fresh database: new providers and new
    # clients without devices, one thread each, here in the practice that holds the history.
    # (Its seeded clients have a device each: their sends also pushed, a heavier workload
    # that made the history figures look slower than the fresh ones for no fault of history.)
    fresh_clients = [f"{ctx.run}-fan-hc{i}" for i in range(17)]
    await publish_clients(practice.practice_id, fresh_clients)
    hp = [(f"{ctx.run}-fan-hp{i}", client) for i, client in enumerate(fresh_clients)]
    await open_threads(ctx.pool, practice, hp)
    await throughput_and_sequential(ctx, prefix="history_", practice_pairs=(practice, hp))

    otok = token(owner, "provider", practice.practice_id)
    paths = [f"/v1/threads/{practice.threads[p]}/messages?limit=20" for p in pairs]
    ctx.results["history_latest20_p50_ms"] = await read_p50(ctx, paths, otok)
    ctx.results["history_thread_list_p50_ms"] = await read_p50(ctx, ["/v1/threads?limit=20"], otok)
    print(
        f"  f: latest 20 p50 {ctx.results['history_latest20_p50_ms']} ms, "
        f"thread list ({threads_n} threads) p50 {ctx.results['history_thread_list_p50_ms']} ms",
        flush=True,
    )


# --- g, h: idle CPU and memory ------------------------------------------------------------


async def idle(ctx: Ctx) -> None:
    """g: CPU of every process of the stack over a window without traffic."""
    stack = procs.stack_processes()
    await asyncio.sleep(5)
    cpu = await asyncio.to_thread(procs.measure_cpu, stack, ctx.knobs.idle_seconds)
    total = round(sum(cpu.values()), 1)
    print(f"  g: idle {total} % of one core over {ctx.knobs.idle_seconds:.0f} s: {cpu}", flush=True)
    ctx.results["idle_cpu_pct"] = total
    ctx.results["idle_cpu_pct_by_process"] = cpu
    ctx.results["idle_seconds"] = ctx.knobs.idle_seconds


def memory(ctx: Ctx) -> None:
    """h: peak RSS of every process of the stack."""
    ctx.results["peak_rss_mb"] = procs.peak_rss_mb(procs.stack_processes())
    print(f"  h: peak RSS MB {ctx.results['peak_rss_mb']}", flush=True)
