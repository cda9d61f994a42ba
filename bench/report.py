"""The run's outputs: bench/results/latest.json, a PNG chart, a table with the targets."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).resolve().parent / "results"

# (label, key, unit, target text, check(results) -> True/False/None)
Check = Callable[[dict[str, Any]], bool | None]


def _le(key: str, limit: float) -> Check:
    return lambda r: None if r.get(key) is None else r[key] <= limit


def _ge(key: str, limit: float) -> Check:
    return lambda r: None if r.get(key) is None else r[key] >= limit


def _within(key: str, base: str, factor: float, *, higher_is_better: bool = False) -> Check:
    def check(r: dict[str, Any]) -> bool | None:
        if r.get(key) is None or not r.get(base):
            return None
        return r[key] >= r[base] / factor if higher_is_better else r[key] <= r[base] * factor

    return check


def _p99_vs_synapse(r: dict[str, Any]) -> bool | None:
    if r.get("dm_p99_ms_16") is None or r.get("synapse_p50_ms_16") is None:
        return None
    return bool(r["dm_p99_ms_16"] <= r["synapse_p50_ms_16"])


def _rss(r: dict[str, Any]) -> bool | None:
    rss = r.get("peak_rss_mb") or {}
    services = [
        v for k, v in rss.items() if k in ("threads", "blocking", "announcements", "notify")
    ]
    return None if not services else max(services) <= 200


ROWS: list[tuple[str, str, str, str, Check | None]] = [
    ("sends/s, 16 senders", "dm_sends_per_s_16", "/s", "", None),
    (
        "  p50 / p95 / p99",
        "dm_p50_ms_16|dm_p95_ms_16|dm_p99_ms_16",
        "ms",
        "p99 <= Synapse p50",
        _p99_vs_synapse,
    ),
    ("sends/s, 64 senders", "dm_sends_per_s_64", "/s", "", None),
    ("  p50 / p95 / p99", "dm_p50_ms_64|dm_p95_ms_64|dm_p99_ms_64", "ms", "", None),
    ("sequential p50 / p99", "seq_p50_ms|seq_p99_ms", "ms", "p50 <= 10", _le("seq_p50_ms", 10)),
    ("sequential sends/s", "seq_sends_per_s", "/s", "", None),
    ("Synapse sends/s, 16", "synapse_sends_per_s_16", "/s", "", None),
    ("  p50 / p95 / p99", "synapse_p50_ms_16|synapse_p95_ms_16|synapse_p99_ms_16", "ms", "", None),
    ("Synapse sends/s, 64", "synapse_sends_per_s_64", "/s", "", None),
    ("Synapse sequential p50 / p99", "synapse_seq_p50_ms|synapse_seq_p99_ms", "ms", "", None),
    ("HTTP ceiling (do-nothing), 16", "ceiling_req_per_s", "/s", "", None),
    ("dm_vs_synapse (16)", "dm_vs_synapse", "x", ">= 10", _ge("dm_vs_synapse", 10)),
    ("dm_vs_ceiling (16)", "dm_vs_ceiling", "x", "", None),
    (
        "e2e push p50 / p99 at 50/s",
        "e2e_push_p50_ms_at_50|e2e_push_p99_ms_at_50",
        "ms",
        "p99 <= 50",
        _le("e2e_push_p99_ms_at_50", 50),
    ),
    (
        "e2e SSE p50 / p99 at 50/s",
        "e2e_sse_p50_ms_at_50|e2e_sse_p99_ms_at_50",
        "ms",
        "p99 <= 50",
        _le("e2e_sse_p99_ms_at_50", 50),
    ),
    (
        "Synapse e2e push p50 / p99",
        "synapse_e2e_push_p50_ms_at_50|synapse_e2e_push_p99_ms_at_50",
        "ms",
        "",
        None,
    ),
    (
        "fan-out to N devices (N = fanout_recipients)",
        "fanout_10k_s",
        "s",
        "<= 10 (N = 10,000)",
        _le("fanout_10k_s", 10),
    ),
    ("  of which the send (POST) answered", "fanout_send_ms", "ms", "", None),
    ("  of which every push arrived", "fanout_pushes_s", "s", "", None),
    ("  stats.delivered when it gave up", "fanout_delivered_at_timeout", "", "", None),
    (
        "block lag p50 / p99",
        "block_lag_p50_ms|block_lag_p99_ms",
        "ms",
        "p99 <= 100",
        _le("block_lag_p99_ms", 100),
    ),
    (
        "history: sends/s, 16",
        "history_dm_sends_per_s_16",
        "/s",
        "within 1.25x fresh",
        _within("history_dm_sends_per_s_16", "dm_sends_per_s_16", 1.25, higher_is_better=True),
    ),
    (
        "history: sequential p50",
        "history_seq_p50_ms",
        "ms",
        "within 1.25x fresh",
        _within("history_seq_p50_ms", "seq_p50_ms", 1.25),
    ),
    (
        "latest 20: fresh / history p50",
        "fresh_latest20_p50_ms|history_latest20_p50_ms",
        "ms",
        "within 1.25x",
        _within("history_latest20_p50_ms", "fresh_latest20_p50_ms", 1.25),
    ),
    (
        "thread list: 1 thread / history_threads p50",
        "fresh_thread_list_p50_ms|history_thread_list_p50_ms",
        "ms",
        "",
        None,
    ),
    ("idle CPU, whole stack", "idle_cpu_pct", "% core", "<= 5", _le("idle_cpu_pct", 5)),
    ("peak RSS, largest service", "_max_service_rss", "MB", "<= 200 each", _rss),
    ("load client CPU (max of runs)", "client_cpu_pct", "% core", "", None),
]


def _fmt(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        if abs(value) < 1:
            return f"{value:.3g}"
        return f"{value:,.1f}" if abs(value) < 1000 else f"{value:,.0f}"
    return str(value)


def table(results: dict[str, Any]) -> str:
    """The figures as a Markdown table (what the README shows)."""
    r = dict(results)
    rss = r.get("peak_rss_mb") or {}
    services = {
        k: v for k, v in rss.items() if k in ("threads", "blocking", "announcements", "notify")
    }
    r["_max_service_rss"] = max(services.values()) if services else None
    lines = ["| figure | value | unit | target | met |", "|---|---|---|---|---|"]
    for label, keys, unit, target, check in ROWS:
        values = [r.get(k) for k in keys.split("|")]
        if all(v is None for v in values) and not target:
            continue
        verdict = "" if check is None else {True: "yes", False: "no", None: "-"}[check(r)]
        lines.append(
            f"| {label} | {' / '.join(_fmt(v) for v in values)} | {unit} | {target} | {verdict} |"
        )
    if rss:
        lines.append("")
        lines.append("| process | peak RSS MB | idle CPU % |")
        lines.append("|---|---|---|")
        idle = r.get("idle_cpu_pct_by_process") or {}
        for name in sorted(set(rss) | set(idle)):
            lines.append(f"| {name} | {_fmt(rss.get(name))} | {_fmt(idle.get(name))} |")
    m = r.get("machine") or {}
    lines.append("")
    lines.append(
        f"Machine: {m.get('cpu_model', '?')}, {m.get('cores', '?')} cores, "
        f"{m.get('memory_gb', '?')} GB; "
        f"{m.get('timestamp', '')}; BENCH_DURATION={r.get('bench_duration_s')} s, "
        f"BENCH_SCALE={r.get('bench_scale')}"
    )
    if r.get("warning"):
        lines.append(f"Warning: {r['warning']}.")
    return "\n".join(lines)


def write_json(results: dict[str, Any]) -> Path:
    """bench/results/latest.json."""
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / "latest.json"
    path.write_text(json.dumps(results, indent=2, sort_keys=True) + "\n")
    return path


def chart(results: dict[str, Any]) -> Path | None:
    """bench/results/latest.png: throughput, latencies, end to end, idle CPU and memory."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("matplotlib is not installed: no chart (pip install -e '.[dev]')")
        return None
    r = results
    fig, axes = plt.subplots(2, 2, figsize=(13, 9))
    fig.suptitle(
        f"make bench, {r.get('machine', {}).get('timestamp', '')} "
        f"(duration {r.get('bench_duration_s')} s, scale {r.get('bench_scale')})"
    )

    def bars(
        ax: Any, items: list[tuple[str, Any]], title: str, unit: str, log: bool = False
    ) -> None:
        items = [(k, v) for k, v in items if v is not None]
        if not items:
            ax.set_visible(False)
            return
        names = [k for k, _ in items]
        values = [float(v) for _, v in items]
        colors = [
            "#c44e52"
            if n.startswith("Synapse")
            else "#8172b2"
            if n.startswith("ceiling")
            else "#4c72b0"
            for n in names
        ]
        ax.barh(names, values, color=colors)
        ax.invert_yaxis()
        ax.set_title(title)
        ax.set_xlabel(unit)
        if log:
            ax.set_xscale("log")
        for i, v in enumerate(values):
            ax.text(v, i, f" {v:,.1f}", va="center", fontsize=8)

    bars(
        axes[0][0],
        [
            ("ours, 16 senders", r.get("dm_sends_per_s_16")),
            ("ours, 64 senders", r.get("dm_sends_per_s_64")),
            ("ours, sequential", r.get("seq_sends_per_s")),
            ("ours after history, 16", r.get("history_dm_sends_per_s_16")),
            ("Synapse, 16 senders", r.get("synapse_sends_per_s_16")),
            ("Synapse, 64 senders", r.get("synapse_sends_per_s_64")),
            ("Synapse, sequential", r.get("synapse_seq_sends_per_s")),
            ("ceiling (do-nothing), 16", r.get("ceiling_req_per_s")),
        ],
        "Throughput (answered sends per second)",
        "per second (log)",
        log=True,
    )
    bars(
        axes[0][1],
        [
            ("ours p50, 16", r.get("dm_p50_ms_16")),
            ("ours p99, 16", r.get("dm_p99_ms_16")),
            ("ours sequential p50", r.get("seq_p50_ms")),
            ("ours after history p50, 16", r.get("history_dm_p50_ms_16")),
            ("ours after history, seq p50", r.get("history_seq_p50_ms")),
            ("Synapse p50, 16", r.get("synapse_p50_ms_16")),
            ("Synapse p99, 16", r.get("synapse_p99_ms_16")),
            ("Synapse sequential p50", r.get("synapse_seq_p50_ms")),
        ],
        "Send latency",
        "ms (log)",
        log=True,
    )
    bars(
        axes[1][0],
        [
            ("push p50 @50/s", r.get("e2e_push_p50_ms_at_50")),
            ("push p99 @50/s", r.get("e2e_push_p99_ms_at_50")),
            ("SSE p50 @50/s", r.get("e2e_sse_p50_ms_at_50")),
            ("SSE p99 @50/s", r.get("e2e_sse_p99_ms_at_50")),
            ("Synapse push p50 @50/s", r.get("synapse_e2e_push_p50_ms_at_50")),
            ("Synapse push p99 @50/s", r.get("synapse_e2e_push_p99_ms_at_50")),
            ("block lag p50", r.get("block_lag_p50_ms")),
            ("block lag p99", r.get("block_lag_p99_ms")),
            ("latest 20, fresh p50", r.get("fresh_latest20_p50_ms")),
            ("latest 20, history p50", r.get("history_latest20_p50_ms")),
            (
                f"thread list, {r.get('history_threads')} threads p50",
                r.get("history_thread_list_p50_ms"),
            ),
            (
                f"fan-out to {r.get('fanout_recipients')} devices (ms)",
                None if r.get("fanout_10k_s") is None else r["fanout_10k_s"] * 1000,
            ),
        ],
        "End to end, block lag, reads, fan-out",
        "ms (log)",
        log=True,
    )
    ax = axes[1][1]
    rss = r.get("peak_rss_mb") or {}
    idle = r.get("idle_cpu_pct_by_process") or {}
    names = sorted(set(rss) | set(idle))
    if names and idle:
        ys = range(len(names))
        ax.barh(
            [y - 0.2 for y in ys],
            [rss.get(n) or 0 for n in names],
            height=0.4,
            label="peak RSS (MB)",
        )
        ax2 = ax.twiny()
        ax2.barh(
            [y + 0.2 for y in ys],
            [idle.get(n) or 0 for n in names],
            height=0.4,
            color="#dd8452",
            label="idle CPU (% core)",
        )
        ax.set_yticks(list(ys), names)
        ax.invert_yaxis()
        ax.set_xlabel("peak RSS, MB (blue)")
        ax2.set_xlabel("idle CPU, % of one core (orange)")
        ax.set_title(f"Per process (idle total {r.get('idle_cpu_pct')} %)", pad=28)
    elif names:
        ax.barh(names, [rss.get(n) or 0 for n in names])
        ax.invert_yaxis()
        ax.set_xlabel("peak RSS, MB")
        ax.set_title("Per process")
    else:
        ax.set_visible(False)
    fig.tight_layout()
    path = RESULTS / "latest.png"
    RESULTS.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
