"""Fan-out: every recipient of an announcement or message gets exactly one push per source."""

from datetime import UTC, datetime

from services.notify.domain import Delivery, delivery_id
from shared import topics
from shared.events.threads import ChartEntry
from shared.ids import stable_uuid
from tests.notify.conftest import Notify, settled
from tests.notify.factories import add_devices, announcement, client_record, message_sent, publish
from tests.support import TopicTail, auth, body, eventually, header, unique

SENTINEL = "SENTINEL-PHI-7f3a"


async def test_announcement_records_inbox_delivered_and_push_skipped_without_device(
    notify: Notify,
) -> None:
    with_device, without = unique("c-"), unique("c-")
    await add_devices(notify.stores.users, {with_device: unique("tok-")})
    event = announcement([with_device, without])
    expected = {
        (with_device, "inbox"): ("delivered", None),
        (with_device, "push"): ("sent", None),
        (with_device, "email"): ("skipped", "no_address"),
        (without, "inbox"): ("delivered", None),
        (without, "push"): ("skipped", "no_device"),
        (without, "email"): ("skipped", "no_address"),
    }
    # Other notify processes on the shared broker may publish outcomes for the same
    # recipients too: this one's are known by their stable event ids.
    ids = {
        str(stable_uuid(delivery_id(event.announcement_id, r, c), status, "recorded"))  # type: ignore[arg-type]
        for (r, c), (status, _) in expected.items()
    }
    async with TopicTail(topics.MESSAGING_DELIVERIES) as tail:
        await publish(event)
        seen = [(await tail.wait_for(lambda r, i=i: header(r, "ce_id") == i))[0] for i in ids]

    outcomes = {
        (b["recipient_id"], b["channel"]): (b["status"], b["reason"]) for b in map(body, seen)
    }
    assert outcomes == expected


async def test_direct_message_pushes_the_client_without_content(notify: Notify) -> None:
    client, token, practice = unique("c-"), unique("tok-"), unique("pr-")
    await add_devices(notify.stores.users, {client: token})
    await publish(client_record(practice, client, f"{SENTINEL}@example.org"))
    await publish(
        ChartEntry(
            practice_id=practice,
            client_id=client,
            provider_id=unique("p-"),
            thread_id=unique("t-"),
            message_id=unique("m-"),
            seq=1,
            sender_role="provider",
            sender_id=unique("p-"),
            sender_display_name=SENTINEL,
            body=f"chart body {SENTINEL}",
            sent_at=datetime.now(UTC),
        )
    )
    message = message_sent(client, practice_id=practice)

    await publish(message)
    pushes = await eventually(lambda: _pushes(notify, token))

    payload = pushes[0]["notification"]
    assert set(payload) == {"event_id", "counts", "prio", "devices"}
    assert client not in payload["event_id"] and message.message_id not in payload["event_id"]
    assert payload["prio"] == "high" and payload["counts"]["unread"] >= 1
    assert payload["devices"] == [
        {
            "app_id": "com.practice.portal.ios",
            "pushkey": token,
            "pushkey_ts": payload["devices"][0]["pushkey_ts"],
            "data": {},
        }
    ]
    assert all(SENTINEL.encode() not in raw for raw in notify.gateway.raw_bodies)


async def _pushes(notify: Notify, token: str) -> list[dict[str, object]]:
    return notify.gateway.pushes_to(token)


async def test_push_is_skipped_when_the_recipient_opted_out(notify: Notify) -> None:
    client, token = unique("c-"), unique("tok-")
    await add_devices(notify.stores.users, {client: token})
    response = await notify.http.put(
        "/v1/me/notification-preferences",
        json={"push": False},
        headers=auth(client, "client", unique("pr-")),
    )
    assert response.status_code == 200, response.text
    message = message_sent(client)

    await publish(message)
    done = await eventually(lambda: _final(notify, message.message_id, client, "push"), timeout=15)

    assert (done.status, done.reason) == ("skipped", "opted_out")
    assert notify.gateway.pushes_to(token) == []


async def _final(
    notify: Notify, source_id: str, recipient_id: str, channel: str
) -> Delivery | None:
    return await settled(notify, source_id, recipient_id, channel)
