"""A database of a test's own on the real FerretDB, with the filters of every command it sees."""

import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

from pymongo import AsyncMongoClient, monitoring

from tests.support import StartedCommands, infra_env, unique


@dataclass
class Filters(StartedCommands):
    """The filters of every read and write sent."""

    seen: list[dict[str, Any]] = field(default_factory=list)
    commands: list[tuple[str, str]] = field(default_factory=list)

    def started(self, event: monitoring.CommandStartedEvent) -> None:
        command = event.command
        self.commands.append((event.command_name, str(command.get(event.command_name))))
        if event.command_name == "find":
            self.seen.append(dict(command.get("filter", {})))
        elif event.command_name == "update":
            self.seen.extend(dict(u["q"]) for u in command["updates"])
        elif event.command_name in {"count", "aggregate", "distinct", "delete"}:
            self.seen.append({"not": "an _id lookup"})


@contextlib.asynccontextmanager
async def watched_database(prefix: str) -> AsyncIterator[tuple[Any, Filters]]:
    """A fresh database (dropped afterwards) and the filters its client sends."""
    filters = Filters()
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(
        infra_env()["mongodb_url"], tz_aware=True, event_listeners=[filters]
    )
    name = unique(prefix)
    try:
        yield client[name], filters
    finally:
        await client.drop_database(name)
        await client.close()
