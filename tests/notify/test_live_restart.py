"""Live-stream consumer groups belong to the instance: a restart resumes where it stopped.

Before, each process made new groups that started from the newest events: every start
left a group behind, and what was sent while notify was down never reached the live
store, so `Last-Event-ID` could not replay it.
"""

import httpx

from services.notify.app import create_app
from tests.notify.conftest import notify_settings
from tests.notify.factories import message_sent, publish
from tests.receivers import PushGatewayStub, SmtpStub, serve
from tests.sse import open_stream
from tests.support import auth, eventually, running, unique


def live_groups(app: object) -> set[str]:
    """The consumer groups of an app's live-stream subscribers."""
    broker = app.state.broker  # type: ignore[attr-defined]
    return {s.group_id for s in broker.subscribers if ".live." in (s.group_id or "")}


async def test_a_restarted_instance_replays_what_was_sent_while_it_was_down(
    gateway: PushGatewayStub, smtp: SmtpStub
) -> None:
    settings = notify_settings(gateway.url, smtp.port, notify_instance_id=unique("notify-"))
    provider = unique("p-")
    before, during = (message_sent(provider, recipient_role="provider", seq=n) for n in (1, 2))
    first = create_app(settings)
    async with running(first):
        await publish(before)
        await eventually(lambda: _stored(first, provider, f"{before.event_id}:message"))
    await publish(during)  # notify is down

    second = create_app(settings)
    async with running(second), serve(second) as url:
        last_seen = f"{before.event_id}:message"
        await eventually(lambda: _replays(second, provider, last_seen, during.message_id))
        headers = auth(provider, "provider", unique("pr-")) | {"Last-Event-ID": last_seen}
        async with (
            httpx.AsyncClient(base_url=url) as http,
            open_stream(http, "/v1/me/stream", headers) as stream,
        ):
            missed = await stream.wait_for("message", message_id=during.message_id)

    assert missed.id == f"{during.event_id}:message"
    assert live_groups(first) == live_groups(second)
    assert len(live_groups(first)) == 2  # messages and threads, named after the instance
    assert all(settings.notify_instance_id in g for g in live_groups(first))


async def _stored(app: object, user: str, event_id: str) -> bool:
    feed = app.state.deps.feed  # type: ignore[attr-defined]
    return any(e.id == event_id for e in await feed.events.after(user, "unknown"))


async def _replays(app: object, user: str, after: str, message_id: str) -> bool:
    feed = app.state.deps.feed  # type: ignore[attr-defined]
    return any(e.data["message_id"] == message_id for e in await feed.events.after(user, after))
