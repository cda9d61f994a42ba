"""The peers measured in the same run: Matrix Synapse and the do-nothing FastAPI ceiling."""

from __future__ import annotations

import asyncio
import signal
import subprocess
import sys
import time
from pathlib import Path

from bench import ceiling, procs
from bench import synapse as syn
from bench.load import Lane, Step, percentile
from bench.rawhttp import HttpError
from bench.scenarios import E2E_RATE, E2E_SECONDS, Ctx, ms, run_load, summarize
from bench.stack import auth_json_headers

ROOT = Path(__file__).resolve().parent.parent


async def measure_ceiling(ctx: Ctx) -> None:
    """ceiling_req_per_s: 16 concurrent connections against the do-nothing endpoint."""
    port = syn.free_port(18099)
    proc = ceiling.start(sys.executable, port, ROOT / ".local" / "bench" / "ceiling.log")
    try:
        await asyncio.to_thread(ceiling.wait_ready, port)
        headers = "Content-Type: application/json\r\n"
        body = '{"body":"benchmark message @N@","client_message_id":"ceiling-@N@"}'
        lanes = [
            Lane(port, (Step("POST", f"/v1/threads/t{i}/messages", headers, body, (201,)),))
            for i in range(16)
        ]
        await run_load(ctx, lanes, duration=min(3.0, ctx.knobs.duration))  # warm-up
        r = await run_load(ctx, lanes, duration=ctx.knobs.duration)
        print(
            f"  ceiling (uvicorn {' '.join(ceiling.uvicorn_flags())}): {summarize(r)}", flush=True
        )
        ctx.results["ceiling_req_per_s"] = round(r.per_s, 1)
        ctx.results["ceiling_p50_ms"] = ms(percentile(r.latencies_ms, 50))
        ctx.results["ceiling_client_cpu_pct"] = round(r.client_cpu_pct, 1)
        ctx.results["ceiling_uvicorn_flags"] = " ".join(ceiling.uvicorn_flags())
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)


async def measure_synapse(ctx: Ctx) -> None:
    """synapse_*: scenarios a (16, 64) and b, and c's push leg through an HTTP pusher."""
    version = await asyncio.to_thread(syn.ensure_installed)
    port = syn.free_port(8008)
    await asyncio.to_thread(syn.configure, port)
    server = syn.Synapse(port)
    await asyncio.to_thread(server.start)
    ctx.results["synapse_version"] = version
    try:
        began = time.monotonic()
        senders = [f"s{i}" for i in range(64)]
        recipients = [f"r{i}" for i in range(65)]
        seq_sender = "s64"
        await server.register([*senders, seq_sender, *recipients])
        await server.make_rooms(
            [*zip(senders, recipients[:64], strict=True), (seq_sender, recipients[64])]
        )
        print(
            f"  synapse {version}: {len(server.tokens)} users, {len(server.rooms)} rooms "
            f"in {time.monotonic() - began:.0f} s",
            flush=True,
        )

        def lanes(rooms: list[tuple[str, str, str]], tag: str) -> list[Lane]:
            out = []
            for i, (room, sender, _recipient) in enumerate(rooms):
                headers = auth_json_headers(server.tokens[sender])
                out.append(
                    Lane(
                        port,
                        (
                            Step(
                                "PUT",
                                syn.send_path(room, f"{tag}{i}"),
                                headers,
                                syn.SEND_BODY,
                                (200,),
                            ),
                        ),
                    )
                )
            return out

        d = ctx.knobs.duration
        await run_load(ctx, lanes(server.rooms[:16], "warm"), duration=min(3.0, d))
        for n in (16, 64):
            if "a" in ctx.knobs.skip:
                break
            t0 = time.monotonic()
            c0 = procs.tree_cpu_seconds(server.proc.pid) if server.proc else 0.0
            r = await run_load(ctx, lanes(server.rooms[:n], f"a{n}-"), duration=d)
            c1 = procs.tree_cpu_seconds(server.proc.pid) if server.proc else 0.0
            server_cpu = 100 * (c1 - c0) / (time.monotonic() - t0)
            print(
                f"  synapse a {n} senders: {summarize(r)}; server CPU {server_cpu:.0f} %",
                flush=True,
            )
            ctx.results[f"synapse_server_cpu_pct_{n}"] = round(server_cpu, 1)
            ctx.results[f"synapse_sends_per_s_{n}"] = round(r.per_s, 1)
            for pct in (50, 95, 99):
                ctx.results[f"synapse_p{pct}_ms_{n}"] = ms(percentile(r.latencies_ms, pct))
        if "b" not in ctx.knobs.skip:
            r = await run_load(ctx, lanes(server.rooms[64:65], "seq-"), duration=d)
            print(f"  synapse b sequential: {summarize(r)}", flush=True)
            ctx.results["synapse_seq_p50_ms"] = ms(percentile(r.latencies_ms, 50))
            ctx.results["synapse_seq_p99_ms"] = ms(percentile(r.latencies_ms, 99))
            ctx.results["synapse_seq_sends_per_s"] = round(r.per_s, 1)
        if "c" not in ctx.knobs.skip:
            await synapse_e2e(ctx, server)
        ctx.results["synapse_peak_rss_mb"] = (
            procs.peak_rss_mb({"synapse": server.proc.pid})["synapse"] if server.proc else None
        )
    finally:
        await asyncio.to_thread(server.stop)


