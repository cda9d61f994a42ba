"""`make bench`: benchmark the real deployment over HTTP, beside Synapse and an HTTP ceiling.

Environment knobs:
  BENCH_DURATION      seconds per throughput run (default 30)
  BENCH_SCALE         fraction of the fan-out and history sizes (default 1.0)
  BENCH_SKIP          comma list of scenarios to skip: a,b,c,d,e,f,g,h,synapse,ceiling
  BENCH_IDLE_SECONDS  the idle window of g (default 30)
  BENCH_E2E_RATE      sends per second of c (default 50, the target's rate)
  BENCH_CLIENT_PROCS  load-client worker processes (default 1)
  BENCH_SETTLE_SECONDS  longest wait, before each scenario, for the services' Kafka
                      consumers to catch up (default 300)
  BENCH_RESTORE       0 keeps the services running with the benchmark's settings afterwards

It restarts the services (deploy/local/services.sh) on databases of their own (empty at the
start, dropped at the end), with a local push gateway and SMTP sink and with rate limits
off, runs the scenarios, writes bench/results/latest.json and latest.png, prints a table,
and restarts the services with the ordinary settings.
"""

from __future__ import annotations

import asyncio
import os
import sys
import time
import traceback
from typing import Any


def knobs() -> Any:
    """The run's settings from the environment."""
    from bench.scenarios import Knobs

    skip = {s.strip().lower() for s in os.environ.get("BENCH_SKIP", "").split(",") if s.strip()}
    return Knobs(
        duration=float(os.environ.get("BENCH_DURATION", "30")),
        scale=float(os.environ.get("BENCH_SCALE", "1.0")),
        skip=skip,
        client_procs=int(os.environ.get("BENCH_CLIENT_PROCS", "1")),
        idle_seconds=float(os.environ.get("BENCH_IDLE_SECONDS", "30")),
        settle_seconds=float(os.environ.get("BENCH_SETTLE_SECONDS", "300")),
    )


async def run() -> dict[str, Any]:
    """Every scenario in turn; a failing scenario is reported and the run goes on."""
    from bench import backlog, peers, procs, report, scenarios, stack
    from bench.rawhttp import Pool
    from bench.receiver import PushReceiver, SmtpSink

    k = knobs()
    results: dict[str, Any] = {
        "machine": procs.machine(),
        "bench_duration_s": k.duration,
        "bench_scale": k.scale,
        "bench_skip": sorted(k.skip),
        "load_average_at_start": procs.loadavg(),
    }
    receiver, smtp = PushReceiver(), SmtpSink()
    await receiver.start()
    await smtp.start()
    print(f"push gateway receiver {receiver.url}; SMTP sink 127.0.0.1:{smtp.port}", flush=True)
    print("restarting the services with the benchmark's settings (rate limits off)", flush=True)
    began = time.monotonic()
    await asyncio.to_thread(stack.restart_services, stack.bench_env(receiver.url, smtp.port))
    print(f"services ready in {time.monotonic() - began:.0f} s", flush=True)
    ctx = scenarios.Ctx(
        knobs=k, run=stack.run_id(), pool=Pool(), receiver=receiver, results=results
    )
    plan: list[tuple[str, set[str], Any]] = [
        ("ceiling", {"ceiling"}, peers.measure_ceiling),
        ("synapse", {"synapse"}, peers.measure_synapse),
        ("a, b: throughput and sequential", {"a", "b"}, scenarios.throughput_and_sequential),
        ("c: end to end at 50 sends/s", {"c"}, scenarios.end_to_end),
        ("d: announcement fan-out", {"d"}, scenarios.fanout),
        ("e: block lag", {"e"}, scenarios.block_lag),
        ("f: history", {"f"}, scenarios.history),
        ("g: idle CPU", {"g"}, scenarios.idle),
    ]
    errors: dict[str, str] = {}
    started = time.monotonic()
    try:
        for name, letters, step in plan:
            if letters <= k.skip:
                continue
            print(f"== {name}", flush=True)
            results.setdefault("settle", {})[name] = await backlog.settle(
                "settle", timeout=k.settle_seconds
            )
            t0 = time.monotonic()
            try:
                await step(ctx)
            except asyncio.CancelledError:  # Ctrl-C: keep what was measured
                errors[name] = "interrupted"
                results.setdefault("scenario_seconds", {})[name] = round(time.monotonic() - t0, 1)
                break
            except Exception as error:  # one broken scenario must not lose the others
                traceback.print_exc()
                errors[name] = f"{type(error).__name__}: {error}"[:500]
            results.setdefault("scenario_seconds", {})[name] = round(time.monotonic() - t0, 1)
        if "h" not in k.skip and "interrupted" not in errors.values():
            print("== h: peak RSS", flush=True)
            scenarios.memory(ctx)
    finally:
        ctx.pool.close()
        await receiver.stop()
        await smtp.stop()
    r = results
    if r.get("dm_sends_per_s_16") and r.get("synapse_sends_per_s_16"):
        r["dm_vs_synapse"] = round(r["dm_sends_per_s_16"] / r["synapse_sends_per_s_16"], 2)
    if r.get("dm_sends_per_s_16") and r.get("ceiling_req_per_s"):
        r["dm_vs_ceiling"] = round(r["dm_sends_per_s_16"] / r["ceiling_req_per_s"], 3)
    r["client_cpu_pct"] = round(max(ctx.client_cpu), 1) if ctx.client_cpu else None
    r["push_receiver_requests"] = receiver.requests
    r["total_seconds"] = round(time.monotonic() - started, 1)
    r["load_average_at_end"] = procs.loadavg()
    busy = max(r["load_average_at_start"], r["load_average_at_end"])
    cores = r["machine"].get("cores") or 1
    if busy > 1.5 * cores:
        r["warning"] = (
            f"the machine was busy with other work (load average {busy:.1f} on {cores} cores): "
            "figures are lower bounds"
        )
    if errors:
        r["errors"] = errors
    path = report.write_json(r)
    png = report.chart(r)
    print()
    print(report.table(r))
    print()
    print(f"wrote {path}" + (f" and {png}" if png else ""))
    if errors:
        print(f"scenarios that failed: {errors}")
    if r.get("warning"):
        print(f"WARNING: {r['warning']}")
    return r


def restore() -> None:
    """Restart the services with the ordinary settings (the receivers are gone)."""
    from bench import stack

    env = {
        k: v
        for k, v in os.environ.items()
        if k not in stack.RATE_LIMITS_OFF and k not in stack.BENCH_DATABASES
    }
    print("restarting the services with the ordinary settings", flush=True)
    try:
        stack.services("down")
        stack.drop_bench_databases()
        stack.services("up", env, attempts=2)
    except Exception as error:
        print(f"could not restart the services: {error}")


def main() -> None:
    """Run the benchmark; a missing infrastructure variable is an error."""
    for var in ("KAFKA_BOOTSTRAP_SERVERS", "MONGODB_URL", "MESSAGING_JWT_SECRET"):
        if not os.environ.get(var):
            raise SystemExit(f"{var} is not set: run `make bench`")
    try:
        import uvloop

        uvloop.install()
    except ImportError:
        pass
    try:
        results = asyncio.run(run())
    finally:
        if os.environ.get("BENCH_RESTORE", "1") != "0":
            restore()
    sys.exit(1 if results.get("errors") else 0)


if __name__ == "__main__":
    main()
