"""Render docs/ (index, one page per topic, problem codes) and compare it with what is there."""

from pathlib import Path

from ops.docs import GENERATED
from ops.docs.examples import key_shape
from ops.docs.problems import ProblemCode, problem_codes
from ops.docs.topics import TopicDoc, topic_docs, topic_page

ROOT = Path(__file__).resolve().parents[2]


def render(root: Path = ROOT) -> dict[str, str]:
    """Every generated file, by path relative to docs/."""
    docs = topic_docs()
    pages = {f"topics/{d.spec.name}.md": topic_page(d) for d in docs}
    pages["README.md"] = _index(docs)
    pages["problems.md"] = _problems(problem_codes(root))
    return pages


def write(out: Path, pages: dict[str, str]) -> None:
    """Write the pages, and remove generated pages that no longer exist."""
    for stale in out.glob("topics/*.md"):
        if f"topics/{stale.name}" not in pages:
            stale.unlink()
    for name, text in pages.items():
        path = out / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


def differences(out: Path, pages: dict[str, str]) -> list[str]:
    """Generated files that are missing, changed or no longer generated."""
    present = {str(p.relative_to(out)) for p in out.glob("topics/*.md")}
    present |= {n for n in ("README.md", "problems.md") if (out / n).exists()}
    changed = [
        n for n, text in pages.items() if not (out / n).exists() or (out / n).read_text() != text
    ]
    return sorted(changed + sorted(present - set(pages)))


def _index(docs: list[TopicDoc]) -> str:
    rows = [
        f"| [`{d.spec.name}`](topics/{d.spec.name}.md) | "
        f"{', '.join(sorted({f'`{key_shape(e)}`' for e in d.events})) or '-'} | "
        f"{', '.join(f'`{e.__name__}`' for e in d.events) or '-'} | "
        f"{', '.join(d.producers) or '-'} | {', '.join(d.consumers) or '-'} |"
        for d in docs
    ]
    return "\n".join(
        [
            GENERATED,
            "# Integrating with secure messaging",
            "",
            "Other practice systems integrate through Kafka topics and the HTTP API. Each topic"
            " below has a versioned contract page: its key, the JSON schema of each event type"
            " on it, an example, and who produces and consumes it. Errors of the HTTP API are"
            " listed in [problems.md](problems.md). The services' AsyncAPI documents (`/asyncapi`"
            " on each service) are generated from the same code.",
            "",
            "| topic | key | event types | producers | consumers |",
            "|---|---|---|---|---|",
            *rows,
            "",
            "## Rules for every topic",
            "",
            "- Values are JSON objects carrying `event_id` (UUID), `occurred_at` (RFC 3339) and"
            " `schema_version`; CloudEvents attributes travel as headers (`ce_id`, `ce_type`,"
            " `ce_source`, `ce_time`, `content-type`), so a router needs no body parsing.",
            "- Delivery is at least once. Deduplicate by `event_id` (or the natural key of a"
            " compacted topic) and commit offsets only after the effect is durable.",
            "- Within a version only optional fields are added: ignore unknown fields. A breaking"
            " change is a new topic with the next version suffix; both run side by side while"
            " consumers move.",
            "- Producing to `practice.clients.v1` / `practice.providers.v1`: key = the record's id,"
            " `acks=all`; the latest record per id wins (compacted topics). Publish a client"
            " before its provider searches for them, and a provider before a client opens a"
            " thread with them.",
            "- Consuming `messaging.chart.v1` (the only topic carrying message text): use your own"
            " consumer group; store the entry under its `message_id`.",
            "",
            "## Dead letters",
            "",
            "A record a consumer cannot process (invalid, or failing after retries) is parked on"
            " `<topic>.dlq` (1 partition, 30 days) with its key and value unchanged and headers"
            " saying why: `dlq_error` (`validation_failed`, `undecodable`, `handler_failed`,"
            " `infrastructure_unavailable`), `dlq_error_type`, `dlq_error_fields` (the field"
            " names that failed validation), `dlq_topic`, `dlq_partition`, `dlq_offset`,"
            " `dlq_attempts`. The partition moves on. Operators inspect and replay them with"
            " `msgctl dlq show|replay`.",
            "",
        ]
    )


def _problems(codes: list[ProblemCode]) -> str:
    rows = [
        f"| `{p.code}` | {p.status} | {p.title} | {p.source} | {p.detail or '-'} |" for p in codes
    ]
    return "\n".join(
        [
            GENERATED,
            "# Problem codes",
            "",
            "Every error of the HTTP API is an RFC 9457 problem (`application/problem+json`)"
            " with `type` (`https://errors.messaging.invalid/<code>`), `title`, `status`,"
            " `detail` and a machine-readable `code`; branch on `code`, not on `title` or"
            " `detail`. A `429` and a `503` carry `Retry-After` (seconds). A `422`"
            " `validation_failed` lists `errors` (location and type, never the input).",
            "",
            "Collected from the code that raises them (services, shared, the gateway).",
            "",
            "| code | status | title | where | detail |",
            "|---|---|---|---|---|",
            *rows,
            "",
        ]
    )