async def synapse_e2e(ctx: Ctx, server: syn.Synapse) -> None:
    """Synapse's push leg at 50 sends/s: each recipient has an HTTP pusher to our receiver."""
    rooms = server.rooms[:50]
    for i, (_room, _sender, recipient) in enumerate(rooms):
        await server.set_pusher(recipient, f"syn-{ctx.run}-{i}", ctx.receiver.url)
    sent: dict[str, float] = {}
    failures = 0

    async def send(i: int, tag: str) -> None:
        nonlocal failures
        room, sender, _ = rooms[i % len(rooms)]
        began = time.perf_counter()
        try:
            status, body = await asyncio.wait_for(
                ctx.pool.call(
                    "PUT",
                    server.port,
                    syn.send_path(room, tag).replace("@N@", str(i)),
                    token=server.tokens[sender],
                    json_body={"msgtype": "m.text", "body": f"e2e {i}"},
                ),
                60,
            )
        except (TimeoutError, HttpError, OSError):
            status, body = 0, None
        if status == 200:
            sent[str(body["event_id"])] = began
        else:
            failures += 1

    async def settle(timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and any(e not in ctx.receiver.event_ids for e in sent):
            await asyncio.sleep(0.1)

    await asyncio.gather(*(send(i, "e2ewarm") for i in range(len(rooms))))
    await settle(30)
    sent.clear()
    failures = 0
    total = int(E2E_RATE * E2E_SECONDS)
    began = time.perf_counter()
    tasks = []
    for i in range(total):
        delay = began + i / E2E_RATE - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(send(i, "e2e")))
    await asyncio.gather(*tasks)
    await settle(60)
    lat = [
        (ctx.receiver.event_ids[e] - t) * 1000.0
        for e, t in sent.items()
        if e in ctx.receiver.event_ids
    ]
    print(
        f"  synapse c: {len(sent)} sent, {failures} failed, push p50 {ms(percentile(lat, 50))} ms "
        f"p99 {ms(percentile(lat, 99))} ms ({len(lat)} arrived)",
        flush=True,
    )
    ctx.results["synapse_e2e_push_p50_ms_at_50"] = ms(percentile(lat, 50))
    ctx.results["synapse_e2e_push_p99_ms_at_50"] = ms(percentile(lat, 99))
    ctx.results["synapse_e2e_push_missing"] = len(sent) - len(lat)
