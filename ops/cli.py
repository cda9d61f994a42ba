"""msgctl: operate secure messaging from a terminal.

Reads the same environment as the services (KAFKA_*, MONGODB_*, MESSAGING_JWT_SECRET) and
THREADS_URL, BLOCKING_URL, ANNOUNCEMENTS_URL, NOTIFY_URL for the services' base URLs.
Nothing it prints carries message text or other PHI.
"""

import asyncio
import contextlib
import datetime
import json
import os
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Annotated, Any

import typer
from pymongo.errors import PyMongoError
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from ops import audit, keys
from ops import dlq as dead_letters
from ops import seed as seeding
from ops import status as state
from ops.devtoken import mint
from ops.settings import OpsSettings
from shared.events.clients import ClientRecordChanged
from shared.events.providers import ProviderRecordChanged

app = typer.Typer(
    help="Operate secure messaging: tokens, demo data, status, dead-letter topics, keys.",
    no_args_is_help=True,
    add_completion=False,
)
dlq_app = typer.Typer(help="Dead-letter topics: list, show (headers only), replay.")
keys_app = typer.Typer(help="Key-encryption keys of the sealed message bodies.")
audit_app = typer.Typer(help="The audit trail (hash chains per practice): verify, export.")
app.add_typer(dlq_app, name="dlq")
app.add_typer(keys_app, name="keys")
app.add_typer(audit_app, name="audit")

console = Console()


def _settings() -> OpsSettings:
    return OpsSettings()


@app.command()
def token(
    role: Annotated[str, typer.Option(help="provider, client or admin")],
    sub: Annotated[str, typer.Option(help="user id")],
    practice: Annotated[str, typer.Option(help="practice id")],
    admin: Annotated[bool, typer.Option("--admin", help="practice admin (providers)")] = False,
    ttl: Annotated[int, typer.Option(help="seconds until expiry")] = 3600,
) -> None:
    """Mint a development token signed with MESSAGING_JWT_SECRET (HS256)."""
    if role not in {"provider", "client", "admin"}:
        raise typer.BadParameter("role must be provider, client or admin", param_hint="--role")
    secret = os.environ.get("MESSAGING_JWT_SECRET")
    if not secret:
        typer.echo("MESSAGING_JWT_SECRET is not set", err=True)
        raise typer.Exit(2)
    typer.echo(mint(secret, sub=sub, role=role, practice_id=practice, admin=admin, ttl=ttl))


@app.command()
def seed(
    practices: Annotated[int, typer.Option(min=1, help="practices to create")] = 1,
    clients: Annotated[int, typer.Option(min=0, help="clients per practice")] = 20,
    providers: Annotated[int, typer.Option(min=1, help="providers per practice")] = 3,
    prefix: Annotated[str, typer.Option(help="prefix of every id")] = "demo-",
) -> None:
    """Publish demo practices with their providers and clients to the directory topics."""
    total = practices * (providers + clients)
    with Progress(
        TextColumn("publishing"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=not console.is_terminal,
    ) as progress:
        task = progress.add_task("seed", total=total)
        published = asyncio.run(
            seeding.seed(
                _settings(),
                prefix=prefix,
                practices=practices,
                providers=providers,
                clients=clients,
                advance=lambda n: progress.advance(task, n),
            )
        )
    first, admin_id = seeding.practice_id(prefix, 1), seeding.provider_id(prefix, 1, 1)
    console.print(f"published {published} records ({practices} practices)")
    console.print(
        "a practice admin's token: "
        f"msgctl token --role provider --sub {admin_id} --practice {first} --admin"
    )


@app.command("publish-client")
def publish_client(
    practice: Annotated[str, typer.Option(help="practice id")],
    client: Annotated[str, typer.Option(help="client id")],
    first: Annotated[str, typer.Option(help="first name")],
    last: Annotated[str, typer.Option(help="last name")],
    email: Annotated[str | None, typer.Option(help="email address")] = None,
    inactive: Annotated[bool, typer.Option("--inactive", help="retire the client")] = False,
) -> None:
    """Publish one client record to practice.clients.v1, as a practice system would."""
    record = ClientRecordChanged(
        practice_id=practice,
        client_id=client,
        first_name=first,
        last_name=last,
        email=email,
        status="inactive" if inactive else "active",
    )
    asyncio.run(seeding.publish(_settings(), [record]))
    typer.echo(f"published client {client}")


@app.command("publish-provider")
def publish_provider(
    practice: Annotated[str, typer.Option(help="practice id")],
    provider: Annotated[str, typer.Option(help="provider id")],
    inactive: Annotated[bool, typer.Option("--inactive", help="retire the provider")] = False,
) -> None:
    """Publish one provider record to practice.providers.v1, as a practice system would."""
    record = ProviderRecordChanged(
        practice_id=practice,
        provider_id=provider,
        status="inactive" if inactive else "active",
    )
    asyncio.run(seeding.publish(_settings(), [record]))
    typer.echo(f"published provider {provider}")


@app.command()
def status(
    groups: Annotated[
        str | None, typer.Option(help="regular expression of the consumer groups to show")
    ] = None,
) -> None:
    """Health of each service, the topics, consumer lag per group and the outbox backlog."""
    settings = _settings()
    services = asyncio.run(state.health(settings))
    table = Table(title="services")
    for column in ("service", "url", "status", "checks", "kafka", "outbox backlog"):
        table.add_column(column)
    for s in services:
        checks = ", ".join(f"{k}: {'ok' if v else 'failing'}" for k, v in s.checks.items())
        table.add_row(
            s.name,
            s.url,
            s.status,
            checks,
            _cell(s.reports.get("kafka")),
            _cell(s.reports.get("outbox_backlog")),
        )
    console.print(table)
    topics = Table(title="topics")
    for column in ("topic", "partitions", "records"):
        topics.add_column(column)
    for t in asyncio.run(state.topics(settings)):
        topics.add_row(t.name, str(t.partitions), str(t.records))
    console.print(topics)
    lag = Table(title="consumer lag")
    for column in ("group", "topic", "partitions", "lag"):
        lag.add_column(column)
    for row in asyncio.run(state.lag(settings, groups)):
        lag.add_row(row.group, row.topic, str(row.partitions), str(row.lag))
    console.print(lag)


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "ok" if value else "failing"
    return str(value)


@dlq_app.command("list")
def dlq_list() -> None:
    """Records held and replayed per dead-letter topic."""
    table = Table(title="dead-letter topics")
    for column in ("topic", "records", "replayed"):
        table.add_column(column)
    for row in asyncio.run(dead_letters.counts(_settings())):
        table.add_row(row.topic, str(row.records), str(row.replayed))
    console.print(table)


@dlq_app.command("show")
def dlq_show(
    topic: Annotated[str, typer.Argument(help="a topic or its .dlq")],
    offset: Annotated[list[int] | None, typer.Option(help="only these offsets")] = None,
    limit: Annotated[int, typer.Option(min=1, help="at most this many, newest")] = 20,
    as_json: Annotated[bool, typer.Option("--json", help="one JSON object per line")] = False,
) -> None:
    """Dead-lettered records: coordinates, reason and event headers; never keys or bodies."""
    letters = asyncio.run(
        dead_letters.show(
            _settings(), _dlq(topic), offsets_=set(offset) if offset else None, limit=limit
        )
    )
    if as_json:
        for d in letters:
            typer.echo(json.dumps({**d.__dict__, "ledger_id": d.ledger_id}))
        return
    table = Table(title=dead_letters.dlq_topic(topic))
    for column in (
        "offset",
        "at",
        "source",
        "reason",
        "error",
        "fields",
        "type",
        "event id",
        "key#",
        "replayed",
    ):
        table.add_column(column)
    for d in letters:
        h = d.headers
        table.add_row(
            str(d.offset),
            datetime.datetime.fromtimestamp(d.timestamp_ms / 1000, datetime.UTC).isoformat(
                timespec="seconds"
            ),
            f"{h.get('dlq_topic', '?')}[{h.get('dlq_partition', '?')}]@{h.get('dlq_offset', '?')}",
            h.get("dlq_error", "-"),
            h.get("dlq_error_type", "-"),
            h.get("dlq_error_fields", "-"),
            h.get("ce_type", "-"),
            h.get("ce_id", "-"),
            d.key_digest,
            "yes" if d.replayed else "no",
        )
    console.print(table)


@dlq_app.command("replay")
def dlq_replay(
    topic: Annotated[str, typer.Argument(help="a topic or its .dlq")],
    offset: Annotated[list[int] | None, typer.Option(help="only these offsets")] = None,
    reason: Annotated[str | None, typer.Option(help="only records parked for this reason")] = None,
) -> None:
    """Publish dead-lettered records again to their topic; each record at most once."""
    result = asyncio.run(
        dead_letters.replay(
            _settings(), _dlq(topic), offsets_=set(offset) if offset else None, reason=reason
        )
    )
    typer.echo(f"replayed {len(result.replayed)}, skipped {len(result.skipped)} (replayed before)")
    for ledger_id in result.replayed:
        typer.echo(f"  replayed {ledger_id}")
    for ledger_id in result.skipped:
        typer.echo(f"  skipped  {ledger_id}")


def _dlq(topic: str) -> str:
    try:
        return dead_letters.dlq_topic(topic)
    except ValueError as error:
        raise typer.BadParameter(str(error), param_hint="TOPIC") from error


@keys_app.command("status")
def keys_status() -> None:
    """How many sealed values each key id wraps (python -m ops.keys status)."""
    raise typer.Exit(keys.main(["status"]))


@keys_app.command("rewrap")
def keys_rewrap() -> None:
    """Re-wrap every data key under the active key (python -m ops.keys rewrap)."""
    raise typer.Exit(keys.main(["rewrap"]))


@audit_app.command("verify")
def audit_verify(
    practice: Annotated[str | None, typer.Option(help="only this practice's chain")] = None,
) -> None:
    """Check every stored audit chain link by link; exit 1 if one is broken."""
    try:
        chains = asyncio.run(audit.verify(_settings(), practice))
    except PyMongoError as error:
        typer.echo(f"the threads database did not answer ({type(error).__name__})", err=True)
        raise typer.Exit(1) from None
    for chain in chains:
        if chain.broken_at is None:
            typer.echo(f"{chain.practice_id}: {chain.records} records, chain intact")
        else:
            typer.echo(f"{chain.practice_id}: BROKEN at record {chain.broken_at}")
    raise typer.Exit(1 if any(c.broken_at for c in chains) else 0)


@audit_app.command("export")
def audit_export(
    practice: Annotated[str, typer.Option(help="the practice whose trail to export")],
    since: Annotated[
        str | None, typer.Option(help="records at or after (ISO 8601; UTC without an offset)")
    ] = None,
    until: Annotated[
        str | None, typer.Option(help="records at or before (ISO 8601; UTC without an offset)")
    ] = None,
    out: Annotated[
        Path | None, typer.Option(help="write to this file (default: standard output)")
    ] = None,
) -> None:
    """Write a practice's audit records as JSON lines, oldest first, verifying every link."""
    start, end = _instant(since, "--since"), _instant(until, "--until")
    try:
        with _json_lines(out) as write:
            result = asyncio.run(
                audit.export(_settings(), practice, since=start, until=end, write=write)
            )
    except audit.ChainBroken as broken:
        typer.echo(f"{broken}: export refused", err=True)
        raise typer.Exit(1) from None
    except PyMongoError as error:
        typer.echo(f"the threads database did not answer ({type(error).__name__})", err=True)
        raise typer.Exit(1) from None
    typer.echo(
        f"exported {result.written} records of {practice} (chain of {result.verified} verified)",
        err=True,
    )


def _instant(value: str | None, option: str) -> datetime.datetime | None:
    if value is None:
        return None
    try:
        at = datetime.datetime.fromisoformat(value)
    except ValueError as error:
        raise typer.BadParameter("not an ISO 8601 time", param_hint=option) from error
    return at if at.tzinfo else at.replace(tzinfo=datetime.UTC)


@contextlib.contextmanager
def _json_lines(out: Path | None) -> Iterator[Callable[[dict[str, Any]], object]]:
    """Where exported lines go: standard output, or a file that appears only when complete."""
    if out is None:
        yield lambda line: typer.echo(json.dumps(line))
        return
    partial = out.with_name(out.name + ".partial")
    try:
        with partial.open("w", encoding="utf-8") as file:
            yield lambda line: file.write(json.dumps(line) + "\n")
        partial.replace(out)
    finally:
        partial.unlink(missing_ok=True)


def main() -> None:
    """The msgctl entry point."""
    app(prog_name="msgctl")
    sys.exit(0)
